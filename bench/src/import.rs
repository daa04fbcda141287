//! `import`: a bulk import of 10,000 manufacturers (a CSV file of generated rows) into the
//! registry, then the same file again: rows per second from the upload to the import's
//! `status: complete`, for a first import (every row created, an event published for each)
//! and a re-import (every row unchanged, nothing published). Progress is polled as a portal
//! would, and printed as it goes.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::api::Api;
use crate::process::Runner;
use crate::run::RunResult;
use crate::scenarios::Bench;
use crate::stats::round;

/// Scopes of a portal that imports manufacturers.
const IMPORTER: [&str; 1] = ["manufacturers:write"];
/// How often the import's progress is read.
const POLL: Duration = Duration::from_millis(100);
/// How long one import may take before the run is called incomplete.
const IMPORT_TIMEOUT: Duration = Duration::from_secs(600);

/// The template's columns (docs/API.md).
const HEADER: &str = "fssai_licence,name,licence_valid_until,address,district,state,pincode,contact.name,contact.phone,contact.email,commodity,states";

/// A CSV file of `rows` distinct AP manufacturers.
fn file(rows: usize) -> Vec<u8> {
    let mut out = String::with_capacity(rows * 160);
    out.push_str(HEADER);
    out.push('\n');
    for i in 0..rows {
        out.push_str(&format!(
            "{:014},Manufacturer {i},2027-03-31,\"Plot {i}, Industrial Estate\",Krishna,AP,520001,R. Lakshmi,+919848012345,qa{i}@mfr.example,FRK,AP\n",
            50_000_000_000_000u64 + i as u64
        ));
    }
    out.into_bytes()
}

/// One import's figures.
struct Timed {
    /// Upload to the 202, seconds.
    accept_s: f64,
    /// Upload to `status: complete`, seconds.
    complete_s: f64,
    /// The final report.
    report: Value,
}

impl Bench {
    /// Imports `scaled(10_000)` rows, then the same file again.
    pub(crate) async fn import(&self) -> Result<RunResult, String> {
        self.on_runner(&self.runner_env(), async |runner| {
            self.import_on(runner).await
        })
        .await
    }

    async fn import_on(&self, runner: &Runner) -> Result<RunResult, String> {
        let api = Api::new(runner, 2);
        let admin = api.admin(runner).await?;
        let portal = api
            .portal(&admin, "AP registry portal", &IMPORTER, &["AP"])
            .await?;
        let rows = self.scaled(10_000);
        let body = file(rows);
        let cpu0 = runner.cpu_seconds();
        let first = timed_import(&api, &portal.token, body.clone(), "first").await?;
        let cpu = runner.cpu_seconds() - cpu0;
        let again = timed_import(&api, &portal.token, body, "re-import").await?;
        let count = |r: &Value, k: &str| r[k].as_u64().unwrap_or(0) as usize;
        let complete = count(&first.report, "created") == rows
            && count(&again.report, "unchanged") == rows
            && count(&first.report, "invalid_rows") == 0;
        let mut r = RunResult {
            complete,
            wall_s: round(first.complete_s),
            peak_rss_mb: round(runner.peak_rss_mb()),
            ..RunResult::default()
        };
        let per_s = |t: &Timed| round(rows as f64 / t.complete_s.max(1e-9));
        r.extra.insert("rows".into(), rows as f64);
        r.extra.insert("rows_per_s".into(), per_s(&first));
        r.extra.insert("accept_s".into(), round(first.accept_s));
        r.extra.insert("rows_per_s_reimport".into(), per_s(&again));
        r.extra.insert(
            "cpu_s_per_1000_rows".into(),
            round(cpu * 1000.0 / rows.max(1) as f64),
        );
        Ok(r)
    }
}

/// Uploads the file and polls the import until it is complete.
async fn timed_import(api: &Api, token: &str, body: Vec<u8>, what: &str) -> Result<Timed, String> {
    let started = Instant::now();
    let (status, location, answer) = api
        .post_file("/v1/manufacturers/imports", token, "text/csv", body)
        .await?;
    let accept_s = started.elapsed().as_secs_f64();
    let location = match (status, location) {
        (202, Some(l)) => l,
        _ => {
            return Err(format!(
                "POST /v1/manufacturers/imports: HTTP {status}: {answer}"
            ));
        }
    };
    let mut shown = 0;
    loop {
        let (status, report) = api.get(&location, token).await?;
        if status != 200 {
            return Err(format!("GET {location}: HTTP {status}: {report}"));
        }
        let done = report["processed_rows"].as_u64().unwrap_or(0);
        if done >= shown + 1000 || report["status"] == "complete" {
            eprintln!(
                "import ({what}): {done}/{} rows after {:.1} s",
                report["valid_rows"],
                started.elapsed().as_secs_f64()
            );
            shown = done;
        }
        if report["status"] == "complete" {
            return Ok(Timed {
                accept_s,
                complete_s: started.elapsed().as_secs_f64(),
                report,
            });
        }
        if started.elapsed() > IMPORT_TIMEOUT {
            return Err(format!(
                "import ({what}): not complete after {IMPORT_TIMEOUT:?}: {report}"
            ));
        }
        tokio::time::sleep(POLL).await;
    }
}
