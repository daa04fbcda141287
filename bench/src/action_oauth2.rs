//! `action-oauth2`: a workflow (a subscription of mode `action`) whose one step is an
//! OAuth 2-authenticated POST of an app to the receiver, which also serves the token endpoint
//! with tokens living [`TOKEN_TTL_S`] seconds and counts the token requests. It reports the
//! action deliveries per second, and the token requests against the token's cache periods
//! elapsed: a token is cached until its `expires_in` less a margin (30 s, or half the
//! lifetime of a shorter token), so a client fetches at most one token per such period —
//! single-flight, however many deliveries are in flight when it expires.

use std::collections::{BTreeMap, HashSet};

use serde_json::{Value, json};

use crate::api::{Api, PUBLISHER};
use crate::process::Runner;
use crate::run::{RunResult, Traffic, collect, publish};
use crate::scenarios::{Bench, report_errors};

/// Lifetime of the receiver's tokens, seconds: short, so that a run sees several renewals.
pub const TOKEN_TTL_S: u64 = 4;
/// The longest margin before `expires_in` at which a cached token is renewed (the contract's
/// 30 s; a token living less than twice that keeps half its lifetime as margin).
const MAX_MARGIN_S: f64 = 30.0;
/// The workflow's name at the receiver (`/action/{name}`).
const WORKFLOW: &str = "action-oauth2";

/// Scopes of the app's developer.
const DEVELOPER: [&str; 2] = ["apps:read", "apps:write"];
/// Scopes of the tenant who connects and runs the workflow.
const INTEGRATOR: [&str; 4] = [
    "subscriptions:write",
    "subscriptions:read",
    "connections:write",
    "connections:read",
];

/// How long a client may use a token living `ttl_s` before it fetches another.
pub fn cache_period_s(ttl_s: u64) -> f64 {
    let ttl = ttl_s as f64;
    ttl - MAX_MARGIN_S.min(ttl / 2.0)
}

/// The token figures of a run of `wall_s` seconds that made `token_requests`: the cache
/// periods begun (the first token, and one more per period elapsed) and the token requests
/// per period, which must not exceed 1.
pub fn token_figures(token_requests: u64, wall_s: f64, ttl_s: u64) -> BTreeMap<String, f64> {
    let period = cache_period_s(ttl_s);
    let periods = (wall_s.max(0.0) / period).floor() + 1.0;
    BTreeMap::from([
        ("token_requests".to_string(), token_requests as f64),
        ("token_ttl_s".to_string(), ttl_s as f64),
        ("token_cache_periods".to_string(), periods),
        (
            "token_requests_per_expiry".to_string(),
            crate::stats::round(token_requests as f64 / periods),
        ),
    ])
}

/// The app: OAuth 2 client credentials at the receiver's token endpoint, and one action
/// posting the lot to `/action/action-oauth2` with the event's id in `x-event-id`.
fn definition() -> Value {
    json!({
        "key": "bench-shop",
        "name": "Bench shop",
        "version": "1.0.0",
        "auth": {
            "type": "oauth2_client_credentials",
            "token_url": format!("{{{{ env.BASE_URL }}}}/oauth/token/{TOKEN_TTL_S}"),
            "client_auth": "basic"
        },
        "environment": [{"key": "BASE_URL"}],
        "actions": {"notify": {
            "label": "Tell the shop a lot was dispatched",
            "kind": "create",
            "inputs": [{"key": "lot", "label": "Lot", "required": true}],
            "request": {
                "method": "POST",
                "url": format!("{{{{ env.BASE_URL }}}}/action/{WORKFLOW}"),
                "headers": {"X-Event-Id": "{{ event.id }}"},
                "body": {"lot": "{{ input.lot }}", "status": "{{ event.data.status }}"}
            }
        }}
    })
}

/// `POST path`, which must answer 201: its body.
async fn created(api: &Api, path: &str, token: &str, body: &Value) -> Result<Value, String> {
    let (status, resp) = api.post(path, token, body).await?;
    if status != 201 {
        return Err(format!("POST {path}: HTTP {status}: {resp}"));
    }
    Ok(resp)
}

