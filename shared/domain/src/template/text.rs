//! Text rendering, for the strings of integration apps' requests: a URL, a header, a query or
//! form value, a string leaf of a JSON body, a workflow step's input.
//!
//! Nothing is escaped (the caller encodes what it places in a URL), and an undefined value is
//! an error (`props.locaton_id` is a typo to report, not an empty string to send). A value is
//! written as text: a string as it is, a number or boolean as JSON writes it, `null` as
//! nothing (a first poll's `cursor`), a list or object as compact JSON.
//!
//! A JSON body's string leaf that is exactly one `{{ expression }}` keeps the expression's
//! JSON type ([`render_value`]): `"{{ input.quantity }}"` sends `3`, not `"3"`.

use minijinja::machinery::{Token, WhitespaceConfig, tokenize};
use minijinja::syntax::SyntaxConfig;
use minijinja::value::{Value as TemplateValue, ValueKind};
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::Serialize;
use serde_json::Value;

use super::{
    Bounded, MAX_OUTPUT_BYTES, Output, TemplateError, TemplateErrorKind, admit, described,
    environment, render_bounded, write_json,
};

/// Sets `env` up for text output.
pub(super) fn text_output(env: &mut Environment<'_>) {
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // Strict undefined is refused before the formatter is called.
    env.set_formatter(|out, _state, value| match value.kind() {
        ValueKind::None => Ok(()),
        ValueKind::Bool
        | ValueKind::Number
        | ValueKind::Map
        | ValueKind::Seq
        | ValueKind::Iterable => write_json(out, value),
        _ => write!(out, "{value}").map_err(minijinja::Error::from),
    });
}

/// Renders `source` with `context` as text (see the module's rules): undefined values, a
/// source that does not parse or uses a refused construct, running out of fuel and an output
/// over [`MAX_OUTPUT_BYTES`] are errors.
pub fn render_text(source: &str, context: &impl Serialize) -> Result<String, TemplateError> {
    let out = render_bounded(&environment(Output::Text), source, context)?;
    String::from_utf8(out)
        .map_err(|_| TemplateError::new(TemplateErrorKind::Render, None, "the output is not UTF-8"))
}

/// Renders a JSON string leaf: when `source` is exactly one `{{ expression }}` (whitespace
/// around it allowed), the expression's value with its JSON type; otherwise
/// [`render_text`]'s string. An expression whose value is undefined is an error.
pub fn render_value(source: &str, context: &impl Serialize) -> Result<Value, TemplateError> {
    let Some(expression) = single_expression(source) else {
        return render_text(source, context).map(Value::String);
    };
    admit(source)?;
    let env = environment(Output::Text);
    let compiled = env
        .compile_expression(expression)
        .map_err(|e| TemplateError::new(TemplateErrorKind::Syntax, e.line(), described(&e)))?;
    let value = compiled
        .eval(TemplateValue::from_serialize(context))
        .map_err(|e| TemplateError::new(TemplateErrorKind::Render, e.line(), described(&e)))?;
    if value.is_undefined() {
        return Err(TemplateError::new(
            TemplateErrorKind::Render,
            Some(1),
            "undefined value: the expression names nothing in the context",
        ));
    }
    to_json(&value)
}

/// The value as JSON, refused over [`MAX_OUTPUT_BYTES`].
fn to_json(value: &TemplateValue) -> Result<Value, TemplateError> {
    let mut json = Bounded::default();
    if serde_json::to_writer(&mut json, value).is_err() {
        return Err(TemplateError::new(
            TemplateErrorKind::OutputTooLarge,
            None,
            format!("the value is over {MAX_OUTPUT_BYTES} bytes of JSON"),
        ));
    }
    serde_json::from_slice(&json.out).map_err(|_| {
        TemplateError::new(
            TemplateErrorKind::Render,
            None,
            "the value has no JSON form",
        )
    })
}

