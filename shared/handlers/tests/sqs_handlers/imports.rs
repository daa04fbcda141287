//! Chunks of a manufacturer import on the events queue: the fan-out handler upserts their
//! rows and records each chunk once, so that a redelivered chunk neither counts twice nor
//! publishes again; a chunk that cannot be done fails alone.

use hookline_domain::manufacturer::ManufacturerInput;
use hookline_domain::{
    ClientId, Import, ImportFormat, ImportId, RowAction, Scope, manufacturer::ContactInput,
};
use hookline_handlers::imports::check::ValidRow;
use hookline_handlers::imports::chunks;
use hookline_ports::QueueName;

use crate::support::client;
use crate::support::hub::*;

fn rows(n: u32) -> Vec<ValidRow> {
    (0..n)
        .map(|i| ValidRow {
            line: i + 2,
            details: ManufacturerInput {
                name: format!("Mills {i}"),
                fssai_licence: format!("{}", 40_000_000_000_000u64 + u64::from(i)),
                licence_valid_until: "2027-03-31".into(),
                address: "Plot 12".into(),
                district: "Krishna".into(),
                state: STATE.into(),
                pincode: "520001".into(),
                contact: ContactInput {
                    name: "R. Lakshmi".into(),
                    phone: "+919848012345".into(),
                    email: "qa@mills.example".into(),
                },
                commodity: "FRK".into(),
                states: vec![STATE.into()],
            }
            .validate()
            .expect("a valid row"),
        })
        .collect()
}

fn import(client: &ClientId, valid: u32, chunks: u32) -> Import {
    Import {
        id: ImportId::new(now_ms()),
        client_id: client.clone(),
        created_at: time::OffsetDateTime::now_utc(),
        format: ImportFormat::Csv,
        total_rows: valid,
        valid_rows: valid,
        invalid_rows: 0,
        chunks,
        errors: Vec::new(),
        errors_omitted: 0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivered_chunk_counts_once_and_publishes_nothing_again() {
    let hub = hub().await;
    let (portal, _) = client("AP registry", vec![Scope::ManufacturersWrite], &[STATE]);
    hub.store.insert_client(&portal).await.expect("client");
    let imp = import(&portal.id, 150, 2);
    hub.store.insert_import(&imp).await.expect("import");
    let work = chunks::cut(&imp.id, &portal.id, rows(150));
    assert_eq!(work.len(), 2);
    chunks::queue(hub.queue.as_ref(), &work)
        .await
        .expect("queued");

    let batch = hub.receive_exactly(QueueName::Events, 2).await;
    let response = hub.fan_out(&batch).await;
    assert!(failed_ids(&response).is_empty(), "{response:?}");
    // One ManufacturerCreated per row, queued for fan-out.
    let published = hub.depth(QueueName::Events).await;
    assert_eq!(
        published,
        2 + 150,
        "the chunks (not yet deleted) and one event per row"
    );

    // The same messages again (the queue redelivers them: their handling was not acknowledged).
    let again = hub.fan_out(&batch).await;
    assert!(failed_ids(&again).is_empty(), "{again:?}");
    assert_eq!(
        hub.depth(QueueName::Events).await,
        published,
        "nothing published again"
    );
    let recorded = hub.store.list_import_chunks(&imp.id).await.expect("chunks");
    assert_eq!(recorded.len(), 2);
    let actions: Vec<RowAction> = recorded
        .iter()
        .flat_map(|c| c.outcomes.iter().map(|o| o.action))
        .collect();
    assert_eq!(
        actions,
        vec![RowAction::Created; 150],
        "the first recording stands"
    );
    let lines: Vec<u32> = recorded
        .iter()
        .flat_map(|c| c.outcomes.iter().map(|o| o.line))
        .collect();
    assert_eq!(lines, (2..152).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunk_whose_client_is_gone_fails_alone() {
    let hub = hub().await;
    let (portal, _) = client("AP registry", vec![Scope::ManufacturersWrite], &[STATE]);
    hub.store.insert_client(&portal).await.expect("client");
    let gone = ClientId::new(now_ms());
    let (good, orphan) = (import(&portal.id, 3, 1), import(&gone, 3, 1));
    for i in [&good, &orphan] {
        hub.store.insert_import(i).await.expect("import");
    }
    let mut work = chunks::cut(&good.id, &portal.id, rows(3));
    work.extend(chunks::cut(&orphan.id, &gone, rows(3)));
    chunks::queue(hub.queue.as_ref(), &work)
        .await
        .expect("queued");

    let batch = hub.receive_exactly(QueueName::Events, 2).await;
    let response = hub.fan_out(&batch).await;

    let orphan_message: Vec<String> = batch
        .iter()
        .filter(|m| m.body.contains(orphan.id.as_str()))
        .map(|m| m.message_id.clone())
        .collect();
    assert_eq!(failed_ids(&response), orphan_message.into_iter().collect());
    assert_eq!(
        hub.store
            .list_import_chunks(&good.id)
            .await
            .expect("chunks")
            .len(),
        1
    );
    assert!(
        hub.store
            .list_import_chunks(&orphan.id)
            .await
            .expect("chunks")
            .is_empty()
    );
}
