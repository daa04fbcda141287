//! The guarded client's general exchange, for integration apps: any method, headers and a
//! body out, and the answer's status, headers and body (up to
//! [`MAX_RESPONSE_BYTES`](crate::apps::MAX_RESPONSE_BYTES)) back, within one deadline. The
//! same SSRF guard as for webhooks (the URL checked by [`WebhookClient::target`], every
//! resolved address checked at connect time), no redirect followed, no proxy.

use std::time::Instant;

use http::header::{RETRY_AFTER, USER_AGENT};

use super::client::{OutboundRequest, Target, WebhookClient, read_body};
use crate::apps::{Exchange, MAX_RESPONSE_BYTES};

impl WebhookClient {
    /// Sends `req` with `method` to a checked [`Target`] and reads the answer within
    /// `req.timeout`; never fails, the [`Exchange`] (one request) says what happened.
    ///
    /// Any status is an answer (`error` stays `None`): what a 4xx means is the caller's to
    /// say. `error` is set when no answer arrived (blocked destination, connection refused,
    /// timeout), when the deadline cut the body short ("timeout", the status kept), or when
    /// the body is longer than `MAX_RESPONSE_BYTES` (its first `MAX_RESPONSE_BYTES` kept). A
    /// `user-agent` is added unless `req` has one.
    pub async fn exchange(
        &self,
        target: &Target,
        method: http::Method,
        mut req: OutboundRequest,
    ) -> Exchange {
        let started = Instant::now();
        let mut out = Exchange {
            requests: 1,
            ..Exchange::default()
        };
        let uri = match target {
            Ok(uri) => uri.clone(),
            Err(e) => {
                out.error = Some(e.to_string());
                return out;
            }
        };
        if !req.headers.contains_key(USER_AGENT)
            && let Ok(agent) = http::HeaderValue::from_str(self.user_agent())
        {
            req.headers.insert(USER_AGENT, agent);
        }
        let deadline = tokio::time::sleep(req.timeout);
        tokio::pin!(deadline);
        let resp = match self
            .start(method, uri, req.headers, req.body, deadline.as_mut())
            .await
        {
            Ok(resp) => resp,
            Err(e) => {
                out.error = Some(e);
                out.duration_ms = started.elapsed().as_millis() as u64;
                return out;
            }
        };
        out.status = Some(resp.status().as_u16());
        out.retry_after = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        out.headers = resp
            .headers()
            .iter()
            .map(|(name, value)| {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                (name.as_str().to_string(), value)
            })
            .collect();
        // One byte more than the limit tells a body that is over it from one that fits.
        let (mut body, error) =
            read_body(resp.into_body(), MAX_RESPONSE_BYTES + 1, deadline.as_mut()).await;
        out.error = error;
        if body.len() > MAX_RESPONSE_BYTES {
            body.truncate(MAX_RESPONSE_BYTES);
            out.error = Some(format!("response body over {MAX_RESPONSE_BYTES} bytes"));
        }
        out.body = body.into();
        out.duration_ms = started.elapsed().as_millis() as u64;
        out
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use axum::http::{HeaderMap as AxumHeaders, Method as AxumMethod, StatusCode};
    use bytes::Bytes;
    use hookline_domain::destination::DestinationPolicy;
    use http::HeaderMap;

    use super::*;
    use crate::config::HandlerConfig;
    use crate::test_support::serve;

    fn client(allow_private: bool) -> WebhookClient {
        let mut config = HandlerConfig::new("http://test", "embedded");
        config.destinations = DestinationPolicy {
            allow_http: true,
            allow_private,
        };
        WebhookClient::new(&config).expect("client")
    }

    fn request(headers: HeaderMap, body: &'static [u8], timeout: Duration) -> OutboundRequest {
        OutboundRequest {
            headers,
            body: Bytes::from_static(body),
            timeout,
        }
    }

    /// Sends `body` with `method` to `url` (no headers, 10 s).
    async fn call(
        client: &WebhookClient,
        method: http::Method,
        url: &str,
        body: &'static [u8],
    ) -> Exchange {
        let req = request(HeaderMap::new(), body, Duration::from_secs(10));
        client.exchange(&client.target(url), method, req).await
    }

    /// A server that echoes the method, a header and the body, and answers 418 with a
    /// header of its own; counts its requests.
    async fn echo_server() -> (String, Arc<AtomicUsize>) {
        let hits = Arc::new(AtomicUsize::new(0));
        let counted = hits.clone();
        let app = axum::Router::new()
            .route(
                "/echo",
                axum::routing::any(
                    move |method: AxumMethod, headers: AxumHeaders, body: Bytes| {
                        let counted = counted.clone();
                        async move {
                            counted.fetch_add(1, Ordering::SeqCst);
                            let seen = format!(
                                "{method} {} {}",
                                headers
                                    .get("x-test")
                                    .and_then(|v| v.to_str().ok())
                                    .unwrap_or("-"),
                                String::from_utf8_lossy(&body)
                            );
                            let agent = headers
                                .get("user-agent")
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or("-")
                                .to_string();
                            (
                                StatusCode::IM_A_TEAPOT,
                                [("x-agent", agent), ("retry-after", "3".to_string())],
                                seen,
                            )
                        }
                    },
                ),
            )
            .route(
                "/big",
                axum::routing::get(|| async { "y".repeat(MAX_RESPONSE_BYTES + 10) }),
            )
            .route(
                "/exact",
                axum::routing::get(|| async { "z".repeat(MAX_RESPONSE_BYTES) }),
            )
            .route(
                "/moved",
                axum::routing::get(|| async { (StatusCode::FOUND, [("location", "/echo")]) }),
            );
        (serve(app).await, hits)
    }

    #[tokio::test]
    async fn any_method_headers_and_body_go_out_and_the_whole_answer_comes_back() {
        let (base, hits) = echo_server().await;
        let client = client(true);
        let mut headers = HeaderMap::new();
        headers.insert("x-test", "yes".parse().expect("value"));
        let target = client.target(&format!("{base}/echo"));
        for (method, body, seen) in [
            (http::Method::PUT, &b"put body"[..], "PUT yes put body"),
            (http::Method::PATCH, b"{\"a\":1}", "PATCH yes {\"a\":1}"),
            (http::Method::DELETE, b"", "DELETE yes "),
            (http::Method::GET, b"", "GET yes "),
        ] {
            let r = client
                .exchange(
                    &target,
                    method,
                    request(headers.clone(), body, Duration::from_secs(5)),
                )
                .await;
            assert_eq!((r.status, r.error.as_deref()), (Some(418), None), "{r:?}");
            assert_eq!(r.body, Bytes::from(seen));
            assert_eq!(r.requests, 1);
            assert_eq!(r.retry_after.as_deref(), Some("3"));
            let agent = r.headers.iter().find(|(n, _)| n == "x-agent");
            assert_eq!(
                agent.map(|(_, v)| v.as_str()),
                Some(client.user_agent()),
                "{:?}",
                r.headers
            );
        }
        assert_eq!(hits.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_cut_and_said_to_be() {
        let (base, _) = echo_server().await;
        let client = client(true);
        let r = call(&client, http::Method::GET, &format!("{base}/big"), b"").await;
        assert_eq!(r.status, Some(200));
        assert_eq!(r.body.len(), MAX_RESPONSE_BYTES);
        assert_eq!(
            r.error,
            Some(format!("response body over {MAX_RESPONSE_BYTES} bytes"))
        );
        let r = call(&client, http::Method::GET, &format!("{base}/exact"), b"").await;
        assert_eq!((r.status, r.error.as_deref()), (Some(200), None));
        assert_eq!(r.body.len(), MAX_RESPONSE_BYTES);
    }

    #[tokio::test]
    async fn redirects_are_answers_not_followed() {
        let (base, hits) = echo_server().await;
        let client = client(true);
        let r = call(&client, http::Method::GET, &format!("{base}/moved"), b"").await;
        assert_eq!((r.status, r.error.as_deref()), (Some(302), None));
        assert_eq!(hits.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn the_guard_refuses_private_destinations_before_any_request() {
        let (base, hits) = echo_server().await;
        let client = client(false);
        let r = call(&client, http::Method::POST, &format!("{base}/echo"), b"x").await;
        assert_eq!(
            (r.status, r.error.as_deref(), r.requests),
            (None, Some("blocked destination: forbidden address"), 1)
        );
        assert_eq!(hits.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_silent_server_times_out() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        // Accepts and never answers.
        let held = tokio::spawn(async move {
            let mut kept = Vec::new();
            while let Ok((sock, _)) = listener.accept().await {
                kept.push(sock);
            }
        });
        let client = client(true);
        let r = client
            .exchange(
                &client.target(&format!("http://{addr}/")),
                http::Method::GET,
                request(HeaderMap::new(), b"", Duration::from_millis(200)),
            )
            .await;
        assert_eq!((r.status, r.error.as_deref()), (None, Some("timeout")));
        held.abort();
    }
}
