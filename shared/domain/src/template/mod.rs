//! The product's one template engine (minijinja), for every dynamic field: webhook payload
//! templates today, integration apps' requests next. Everything that renders goes through
//! [`render_json`] (and [`check_json`] at registration), so that one set of rules holds:
//!
//! - every `{{ … }}` writes a JSON value (auto-escaping is JSON: a string comes out quoted and
//!   escaped, an object as an object), so no value a publisher sends can break the document;
//!   an undefined value (`data.missing.field`) writes `null`;
//! - a template is at most [`MAX_TEMPLATE_BYTES`], its output at most [`MAX_OUTPUT_BYTES`],
//!   and one rendering runs at most [`FUEL`] instructions nested at most [`RECURSION_LIMIT`]
//!   deep: whatever a client writes, a worker renders in bounded time and memory;
//! - no loader, includes or macros: a template sees only the context it is given, and none of
//!   the constructs that could build a value larger than its inputs ([`guard`]).
//!
//! Integration apps' requests use the same engine, limits and guard with text output
//! ([`render_text`], [`render_value`]): no escaping, and an undefined value is an error; their
//! references are checked at publication with [`referenced_variables`].

mod guard;
mod text;
mod vars;

pub use text::{render_text, render_value};
pub use vars::{check, referenced_variables};

use std::io::{self, Write};

use minijinja::value::Value as TemplateValue;
use minijinja::{AutoEscape, Environment, UndefinedBehavior, escape_formatter};
use serde::Serialize;

/// Longest template source.
pub const MAX_TEMPLATE_BYTES: usize = 16 * 1024;
/// Longest rendered output (the largest event an ingest accepts, 256 KiB, with room for the
/// shape around it).
pub const MAX_OUTPUT_BYTES: usize = 512 * 1024;
/// Instructions one rendering may run (a loop over a few thousand items fits; a loop over
/// `range(10**9)` does not).
pub const FUEL: u64 = 200_000;
/// Nesting depth of one rendering.
pub const RECURSION_LIMIT: usize = 64;

/// Why a template was refused or did not render. Its text quotes no context value (an event's
/// data may be private to its receivers).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", line.map(|l| format!("line {l}: ")).unwrap_or_default())]
pub struct TemplateError {
    /// What went wrong.
    pub kind: TemplateErrorKind,
    /// Line of the template (or of the rendered output, for invalid JSON) it was found on.
    pub line: Option<u32>,
    /// Why, in a sentence.
    pub message: String,
}

/// The kinds of [`TemplateError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateErrorKind {
    /// The source is longer than [`MAX_TEMPLATE_BYTES`].
    TooLong,
    /// The source does not parse.
    Syntax,
    /// The source uses a construct payload templates do not offer ([`guard`]).
    Unsupported,
    /// Rendering failed (an error in an expression, out of fuel, too deep).
    Render,
    /// The output is longer than [`MAX_OUTPUT_BYTES`].
    OutputTooLarge,
    /// The output is not one JSON document.
    InvalidJson,
}

impl TemplateError {
    fn new(kind: TemplateErrorKind, line: Option<usize>, message: impl Into<String>) -> Self {
        TemplateError {
            kind,
            line: line.and_then(|l| u32::try_from(l).ok()),
            message: message.into(),
        }
    }
}

/// What a rendering produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Output {
    /// One JSON document: every value is written as JSON, undefined as `null`.
    Json,
    /// Text (a URL, a header): values are written as they are, an undefined one is an error.
    Text,
}

/// The environment every template renders in (built per rendering: it borrows the source).
fn environment<'s>(output: Output) -> Environment<'s> {
    let mut env = Environment::new();
    env.set_fuel(Some(FUEL));
    env.set_recursion_limit(RECURSION_LIMIT);
    guard::restrict(&mut env);
    match output {
        Output::Json => json_output(&mut env),
        Output::Text => text::text_output(&mut env),
    }
    env
}

