//! What a template may use. Fuel bounds a rendering's steps and the output writer its bytes,
//! but not the values built on the way: `"x" * 100000000` is one step and 100 MB, and a chain of
//! `{% set a = a ~ a %}` doubles a string per step. So the constructs that build a value larger
//! than their inputs, or keep one across steps, are refused before anything renders:
//!
//! - the operators `+`, `*`, `**` and `~` (string and list building, repetition);
//! - the statements that bind or capture (`set`, `with`, `filter`, `block`, `macro`, `call`,
//!   `include`, `import`, `from`, `extends`, `do`) and recursive loops;
//! - the filters and functions that repeat or pad (`replace`, `join`, `indent`, `format`,
//!   `pprint`, `batch`, `slice`, `chain`, `zip`, `tojson` with an indent; `range`, `dict`,
//!   `namespace`, `debug`): [`restrict`] takes them out of the environment.
//!
//! - more than [`MAX_COPYING_FILTERS`] uses of the filters that make a new value from their
//!   input (`string`, `lower`, `items`, `sort`, `map`, …): one expression keeps each such result
//!   alive at once (`[data|string, data|string, …]` held a copy of the event per item, hundreds of
//!   MB for a 16 KiB template), so their number bounds what one rendering holds; the filters
//!   that hand back one of their input's values or a number (`default`, `length`, `first`, …)
//!   are not counted, and `list` (a value per character of a string) is not offered.
//!
//! What is left reshapes the event: `{{ … }}` of its fields, `if`/`for` over them, tests and the
//! filters that select, convert or shorten.

use minijinja::machinery::{Token, WhitespaceConfig, tokenize};
use minijinja::syntax::SyntaxConfig;
use minijinja::value::Value;
use minijinja::{Environment, Error, ErrorKind};

use super::{TemplateError, TemplateErrorKind};

const REFUSED_STATEMENTS: [&str; 11] = [
    "set", "with", "filter", "block", "macro", "call", "include", "import", "from", "extends", "do",
];
const REFUSED_FILTERS: [&str; 11] = [
    "replace", "join", "indent", "format", "pprint", "batch", "slice", "chain", "zip", "tojson",
    "list",
];
/// How many filters that build a new value from their input one template may name.
pub(super) const MAX_COPYING_FILTERS: usize = 16;
/// Filters whose result is one of their input's values (shared, not copied) or a number.
const SHARING_FILTERS: [&str; 14] = [
    "default", "d", "length", "count", "first", "last", "int", "float", "abs", "round", "bool",
    "attr", "min", "max",
];
const REFUSED_GLOBALS: [&str; 4] = ["range", "dict", "namespace", "debug"];

/// Refuses a template that uses a construct of the module's list; a template that does not
/// tokenize is left to the parser, which says why.
pub(super) fn check_constructs(source: &str) -> Result<(), TemplateError> {
    let mut statement_start = false;
    let mut after_pipe = false;
    let mut copying_filters = 0usize;
    // A unit struct without minijinja's `custom_syntax` feature, a struct with it (which
    // another crate of the build could enable): `default` is right for both.
    #[allow(clippy::default_constructed_unit_structs)]
    let tokens = tokenize(
        source,
        false,
        SyntaxConfig::default(),
        WhitespaceConfig::default(),
    );
    for token in tokens {
        let Ok((token, span)) = token else {
            return Ok(());
        };
        let refused = match token {
            Token::Plus => Some("the `+` operator".to_string()),
            Token::Mul | Token::Pow => Some("the `*` and `**` operators".to_string()),
            Token::Tilde => Some("the `~` operator".to_string()),
            Token::Ident("recursive") => Some("recursive loops".to_string()),
            Token::Ident(name) if statement_start && REFUSED_STATEMENTS.contains(&name) => {
                Some(format!("`{{% {name} %}}`"))
            }
            Token::Ident(name) if after_pipe && !SHARING_FILTERS.contains(&name) => {
                copying_filters += 1;
                (copying_filters > MAX_COPYING_FILTERS).then(|| {
                    format!("more than {MAX_COPYING_FILTERS} filters that copy their input (`{name}` is one)")
                })
            }
            _ => None,
        };
        statement_start = matches!(token, Token::BlockStart);
        after_pipe = matches!(token, Token::Pipe);
        if let Some(what) = refused {
            return Err(TemplateError::new(
                TemplateErrorKind::Unsupported,
                Some(usize::from(span.start_line)),
                format!(
                    "{what} cannot be used in a payload template (it could grow a value without bound)"
                ),
            ));
        }
    }
    Ok(())
}

/// Takes the filters and functions of the module's list out of `env`; `tojson` comes back
/// without its `indent`.
pub(super) fn restrict(env: &mut Environment<'_>) {
    for name in REFUSED_FILTERS {
        env.remove_filter(name);
    }
    for name in REFUSED_GLOBALS {
        env.remove_global(name);
    }
    env.add_filter("tojson", |value: &Value| -> Result<Value, Error> {
        serde_json::to_string(value)
            .map(Value::from_safe_string)
            .map_err(|e| Error::new(ErrorKind::BadSerialization, "not JSON").with_source(e))
    });
}
