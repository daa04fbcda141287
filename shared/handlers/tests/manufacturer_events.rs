//! A manufacturer written whose events could not be published (the events queue failing
//! between the two, as an outage or a crash would) publishes them on the next write of that
//! manufacturer, even one that changes nothing, and only once.

mod support;

use hookline_domain::manufacturer::{ManufacturerInput, UpsertOutcome, ValidManufacturer};
use hookline_domain::{Manufacturer, Scope};
use hookline_handlers::services::manufacturers::upsert_manufacturer;
use hookline_ports::QueueName;
use hookline_ports::faults::Faults;

use support::hub::*;

fn details() -> ValidManufacturer {
    let input: ManufacturerInput = serde_json::from_value(serde_json::json!({
        "name": "Annapurna FRK Industries", "fssai_licence": "10014011000123",
        "licence_valid_until": "2027-03-31", "address": "Plot 12", "district": "Krishna",
        "state": "AP", "pincode": "520001", "commodity": "FRK", "states": ["AP", "TG"],
        "contact": {"name": "R. Rao", "phone": "9848012345", "email": "rao@example.org"},
    }))
    .expect("an input");
    input.validate().expect("valid")
}

async fn stored(hub: &Hub) -> Manufacturer {
    hub.store
        .get_manufacturer(&details().fssai_licence)
        .await
        .expect("get_manufacturer")
        .expect("the record is written")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_that_could_not_be_queued_go_out_with_the_next_write_once() {
    let faults = Faults::default();
    let hub = faulty_hub(&faults).await;
    let (writer, _) = support::client("registrar", vec![Scope::ManufacturersWrite], &["AP", "TG"]);

    faults.fail_next("send:events", 1);
    let failed = upsert_manufacturer(&hub.ctx.api, &writer, details()).await;
    let status = failed.err().map(|e| e.status.as_u16());
    assert_eq!(status, Some(503), "the write is reported failed");
    assert!(
        stored(&hub).await.unpublished,
        "written, marked unpublished"
    );
    assert_eq!(hub.depth(QueueName::Events).await, 0, "nothing queued");

    // The client's retry: nothing to change, but the events go out now, one per state.
    let retry = upsert_manufacturer(&hub.ctx.api, &writer, details()).await;
    let Ok(UpsertOutcome::Unchanged(m)) = retry else {
        panic!("the retry changes nothing: {retry:?}");
    };
    assert!(!m.unpublished);
    assert_eq!(hub.depth(QueueName::Events).await, 2, "AP's and TG's");
    assert!(!stored(&hub).await.unpublished, "marked published");

    let again = upsert_manufacturer(&hub.ctx.api, &writer, details()).await;
    assert!(
        matches!(again, Ok(UpsertOutcome::Unchanged(_))),
        "{again:?}"
    );
    assert_eq!(hub.depth(QueueName::Events).await, 2, "nothing more");
}
