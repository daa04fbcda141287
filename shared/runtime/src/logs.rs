//! A Lambda function's logs: JSON lines on stdout, and the span of each invocation.

use hookline_aws::metrics::EmfMetrics;

/// JSON logs on stdout, one object per line, as CloudWatch expects; level from `RUST_LOG`
/// (default `info`): a level, or comma-separated `target=level` directives
/// (`info,hookline_handlers=debug`). Span and field filters (the regular-expression part of
/// `EnvFilter`'s syntax) are not supported here, which keeps a regex engine out of functions
/// that have no other use for one; a malformed value falls back to `info`.
///
/// A line logged during an invocation lists the spans it runs in (`spans`): first
/// lambda_runtime's, with the invocation's `requestId` and `xrayTraceId`, then
/// [`invocation`]'s, with `coldStart`. Both are kept at any level, so that an error line
/// under `RUST_LOG=warn` still says which request it belongs to.
pub fn init_logs() {
    use tracing_subscriber::util::SubscriberInitExt;
    let rust_log = crate::env::Env::process().text("RUST_LOG");
    json_logs(rust_log.as_deref(), std::io::stdout).init();
}

/// The target of lambda_runtime's span around each invocation (`requestId`, `xrayTraceId`).
const RUNTIME_SPAN_TARGET: &str = "lambda_runtime::layers::trace";
/// The target of [`invocation`]'s span (`coldStart`), which no event uses.
const INVOCATION_SPAN_TARGET: &str = "hookline::invocation";

/// The subscriber [`init_logs`] installs, with the filter `rust_log` describes, writing to
/// `writer` (tests read the lines back).
pub fn json_logs<W>(
    rust_log: Option<&str>,
    writer: W,
) -> impl tracing::Subscriber + Send + Sync + 'static
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    use tracing_subscriber::layer::SubscriberExt;
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .flatten_event(true)
                .with_current_span(false)
                .with_span_list(true)
                .without_time()
                .with_writer(writer),
        )
        .with(log_filter(rust_log))
}

/// `RUST_LOG`'s directives, with the invocation spans always on (they hold no events).
fn log_filter(rust_log: Option<&str>) -> tracing_subscriber::filter::Targets {
    use tracing::Level;
    use tracing_subscriber::filter::{LevelFilter, Targets};
    let mut filter = rust_log
        .and_then(|v| v.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO));
    for target in [RUNTIME_SPAN_TARGET, INVOCATION_SPAN_TARGET] {
        if !filter.would_enable(target, &Level::INFO) {
            filter = filter.with_target(target, Level::INFO);
        }
    }
    filter
}

/// Whether this process has begun an invocation yet.
static INVOKED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Runs one invocation's `work` in a span that says whether it is the first of this process
/// (`coldStart`), which every line it logs carries; then prints the metrics it recorded,
/// before the function answers (Lambda may freeze the process as soon as it has).
pub async fn invocation<F: Future>(metrics: &EmfMetrics, work: F) -> F::Output {
    use tracing::Instrument;
    let cold_start = !INVOKED.swap(true, std::sync::atomic::Ordering::Relaxed);
    let output = work.instrument(invocation_span(cold_start)).await;
    metrics.flush();
    output
}

fn invocation_span(cold_start: bool) -> tracing::Span {
    tracing::info_span!(target: INVOCATION_SPAN_TARGET, "invocation", coldStart = cold_start)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_invocation_spans_stay_on_at_any_level() {
        use tracing::Level;
        for rust_log in [
            None,
            Some("warn"),
            Some("error,hookline_handlers=debug"),
            Some("off"),
        ] {
            let filter = log_filter(rust_log);
            for target in [RUNTIME_SPAN_TARGET, INVOCATION_SPAN_TARGET] {
                assert!(filter.would_enable(target, &Level::INFO), "{rust_log:?}");
            }
        }
        let quiet = log_filter(Some("warn"));
        assert!(!quiet.would_enable("hookline_handlers::delivery", &Level::INFO));
        assert!(!quiet.would_enable("lambda_runtime::runtime", &Level::INFO));
        let verbose = log_filter(Some("info,lambda_runtime=trace"));
        assert!(
            verbose.would_enable(RUNTIME_SPAN_TARGET, &Level::TRACE),
            "a directive that asks for more is kept"
        );
    }
}
