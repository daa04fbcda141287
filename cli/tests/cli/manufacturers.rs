//! `manufacturers import`: a file sent, its import followed to the report.

use crate::harness::imports::{csv, row, with};
use crate::harness::logged_in;

#[tokio::test]
async fn an_import_is_followed_to_its_report_and_refused_rows_are_exit_1() {
    let (_app, cli) = logged_in().await;
    let dir = tempfile::tempdir().unwrap();
    let good = [
        row("10014011000011", "Annapurna FRK"),
        row("10014011000012", "Godavari Premix"),
    ];
    let bad = with(row("10014011000013", "Krishna Mills"), "pincode", "12");
    let mixed = dir.path().join("mixed.csv");
    std::fs::write(&mixed, csv(&[good[0].clone(), bad, good[1].clone()])).unwrap();

    let out = cli
        .run(&["manufacturers", "import", mixed.to_str().unwrap(), "--json"])
        .await;
    assert_eq!(out.code, Some(1), "one row was refused: {out:?}");
    let report: serde_json::Value = serde_json::from_str(&out.stdout).expect("the JSON report");
    assert_eq!(report["status"], "complete", "{report}");
    assert_eq!(report["created"], 2, "{report}");
    assert_eq!(report["invalid_rows"], 1, "{report}");
    assert_eq!(report["errors"][0]["column"], "pincode", "{report}");
    assert!(out.stderr.contains("1 rows were not imported"), "{out:?}");

    // The good rows again: nothing refused, nothing changed; a dry run plans the same.
    let again = dir.path().join("good.csv");
    std::fs::write(&again, csv(&good)).unwrap();
    let human = cli
        .run(&["manufacturers", "import", again.to_str().unwrap()])
        .await;
    let text = human.ok();
    assert!(text.contains("complete"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.split_whitespace().eq(["unchanged", "2"])),
        "{text}"
    );
    let dry = cli
        .run(&[
            "manufacturers",
            "import",
            again.to_str().unwrap(),
            "--dry-run",
            "--json",
        ])
        .await
        .json();
    assert_eq!(dry["dry_run"], true, "{dry}");
}
