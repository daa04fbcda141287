//! The delivery settings of a subscription's input: payload `format` and `template`, its own
//! `retry` schedule and the receiver's `auth` credential.

use super::{OutboundAuth, PayloadFormat, RetryPolicy, Subscription, TypeSelector};
use crate::error::{FieldError, ValidationError};

/// Problem code of a template that does not parse or does not render JSON (422).
pub const INVALID_TEMPLATE: &str = "invalid_template";
/// Problem code of a credential given as a custom header instead of `auth` (422).
pub const CREDENTIAL_IN_HEADERS: &str = "credential_in_headers";

/// Applies the delivery settings of an input (`None`: not given; `Some(None)`: cleared),
/// checking each; a template is rendered once for a sample event of the subscription.
pub(super) fn apply_delivery_settings(
    sub: &mut Subscription,
    format: Option<PayloadFormat>,
    template: Option<String>,
    retry: Option<Option<RetryPolicy>>,
    auth: Option<Option<OutboundAuth>>,
) -> Result<(), ValidationError> {
    let template_changed = format.is_some() || template.is_some();
    if let Some(f) = format {
        sub.format = f;
        if f != PayloadFormat::Template {
            sub.template = None;
        }
    }
    if let Some(t) = template {
        if sub.format != PayloadFormat::Template {
            return Err(ValidationError::invalid(
                "template",
                "only with \"format\": \"template\"",
            ));
        }
        sub.template = Some(t);
    }
    if template_changed && sub.format == PayloadFormat::Template {
        let Some(source) = &sub.template else {
            return Err(ValidationError::invalid(
                "template",
                "is required with \"format\": \"template\"",
            ));
        };
        check_sample(sub, source)?;
    }
    if let Some(retry) = retry {
        if let Some(policy) = &retry {
            policy.validate()?;
        }
        sub.retry = retry;
    }
    if let Some(auth) = auth {
        if let Some(credential) = &auth {
            credential.validate(super::input::is_reserved_header)?;
        }
        sub.auth = auth;
    }
    if let Some(credential) = &sub.auth
        && sub
            .headers
            .keys()
            .any(|h| h.eq_ignore_ascii_case(credential.header()))
    {
        return Err(ValidationError::invalid(
            "auth.header",
            format!("'{}' is also one of `headers`", credential.header()),
        ));
    }
    Ok(())
}

/// Renders the template for a sample event of the subscription's first exact type and state.
fn check_sample(sub: &Subscription, source: &str) -> Result<(), ValidationError> {
    let event_type = sub
        .event_types
        .iter()
        .find_map(|t| match TypeSelector::parse(t) {
            TypeSelector::Exact(name) => Some(name),
            _ => None,
        })
        .unwrap_or_else(|| "Sample".to_string());
    let state = sub.states.first().map_or("AP", |s| s.as_str());
    super::check_template(source, &event_type, state).map_err(|e| {
        ValidationError::of_field(
            INVALID_TEMPLATE,
            FieldError::new("template", e.to_string()).on_line(e.line),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{ClientId, SubscriptionId};
    use crate::subscription::new_subscription;

    fn sub() -> Subscription {
        let mut s = new_subscription(
            SubscriptionId::from_stored("sub_1"),
            ClientId::from_stored("cl_1"),
            "whsec_x".into(),
            time::OffsetDateTime::UNIX_EPOCH,
        );
        s.event_types = vec!["LotDispatched".into()];
        s
    }

    fn with_template(t: &str) -> Result<Subscription, ValidationError> {
        let mut s = sub();
        apply_delivery_settings(
            &mut s,
            Some(PayloadFormat::Template),
            Some(t.into()),
            None,
            None,
        )
        .map(|()| s)
    }

    #[test]
    fn a_bad_template_is_422_on_template_with_its_line() {
        let e = with_template("{\"a\":\n {{ data.x ").expect_err("syntax");
        assert_eq!(e.code, INVALID_TEMPLATE);
        assert_eq!(e.errors[0].field, "template");
        assert!(e.errors[0].line.is_some(), "{e:?}");
        let e = with_template(r#"{"a": {{ type|safe }}}"#).expect_err("not JSON");
        assert_eq!(
            (e.code, e.errors[0].field.as_str()),
            (INVALID_TEMPLATE, "template")
        );
        let ok = with_template(r#"{"event": {{ type }}, "payload": {{ data }}}"#).expect("valid");
        assert_eq!(ok.format, PayloadFormat::Template);
    }

    #[test]
    fn a_template_needs_its_format_and_the_format_its_template() {
        let mut s = sub();
        let e = apply_delivery_settings(&mut s, None, Some("{}".into()), None, None)
            .expect_err("no format");
        assert_eq!(e.errors[0].field, "template");
        let e = apply_delivery_settings(&mut s, Some(PayloadFormat::Template), None, None, None)
            .expect_err("no template");
        assert_eq!(e.errors[0].field, "template");
        let mut s = with_template("{}").expect("valid");
        apply_delivery_settings(&mut s, Some(PayloadFormat::Cloudevents), None, None, None)
            .expect("valid");
        assert_eq!(s.template, None, "another format drops the template");
    }

    #[test]
    fn a_credential_header_cannot_be_a_custom_header_too() {
        let mut s = sub();
        s.headers.insert("X-Portal-Key".into(), "x".into());
        let auth = OutboundAuth::ApiKey {
            header: "x-portal-key".into(),
            value: "k-123456".into(),
        };
        let e =
            apply_delivery_settings(&mut s, None, None, None, Some(Some(auth))).expect_err("clash");
        assert_eq!(e.errors[0].field, "auth.header");
        let auth = OutboundAuth::ApiKey {
            header: "Webhook-Id".into(),
            value: "k-123456".into(),
        };
        let e = apply_delivery_settings(&mut sub(), None, None, None, Some(Some(auth)))
            .expect_err("reserved");
        assert_eq!(e.errors[0].field, "auth.header");
    }
}
