//! `hookline events send|list|get`.

use reqwest::Method;
use serde_json::{Value, json};

use super::{Ctx, id_segment, json_arg};
use crate::api::Payload;
use crate::args::{EventsCommand, SendArgs};
use crate::error::CliError;
use crate::output::{print_fields, print_json};

/// The columns of an event list.
const COLUMNS: [(&str, &str); 5] = [
    ("id", "id"),
    ("type", "type"),
    ("state", "state"),
    ("occurred at", "occurred_at"),
    ("source", "source"),
];

/// Runs an `events` command.
pub async fn run(ctx: &Ctx, command: EventsCommand) -> Result<(), CliError> {
    let api = ctx.api()?;
    match command {
        EventsCommand::Send(args) => {
            let (body, key) = send_body(args)?;
            let headers: Vec<(&str, &str)> = key
                .as_deref()
                .map(|k| ("idempotency-key", k))
                .into_iter()
                .collect();
            let answer = api
                .call_with_headers(
                    Method::POST,
                    api.url("/v1/events", &[]),
                    Some(Payload::Json(&body)),
                    None,
                    &headers,
                )
                .await?;
            ctx.out.show(&answer, |a| {
                println!(
                    "{}  {}",
                    a["id"].as_str().unwrap_or("-"),
                    a["status"].as_str().unwrap_or("accepted")
                );
            });
        }
        EventsCommand::List(args) => {
            let answer = api
                .get(
                    "/v1/events",
                    &[
                        ("since", args.window.since),
                        ("until", args.window.until),
                        ("type", args.event_type),
                        ("state", args.state),
                        ("limit", args.page.limit.map(|l| l.to_string())),
                        ("cursor", args.page.cursor),
                    ],
                )
                .await?;
            ctx.out.list(&answer, &COLUMNS);
        }
        EventsCommand::Get { id } => {
            let answer = api
                .get(&format!("/v1/events/{}", id_segment(&id)?), &[])
                .await?;
            ctx.out.show(&answer, |e| {
                print_fields(
                    e,
                    &[
                        "id",
                        "type",
                        "state",
                        "occurred_at",
                        "received_at",
                        "source",
                        "deliveries.pending",
                        "deliveries.succeeded",
                        "deliveries.failed",
                    ],
                );
                println!("data:");
                print_json(&e["data"]);
            });
        }
    }
    Ok(())
}

/// The body of `POST /v1/events`, and the idempotency key.
fn send_body(args: SendArgs) -> Result<(Value, Option<String>), CliError> {
    let data = json_arg("--data", &args.data)?;
    let mut body = json!({"type": args.event_type, "state": args.state, "data": data});
    if let Some(id) = args.id {
        body["id"] = json!(id);
    }
    if let Some(at) = args.occurred_at {
        body["occurred_at"] = json!(at);
    }
    Ok((body, args.idempotency_key))
}
