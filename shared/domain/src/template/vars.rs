//! What a template names, found without rendering it: an app is checked at publication, when
//! no event, connection or secret exists yet, so every `props.X`, `env.X` and `input.X` must be
//! declared before the first request is sent.

use std::collections::BTreeSet;

use super::{Output, TemplateError, TemplateErrorKind, admit, described, environment};

/// Checks that `source` is a template text rendering accepts: not too long, no refused
/// construct, and it parses. Nothing is rendered.
pub fn check(source: &str) -> Result<(), TemplateError> {
    referenced_variables(source).map(drop)
}

/// The context variables `source` reads, each as its root and first attribute when the
/// template names one (`props.location_id` for `{{ props.location_id.name }}`, `event` for
/// `{{ event["type"] }}`, `cursor`); the variables a template binds itself (a loop's) are not
/// listed. Fails as [`check`] does.
pub fn referenced_variables(source: &str) -> Result<BTreeSet<String>, TemplateError> {
    admit(source)?;
    let env = environment(Output::Text);
    let template = env
        .template_from_str(source)
        .map_err(|e| TemplateError::new(TemplateErrorKind::Syntax, e.line(), described(&e)))?;
    Ok(template
        .undeclared_variables(true)
        .into_iter()
        .map(|path| {
            let mut parts = path.splitn(3, '.');
            match (parts.next(), parts.next()) {
                (Some(root), Some(first)) => format!("{root}.{first}"),
                _ => path,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(source: &str) -> Vec<String> {
        referenced_variables(source)
            .expect("parses")
            .into_iter()
            .collect()
    }

    #[test]
    fn references_are_listed_as_root_and_first_attribute() {
        assert_eq!(
            names(
                "{{ env.BASE_URL }}/x/{{ props.location_id.name }}?s={{ input.status | lower }}{% if found %}{{ found.id }}{% endif %}{{ cursor }}"
            ),
            [
                "cursor",
                "env.BASE_URL",
                "found",
                "found.id",
                "input.status",
                "props.location_id"
            ]
        );
    }

    #[test]
    fn loop_variables_are_not_references_and_subscripts_give_the_root() {
        assert_eq!(
            names(
                "{% for line in input.lines %}{{ line.sku }}{{ loop.index }}{% endfor %}{{ event['type'] }}"
            ),
            ["event", "input.lines"]
        );
    }

    #[test]
    fn a_template_that_does_not_parse_or_is_refused_is_an_error() {
        let err = check("{{ props.x ").expect_err("syntax");
        assert_eq!(err.kind, TemplateErrorKind::Syntax);
        let err = check("{% set x = 1 %}").expect_err("guard");
        assert_eq!(err.kind, TemplateErrorKind::Unsupported);
        check("plain text, {{ props.x }}").expect("fine");
    }
}
