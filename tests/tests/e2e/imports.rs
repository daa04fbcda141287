//! Bulk imports of the manufacturer registry (`/v1/manufacturers/imports`): CSV and XLSX
//! files, the report of bad rows and repeated numbers, dry runs, re-imports that change
//! nothing, conflicts with other states' records, the template, and the files refused whole.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::imports::{
    COLUMNS, XLSX, csv, csv_of, row, with, xlsx, xlsx_of, xlsx_with_numbers,
};
use crate::support::{Receiver, TestApp, TestClient};

/// A portal that imports manufacturers (and reads the registry).
async fn importer(app: &TestApp, states: &[&str]) -> TestClient {
    app.registrar(states).await
}

/// (line, column, reason) of each error of a report.
fn errors(report: &Value) -> Vec<(u64, String, String)> {
    report["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("a report has errors: {report}"))
        .iter()
        .map(|e| {
            (
                e["line"].as_u64().expect("a line"),
                e["column"].as_str().expect("a column").to_string(),
                e["reason"].as_str().expect("a reason").to_string(),
            )
        })
        .collect()
}

/// (line, action) of each row of a report.
fn actions(report: &Value) -> Vec<(u64, String)> {
    report["rows"]
        .as_array()
        .unwrap_or_else(|| panic!("a report has rows: {report}"))
        .iter()
        .map(|r| {
            (
                r["line"].as_u64().expect("a line"),
                r["action"].as_str().expect("an action").to_string(),
            )
        })
        .collect()
}

/// The report's counts: (total, valid, invalid, processed, created, updated, unchanged, conflicts).
fn counts(report: &Value) -> [u64; 8] {
    [
        "total_rows",
        "valid_rows",
        "invalid_rows",
        "processed_rows",
        "created",
        "updated",
        "unchanged",
        "conflicts",
    ]
    .map(|k| {
        report[k]
            .as_u64()
            .unwrap_or_else(|| panic!("{k} in {report}"))
    })
}

#[tokio::test]
async fn the_same_file_imported_twice_changes_nothing_the_second_time() {
    let app = TestApp::spawn().await;
    let portal = importer(&app, &["AP"]).await;
    // A state portal that follows the registry.
    let receiver = Receiver::start().await;
    let follower = app.portal(&["AP"]).await;
    app.subscribe_ok(
        &follower.token,
        &json!({"url": receiver.url("/hook"), "event_types": ["ManufacturerCreated", "ManufacturerUpdated"]}),
    )
    .await;
    let file = csv(&[
        row("10014011000001", "Annapurna FRK Industries"),
        row("10014011000002", "Godavari Premix"),
        row("10014011000003", "Krishna Fortified Foods"),
    ]);

    let first = app
        .import_complete(&portal.token, "text/csv", file.clone())
        .await;
    let created = receiver.wait_for(3, Duration::from_secs(30)).await;
    let second = app.import_complete(&portal.token, "text/csv", file).await;
    // The second import published nothing.
    receiver.assert_no_more_requests(3).await;
    let mut numbers: Vec<String> = created
        .iter()
        .map(|r| {
            assert_eq!(r.event_type(), "ManufacturerCreated");
            r.json()["data"]["fssai_licence"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    numbers.sort();
    assert_eq!(
        numbers,
        ["10014011000001", "10014011000002", "10014011000003"]
    );

    assert_eq!(counts(&first), [3, 3, 0, 3, 3, 0, 0, 0], "{first}");
    assert_eq!(first["format"], "csv");
    assert_eq!(
        actions(&first),
        [
            (2, "created".into()),
            (3, "created".into()),
            (4, "created".into())
        ]
    );
    assert_eq!(counts(&second), [3, 3, 0, 3, 0, 0, 3, 0], "{second}");
    assert_ne!(first["id"], second["id"]);
}

#[tokio::test]
async fn bad_rows_and_repeated_numbers_are_reported_by_line_column_and_reason() {
    let app = TestApp::spawn().await;
    let portal = importer(&app, &["AP"]).await;
    let file = csv(&[
        row("10014011000011", "First Mills"),
        with(
            with(row("123", "Short Number"), "pincode", "012345"),
            "name",
            "",
        ),
        row("10014011000011", "First Mills Again"),
        row("10014011000012", "Second Mills"),
        row("10014011000011", "First Mills Thrice"),
        with(
            row("10014011000013", "Third Mills"),
            "contact.email",
            "not-an-address",
        ),
        with(row("10014011000014", "Fourth Mills"), "states", "AP;KA"),
    ]);

    let report = app.import_complete(&portal.token, "text/csv", file).await;

    assert_eq!(
        errors(&report),
        [
            (
                3,
                "fssai_licence".into(),
                "must be exactly 14 digits".into()
            ),
            (
                3,
                "name".into(),
                "is required, at most 200 characters".into()
            ),
            (
                3,
                "pincode".into(),
                "must be 6 digits, not starting with 0".into()
            ),
            (
                4,
                "fssai_licence".into(),
                "repeats the FSSAI licence number of line 2".into()
            ),
            (
                6,
                "fssai_licence".into(),
                "repeats the FSSAI licence number of line 2".into()
            ),
            (
                7,
                "contact.email".into(),
                "must be an e-mail address".into()
            ),
            (
                8,
                "states".into(),
                "entry 2: state 'KA' is not allowed for this client".into()
            ),
        ],
        "{report}"
    );
    assert_eq!(counts(&report), [7, 2, 5, 2, 2, 0, 0, 0], "{report}");
    assert_eq!(
        actions(&report),
        [(2, "created".into()), (5, "created".into())]
    );
    assert_eq!(report["errors_omitted"], 0);
}

#[tokio::test]
async fn a_dry_run_reports_each_rows_outcome_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let portal = importer(&app, &["AP"]).await;
    let rows = [
        row("10014011000021", "Dry Run Mills"),
        row("10014011000022", "Other Dry Mills"),
    ];

    let dry = app
        .import(&portal.token, "text/csv", csv(&rows), true)
        .await;
    dry.assert_status(200);
    assert_eq!(dry.json["dry_run"], true);
    assert_eq!(dry.json["status"], "complete");
    assert!(dry.json.get("id").is_none(), "{}", dry.json);
    assert_eq!(dry.header("location"), None);
    assert_eq!(counts(&dry.json), [2, 2, 0, 2, 2, 0, 0, 0]);
    app.manufacturer(&portal.token, "10014011000021")
        .await
        .assert_problem(404, "not_found");

    // Nothing was stored: the real import still creates both.
    let real = app
        .import_complete(&portal.token, "text/csv", csv(&rows))
        .await;
    assert_eq!(
        actions(&real),
        [(2, "created".into()), (3, "created".into())]
    );

    let renamed = [
        with(rows[0].clone(), "contact.name", "S. Rao"),
        rows[1].clone(),
    ];
    let again = app.import(&portal.token, XLSX, xlsx(&renamed), true).await;
    again.assert_status(200);
    assert_eq!(
        actions(&again.json),
        [(2, "updated".into()), (3, "unchanged".into())]
    );
    let after = app.import(&portal.token, XLSX, xlsx(&renamed), true).await;
    assert_eq!(
        actions(&after.json),
        actions(&again.json),
        "the dry run wrote nothing"
    );
}

#[tokio::test]
async fn a_workbook_imports_as_the_same_rows_in_csv_would() {
    let app = TestApp::spawn().await;
    let portal = importer(&app, &["AP"]).await;
    let rows = [
        row("10014011000031", "Workbook Mills"),
        row("10014011000032", "Workbook Premix"),
    ];
    // Numbers typed as numbers (a licence number, a PIN code) read as the digits they show.
    let workbook = xlsx_with_numbers(&COLUMNS, &rows, &["fssai_licence", "pincode"]);

    let from_xlsx = app.import_complete(&portal.token, XLSX, workbook).await;
    let from_csv = app
        .import_complete(&portal.token, "text/csv", csv(&rows))
        .await;

    assert_eq!(from_xlsx["format"], "xlsx");
    assert_eq!(counts(&from_xlsx), [2, 2, 0, 2, 2, 0, 0, 0], "{from_xlsx}");
    assert_eq!(counts(&from_csv), [2, 2, 0, 2, 0, 0, 2, 0], "{from_csv}");
    // Sent as octet-stream, each is still recognised by its bytes.
    let sniffed = app
        .import(&portal.token, "application/octet-stream", xlsx(&rows), true)
        .await;
    sniffed.assert_status(200);
    assert_eq!(sniffed.json["format"], "xlsx");
}

#[tokio::test]
async fn the_templates_download_and_import_once_filled() {
    let app = TestApp::spawn().await;
    let portal = importer(&app, &["AP"]).await;

    let csv_template = app
        .get(
            "/v1/manufacturers/imports/template?format=csv",
            &portal.token,
        )
        .await;
    csv_template.assert_status(200);
    assert_eq!(csv_template.content_type(), "text/csv");
    assert_eq!(csv_template.text.trim_end(), COLUMNS.join(","));
    let xlsx_template = app
        .request(reqwest::Method::GET, "/v1/manufacturers/imports/template")
        .bearer_auth(&portal.token)
        .send()
        .await
        .expect("an answer");
    assert_eq!(xlsx_template.status(), 200);
    assert_eq!(xlsx_template.headers()["content-type"], XLSX);
    let bytes = xlsx_template.bytes().await.expect("the workbook");
    use calamine::Reader;
    let mut book: calamine::Xlsx<_> =
        calamine::Xlsx::new(std::io::Cursor::new(bytes.to_vec())).expect("an XLSX workbook");
    let range = book
        .worksheet_range_at(0)
        .expect("a sheet")
        .expect("readable");
    let header: Vec<String> = range
        .rows()
        .next()
        .expect("a header row")
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(header, COLUMNS);
    let header: Vec<&str> = header.iter().map(String::as_str).collect();

    // Filled in: the template's header, a row below it.
    let data = String::from_utf8(csv(&[row("10014011000041", "Template Mills")])).expect("text");
    let (_, data_rows) = data.split_once("\r\n").expect("a header line");
    let filled_csv = format!("{}{data_rows}", csv_template.text).into_bytes();
    let from_csv = app
        .import_complete(&portal.token, "text/csv", filled_csv)
        .await;
    let filled_xlsx = xlsx_of(&header, &[row("10014011000042", "Template Premix")]);
    let from_xlsx = app.import_complete(&portal.token, XLSX, filled_xlsx).await;

    for report in [from_csv, from_xlsx] {
        assert_eq!(counts(&report), [1, 1, 0, 1, 1, 0, 0, 0], "{report}");
        assert_eq!(errors(&report), []);
    }
    app.get(
        "/v1/manufacturers/imports/template?format=pdf",
        &portal.token,
    )
    .await
    .assert_problem(400, "invalid_request");
}

#[tokio::test]
async fn files_that_cannot_be_imported_are_refused_whole_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let portal = importer(&app, &["AP"]).await;
    let good = [row("10014011000051", "Never Stored Mills")];

    let pdf = app
        .import(
            &portal.token,
            "application/pdf",
            b"%PDF-1.7 ...".to_vec(),
            false,
        )
        .await;
    pdf.assert_problem(415, "unsupported_media_type");
    let png = app
        .import(
            &portal.token,
            "application/octet-stream",
            b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec(),
            false,
        )
        .await;
    png.assert_problem(415, "unsupported_media_type");
    let fake = app.import(&portal.token, XLSX, csv(&good), false).await;
    fake.assert_problem(415, "unsupported_media_type");

    let mut header: Vec<&str> = COLUMNS
        .iter()
        .copied()
        .filter(|c| *c != "pincode")
        .collect();
    header.push("phone_no");
    let cells: Vec<Vec<String>> = vec![good[0].iter().take(11).cloned().collect()];
    let missing = app
        .import(&portal.token, "text/csv", csv_of(&header, &cells), false)
        .await;
    missing.assert_problem(400, "invalid_request");
    assert_eq!(
        missing.error_fields(),
        ["phone_no", "pincode"],
        "{}",
        missing.text
    );
    assert!(
        missing.json["detail"]
            .as_str()
            .unwrap_or("")
            .starts_with("line 1: "),
        "{}",
        missing.text
    );

    let mut huge = csv(&good);
    huge.resize(4 * 1024 * 1024 + 1, b' ');
    app.import(&portal.token, "text/csv", huge, false)
        .await
        .assert_problem(413, "payload_too_large");
    let many: Vec<Vec<String>> = (0..10_001u64)
        .map(|i| row(&format!("{}", 20_000_000_000_000u64 + i), "Mass Mills"))
        .collect();
    let too_many = app
        .import(&portal.token, "text/csv", csv(&many), false)
        .await;
    too_many.assert_problem(413, "payload_too_large");
    assert!(
        too_many.json["detail"]
            .as_str()
            .unwrap_or("")
            .starts_with("line 10002: "),
        "{}",
        too_many.text
    );

    // None of them stored anything: the good row would still be created.
    let dry = app
        .import(&portal.token, "text/csv", csv(&good), true)
        .await;
    assert_eq!(actions(&dry.json), [(2, "created".into())]);
}

#[tokio::test]
async fn only_the_client_that_sent_a_file_sees_its_import() {
    let app = TestApp::spawn().await;
    let portal = importer(&app, &["AP"]).await;
    let other = importer(&app, &["AP"]).await;
    let reader = app.client(&["subscriptions:read"], &["AP"]).await;
    let report = app
        .import_complete(
            &portal.token,
            "text/csv",
            csv(&[row("10014011000061", "Private Mills")]),
        )
        .await;
    let path = format!(
        "/v1/manufacturers/imports/{}",
        report["id"].as_str().expect("an id")
    );

    assert_eq!(report["client_id"], portal.id.as_str());
    app.get(&path, &other.token)
        .await
        .assert_problem(404, "not_found");
    app.get(&path, &reader.token)
        .await
        .assert_problem(403, "forbidden");
    app.get(&path, &app.admin_token().await)
        .await
        .assert_status(200);
    app.get(
        "/v1/manufacturers/imports/imp_01j0000000000000000000000z",
        &portal.token,
    )
    .await
    .assert_problem(404, "not_found");
    app.get("/v1/manufacturers/imports/evt_x", &portal.token)
        .await
        .assert_problem(404, "not_found");
    app.import(&reader.token, "text/csv", csv(&[]), false)
        .await
        .assert_problem(403, "forbidden");
}

#[tokio::test]
async fn a_row_naming_another_states_business_under_a_known_number_is_a_conflict() {
    let app = TestApp::spawn().await;
    let ap = importer(&app, &["AP"]).await;
    let ka = importer(&app, &["KA"]).await;
    app.import_complete(
        &ap.token,
        "text/csv",
        csv(&[row("10014011000071", "Andhra Mills")]),
    )
    .await;
    let ka_row = |name: &str| {
        with(
            with(row("10014011000071", name), "state", "KA"),
            "states",
            "KA",
        )
    };

    let clash = app
        .import_complete(&ka.token, "text/csv", csv(&[ka_row("Karnataka Mills")]))
        .await;

    assert_eq!(counts(&clash), [1, 1, 0, 1, 0, 0, 0, 1], "{clash}");
    let outcome = &clash["rows"][0];
    assert_eq!(
        (
            outcome["line"].clone(),
            outcome["fssai"].clone(),
            outcome["action"].clone()
        ),
        (json!(2), json!("10014011000071"), json!("conflict"))
    );
    let detail = outcome["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("name") && detail.contains("state"),
        "{detail}"
    );
}

#[tokio::test]
async fn a_file_of_ten_thousand_bad_rows_is_read_whole_and_its_report_capped() {
    let app = TestApp::spawn().await;
    let portal = importer(&app, &["AP"]).await;
    // 10,000 rows of about 300 bytes: a 3 MB body, within the 4 MiB limit; every licence
    // number malformed, so that the dry run looks nothing up.
    let long_address = "Plot 12, Industrial Estate, ".repeat(8);
    let rows: Vec<Vec<String>> = (0..10_000)
        .map(|i| {
            with(
                row(&format!("x{i}"), "Mass Mills"),
                "address",
                &long_address,
            )
        })
        .collect();
    let file = csv(&rows);
    assert!(
        file.len() > 3_000_000 && file.len() < 4 * 1024 * 1024,
        "{}",
        file.len()
    );

    let dry = app.import(&portal.token, "text/csv", file, true).await;

    dry.assert_status(200);
    assert_eq!(counts(&dry.json), [10_000, 0, 10_000, 0, 0, 0, 0, 0]);
    let errors = errors(&dry.json);
    assert_eq!(errors.len(), 1000, "the first 1,000 errors are listed");
    assert_eq!(dry.json["errors_omitted"], 9000);
    assert_eq!(
        errors[999],
        (
            1001,
            "fssai_licence".into(),
            "must be exactly 14 digits".into()
        )
    );
}
