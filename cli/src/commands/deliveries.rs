//! `hookline deliveries list|get|retry`.

use reqwest::Method;
use serde_json::{Value, json};

use super::{Ctx, id_segment};
use crate::args::{DeliveriesCommand, DeliveryFilter};
use crate::error::CliError;
use crate::output::{print_fields, print_table};

/// The columns of a delivery list.
const COLUMNS: [(&str, &str); 7] = [
    ("id", "id"),
    ("status", "status"),
    ("event type", "event_type"),
    ("event", "event_id"),
    ("subscription", "subscription_id"),
    ("attempts", "attempt_count"),
    ("created at", "created_at"),
];

/// The columns of the hourly statistics.
const STATS_COLUMNS: [(&str, &str); 5] = [
    ("hour", "hour"),
    ("pending", "pending"),
    ("retrying", "retrying"),
    ("succeeded", "succeeded"),
    ("failed", "failed"),
];

/// Runs a `deliveries` command.
pub async fn run(ctx: &Ctx, command: DeliveriesCommand) -> Result<(), CliError> {
    let api = ctx.api()?;
    match command {
        DeliveriesCommand::List(args) => {
            let mut query = filter_query(args.filter);
            query.extend([
                ("event_id", args.event),
                ("status", args.status),
                ("limit", args.page.limit.map(|l| l.to_string())),
                ("cursor", args.page.cursor),
            ]);
            let answer = api.get("/v1/deliveries", &query).await?;
            if ctx.out.json {
                ctx.out.list(&answer, &COLUMNS);
            } else {
                ctx.out.list(&with_attempt_counts(answer), &COLUMNS);
            }
        }
        DeliveriesCommand::Get { id } => {
            let answer = api
                .get(&format!("/v1/deliveries/{}", id_segment(&id)?), &[])
                .await?;
            ctx.out.show(&answer, |d| {
                print_fields(
                    d,
                    &[
                        "id",
                        "status",
                        "event_type",
                        "event_id",
                        "subscription_id",
                        "next_attempt_at",
                        "created_at",
                        "updated_at",
                    ],
                );
                println!();
                let attempts = d["attempts"].as_array().map(Vec::as_slice).unwrap_or(&[]);
                print_table(
                    &[
                        ("attempt", "attempt"),
                        ("at", "at"),
                        ("status", "status_code"),
                        ("ms", "duration_ms"),
                        ("error", "error"),
                        ("response", "response_excerpt"),
                    ],
                    attempts,
                );
            });
        }
        DeliveriesCommand::Stats(filter) => {
            let answer = api
                .get("/v1/deliveries/stats", &filter_query(filter))
                .await?;
            ctx.out.show(&answer, |s| {
                let buckets = s["buckets"].as_array().map(Vec::as_slice).unwrap_or(&[]);
                print_table(&STATS_COLUMNS, buckets);
                if s["truncated"] == true {
                    eprintln!("truncated: only the newest 10,000 deliveries are counted");
                }
            });
        }
        DeliveriesCommand::Retry { id } => {
            let answer = api
                .send(
                    Method::POST,
                    &format!("/v1/deliveries/{}/retry", id_segment(&id)?),
                    None,
                )
                .await?;
            ctx.out
                .show(&answer, |_| println!("queued {id} for another attempt"));
        }
    }
    Ok(())
}

/// The query of a delivery filter.
fn filter_query(f: DeliveryFilter) -> Vec<(&'static str, Option<String>)> {
    vec![
        ("subscription_id", f.subscription),
        ("event_type", f.event_type),
        ("since", f.window.since),
        ("until", f.window.until),
    ]
}

/// The list with each delivery's number of attempts, for the table.
fn with_attempt_counts(mut answer: Value) -> Value {
    if let Some(items) = answer.get_mut("data").and_then(Value::as_array_mut) {
        for item in items {
            let n = item["attempts"].as_array().map_or(0, Vec::len);
            item["attempt_count"] = json!(n);
        }
    }
    answer
}
