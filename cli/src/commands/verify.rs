//! `hookline verify`: checks a saved webhook request's Standard Webhooks signature with a
//! subscription's secret, for a receiver's developer. The request is a JSON file
//! `{"headers": {…}, "body": "…"}` (the shape of a pull message) or the raw HTTP request
//! as received (request line, headers, blank line, body).

use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Value, json};
use standardwebhooks::Webhook;

use super::Ctx;
use crate::args::VerifyArgs;
use crate::error::CliError;

/// A saved request: its headers and exact body.
#[derive(Debug)]
struct SavedRequest {
    headers: HeaderMap,
    body: Vec<u8>,
}

/// Prints `valid` (exit 0), or fails with the reason (exit 1).
pub fn run(ctx: &Ctx, args: VerifyArgs) -> Result<(), CliError> {
    let bytes = std::fs::read(&args.request)
        .map_err(|e| CliError::usage(format!("reading {}: {e}", args.request.display())))?;
    let request = parse(&bytes)?;
    let webhook = Webhook::new(&args.secret)
        .map_err(|e| CliError::usage(format!("--secret is not a webhook secret: {e}")))?;
    check(&webhook, &request, args.tolerance, now())
        .map_err(|reason| CliError::Invalid(format!("invalid: {reason}")))?;
    let id = request
        .headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    ctx.out
        .show(&json!({"valid": true, "webhook_id": id}), |_| {
            println!("valid")
        });
    Ok(())
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// The signature check: the timestamp within `tolerance` seconds of `now` (0: any), and one
/// `v1` signature of the header equal to the one the secret makes for this id, timestamp and
/// body (computed by the `standardwebhooks` crate).
fn check(
    webhook: &Webhook,
    request: &SavedRequest,
    tolerance: u64,
    now: i64,
) -> Result<(), String> {
    let header = |name: &str| {
        request
            .headers
            .get(name)
            .ok_or_else(|| format!("no {name} header"))?
            .to_str()
            .map_err(|_| format!("the {name} header is not text"))
    };
    let id = header("webhook-id")?;
    let timestamp: i64 = header("webhook-timestamp")?
        .trim()
        .parse()
        .map_err(|_| "webhook-timestamp is not a number of seconds".to_string())?;
    let signatures = header("webhook-signature")?;
    let skew = now.abs_diff(timestamp);
    if tolerance > 0 && skew > tolerance {
        let when = if timestamp < now {
            "old"
        } else {
            "in the future"
        };
        return Err(format!(
            "webhook-timestamp is {skew} s {when}, more than the tolerance of {tolerance} s (--tolerance)"
        ));
    }
    let expected = webhook
        .sign(id, timestamp, &request.body)
        .map_err(|e| format!("the body cannot be signed: {e}"))?;
    let matches = signatures
        .split(' ')
        .any(|s| s.len() == expected.len() && constant_time_eq(s.as_bytes(), expected.as_bytes()));
    if matches {
        Ok(())
    } else {
        Err("no signature in webhook-signature matches this secret and body".to_string())
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Reads a saved request: JSON with `headers` and `body`, else raw HTTP.
fn parse(bytes: &[u8]) -> Result<SavedRequest, CliError> {
    if let Ok(Value::Object(saved)) = serde_json::from_slice::<Value>(bytes) {
        let mut headers = HeaderMap::new();
        for (name, value) in saved
            .get("headers")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let value = value
                .as_str()
                .ok_or_else(|| CliError::usage(format!("header {name} is not a string")))?;
            insert(&mut headers, name, value)?;
        }
        let body = saved
            .get("body")
            .and_then(Value::as_str)
            .ok_or_else(|| CliError::usage("the saved request has no \"body\" string"))?;
        return Ok(SavedRequest {
            headers,
            body: body.as_bytes().to_vec(),
        });
    }
    parse_raw(bytes)
}

/// A raw HTTP/1.1 request: request line, header lines, an empty line, the body as it is.
fn parse_raw(bytes: &[u8]) -> Result<SavedRequest, CliError> {
    let (head_end, body_start) = find_head_end(bytes).ok_or_else(|| {
        CliError::usage("the saved request is neither JSON {\"headers\", \"body\"} nor an HTTP request (no empty line after the headers)")
    })?;
    let head = std::str::from_utf8(&bytes[..head_end])
        .map_err(|_| CliError::usage("the request's head is not text"))?;
    let mut headers = HeaderMap::new();
    for line in head.lines().skip(1) {
        let line = line.trim_end_matches('\r');
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| CliError::usage(format!("'{line}' is not a header line")))?;
        insert(&mut headers, name.trim(), value.trim())?;
    }
    Ok(SavedRequest {
        headers,
        body: bytes[body_start..].to_vec(),
    })
}

/// Where the head ends and the body starts (after `\r\n\r\n` or `\n\n`).
fn find_head_end(bytes: &[u8]) -> Option<(usize, usize)> {
    let crlf = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, i + 4));
    let lf = bytes
        .windows(2)
        .position(|w| w == b"\n\n")
        .map(|i| (i, i + 2));
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    }
}

fn insert(headers: &mut HeaderMap, name: &str, value: &str) -> Result<(), CliError> {
    let bad = || CliError::usage(format!("'{name}' is not a valid header"));
    let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad())?;
    let value = HeaderValue::from_str(value).map_err(|_| bad())?;
    headers.append(name, value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    fn signed(body: &str, ts: i64) -> String {
        let sig = Webhook::new(SECRET)
            .unwrap()
            .sign("evt_1", ts, body.as_bytes())
            .unwrap();
        format!(
            "POST /hooks HTTP/1.1\r\nhost: x\r\nwebhook-id: evt_1\r\nwebhook-timestamp: {ts}\r\nwebhook-signature: v1,bogus {sig}\r\n\r\n{body}"
        )
    }

    fn verify(raw: &str, tolerance: u64, now: i64) -> Result<(), String> {
        let req = parse(raw.as_bytes()).unwrap();
        check(&Webhook::new(SECRET).unwrap(), &req, tolerance, now)
    }

    #[test]
    fn a_raw_request_signed_with_the_secret_is_valid() {
        assert_eq!(verify(&signed("{\"a\":1}", 1000), 300, 1100), Ok(()));
    }

    #[test]
    fn a_changed_body_is_invalid() {
        let raw = signed("{\"a\":1}", 1000).replace("{\"a\":1}", "{\"a\":2}");
        assert!(
            verify(&raw, 300, 1000)
                .unwrap_err()
                .contains("no signature")
        );
    }

    #[test]
    fn an_old_timestamp_fails_unless_the_tolerance_allows_it() {
        let raw = signed("{}", 1000);
        assert!(verify(&raw, 300, 2000).unwrap_err().contains("old"));
        assert_eq!(verify(&raw, 0, 2000), Ok(()));
        assert_eq!(verify(&raw, 1000, 2000), Ok(()));
    }

    #[test]
    fn a_json_saved_request_is_read_with_its_exact_body() {
        let ts = 1000;
        let body = "{\"x\": \"y\"}\n";
        let sig = Webhook::new(SECRET)
            .unwrap()
            .sign("evt_2", ts, body.as_bytes())
            .unwrap();
        let saved = json!({"headers": {"webhook-id": "evt_2", "webhook-timestamp": ts.to_string(),
            "webhook-signature": sig}, "body": body});
        let req = parse(saved.to_string().as_bytes()).unwrap();
        assert_eq!(check(&Webhook::new(SECRET).unwrap(), &req, 300, ts), Ok(()));
    }
}
