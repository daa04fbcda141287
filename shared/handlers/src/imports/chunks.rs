//! The valid rows of an import, cut into chunks and queued on the events queue, where the
//! fan-out workers (the runner's pollers, the `fanout` Lambda function) take them: each
//! chunk's rows are upserted one by one (each upsert is one conditional write, so a crash
//! never half-writes a row, and a bad row never blocks the others: it was refused before
//! anything was queued), then the chunk's outcomes are recorded once. A redelivered chunk
//! upserts again, which changes nothing that is already written, and finds its record.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsMessage};
use hookline_domain::manufacturer::ValidManufacturer;
use hookline_domain::{ClientId, ImportChunk, ImportId, RowOutcome};
use hookline_ports::{PortError, QueueMessage, QueueName, QueueSender};
use serde::{Deserialize, Serialize};
use tokio::task::JoinSet;
use tracing::Instrument;

use super::check::ValidRow;
use crate::context::WorkerContext;
use crate::messages::to_body;

/// Most rows in one chunk.
pub const CHUNK_ROWS: usize = 100;
/// Most bytes of a chunk's message body (an SQS message is at most 256 KiB).
pub const CHUNK_BYTES: usize = 200 * 1024;

/// A message of the events queue that carries a chunk of an import (the events queue's other
/// messages are [`EventMessage`](crate::messages::EventMessage)s).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkMessage {
    /// The chunk.
    pub import_chunk: ChunkWork,
}

/// One chunk of an import's valid rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkWork {
    /// The import.
    pub import_id: ImportId,
    /// The chunk's number, from 0.
    pub chunk: u32,
    /// The client that sent the file: the rows are written as its.
    pub client_id: ClientId,
    /// The rows, in line order.
    pub rows: Vec<ChunkRow>,
}

/// One row of a chunk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkRow {
    /// Its line in the file.
    pub line: u32,
    /// Its fields, as checked.
    pub details: ValidManufacturer,
}

impl ChunkMessage {
    /// The chunk a message body carries, if it carries one.
    pub fn of(body: &str) -> Option<ChunkMessage> {
        // Cheap test first: an event message never holds this key.
        body.contains("\"import_chunk\"")
            .then(|| serde_json::from_str(body).ok())
            .flatten()
    }
}

/// Cuts `rows` into chunks of at most [`CHUNK_ROWS`] rows and [`CHUNK_BYTES`] bytes.
pub fn cut(import_id: &ImportId, client_id: &ClientId, rows: Vec<ValidRow>) -> Vec<ChunkWork> {
    let mut chunks: Vec<ChunkWork> = Vec::new();
    let mut bytes = 0;
    for row in rows {
        let row = ChunkRow {
            line: row.line,
            details: row.details,
        };
        let size = serde_json::to_string(&row).map_or(0, |s| s.len() + 1);
        let full = chunks
            .last()
            .is_none_or(|c| c.rows.len() == CHUNK_ROWS || bytes + size > CHUNK_BYTES);
        if full {
            chunks.push(ChunkWork {
                import_id: import_id.clone(),
                chunk: u32::try_from(chunks.len()).unwrap_or(u32::MAX),
                client_id: client_id.clone(),
                rows: Vec::new(),
            });
            bytes = 0;
        }
        bytes += size;
        if let Some(c) = chunks.last_mut() {
            c.rows.push(row);
        }
    }
    chunks
}

/// Queues the chunks on the events queue.
pub async fn queue(queue: &dyn QueueSender, chunks: &[ChunkWork]) -> Result<(), PortError> {
    if chunks.is_empty() {
        return Ok(());
    }
    let messages = chunks
        .iter()
        .map(|c| {
            QueueMessage::now(to_body(&ChunkMessage {
                import_chunk: c.clone(),
            }))
        })
        .collect();
    queue.send(QueueName::Events, messages).await
}