/// Writes `value` as JSON into `out`, refusing one over [`MAX_OUTPUT_BYTES`] before it is
/// serialized whole.
fn write_json(
    out: &mut minijinja::Output<'_>,
    value: &TemplateValue,
) -> Result<(), minijinja::Error> {
    let mut json = Bounded::default();
    serde_json::to_writer(&mut json, value).map_err(|_| {
        minijinja::Error::new(
            minijinja::ErrorKind::InvalidOperation,
            format!("a value is over {MAX_OUTPUT_BYTES} bytes of JSON"),
        )
    })?;
    let text = String::from_utf8(json.out)
        .map_err(|_| minijinja::Error::new(minijinja::ErrorKind::BadSerialization, "not UTF-8"))?;
    out.write_str(&text).map_err(minijinja::Error::from)
}

fn json_output(env: &mut Environment<'_>) {
    env.set_auto_escape_callback(|_| AutoEscape::Json);
    env.set_undefined_behavior(UndefinedBehavior::Chainable);
    env.set_formatter(|out, state, value| {
        if value.is_undefined() {
            out.write_str("null").map_err(minijinja::Error::from)
        } else if state.auto_escape() == AutoEscape::Json && !value.is_safe() {
            // The engine's own JSON escaping serializes the whole value before writing it:
            // a bounded buffer stops one that could never fit the output.
            write_json(out, value)
        } else {
            escape_formatter(out, state, value)
        }
    });
}

/// A writer that refuses to grow past [`MAX_OUTPUT_BYTES`].
#[derive(Default)]
struct Bounded {
    out: Vec<u8>,
    overflowed: bool,
}

impl Write for Bounded {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.out.len() + buf.len() > MAX_OUTPUT_BYTES {
            self.overflowed = true;
            return Err(io::Error::other("output too large"));
        }
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn described(err: &minijinja::Error) -> String {
    match err.detail() {
        Some(detail) => format!("{}: {detail}", err.kind()),
        None => err.kind().to_string(),
    }
}

/// Refuses a source that is too long or uses a construct the [`guard`] refuses.
fn admit(source: &str) -> Result<(), TemplateError> {
    if source.len() > MAX_TEMPLATE_BYTES {
        return Err(TemplateError::new(
            TemplateErrorKind::TooLong,
            None,
            format!("a template is at most {MAX_TEMPLATE_BYTES} bytes"),
        ));
    }
    guard::check_constructs(source)
}

/// Admits, parses and renders `source` in `env`, into at most [`MAX_OUTPUT_BYTES`].
fn render_bounded(
    env: &Environment<'_>,
    source: &str,
    context: &impl Serialize,
) -> Result<Vec<u8>, TemplateError> {
    use TemplateErrorKind::*;
    admit(source)?;
    let template = env
        .template_from_str(source)
        .map_err(|e| TemplateError::new(Syntax, e.line(), described(&e)))?;
    let mut out = Bounded::default();
    let ctx = TemplateValue::from_serialize(context);
    if let Err(e) = template.render_captured_to(ctx, &mut out) {
        if out.overflowed {
            return Err(TemplateError::new(
                OutputTooLarge,
                None,
                format!("the rendered output is over {MAX_OUTPUT_BYTES} bytes"),
            ));
        }
        return Err(TemplateError::new(Render, e.line(), described(&e)));
    }
    Ok(out.out)
}

/// Renders `source` with `context` (any serializable value: its fields are the template's
/// variables) into one JSON document, the exact bytes to send.
pub fn render_json(source: &str, context: &impl Serialize) -> Result<Vec<u8>, TemplateError> {
    use TemplateErrorKind::*;
    let out = render_bounded(&environment(Output::Json), source, context)?;
    if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(&out) {
        return Err(TemplateError::new(
            InvalidJson,
            None,
            format!(
                "the rendered payload is not JSON ({} at line {} column {} of the output)",
                json_error_kind(&e),
                e.line(),
                e.column()
            ),
        ));
    }
    Ok(out)
}

/// What kind of JSON error, without serde_json's quote of the offending text.
fn json_error_kind(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Eof => "it ends early",
        serde_json::error::Category::Syntax => "a syntax error",
        serde_json::error::Category::Data | serde_json::error::Category::Io => "invalid data",
    }
}

