//! Fixtures the unit tests of several modules share.

use hookline_domain::subscription::new_subscription;
use hookline_domain::{ClientId, Event, EventId, StatePattern, Subscription, SubscriptionId};
use time::OffsetDateTime;

/// An AP `LotDispatched` event from `cl_1`, received at the epoch, carrying `data`.
pub(crate) fn event(id: &str, data: serde_json::Value) -> Event {
    Event {
        id: EventId::from_stored(id),
        event_type: "LotDispatched".into(),
        state: StatePattern::from_stored("AP"),
        occurred_at: OffsetDateTime::UNIX_EPOCH,
        received_at: OffsetDateTime::UNIX_EPOCH,
        source: "cl_1".into(),
        publisher_key: None,
        recipient: None,
        data,
    }
}

/// Subscription `sub_1` of client `cl_1`, with a fresh webhook secret.
pub(crate) fn subscription() -> Subscription {
    new_subscription(
        SubscriptionId::from_stored("sub_1"),
        ClientId::from_stored("cl_1"),
        hookline_domain::secret::new_webhook_secret(),
        OffsetDateTime::UNIX_EPOCH,
    )
}

/// Serves `router` on a loopback port; returns its base URL.
pub(crate) async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, router).await });
    base
}
