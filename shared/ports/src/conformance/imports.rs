//! Conformance: bulk imports (a conditional insert, key lookups) and their chunks (each
//! recorded once, listed by number).

use hookline_domain::{
    Import, ImportChunk, ImportFormat, ImportId, RowAction, RowError, RowOutcome,
};

use super::{Run, at_ms, now_ms};
use crate::error::PortError;
use crate::store::Store;

fn import(run: &Run) -> Import {
    let mut i = Import {
        id: ImportId::new(now_ms()),
        client_id: run.client_id(),
        created_at: at_ms(run.start_ms),
        format: ImportFormat::Xlsx,
        total_rows: 250,
        valid_rows: 249,
        invalid_rows: 1,
        chunks: 3,
        errors: Vec::new(),
        errors_omitted: 0,
    };
    i.set_errors(vec![RowError {
        line: 7,
        column: "fssai_licence".into(),
        reason: format!("not 14 digits ({})", run.tag),
    }]);
    i
}

fn chunk(run: &Run, n: u32, action: RowAction) -> ImportChunk {
    ImportChunk {
        chunk: n,
        finished_at: at_ms(run.start_ms + i128::from(n)),
        outcomes: vec![RowOutcome {
            line: 2 + n * 100,
            fssai: format!("1000000000000{n}"),
            action,
            detail: (action == RowAction::Conflict).then(|| "kept by state QB".to_string()),
        }],
    }
}

/// An import is inserted once and read back whole; each chunk is recorded once, the first
/// recording kept, and the chunks listed by number, of their import only.
pub(super) async fn imports(store: &dyn Store, run: &Run) {
    let i = import(run);
    store
        .insert_import(&i)
        .await
        .expect("insert_import of a new id must succeed");
    let again = store.insert_import(&i).await;
    assert!(
        matches!(again, Err(PortError::Conflict(_))),
        "insert_import of an existing id must be Conflict, got {again:?}"
    );
    let got = store.get_import(&i.id).await.expect("get_import");
    assert_eq!(
        got.as_ref(),
        Some(&i),
        "get_import must return the import as inserted"
    );
    let unknown = ImportId::new(now_ms());
    assert_eq!(
        store
            .get_import(&unknown)
            .await
            .expect("get_import of an unknown id"),
        None
    );
    assert_eq!(
        store
            .list_import_chunks(&i.id)
            .await
            .expect("list_import_chunks"),
        Vec::new(),
        "an import without recorded chunks lists none"
    );

    // Recorded out of order, one of them twice: the first recording stands.
    let (c0, c1, c2) = (
        chunk(run, 0, RowAction::Created),
        chunk(run, 1, RowAction::Conflict),
        chunk(run, 2, RowAction::Unchanged),
    );
    for c in [&c2, &c0] {
        assert!(
            store
                .record_import_chunk(&i.id, c)
                .await
                .expect("record_import_chunk"),
            "the first recording of chunk {} must be written",
            c.chunk
        );
    }
    let redelivered = chunk(run, 0, RowAction::Unchanged);
    assert!(
        !store
            .record_import_chunk(&i.id, &redelivered)
            .await
            .expect("record_import_chunk again"),
        "a chunk recorded before must not be recorded again"
    );
    assert!(
        store
            .record_import_chunk(&i.id, &c1)
            .await
            .expect("record chunk 1")
    );
    // Another import's chunk is not this one's.
    let other = import(run);
    store
        .insert_import(&other)
        .await
        .expect("insert another import");
    store
        .record_import_chunk(&other.id, &chunk(run, 0, RowAction::Updated))
        .await
        .expect("record another import's chunk");

    let chunks = store
        .list_import_chunks(&i.id)
        .await
        .expect("list_import_chunks");
    assert_eq!(
        chunks,
        vec![c0, c1, c2],
        "the chunks, by number, as first recorded"
    );
    assert_eq!(
        store
            .get_import(&i.id)
            .await
            .expect("get_import after chunks"),
        Some(i),
        "recording chunks must not change the import"
    );
}