/// Checks a template at registration: it parses, and renders one JSON document for `sample`.
pub fn check_json(source: &str, sample: &impl Serialize) -> Result<(), TemplateError> {
    render_json(source, sample).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn render(source: &str, ctx: Value) -> Result<Value, TemplateError> {
        render_json(source, &ctx)
            .map(|b| serde_json::from_slice(&b).expect("render_json returns JSON"))
    }

    #[test]
    fn every_interpolation_is_a_json_value_and_undefined_is_null() {
        let ctx = json!({"type": "A \"quoted\" type", "data": {"n": 1, "list": [1, "x"]}});
        assert_eq!(
            render(
                r#"{"t": {{ type }}, "d": {{ data }}, "n": {{ data.n - 1 }}, "m": {{ data.missing.deeper }}}"#,
                ctx
            ),
            Ok(
                json!({"t": "A \"quoted\" type", "d": {"n": 1, "list": [1, "x"]}, "n": 0, "m": null})
            )
        );
    }

    #[test]
    fn a_template_that_does_not_parse_says_on_which_line() {
        let err = render("{\n  \"a\": {{ data.x \n}", json!({})).expect_err("syntax");
        assert_eq!(err.kind, TemplateErrorKind::Syntax);
        assert!(err.line.is_some(), "{err:?}");
        assert!(err.to_string().starts_with("line "), "{err}");
    }

    #[test]
    fn output_that_is_not_json_is_refused_without_quoting_it() {
        let err = render(
            r#"{"a": {{ data.secret|safe }}"#,
            json!({"data": {"secret": "s3cr3t"}}),
        )
        .expect_err("not JSON");
        assert_eq!(err.kind, TemplateErrorKind::InvalidJson);
        assert!(!err.to_string().contains("s3cr3t"), "{err}");
    }

    #[test]
    fn copies_of_the_event_held_at_once_are_bounded_by_the_number_of_copying_filters() {
        let ctx = json!({"data": {"s": "x".repeat(1000), "n": null}});
        let copies = |n: usize| format!("{{{{ [{}] }}}}", vec!["data|string"; n].join(", "));
        render(&copies(guard::MAX_COPYING_FILTERS), ctx.clone()).expect("at the limit");
        let err = render(&copies(guard::MAX_COPYING_FILTERS + 1), ctx.clone()).expect_err("over");
        assert_eq!(err.kind, TemplateErrorKind::Unsupported, "{err:?}");
        assert_eq!(err.line, Some(1), "{err:?}");
        // Filters that hand back a value of their input are not counted.
        let defaults = format!(
            "{{{{ [{}] }}}}",
            vec!["data.s|default('')|length"; 40].join(", ")
        );
        render(&defaults, ctx.clone()).expect("sharing filters are not counted");
        // `list` (a value per character) is not offered.
        let err = render("{{ data.s|list }}", ctx).expect_err("list");
        assert_eq!(err.kind, TemplateErrorKind::Render, "{err:?}");
    }

    #[test]
    fn runaway_templates_run_out_of_fuel_size_or_depth() {
        let many: Vec<u32> = (0..2000).collect();
        let ctx = json!({"data": {"l": many, "s": "x".repeat(1000)}});
        let spin = "{% for i in data.l %}{% for j in data.l %}{% for k in data.l %}{% endfor %}{% endfor %}{% endfor %}1";
        assert_eq!(
            render(spin, ctx.clone()).expect_err("fuel").kind,
            TemplateErrorKind::Render
        );
        let big =
            r#"[{% for i in data.l %}{% for j in data.l %}{{ data.s }},{% endfor %}{% endfor %}1]"#;
        let err = render(big, ctx.clone()).expect_err("size");
        assert_eq!(err.kind, TemplateErrorKind::OutputTooLarge, "{err:?}");
        // One value too large to write is stopped before it is serialized whole.
        let wide = format!("[{}]", vec!["data.l"; 300].join(", "));
        let err = render(&format!("{{{{ {wide} }}}}"), ctx).expect_err("one large value");
        assert_eq!(err.kind, TemplateErrorKind::Render, "{err:?}");
        let long = "1".repeat(MAX_TEMPLATE_BYTES + 1);
        assert_eq!(
            render(&long, json!({})).expect_err("long").kind,
            TemplateErrorKind::TooLong
        );
        let deep = format!(
            "{}1{}",
            "{% if true %}".repeat(200),
            "{% endif %}".repeat(200)
        );
        assert!(render(&deep, json!({})).is_err(), "too deep");
    }
}