impl Bench {
    /// Action deliveries authenticated with OAuth 2, tokens cached.
    pub(crate) async fn action_oauth2(&self) -> Result<RunResult, String> {
        self.on_runner(&self.runner_env(), async |runner| {
            self.action_oauth2_on(runner).await
        })
        .await
    }

    async fn action_oauth2_on(&self, runner: &Runner) -> Result<RunResult, String> {
        let api = Api::new(runner, self.publishers);
        let admin = api.admin(runner).await?;
        let platform = api
            .portal(&admin, "central platform", &PUBLISHER, &["AP"])
            .await?;
        let developer = api
            .portal(&admin, "shop app developer", &DEVELOPER, &["AP"])
            .await?;
        let tenant = api
            .portal(&admin, "AP shop integration", &INTEGRATOR, &["AP"])
            .await?;
        created(
            &api,
            "/v1/apps",
            &developer.token,
            &json!({"definition": definition(), "environment": {"BASE_URL": self.receiver.base}}),
        )
        .await?;
        let connection = created(
            &api,
            "/v1/connections",
            &tenant.token,
            &json!({"app": "bench-shop", "version": "1.0.0", "name": "AP shop", "state": "AP",
                    "credentials": {"client_id": "bench-client", "client_secret": "bench-client-secret"}}),
        )
        .await?;
        let connection_id = connection["id"].as_str().unwrap_or_default();
        api.subscribe(
            &tenant.token,
            &json!({"mode": "action", "event_types": ["LotDispatched"], "states": ["AP"],
                    "actions": [{"connection_id": connection_id, "action": "notify",
                                 "input": {"lot": "{{ event.data.lotNo }}"}}]}),
        )
        .await?;

        self.receiver.reset().await?;
        let tokens_before = self.token_requests().await?;
        let cpu0 = runner.cpu_seconds();
        let traffic = Traffic::dispatches(self.scaled(20_000), "AP", self.publishers, None);
        let (published, errors) = publish(&api, &platform.token, traffic).await;
        report_errors(&errors);
        let arrivals = collect(&self.receiver, published.len()).await?;
        let cpu = runner.cpu_seconds() - cpu0;
        let tokens = self.token_requests().await? - tokens_before;
        let workflows = HashSet::from([WORKFLOW.to_string()]);
        let mut r = RunResult::checked(
            &arrivals,
            &workflows,
            &published,
            errors.len(),
            cpu,
            runner.peak_rss_mb(),
        );
        r.extra.extend(token_figures(tokens, r.wall_s, TOKEN_TTL_S));
        r.extra.insert(
            "refused_attempts".into(),
            arrivals.iter().filter(|a| a.failed).count() as f64,
        );
        Ok(r)
    }

    /// The receiver's count of token requests.
    async fn token_requests(&self) -> Result<u64, String> {
        let url = format!("{}/_tokens", self.receiver.base);
        let body: Value = reqwest::get(&url)
            .await
            .map_err(|e| format!("{url}: {e}"))?
            .json()
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        body["requests"]
            .as_u64()
            .ok_or_else(|| format!("{url}: {body}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_token_is_cached_for_half_its_life_a_long_one_until_30_s_before_expiry() {
        assert_eq!(cache_period_s(4), 2.0);
        assert_eq!(cache_period_s(60), 30.0);
        assert_eq!(cache_period_s(3600), 3570.0);
    }

    #[test]
    fn token_requests_are_counted_per_cache_period_begun() {
        // 5 s of 4 s tokens (2 s cached): the first token and two renewals.
        let f = token_figures(3, 5.0, 4);
        assert_eq!(f["token_cache_periods"], 3.0);
        assert_eq!(f["token_requests_per_expiry"], 1.0);
        // A token per delivery shows as many per period.
        let f = token_figures(3_000, 5.0, 4);
        assert_eq!(f["token_requests_per_expiry"], 1_000.0);
        // A run shorter than one period may make one request.
        assert_eq!(token_figures(1, 0.5, 4)["token_requests_per_expiry"], 1.0);
    }
}
