//! The registry's guarantees that need more than one request: two registrations of one FSSAI
//! number at once (exactly one wins), and a state portal that follows the registry by
//! subscribing to `ManufacturerCreated`/`ManufacturerUpdated` at a real receiver.

use std::time::Duration;

use serde_json::json;

use crate::support::manufacturers::manufacturer;
use crate::support::{Receiver, TestApp};

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn of_two_concurrent_registrations_of_one_number_exactly_one_wins() {
    let app = TestApp::spawn().await;
    let (ap, tg) = (app.registrar(&["AP"]).await, app.registrar(&["TG"]).await);
    let number = "20014011000123";
    let first = manufacturer(number, "First Mills", &["AP"]);
    let second = manufacturer(number, "Second Mills", &["TG"]);

    let (a, b) = tokio::join!(
        app.register_manufacturer(&ap.token, &first),
        app.register_manufacturer(&tg.token, &second),
    );
    let mut statuses = [a.status, b.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409], "{} / {}", a.text, b.text);
    let winner = if a.status == 201 { &a } else { &b };
    let stored = app.manufacturer(&ap.token, number).await;
    assert_eq!(
        stored.json, winner.json,
        "the record is the winner's, whole"
    );

    // Two upserts of one new number at once: one registers it, the other finds it so.
    let number = "20014011000124";
    let body = manufacturer(number, "Third Mills", &["AP"]);
    let (a, b) = tokio::join!(
        app.put_manufacturer(&ap.token, &body),
        app.put_manufacturer(&ap.token, &body),
    );
    let mut outcomes = [a.json["outcome"].clone(), b.json["outcome"].clone()];
    outcomes.sort_by_key(|o| o.to_string());
    assert_eq!(
        outcomes,
        [json!("created"), json!("unchanged")],
        "{} / {}",
        a.text,
        b.text
    );
}

#[tokio::test]
async fn a_state_portal_subscribed_to_manufacturer_events_receives_the_registrys_changes() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    let portal = app.portal(&["TG"]).await;
    let sub = app
        .subscribe_ok(
            &portal.token,
            &json!({"url": receiver.url("/hook"), "event_types": ["ManufacturerCreated", "ManufacturerUpdated"]}),
        )
        .await;
    let (ap, tg) = (app.registrar(&["AP"]).await, app.registrar(&["TG"]).await);
    let number = "30014011000123";

    // AP registers a manufacturer only AP uses: nothing for TG's portal.
    let body = manufacturer(number, "Annapurna FRK Industries", &["AP"]);
    app.register_manufacturer(&ap.token, &body)
        .await
        .assert_status(201);
    // TG starts using it: TG's portal hears of it.
    let joined = manufacturer(number, "Annapurna FRK Industries", &["TG"]);
    let join = app.put_manufacturer(&tg.token, &joined).await;
    assert_eq!(join.json["outcome"], "updated", "{}", join.text);

    let got = receiver.wait_for(1, WAIT).await;
    let req = &got[0];
    req.assert_signed_by(&sub.secret);
    assert_eq!(req.event_type(), "ManufacturerUpdated");
    let envelope = req.json();
    assert_eq!(envelope["state"], "TG");
    assert_eq!(envelope["source"], tg.id.as_str());
    assert_eq!(
        envelope["data"], join.json["manufacturer"],
        "the record as it now is"
    );

    // The same data again changes nothing and sends nothing.
    let again = app.put_manufacturer(&tg.token, &joined).await;
    assert_eq!(again.json["outcome"], "unchanged");
    // AP changes the contact: TG, a user of it, is told.
    let mut moved = manufacturer(number, "Annapurna FRK Industries", &["AP"]);
    moved["contact"]["email"] = json!("orders@annapurna.example");
    let update = app.put_manufacturer(&ap.token, &moved).await;
    assert_eq!(update.json["outcome"], "updated", "{}", update.text);
    let got = receiver.wait_for(2, WAIT).await;
    let envelope = got[1].json();
    assert_eq!(got[1].event_type(), "ManufacturerUpdated");
    assert_eq!(
        envelope["data"]["contact"]["email"],
        "orders@annapurna.example"
    );
    assert_eq!(envelope["data"]["states"], json!(["AP", "TG"]));
    assert_eq!(envelope["data"]["version"], 3);

    // A manufacturer registered for TG from the start is a ManufacturerCreated.
    let other = manufacturer("30014011000124", "Telangana Premix", &["TG"]);
    app.register_manufacturer(&tg.token, &other)
        .await
        .assert_status(201);
    let got = receiver.wait_for(3, WAIT).await;
    assert_eq!(got[2].event_type(), "ManufacturerCreated");
    assert_eq!(got[2].json()["data"]["fssai_licence"], "30014011000124");
    receiver.assert_no_more_requests(3).await;
}
