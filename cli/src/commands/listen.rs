//! `hookline listen --forward-to URL`: receives a pull subscription's messages and POSTs
//! each, with its Standard Webhooks headers and exact body, to a local URL.
//!
//! With `--subscription` it consumes that subscription from its acknowledged cursor and
//! leaves it as it is on exit; with `--events` it creates a temporary pull subscription and
//! deletes it when it stops (Ctrl-C or SIGTERM), so that nothing is left behind. The loop:
//! a long poll of `GET …/messages?wait=20`, one forward per message (a line each), then an
//! acknowledgement of the batch, whatever the local server answered.

use std::time::{Duration, Instant};

use reqwest::{Method, Url};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::format_description;

use super::{Ctx, id_segment};
use crate::api::{Api, error_chain, http_client};
use crate::args::ListenArgs;
use crate::error::CliError;

/// How long the API holds a fetch that has nothing to return.
const WAIT_SECS: u64 = 20;
/// How long a forward to the local server may take.
const FORWARD_TIMEOUT: Duration = Duration::from_secs(30);
/// The pause after a failed fetch before the next one.
const FETCH_RETRY: Duration = Duration::from_secs(2);
/// Headers of a message that describe the stored request rather than the new one.
const NOT_FORWARDED: [&str; 4] = ["host", "content-length", "transfer-encoding", "connection"];

/// Runs `listen` until a signal (or an error of the API that retrying cannot mend).
pub async fn run(ctx: &Ctx, args: ListenArgs) -> Result<(), CliError> {
    let forward = Url::parse(&args.forward_to)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .ok_or_else(|| {
            CliError::usage(format!(
                "--forward-to '{}' is not an http(s) URL",
                args.forward_to
            ))
        })?;
    let api = ctx.api()?;
    // Watched from the start, so that a signal while the temporary subscription is being
    // made still deletes it.
    let stop = shutdown_signal()?;
    let (id, temporary) = match args.subscription {
        Some(id) => (id_segment(&id)?.to_string(), false),
        None => (create_temporary(&api, &args).await?, true),
    };
    eprintln!(
        "listening on {id}{}; forwarding to {forward} (Ctrl-C to stop)",
        if temporary {
            " (temporary: deleted on exit)"
        } else {
            ""
        }
    );
    let result = tokio::select! {
        r = consume(ctx, &api, &id, &forward) => r,
        () = stop => Ok(()),
    };
    if temporary {
        let deleted = api
            .send(Method::DELETE, &format!("/v1/subscriptions/{id}"), None)
            .await;
        match &deleted {
            Ok(_) => eprintln!("deleted the temporary subscription {id}"),
            Err(e) => eprintln!("could not delete the temporary subscription {id}: {e}"),
        }
        // A failure to clean up is the command's failure, unless something failed before.
        result?;
        return deleted.map(|_| ());
    }
    result
}

/// Creates the temporary pull subscription: its id.
async fn create_temporary(api: &Api, args: &ListenArgs) -> Result<String, CliError> {
    let mut body = json!({
        "mode": "pull",
        "event_types": args.event_types,
        "description": "hookline listen (temporary)",
        "include_own_events": args.include_own_events,
    });
    if !args.states.is_empty() {
        body["states"] = json!(args.states);
    }
    let sub = api
        .send(Method::POST, "/v1/subscriptions", Some(&body))
        .await?;
    sub["id"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| CliError::Connection("the API created a subscription without an id".into()))
}

