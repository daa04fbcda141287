//! `hookline connections create|list|get|update|upgrade|test|polls|delete`: a client's
//! connections to integration app versions (`/v1/connections…`). Credentials go out and never
//! come back: the API answers with the keys set (`secrets_set`), and so does this.

use reqwest::Method;
use serde_json::{Map, Value, json};

use super::{Ctx, id_segment, object_arg, patch};
use crate::args::{ConnectionFields, ConnectionsCommand};
use crate::error::CliError;
use crate::output::{print_fields, print_table};

/// The columns of a connection list.
const COLUMNS: [(&str, &str); 6] = [
    ("id", "id"),
    ("app", "app"),
    ("version", "version"),
    ("name", "name"),
    ("state", "state"),
    ("enabled", "enabled"),
];

/// The fields shown for one connection.
const FIELDS: [&str; 13] = [
    "id",
    "client_id",
    "app",
    "version",
    "name",
    "state",
    "properties",
    "secrets_set",
    "enabled",
    "polling",
    "hook_urls",
    "created_at",
    "updated_at",
];

/// The columns of a connection's polls.
const POLL_COLUMNS: [(&str, &str); 6] = [
    ("trigger", "trigger"),
    ("every (s)", "interval_seconds"),
    ("next run", "next_run_at"),
    ("last run", "last_run_at"),
    ("published", "published"),
    ("last error", "last_error"),
];

/// Runs a `connections` command.
pub async fn run(ctx: &Ctx, command: ConnectionsCommand) -> Result<(), CliError> {
    let api = ctx.api()?;
    let path = |id: &str, rest: &str| -> Result<String, CliError> {
        Ok(format!("/v1/connections/{}{rest}", id_segment(id)?))
    };
    match command {
        ConnectionsCommand::Create(args) => {
            let mut body = fields_body(args.fields)?;
            body.insert("app".into(), json!(args.app));
            body.insert("version".into(), json!(args.version));
            body.insert("state".into(), json!(args.state));
            let answer = api
                .send(Method::POST, "/v1/connections", Some(&Value::Object(body)))
                .await?;
            ctx.out.show(&answer, |c| print_fields(c, &FIELDS));
        }
        ConnectionsCommand::List { client_id, page } => {
            let answer = api.get("/v1/connections", &page.query(client_id)).await?;
            ctx.out.list(&answer, &COLUMNS);
        }
        ConnectionsCommand::Get { id } => {
            let answer = api.get(&path(&id, "")?, &[]).await?;
            ctx.out.show(&answer, |c| print_fields(c, &FIELDS));
        }
        ConnectionsCommand::Update(args) => {
            let body = fields_body(args.fields)?;
            let answer = patch(&api, &path(&args.id, "")?, body, args.enable, args.disable).await?;
            ctx.out.show(&answer, |c| print_fields(c, &FIELDS));
        }
        ConnectionsCommand::Upgrade { id, version } => {
            let answer = api
                .send(
                    Method::POST,
                    &path(&id, "/upgrade")?,
                    Some(&json!({"version": version})),
                )
                .await?;
            ctx.out.show(&answer, |c| print_fields(c, &FIELDS));
        }
        ConnectionsCommand::Test { id } => {
            let answer = api.send(Method::POST, &path(&id, "/test")?, None).await?;
            ctx.out.show(&answer, |t| {
                print_fields(
                    t,
                    &[
                        "ok",
                        "status",
                        "duration_ms",
                        "error",
                        "request_excerpt",
                        "response_excerpt",
                    ],
                )
            });
            if answer["ok"] != true {
                return Err(CliError::Invalid(format!(
                    "the connection's test request failed: {}",
                    answer["error"]
                        .as_str()
                        .map(str::to_string)
                        .or_else(|| answer["status"].as_u64().map(|s| format!("HTTP {s}")))
                        .unwrap_or_else(|| "no answer".into())
                )));
            }
        }
        ConnectionsCommand::Polls { id } => {
            let answer = api.get(&path(&id, "/polls")?, &[]).await?;
            ctx.out.show(&answer, |a| {
                let items = a["data"].as_array().cloned().unwrap_or_default();
                print_table(&POLL_COLUMNS, &items);
            });
        }
        ConnectionsCommand::Delete { id } => {
            api.send(Method::DELETE, &path(&id, "")?, None).await?;
            ctx.out.show(&json!({"id": id, "deleted": true}), |_| {
                println!("deleted {id}")
            });
        }
    }
    Ok(())
}

/// The body fields `create` and `update` share, from the options given.
fn fields_body(f: ConnectionFields) -> Result<Map<String, Value>, CliError> {
    let mut body = Map::new();
    if let Some(name) = f.name {
        body.insert("name".into(), json!(name));
    }
    for (key, option, text) in [
        ("properties", "--properties", f.properties),
        ("credentials", "--credentials", f.credentials),
        ("polling", "--polling", f.polling),
    ] {
        if let Some(text) = text {
            body.insert(key.into(), object_arg(option, &text)?);
        }
    }
    Ok(body)
}
