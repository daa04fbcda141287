//! Ids are parsed at the edge: on every by-id route, an id of the wrong shape (another
//! resource's, a short or long one, letters no id has) is the 404 of a missing resource, and
//! no store or queue call is made for it.

mod support;

use hookline_domain::{ClientId, DeliveryId, EventId, SubscriptionId};
use hookline_ports::faults::Faults;
use reqwest::Method;
use serde_json::json;

use support::hub::{Portal, faulty_hub, now_ms};

/// Every by-id route, with the kind of id it names.
const ROUTES: [(&str, &str, Kind); 15] = [
    ("GET", "/v1/clients/{}", Kind::Client),
    ("PATCH", "/v1/clients/{}", Kind::Client),
    ("DELETE", "/v1/clients/{}", Kind::Client),
    ("POST", "/v1/clients/{}/secret", Kind::Client),
    ("GET", "/v1/subscriptions/{}", Kind::Subscription),
    ("PATCH", "/v1/subscriptions/{}", Kind::Subscription),
    ("DELETE", "/v1/subscriptions/{}", Kind::Subscription),
    ("GET", "/v1/subscriptions/{}/secret", Kind::Subscription),
    (
        "POST",
        "/v1/subscriptions/{}/secret/rotate",
        Kind::Subscription,
    ),
    ("POST", "/v1/subscriptions/{}/test", Kind::Subscription),
    ("POST", "/v1/subscriptions/{}/replay", Kind::Subscription),
    ("GET", "/v1/deliveries/{}", Kind::Delivery),
    ("GET", "/v1/events/{}", Kind::Event),
    ("GET", "/v1/manufacturers/{}", Kind::Manufacturer),
    ("PUT", "/v1/manufacturers/{}", Kind::Manufacturer),
];

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Client,
    Subscription,
    Event,
    Delivery,
    /// An FSSAI licence number.
    Manufacturer,
}

impl Kind {
    /// Ids that cannot be of this kind (and none of which reaches a store).
    fn wrong_ids(self) -> Vec<String> {
        let ms = now_ms();
        let event = EventId::new(ms);
        let (sub, dlv) = (SubscriptionId::new(ms), DeliveryId::new(ms));
        let long = "a".repeat(129);
        let body = &sub[SubscriptionId::PREFIX.len()..];
        match self {
            // A bootstrap admin's id may be any plausible id: only implausible ones are refused.
            Kind::Client => vec![long, "cl_%01".into(), "cl_a%2Fb".into()],
            Kind::Subscription => vec![
                event.into_string(),
                dlv.into_string(),
                "sub_short".into(),
                format!("sub_{body}0"),
                format!("sub_{}", body.to_uppercase()),
                long,
            ],
            Kind::Event => vec![
                sub.to_string(),
                "evt_1".into(),
                format!("evt_{body}0"),
                format!("evt_{}", body.replace('0', "o")),
            ],
            Kind::Delivery => vec![
                event.into_string(),
                "dlv_short".into(),
                format!("dlv_{body}0123"),
                format!("dlv_{body}0123456789ABCDEF01234567"),
            ],
            Kind::Manufacturer => vec![
                "1001401100012".into(),
                "100140110001234".into(),
                "1001401100012a".into(),
                "%2010014011000123".into(),
                sub.into_string(),
            ],
        }
    }

    /// A well-formed id that names nothing: its 404 is the one a wrong shape must match.
    fn missing_id(self) -> String {
        let ms = now_ms();
        match self {
            Kind::Client => ClientId::new(ms).into_string(),
            Kind::Subscription => SubscriptionId::new(ms).into_string(),
            Kind::Event => EventId::new(ms).into_string(),
            Kind::Delivery => DeliveryId::new(ms).into_string(),
            Kind::Manufacturer => format!("{:014}", ms % 100_000_000_000_000),
        }
    }
}

async fn get(portal: &Portal, path: &str) -> (u16, serde_json::Value) {
    portal.send(Method::GET, path, json!({})).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_of_the_wrong_shape_is_the_404_of_a_missing_resource_without_a_backend_call() {
    let faults = Faults::default();
    let hub = faulty_hub(&faults).await;
    let portal = hub.portal("http://127.0.0.1:9/hook", 1).await;
    // Authenticated once, so that the caller's client is cached and costs no read below.
    let (status, body) = get(&portal, &format!("/v1/subscriptions/{}", portal.sub.id)).await;
    assert_eq!(status, 200, "{body}");

    faults.record();
    let mut checked = 0;
    for (method, route, kind) in ROUTES {
        let method: Method = method.parse().expect("method");
        for id in kind.wrong_ids() {
            let path = route.replace("{}", &id);
            let (status, body) = portal.send(method.clone(), &path, json!({})).await;
            assert_eq!(status, 404, "{method} {path}: {body}");
            assert_eq!(body["code"], "not_found", "{method} {path}: {body}");
            checked += 1;
        }
    }
    assert_eq!(
        faults.recorded(),
        Vec::<String>::new(),
        "no wrong-shape id reached the store or the queue"
    );
    assert!(checked > 50, "{checked}");

    // The same answer as for a resource that does not exist.
    for kind in [Kind::Subscription, Kind::Event, Kind::Delivery] {
        let route = ROUTES.iter().find(|r| r.2 == kind && r.0 == "GET");
        let route = route.expect("a GET route").1;
        let (_, missing) = get(&portal, &route.replace("{}", &kind.missing_id())).await;
        for id in kind.wrong_ids() {
            let (_, wrong) = get(&portal, &route.replace("{}", &id)).await;
            assert_eq!(wrong, missing, "{route} {id}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_filter_of_the_wrong_shape_is_a_400_naming_the_parameter() {
    let hub = faulty_hub(&Faults::default()).await;
    let portal = hub.portal("http://127.0.0.1:9/hook", 1).await;
    let event = EventId::new(now_ms());
    for (query, name) in [
        (format!("subscription_id={event}"), "subscription_id"),
        (format!("event_id={}", portal.sub.id), "event_id"),
        ("event_id=evt_1".to_string(), "event_id"),
    ] {
        let path = format!("/v1/deliveries?{query}");
        let (status, body) = portal.send(Method::GET, &path, json!({})).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(body["code"], "invalid_request", "{path}: {body}");
        let detail = body["detail"].as_str().unwrap_or_default();
        assert!(detail.starts_with(name), "{path}: {body}");
    }
    // A well-formed event id lists that event's deliveries (none here).
    let path = format!("/v1/deliveries?event_id={event}");
    let (status, body) = portal.send(Method::GET, &path, json!({})).await;
    assert_eq!((status, &body["data"]), (200, &json!([])), "{body}");
}
