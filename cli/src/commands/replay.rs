//! `hookline replay`: a subscription's past events of a time range, re-delivered in steps
//! (one `POST …/replay` per step), with a progress bar over the range.

use indicatif::{ProgressBar, ProgressStyle};
use reqwest::Method;
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use super::{Ctx, id_segment};
use crate::args::ReplayArgs;
use crate::error::CliError;

/// Replays `since..until` step by step and sums what each step queued. A step that the
/// client's `max_replay_events` stopped is named at the end, and the command fails (exit 1)
/// so that a script knows the range was not replayed whole.
pub async fn run(ctx: &Ctx, args: ReplayArgs) -> Result<(), CliError> {
    let api = ctx.api()?;
    let path = format!(
        "/v1/subscriptions/{}/replay",
        id_segment(&args.subscription)?
    );
    let since = parse_time("--since", &args.since)?;
    let until = match &args.until {
        Some(t) => parse_time("--until", t)?,
        None => OffsetDateTime::now_utc(),
    };
    if until <= since {
        return Err(CliError::usage("--until must be after --since"));
    }
    let steps = steps(
        since,
        until,
        Duration::minutes(i64::from(args.step_minutes)),
    );
    let bar = ProgressBar::new(steps.len() as u64);
    if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} steps  {msg}") {
        bar.set_style(style);
    }
    let mut count = 0u64;
    let mut limited = Vec::new();
    for (from, to) in &steps {
        let (from, to) = (format_time(*from), format_time(*to));
        let body = json!({"since": from, "until": to, "only_failed": args.only_failed});
        let answer = match api.send(Method::POST, &path, Some(&body)).await {
            Ok(a) => a,
            Err(e) => {
                bar.abandon();
                return Err(e);
            }
        };
        count += answer["count"].as_u64().unwrap_or(0);
        if answer["limit_reached"].as_bool().unwrap_or(false) {
            limited.push(json!({"since": from, "until": to}));
        }
        bar.set_message(format!("{count} deliveries queued"));
        bar.inc(1);
    }
    bar.finish_and_clear();
    let summary = json!({
        "subscription_id": args.subscription,
        "count": count,
        "steps": steps.len(),
        "limit_reached": !limited.is_empty(),
        "limited_steps": limited,
    });
    ctx.out.show(&summary, |s| {
        println!(
            "replayed {} events of {} ({} steps)",
            s["count"], args.subscription, s["steps"]
        );
    });
    if limited.is_empty() {
        return Ok(());
    }
    let windows: Vec<String> = limited
        .iter()
        .map(|w| format!("{}..{}", text(&w["since"]), text(&w["until"])))
        .collect();
    Err(CliError::Invalid(format!(
        "the client's max_replay_events stopped the replay of {}: replay them with a smaller --step-minutes",
        windows.join(", ")
    )))
}

/// `since..until` cut into consecutive windows of at most `step`.
fn steps(
    since: OffsetDateTime,
    until: OffsetDateTime,
    step: Duration,
) -> Vec<(OffsetDateTime, OffsetDateTime)> {
    let mut out = Vec::new();
    let mut from = since;
    while from < until {
        let to = (from + step).min(until);
        out.push((from, to));
        from = to;
    }
    out
}

fn parse_time(flag: &str, text: &str) -> Result<OffsetDateTime, CliError> {
    OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|e| CliError::usage(format!("{flag} '{text}' is not an RFC 3339 time: {e}")))
}

fn format_time(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_default()
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_range_is_cut_into_steps_that_cover_it_without_overlap() {
        let s = steps(
            datetime!(2026-12-07 10:00 UTC),
            datetime!(2026-12-07 12:30 UTC),
            Duration::hours(1),
        );
        assert_eq!(
            s,
            vec![
                (
                    datetime!(2026-12-07 10:00 UTC),
                    datetime!(2026-12-07 11:00 UTC)
                ),
                (
                    datetime!(2026-12-07 11:00 UTC),
                    datetime!(2026-12-07 12:00 UTC)
                ),
                (
                    datetime!(2026-12-07 12:00 UTC),
                    datetime!(2026-12-07 12:30 UTC)
                ),
            ]
        );
    }
}
