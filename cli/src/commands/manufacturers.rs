//! `hookline manufacturers import FILE`: sends a CSV file or XLSX workbook to the bulk
//! import (`POST /v1/manufacturers/imports`), then follows the import's progress
//! (`GET /v1/manufacturers/imports/{id}`) with a progress bar until every good row is done.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use reqwest::Method;
use serde_json::Value;

use super::{Ctx, id_segment};
use crate::api::Payload;
use crate::args::{ImportArgs, ManufacturersCommand};
use crate::error::CliError;
use crate::output::{print_fields, print_table};

/// How often a running import is read.
const POLL: Duration = Duration::from_millis(500);
/// The workbook content type.
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// Runs a `manufacturers` command.
pub async fn run(ctx: &Ctx, command: ManufacturersCommand) -> Result<(), CliError> {
    match command {
        ManufacturersCommand::Import(args) => import(ctx, args).await,
    }
}

/// Imports the file; fails (exit 1) when any row was not imported (invalid, a conflict,
/// refused when written), after printing the report.
async fn import(ctx: &Ctx, args: ImportArgs) -> Result<(), CliError> {
    let api = ctx.api()?;
    let bytes = std::fs::read(&args.file)
        .map_err(|e| CliError::usage(format!("reading {}: {e}", args.file.display())))?;
    let content_type = match args.file.extension().and_then(|e| e.to_str()) {
        Some(e) if e.eq_ignore_ascii_case("csv") => "text/csv",
        Some(e) if e.eq_ignore_ascii_case("xlsx") => XLSX,
        // The API tells CSV from a workbook by the content.
        _ => "application/octet-stream",
    };
    let dry_run = args.dry_run.then(|| "true".to_string());
    let url = api.url("/v1/manufacturers/imports", &[("dry_run", dry_run)]);
    let body = Payload::File {
        content_type,
        bytes: &bytes,
    };
    let mut report = api
        .call_with_headers(Method::POST, url, Some(body), None, &[])
        .await?;
    if !args.dry_run {
        report = follow(&api, report).await?;
    }
    ctx.out.show(&report, print_report);
    let refused = ["invalid_rows", "conflicts", "failed"]
        .iter()
        .map(|k| report[*k].as_u64().unwrap_or(0))
        .sum::<u64>();
    if refused > 0 {
        return Err(CliError::Invalid(format!(
            "{refused} rows were not imported (see the report)"
        )));
    }
    Ok(())
}

/// Reads the import until it is `complete`, drawing `processed_rows` of `valid_rows`.
async fn follow(api: &crate::api::Api, mut report: Value) -> Result<Value, CliError> {
    let id = report["id"]
        .as_str()
        .ok_or_else(|| CliError::Connection("the API started an import without an id".into()))?
        .to_string();
    let path = format!("/v1/manufacturers/imports/{}", id_segment(&id)?);
    let bar = ProgressBar::new(report["valid_rows"].as_u64().unwrap_or(0));
    if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} rows  {msg}") {
        bar.set_style(style);
    }
    while report["status"] == "processing" {
        tokio::time::sleep(POLL).await;
        report = match api.get(&path, &[]).await {
            Ok(r) => r,
            Err(e) => {
                bar.abandon();
                return Err(e);
            }
        };
        bar.set_position(report["processed_rows"].as_u64().unwrap_or(0));
        bar.set_message(id.clone());
    }
    bar.finish_and_clear();
    Ok(report)
}

/// The counts, then each refused row.
fn print_report(report: &Value) {
    print_fields(
        report,
        &[
            "id",
            "status",
            "dry_run",
            "total_rows",
            "valid_rows",
            "invalid_rows",
            "created",
            "updated",
            "unchanged",
            "conflicts",
            "failed",
        ],
    );
    let errors = report["errors"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    if !errors.is_empty() {
        println!();
        print_table(
            &[("line", "line"), ("column", "column"), ("reason", "reason")],
            errors,
        );
    }
    let refused: Vec<Value> = report["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| matches!(r["action"].as_str(), Some("conflict" | "failed")))
        .cloned()
        .collect();
    if !refused.is_empty() {
        println!();
        print_table(
            &[
                ("line", "line"),
                ("fssai", "fssai"),
                ("action", "action"),
                ("detail", "detail"),
            ],
            &refused,
        );
    }
}
