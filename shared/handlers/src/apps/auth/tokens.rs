//! The bearer-like schemes (OAuth 2 client credentials, session): a token fetched once and
//! kept per (connection id, connection version) until shortly before it expires, one fetch at
//! a time, renewed once when the server answers 401.
//!
//! Single flight: a slot's async lock is held during a fetch, so N sends that find no token
//! make one request and the others wait for its token. Those that waited for a fetch that
//! failed share its error instead of trying again one after another (a token endpoint that is
//! down costs one request per burst, not N).

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hookline_domain::ids::ConnectionId;
use http::header::{HeaderName, HeaderValue};
use tokio::time::Instant;

use super::{Authenticator, Spent, failed};
use crate::apps::{Exchange, RenderedRequest, Resolved};

/// The cache key: a connection's id and version (every change, secrets too, moves the
/// version, so a token fetched with old credentials is never used with new ones).
pub(super) type Key = (ConnectionId, u64);

/// Slots kept before idle ones are dropped (memory stays bounded whatever the number of
/// connections a process serves).
const MAX_SLOTS: usize = 10_000;

/// Longest margin before a token's announced expiry at which it is renewed.
const EXPIRY_MARGIN: Duration = Duration::from_secs(30);

/// A token, as requests carry it.
#[derive(Clone)]
pub(super) struct Token {
    /// The header that carries it.
    pub header: HeaderName,
    /// Its value (`Bearer …`), marked sensitive.
    pub value: HeaderValue,
    /// When it is no longer used.
    pub expires_at: Instant,
}

impl Token {
    /// A token that lives `lifetime` from now: it is used until `lifetime` less 30 s, or less
    /// half of it for a lifetime under a minute (a short-lived token is still reused).
    pub fn new(header: HeaderName, mut value: HeaderValue, lifetime: Duration) -> Token {
        value.set_sensitive(true);
        let margin = EXPIRY_MARGIN.min(lifetime / 2);
        Token {
            header,
            value,
            expires_at: Instant::now() + (lifetime - margin),
        }
    }
}

/// The JSON body of a token or login answer (`who` names the request in errors): a failed
/// exchange, a status other than 2xx or a body other than JSON is an error.
pub(super) fn answer_of(ex: &Exchange, who: &str) -> Result<serde_json::Value, String> {
    if let Some(why) = &ex.error {
        return Err(format!("{who}: {why}"));
    }
    match ex.status {
        Some(status) if (200..300).contains(&status) => {}
        Some(status) => return Err(format!("{who} answered HTTP {status}")),
        None => return Err(format!("{who} did not answer")),
    }
    serde_json::from_slice(&ex.body)
        .map_err(|_| format!("{who} answered something other than JSON"))
}

/// What fetching a token produced, and the requests it took.
pub(super) type Fetched = (Result<Token, String>, Spent);

/// How a scheme gets a token (a token endpoint, a login).
pub(super) trait TokenSource {
    /// Fetches a new token for `conn` through `auth`'s client.
    fn fetch(
        &self,
        auth: &Authenticator,
        conn: &Resolved,
        timeout: Duration,
    ) -> impl Future<Output = Fetched> + Send;
}

#[derive(Default)]
struct Slot {
    token: Option<Token>,
    /// The last fetch's failure, and when it ended.
    failed: Option<(Instant, String)>,
}

/// Tokens per connection, each behind its own lock.
#[derive(Default)]
pub(super) struct TokenCache {
    slots: Mutex<HashMap<Key, Arc<tokio::sync::Mutex<Slot>>>>,
}

impl TokenCache {
    fn slot(&self, key: &Key) -> Arc<tokio::sync::Mutex<Slot>> {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(slot) = slots.get(key) {
            return slot.clone();
        }
        if slots.len() >= MAX_SLOTS {
            // Slots nobody is using right now (their tokens are fetched again when needed).
            slots.retain(|_, slot| Arc::strong_count(slot) > 1);
        }
        slots.entry(key.clone()).or_default().clone()
    }

    /// The token of `key`: the cached one unless it expired or is `refused` (the one a server
    /// just answered 401 to), else the one `fetch` gets.
    pub async fn get<F, Fut>(&self, key: &Key, refused: Option<&HeaderValue>, fetch: F) -> Fetched
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Fetched>,
    {
        let since = Instant::now();
        let slot = self.slot(key);
        let mut slot = slot.lock().await;
        if let Some(token) = &slot.token
            && token.expires_at > Instant::now()
            && refused.is_none_or(|r| *r != token.value)
        {
            return (Ok(token.clone()), Spent::default());
        }
        slot.token = None;
        if let Some((at, why)) = &slot.failed
            && *at >= since
        {
            return (Err(why.clone()), Spent::default());
        }
        let (result, spent) = fetch().await;
        match &result {
            Ok(token) => {
                slot.token = Some(token.clone());
                slot.failed = None;
            }
            Err(why) => slot.failed = Some((Instant::now(), why.clone())),
        }
        (result, spent)
    }
}

impl Authenticator {
    /// Sends `req` with the token of `source` (fetched if there is none); on a 401, renews
    /// the token once and sends again once.
    pub(super) async fn with_token(
        &self,
        conn: &Resolved,
        req: &RenderedRequest,
        timeout: Duration,
        source: impl TokenSource,
    ) -> Exchange {
        let key = (conn.connection.id.clone(), conn.connection.version);
        let (token, mut spent) = self
            .tokens
            .get(&key, None, || source.fetch(self, conn, timeout))
            .await;
        let token = match token {
            Ok(token) => token,
            Err(why) => return spent.onto(failed(why)),
        };
        let credential = (token.header.clone(), token.value.clone());
        let mut first = self.plain(req, Some(credential), timeout).await;
        first.tokens.remember(&token.value);
        if first.status != Some(401) {
            return spent.onto(first);
        }
        let (renewed, renewing) = self
            .tokens
            .get(&key, Some(&token.value), || {
                source.fetch(self, conn, timeout)
            })
            .await;
        spent.join(renewing);
        match renewed {
            Ok(token) => {
                spent.add(&first);
                let mut again = self
                    .plain(req, Some((token.header, token.value.clone())), timeout)
                    .await;
                again.tokens = first.tokens;
                again.tokens.remember(&token.value);
                spent.onto(again)
            }
            // The 401 stands, with why it could not be answered.
            Err(why) => spent.onto(Exchange {
                error: Some(why),
                ..first
            }),
        }
    }
}