/// The expression of a source that is exactly one `{{ … }}` and whitespace, if it is.
fn single_expression(source: &str) -> Option<&str> {
    #[allow(clippy::default_constructed_unit_structs)]
    let tokens = tokenize(
        source,
        false,
        SyntaxConfig::default(),
        WhitespaceConfig::default(),
    );
    let (mut start, mut end) = (None, None);
    for token in tokens {
        let (token, span) = token.ok()?;
        match token {
            Token::TemplateData(text) if text.trim().is_empty() => {}
            Token::VariableStart if start.is_none() => start = Some(span.end_offset),
            Token::VariableEnd if end.is_none() => end = Some(span.start_offset),
            Token::TemplateData(_)
            | Token::VariableStart
            | Token::VariableEnd
            | Token::BlockStart
            | Token::BlockEnd => return None,
            _ if start.is_none() || end.is_some() => return None,
            _ => {}
        }
    }
    let (start, end) = (usize::try_from(start?).ok()?, usize::try_from(end?).ok()?);
    source.get(start..end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx() -> Value {
        json!({
            "props": {"location_id": "loc 1", "n": 3, "flag": true},
            "env": {"BASE_URL": "https://shop.example"},
            "input": {"status": "ready", "lines": [{"sku": "a"}], "nothing": null},
            "cursor": null,
        })
    }

    #[test]
    fn text_is_not_escaped_and_values_are_written_as_text() {
        assert_eq!(
            render_text(
                "{{ env.BASE_URL }}/orders?loc={{ props.location_id }}&n={{ props.n }}&f={{ props.flag }}&c={{ cursor }}",
                &ctx()
            ),
            Ok("https://shop.example/orders?loc=loc 1&n=3&f=true&c=".into())
        );
        assert_eq!(
            render_text(r#"<"{{ input.lines }}">"#, &ctx()),
            Ok(r#"<"[{"sku":"a"}]">"#.into())
        );
    }

    #[test]
    fn an_undefined_value_is_an_error_unless_defaulted() {
        for source in [
            "{{ props.missing }}",
            "{{ nothing.at.all }}",
            "{{ props.missing.deeper }}",
        ] {
            let err = render_text(source, &ctx()).expect_err(source);
            assert_eq!(err.kind, TemplateErrorKind::Render, "{source}: {err:?}");
        }
        assert_eq!(
            render_text("{{ props.missing | default('x') }}", &ctx()),
            Ok("x".into())
        );
        assert_eq!(
            render_text(
                "{% if props.missing is defined %}y{% else %}n{% endif %}",
                &ctx()
            ),
            Ok("n".into())
        );
    }

    #[test]
    fn a_single_expression_keeps_its_json_type() {
        let ctx = ctx();
        assert_eq!(render_value("{{ props.n }}", &ctx), Ok(json!(3)));
        assert_eq!(render_value("  {{props.flag}} ", &ctx), Ok(json!(true)));
        assert_eq!(
            render_value("{{- input.lines -}}", &ctx),
            Ok(json!([{"sku": "a"}]))
        );
        assert_eq!(render_value("{{ input.nothing }}", &ctx), Ok(Value::Null));
        assert_eq!(render_value("{{ props.n > 2 }}", &ctx), Ok(json!(true)));
        // Anything more is text.
        assert_eq!(render_value("n={{ props.n }}", &ctx), Ok(json!("n=3")));
        assert_eq!(
            render_value("{{ props.n }}{{ props.n }}", &ctx),
            Ok(json!("33"))
        );
        assert_eq!(render_value("plain", &ctx), Ok(json!("plain")));
        assert_eq!(
            render_value("{% if props.flag %}{{ props.n }}{% endif %}", &ctx),
            Ok(json!("3"))
        );
        let err = render_value("{{ input.missing }}", &ctx).expect_err("undefined");
        assert_eq!(err.kind, TemplateErrorKind::Render);
        let err = render_value("{{ input.( }}", &ctx).expect_err("syntax");
        assert_eq!(err.kind, TemplateErrorKind::Syntax);
    }

    #[test]
    fn text_keeps_the_guard_and_the_limits() {
        let err = render_text("{{ 'x' * 100000000 }}", &ctx()).expect_err("guard");
        assert_eq!(err.kind, TemplateErrorKind::Unsupported);
        let err = render_value("{{ 'x' * 100000000 }}", &ctx()).expect_err("guard");
        assert_eq!(err.kind, TemplateErrorKind::Unsupported);
        let many: Vec<u32> = (0..2000).collect();
        let big = json!({"l": many, "s": "x".repeat(1000)});
        let err = render_text(
            "{% for i in l %}{% for j in l %}{{ s }}{% endfor %}{% endfor %}",
            &big,
        )
        .expect_err("size");
        assert!(
            matches!(
                err.kind,
                TemplateErrorKind::OutputTooLarge | TemplateErrorKind::Render
            ),
            "{err:?}"
        );
        let spin =
            "{% for i in l %}{% for j in l %}{% for k in l %}{% endfor %}{% endfor %}{% endfor %}";
        assert_eq!(
            render_text(spin, &big).expect_err("fuel").kind,
            TemplateErrorKind::Render
        );
        let long = "1".repeat(super::super::MAX_TEMPLATE_BYTES + 1);
        assert_eq!(
            render_text(&long, &big).expect_err("long").kind,
            TemplateErrorKind::TooLong
        );
    }
}