/// Fetch, forward, acknowledge; forever. An unreachable API is retried; an error answer
/// (the subscription deleted, not a pull subscription) ends it.
async fn consume(ctx: &Ctx, api: &Api, id: &str, forward: &Url) -> Result<(), CliError> {
    let http = http_client()?;
    let path = format!("/v1/subscriptions/{id}/messages");
    let mut after: Option<String> = None;
    loop {
        let url = api.url(
            &path,
            &[
                ("after", after.clone()),
                ("wait", Some(WAIT_SECS.to_string())),
            ],
        );
        let page = match api
            .call(
                Method::GET,
                url,
                None,
                Some(Duration::from_secs(WAIT_SECS + 20)),
            )
            .await
        {
            Ok(p) => p,
            Err(CliError::Connection(e)) => {
                eprintln!("{e}; trying again");
                tokio::time::sleep(FETCH_RETRY).await;
                continue;
            }
            Err(e) => return Err(e),
        };
        let messages = page["data"].as_array().map(Vec::as_slice).unwrap_or(&[]);
        for message in messages {
            let outcome = forward_one(&http, forward, message).await;
            report(ctx, message, &outcome);
        }
        if let (false, Some(cursor)) = (messages.is_empty(), page["next_cursor"].as_str()) {
            let ack = json!({"cursor": cursor});
            match api
                .send(Method::POST, &format!("{path}/ack"), Some(&ack))
                .await
            {
                Ok(_) => after = Some(cursor.to_string()),
                // Not acknowledged: the batch comes again (at least once) when the API is back.
                Err(CliError::Connection(e)) => {
                    eprintln!("{e}; the batch will be fetched again");
                    tokio::time::sleep(FETCH_RETRY).await;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// What the local server did with one message.
struct Forwarded {
    result: Result<u16, String>,
    elapsed: Duration,
}

async fn forward_one(http: &reqwest::Client, to: &Url, message: &Value) -> Forwarded {
    let mut request = http.post(to.clone()).timeout(FORWARD_TIMEOUT);
    if let Some(headers) = message["headers"].as_object() {
        for (name, value) in headers {
            if let Some(value) = value.as_str()
                && !NOT_FORWARDED.contains(&name.to_ascii_lowercase().as_str())
            {
                request = request.header(name.as_str(), value);
            }
        }
    }
    let body = message["body"].as_str().unwrap_or_default().to_string();
    let started = Instant::now();
    let result = match request.body(body).send().await {
        Ok(response) => Ok(response.status().as_u16()),
        Err(e) => Err(error_chain(&e)),
    };
    Forwarded {
        result,
        elapsed: started.elapsed(),
    }
}

/// One line per message: `HH:MM:SS  LotDispatched  evt_…  -> 200 (12 ms)` (UTC), or a JSON
/// line with `--json`.
fn report(ctx: &Ctx, message: &Value, f: &Forwarded) {
    let now = OffsetDateTime::now_utc();
    let ms = f.elapsed.as_millis();
    let event_type = message["event_type"].as_str().unwrap_or("-");
    let event_id = message["event_id"].as_str().unwrap_or("-");
    if ctx.out.json {
        let (status, error) = match &f.result {
            Ok(s) => (json!(s), Value::Null),
            Err(e) => (Value::Null, json!(e)),
        };
        let line = json!({
            "at": now.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
            "event_type": event_type, "event_id": event_id,
            "delivery_id": message["delivery_id"], "cursor": message["cursor"],
            "status": status, "error": error, "duration_ms": ms,
        });
        println!("{line}");
        return;
    }
    let clock = now
        .format(format_description!("[hour]:[minute]:[second]"))
        .unwrap_or_default();
    match &f.result {
        Ok(status) => println!("{clock}  {event_type}  {event_id}  -> {status} ({ms} ms)"),
        Err(e) => println!("{clock}  {event_type}  {event_id}  -> error: {e} ({ms} ms)"),
    }
}

/// Starts watching for Ctrl-C (SIGINT) and SIGTERM: a future that ends at the first.
fn shutdown_signal() -> Result<impl Future<Output = ()>, CliError> {
    let fail = |e: std::io::Error| CliError::usage(format!("cannot watch for signals: {e}"));
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).map_err(fail)?;
        let mut int = signal(SignalKind::interrupt()).map_err(fail)?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            eprintln!("stopping");
        })
    }
    #[cfg(not(unix))]
    {
        let _ = fail;
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
            eprintln!("stopping");
        })
    }
}
