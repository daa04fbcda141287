//! Query parameters that several lists share — a time window and an event type — parsed
//! here once, so that each bad value is a 400 naming its parameter, the same on every route.

use hookline_domain::{ValidationError, time_fmt};
use time::{Duration, OffsetDateTime};

use crate::problem::ApiError;

/// An optional RFC 3339 time given as `field`. Present but empty is refused like any other
/// string that is not a time: the OpenAPI document gives these parameters `format:
/// date-time`, which generated clients type as a time, and an empty value is none.
pub fn time_param(field: &str, value: Option<&str>) -> Result<Option<OffsetDateTime>, ApiError> {
    match value {
        None => Ok(None),
        Some(v) => time_fmt::parse(v).map(Some).ok_or_else(|| {
            ValidationError::invalid(
                field,
                "must be an RFC 3339 timestamp (2026-12-07T10:00:00Z)",
            )
            .into()
        }),
    }
}

/// An optional event type name given as `field` (empty: not given): 1-100 letters, digits,
/// `.`, `_` or `-` (Hookline's own `hookline.…` types included).
pub fn event_type_param(field: &str, value: Option<&str>) -> Result<Option<String>, ApiError> {
    match value.filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v)
            if v.len() <= 100
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')) =>
        {
            Ok(Some(v.to_string()))
        }
        Some(_) => Err(ValidationError::invalid(
            field,
            "an event type: 1-100 letters, digits, '.', '_' or '-'",
        )
        .into()),
    }
}

/// A window `[since, until)` of a list that needs one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Inclusive start.
    pub since: OffsetDateTime,
    /// Exclusive end.
    pub until: OffsetDateTime,
}

impl Window {
    /// The window the `since` and `until` parameters give: `until` defaults to `now` and
    /// `since` to `default` before `until`; `since` must come before `until`, and the window
    /// may span `max` at most.
    pub fn of(
        since: Option<&str>,
        until: Option<&str>,
        now: OffsetDateTime,
        default: Duration,
        max: Duration,
    ) -> Result<Window, ApiError> {
        let until = time_param("until", until)?.unwrap_or(now);
        let since = time_param("since", since)?.unwrap_or(until - default);
        if since >= until {
            return Err(ValidationError::invalid("since", "must be before until").into());
        }
        if until - since > max {
            return Err(ValidationError::invalid(
                "since",
                format!(
                    "the window from since to until spans at most {} days",
                    max.whole_days()
                ),
            )
            .into());
        }
        Ok(Window { since, until })
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn field_of(e: ApiError) -> String {
        e.errors
            .first()
            .map(|f| f.field.clone())
            .unwrap_or_default()
    }

    #[test]
    fn a_window_defaults_to_the_last_span_and_refuses_more_than_its_maximum() {
        let now = datetime!(2026-12-07 10:30 UTC);
        let (day, week) = (Duration::days(1), Duration::days(7));
        let w = Window::of(None, None, now, day, week).expect("default");
        assert_eq!((w.since, w.until), (now - day, now));
        let w =
            Window::of(Some("2026-12-01T00:00:00Z"), None, now, day, week).expect("since given");
        assert_eq!(w.since, datetime!(2026-12-01 0:00 UTC));
        let empty = Window::of(None, Some(""), now, day, week);
        assert_eq!(field_of(empty.expect_err("empty is not a time")), "until");
        let empty = time_param("since", Some(""));
        assert_eq!(field_of(empty.expect_err("empty is not a time")), "since");
        let wide = Window::of(Some("2026-11-01T00:00:00Z"), None, now, day, week);
        assert_eq!(field_of(wide.expect_err("too wide")), "since");
        let reversed = Window::of(Some("2026-12-08T00:00:00Z"), None, now, day, week);
        assert_eq!(field_of(reversed.expect_err("reversed")), "since");
        let bad = Window::of(None, Some("yesterday"), now, day, week);
        assert_eq!(field_of(bad.expect_err("not a time")), "until");
    }

    #[test]
    fn an_event_type_filter_takes_names_of_the_catalog_and_of_hookline() {
        assert_eq!(
            event_type_param("event_type", Some("hookline.ping")).ok(),
            Some(Some("hookline.ping".to_string()))
        );
        assert_eq!(event_type_param("type", Some("")).ok(), Some(None));
        for bad in ["a b", "é", &"x".repeat(101)] {
            let e = event_type_param("type", Some(bad)).expect_err(bad);
            assert_eq!(field_of(e), "type");
        }
    }
}