/// Why a chunk could not be finished (the queue tries it again).
#[derive(Debug, thiserror::Error)]
pub enum ChunkError {
    /// The client that sent the file is gone.
    #[error("the import's client {0} no longer exists")]
    UnknownClient(ClientId),
    /// The store or the queue failed.
    #[error("{0}")]
    Backend(#[from] PortError),
    /// A row's upsert failed.
    #[error("line {line}: {why}")]
    Row {
        /// The row's line.
        line: u32,
        /// Why.
        why: super::upsert::RowFailure,
    },
}

/// Rows of one chunk upserted at once (their FSSAI numbers differ: repeats were refused).
const ROWS_IN_FLIGHT: usize = 16;

/// Upserts a chunk's rows and records their outcomes; a chunk recorded before keeps its
/// first record (its rows, upserted again, changed nothing).
pub async fn run(ctx: &WorkerContext, work: &ChunkWork) -> Result<(), ChunkError> {
    let writer = ctx
        .client(&work.client_id)
        .await?
        .ok_or_else(|| ChunkError::UnknownClient(work.client_id.clone()))?;
    let mut outcomes = Vec::with_capacity(work.rows.len());
    for group in work.rows.chunks(ROWS_IN_FLIGHT) {
        let done = futures_util::future::join_all(
            group
                .iter()
                .map(|row| super::upsert::row(ctx, &writer, row.details.clone())),
        )
        .await;
        for (row, outcome) in group.iter().zip(done) {
            let (action, detail) = outcome.map_err(|why| ChunkError::Row {
                line: row.line,
                why,
            })?;
            outcomes.push(RowOutcome {
                line: row.line,
                fssai: row.details.fssai_licence.to_string(),
                action,
                detail,
            });
        }
    }
    let chunk = ImportChunk {
        chunk: work.chunk,
        finished_at: ctx.clock.now(),
        outcomes,
    };
    if !ctx
        .store
        .record_import_chunk(&work.import_id, &chunk)
        .await?
    {
        tracing::info!(import_id = %work.import_id, chunk = work.chunk, "import chunk was recorded before");
    }
    Ok(())
}

/// Takes the chunk messages out of a batch of the events queue, runs them side by side, and
/// returns the ids of those that failed (the queue retries them) and the rest of the batch.
pub async fn take_and_run(
    ctx: &Arc<WorkerContext>,
    records: Vec<SqsMessage>,
) -> (Vec<BatchItemFailure>, Vec<SqsMessage>) {
    let mut rest = Vec::with_capacity(records.len());
    let mut runs = JoinSet::new();
    let mut message_of = std::collections::HashMap::new();
    for record in records {
        let Some(m) = record.body.as_deref().and_then(ChunkMessage::of) else {
            rest.push(record);
            continue;
        };
        let ctx = ctx.clone();
        let task = runs.spawn(
            async move {
                let work = &m.import_chunk;
                let done = run(&ctx, work).await;
                if let Err(e) = &done {
                    tracing::warn!(import_id = %work.import_id, chunk = work.chunk, error = %e, "import chunk failed; it will be retried");
                }
                done.is_ok()
            }
            .in_current_span(),
        );
        message_of.insert(task.id(), record.message_id.unwrap_or_default());
    }
    let mut failures = Vec::new();
    while let Some(joined) = runs.join_next_with_id().await {
        // A task that panicked fails its message alone (a rerun records nothing twice).
        let (task, ok) = match joined {
            Ok((task, ok)) => (task, ok),
            Err(e) => {
                tracing::error!(error = %e, "import chunk task failed");
                (e.id(), false)
            }
        };
        if !ok {
            let mut f = BatchItemFailure::default();
            f.item_identifier = message_of.remove(&task).unwrap_or_default();
            failures.push(f);
        }
    }
    (failures, rest)
}

#[cfg(test)]
mod tests {
    use hookline_domain::manufacturer::ManufacturerInput;

    use super::*;
    use crate::imports::columns::{COLUMNS, ColumnMap};

    fn rows(n: u32, name_len: usize) -> Vec<ValidRow> {
        let header: Vec<String> = COLUMNS.iter().map(|c| c.name.to_string()).collect();
        let map = ColumnMap::of(&header, 1).unwrap();
        let cells: Vec<String> = COLUMNS.iter().map(|c| c.example.to_string()).collect();
        (0..n)
            .map(|i| {
                let mut input: ManufacturerInput = map.input(&cells);
                input.fssai_licence = format!("{:014}", 10_000_000_000_000u64 + u64::from(i));
                input.address = "क".repeat(name_len);
                ValidRow {
                    line: i + 2,
                    details: input.validate().unwrap(),
                }
            })
            .collect()
    }

    #[test]
    fn chunks_hold_at_most_their_rows_and_bytes_and_every_row_once() {
        let (imp, cl) = (ImportId::new(1), ClientId::new(1));
        let small = cut(&imp, &cl, rows(250, 10));
        assert_eq!(
            small.iter().map(|c| c.rows.len()).collect::<Vec<_>>(),
            [100, 100, 50]
        );
        let big = cut(&imp, &cl, rows(250, 500));
        for c in &big {
            let body = to_body(&ChunkMessage {
                import_chunk: c.clone(),
            });
            assert!(body.len() <= CHUNK_BYTES + 4096, "{}", body.len());
            assert_eq!(
                ChunkMessage::of(&body).as_ref().map(|m| &m.import_chunk),
                Some(c)
            );
        }
        let lines: Vec<u32> = big
            .iter()
            .flat_map(|c| c.rows.iter().map(|r| r.line))
            .collect();
        assert_eq!(lines, (2..252).collect::<Vec<_>>());
        assert_eq!(
            big.iter().map(|c| c.chunk).collect::<Vec<_>>(),
            (0..big.len() as u32).collect::<Vec<_>>()
        );
        assert!(ChunkMessage::of(r#"{"event_id":"evt_1"}"#).is_none());
    }
}
