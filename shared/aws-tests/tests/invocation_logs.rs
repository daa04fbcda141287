//! What a deployed function's log lines carry: every line logged during an invocation, the
//! handlers' spawned tasks included, names the invocation's request id, trace id and cold
//! start. The subscriber is the one `init_logs` installs, writing to a buffer; the span
//! around each invocation is shaped like lambda_runtime's (`layers/trace.rs`).

use std::io::Write;
use std::sync::{Arc, Mutex};

use hookline_aws::metrics::EmfMetrics;
use hookline_embedded::{EmbeddedBackend, QueueOptions};
use hookline_handlers::HandlerConfig;
use hookline_handlers::context::{Core, WorkerContext};
use hookline_handlers::delivery::DeliveryContext;
use hookline_handlers::metrics::Metrics;
use hookline_handlers::sqs_event::to_sqs_event;
use hookline_ports::{QueueName, ReceivedMessage, SystemClock};
use hookline_runtime::{invocation, json_logs};
use serde_json::Value;
use tracing::Instrument;

const TRACE_ID: &str = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";

/// Every line logged, kept for the test to read back.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// A subscriber as `init_logs` installs it, at `rust_log`, writing here.
    fn subscriber(&self, rust_log: Option<&str>) -> impl tracing::Subscriber + Send + Sync {
        let writer = self.clone();
        json_logs(rust_log, move || writer.clone())
    }

    /// The lines logged so far, parsed.
    fn lines(&self) -> Vec<Value> {
        let bytes = self.0.lock().expect("log buffer").clone();
        String::from_utf8(bytes)
            .expect("UTF-8")
            .lines()
            .map(|line| serde_json::from_str(line).expect("each line is a JSON object"))
            .collect()
    }
}

/// The span lambda_runtime opens around each invocation.
fn runtime_span(request_id: &str) -> tracing::Span {
    tracing::info_span!(
        target: "lambda_runtime::layers::trace",
        "Lambda runtime invoke",
        requestId = request_id,
        xrayTraceId = TRACE_ID
    )
}

/// The request id, trace id and cold start a line carries (in its list of spans).
fn invocation_of(line: &Value) -> (Option<&str>, Option<&str>, Option<bool>) {
    let spans = line["spans"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    let field = |name: &str| spans.iter().find_map(|s| s.get(name));
    (
        field("requestId").and_then(Value::as_str),
        field("xrayTraceId").and_then(Value::as_str),
        field("coldStart").and_then(Value::as_bool),
    )
}

// The only test of this binary that runs `invocation` (and so the only one that sees the
// process's first invocation).
#[tokio::test]
async fn every_line_of_an_invocation_carries_its_request_id_trace_id_and_cold_start() {
    let captured = Captured::default();
    let metrics = EmfMetrics::new("test");
    {
        let _logs = tracing::subscriber::set_default(captured.subscriber(None));
        tracing::info!("before the first invocation");
        for request_id in ["req-1", "req-2"] {
            let work = async {
                metrics.fanned_out("AP", "LotDispatched", 2);
                tracing::info!(delivery_id = "dl_1", "delivery attempt");
            };
            invocation(&metrics, work)
                .instrument(runtime_span(request_id))
                .await;
        }
    }
    {
        let _logs = tracing::subscriber::set_default(captured.subscriber(Some("warn")));
        let work = async {
            tracing::info!("not at this level");
            tracing::warn!("endpoint busy");
        };
        invocation(&metrics, work)
            .instrument(runtime_span("req-3"))
            .await;
    }

    let lines = captured.lines();
    assert_eq!(lines.len(), 4, "{lines:#?}");
    assert_eq!(lines[0]["message"], "before the first invocation");
    assert!(lines[0].get("spans").is_none(), "outside any invocation");
    let attempt = &lines[1];
    assert_eq!(attempt["message"], "delivery attempt");
    assert_eq!(
        attempt["delivery_id"], "dl_1",
        "the event's fields stay flat"
    );
    assert_eq!(attempt["level"], "INFO");
    assert_eq!(
        invocation_of(attempt),
        (Some("req-1"), Some(TRACE_ID), Some(true))
    );
    assert_eq!(
        invocation_of(&lines[2]),
        (Some("req-2"), Some(TRACE_ID), Some(false)),
        "only the first invocation is a cold start"
    );
    assert_eq!(lines[3]["message"], "endpoint busy");
    assert_eq!(
        invocation_of(&lines[3]),
        (Some("req-3"), Some(TRACE_ID), Some(false)),
        "a quiet level keeps the invocation on the lines it lets through"
    );
    let mut left = Vec::new();
    metrics.flush_to(&mut left).expect("write to memory");
    assert!(
        left.is_empty(),
        "each invocation printed its metrics as it ended"
    );
}

/// A message with a body no handler can read.
fn malformed(id: &str) -> ReceivedMessage {
    ReceivedMessage {
        message_id: id.into(),
        receipt_handle: format!("handle-{id}"),
        body: "{\"delivery_id\": ".into(),
        receive_count: 1,
        sent_at_ms: 0,
    }
}

#[tokio::test]
async fn lines_the_handlers_log_from_their_own_tasks_carry_the_request_id() {
    let dir = tempfile::tempdir().expect("temporary data directory");
    let path = dir.path().to_path_buf();
    let backend =
        tokio::task::spawn_blocking(move || EmbeddedBackend::open(&path, QueueOptions::default()))
            .await
            .expect("open task")
            .expect("open the embedded backend");
    let core = Core::new(
        backend.store(),
        Arc::new(SystemClock),
        HandlerConfig::new("http://test", "embedded"),
    );
    let ctx = WorkerContext::new(Arc::new(core), backend.queue());
    let captured = Captured::default();
    // This test's runtime has one thread: the handlers' tasks log to this subscriber too.
    let _logs = tracing::subscriber::set_default(captured.subscriber(None));
    let batch = [malformed("m-1"), malformed("m-2")];

    let deliveries = to_sqs_event(QueueName::Deliveries, &batch);
    let deliver = DeliveryContext::new(ctx.clone()).expect("delivery context");
    let delivered = hookline_handlers::delivery::handle_deliveries(deliver, deliveries)
        .instrument(runtime_span("req-deliver"))
        .await;
    let events = to_sqs_event(QueueName::Events, &batch);
    let fanned_out = hookline_handlers::fanout::handle_events(ctx.clone(), events)
        .instrument(runtime_span("req-fanout"))
        .await;

    assert!(delivered.batch_item_failures.is_empty(), "dead-lettered");
    assert_eq!(fanned_out.batch_item_failures.len(), 2, "retried");
    let lines = captured.lines();
    let of = |needle: &str| -> Vec<&Value> {
        lines
            .iter()
            .filter(|l| l["message"].as_str().is_some_and(|m| m.contains(needle)))
            .collect()
    };
    let (deliver, fanout) = (of("malformed message"), of("message failed"));
    assert_eq!((deliver.len(), fanout.len()), (2, 2), "{lines:#?}");
    for line in deliver {
        assert_eq!(invocation_of(line).0, Some("req-deliver"), "{line}");
    }
    for line in fanout {
        assert_eq!(invocation_of(line).0, Some("req-fanout"), "{line}");
    }
}
