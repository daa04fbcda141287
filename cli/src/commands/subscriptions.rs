//! `hookline subscriptions create|list|get|update|delete|secret|rotate|test`: webhook, pull
//! and workflow (`--actions`) subscriptions.

use reqwest::Method;
use serde_json::{Map, Value, json};

use super::{Ctx, id_segment, json_arg, patch};
use crate::args::{SubscriptionFields, SubscriptionsCommand};
use crate::error::CliError;
use crate::output::print_fields;

/// The columns of a subscription list.
const COLUMNS: [(&str, &str); 6] = [
    ("id", "id"),
    ("mode", "mode"),
    ("url", "url"),
    ("event types", "event_types"),
    ("states", "states"),
    ("enabled", "enabled"),
];

/// The fields shown for one subscription.
const FIELDS: [&str; 13] = [
    "id",
    "mode",
    "url",
    "actions",
    "description",
    "event_types",
    "states",
    "format",
    "max_attempts",
    "enabled",
    "disabled_reason",
    "created_at",
    "updated_at",
];

/// Runs a `subscriptions` command.
pub async fn run(ctx: &Ctx, command: SubscriptionsCommand) -> Result<(), CliError> {
    let api = ctx.api()?;
    let path = |id: &str, rest: &str| -> Result<String, CliError> {
        Ok(format!("/v1/subscriptions/{}{rest}", id_segment(id)?))
    };
    match command {
        SubscriptionsCommand::Create(args) => {
            let mut body = fields_body(args.fields)?;
            match (args.url, args.actions) {
                (Some(url), _) => {
                    body.insert("url".into(), json!(url));
                }
                (None, Some(actions)) => {
                    let steps = json_arg("--actions", &actions)?;
                    if !steps.is_array() {
                        return Err(CliError::usage("--actions must be a JSON list of steps"));
                    }
                    body.insert("mode".into(), json!("action"));
                    body.insert("actions".into(), steps);
                }
                (None, None) => {
                    body.insert("mode".into(), json!("pull"));
                }
            }
            if args.disabled {
                body.insert("enabled".into(), json!(false));
            }
            let answer = api
                .send(
                    Method::POST,
                    "/v1/subscriptions",
                    Some(&Value::Object(body)),
                )
                .await?;
            // The signing secret: `GET …/secret` reads it again later.
            let mut fields = FIELDS.to_vec();
            fields.push("secret");
            ctx.out.show(&answer, |s| print_fields(s, &fields));
        }
        SubscriptionsCommand::List { client_id, page } => {
            let answer = api.get("/v1/subscriptions", &page.query(client_id)).await?;
            ctx.out.list(&answer, &COLUMNS);
        }
        SubscriptionsCommand::Get { id } => {
            let answer = api.get(&path(&id, "")?, &[]).await?;
            ctx.out.show(&answer, |s| print_fields(s, &FIELDS));
        }
        SubscriptionsCommand::Update(args) => {
            let mut body = fields_body(args.fields)?;
            if let Some(url) = args.url {
                body.insert("url".into(), json!(url));
            }
            let answer = patch(&api, &path(&args.id, "")?, body, args.enable, args.disable).await?;
            ctx.out.show(&answer, |s| print_fields(s, &FIELDS));
        }
        SubscriptionsCommand::Delete { id } => {
            api.send(Method::DELETE, &path(&id, "")?, None).await?;
            ctx.out.show(&json!({"id": id, "deleted": true}), |_| {
                println!("deleted {id}")
            });
        }
        SubscriptionsCommand::Secret { id } => {
            let answer = api.get(&path(&id, "/secret")?, &[]).await?;
            ctx.out.show(&answer, |a| {
                println!("{}", a["secret"].as_str().unwrap_or("-"))
            });
        }
        SubscriptionsCommand::Rotate { id } => {
            let answer = api
                .send(Method::POST, &path(&id, "/secret/rotate")?, None)
                .await?;
            ctx.out.show(&answer, |a| {
                println!(
                    "new secret (the previous one signs alongside for 24 h): {}",
                    a["secret"].as_str().unwrap_or("-")
                );
            });
        }
        SubscriptionsCommand::Test { id } => {
            let answer = api.send(Method::POST, &path(&id, "/test")?, None).await?;
            ctx.out.show(&answer, |a| {
                println!(
                    "sent hookline.ping: {}",
                    a["delivery_id"].as_str().unwrap_or("-")
                );
            });
        }
    }
    Ok(())
}

/// The body fields `create` and `update` share: `--body` first, then each option given.
fn fields_body(f: SubscriptionFields) -> Result<Map<String, Value>, CliError> {
    let mut body = match f.body {
        Some(text) => match json_arg("--body", &text)? {
            Value::Object(map) => map,
            _ => return Err(CliError::usage("--body must be a JSON object")),
        },
        None => Map::new(),
    };
    if !f.event_types.is_empty() {
        body.insert("event_types".into(), json!(f.event_types));
    }
    if !f.states.is_empty() {
        body.insert("states".into(), json!(f.states));
    }
    if let Some(d) = f.description {
        body.insert("description".into(), json!(d));
    }
    if let Some(filter) = f.filter {
        body.insert("filter".into(), json_arg("--filter", &filter)?);
    }
    if let Some(format) = f.format {
        body.insert("format".into(), json!(format));
    }
    if let Some(n) = f.max_attempts {
        body.insert("max_attempts".into(), json!(n));
    }
    Ok(body)
}
