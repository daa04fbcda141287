//! `/v1/manufacturers/imports`: bulk imports of the manufacturer registry from a CSV or XLSX
//! file, as a job resource (a Lambda request has 29 seconds; 10,000 rows are upserted by the
//! queue workers after the answer), and the template to fill in.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hookline_domain::{Client, Import, ImportChunk, ImportId, Scope};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::api::extract::{IdParam, IdPath, QueryParams, read_body};
use crate::api::responses::{
    BadRequest, Forbidden, NotFound, PayloadTooLarge, UnsupportedMediaType,
};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::imports::check::{Checked, ValidRow, check};
use crate::imports::columns::ColumnMap;
use crate::imports::report::ImportView;
use crate::imports::{chunks, sheet, template, upsert};
use crate::problem::{ApiError, ApiResult};

/// The scope an import needs: the registry's write scope.
const WRITE_SCOPE: Scope = Scope::ManufacturersWrite;
/// Rows of a dry run planned at once (each is one read of the registry).
const PLANS_IN_FLIGHT: usize = 32;

/// Query of `POST /v1/manufacturers/imports`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// `true`: check the file and report what the import would do to each row, writing
    /// nothing (200); otherwise the import is queued (202).
    #[param(value_type = Option<bool>)]
    pub dry_run: Option<String>,
}

impl ImportParams {
    fn dry_run(&self) -> ApiResult<bool> {
        match self.dry_run.as_deref() {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(_) => Err(ApiError::bad_request("dry_run: must be true or false")),
        }
    }
}

/// Imports manufacturers from a CSV or XLSX file (the request body).
#[utoipa::path(post, path = "/v1/manufacturers/imports", operation_id = "create_import", tag = "manufacturers",
    params(ImportParams),
    request_body(description = "The file: a CSV (text/csv, UTF-8) or XLSX workbook (its first sheet), header row first, at most 4 MiB and 10,000 data rows; columns as the template's (see docs/API.md).",
        content(("text/csv"), ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), ("application/octet-stream"))),
    responses(
        (status = 202, description = "Accepted: the import, queued (its `Location` shows progress).", body = ImportView,
            headers(("Location" = String, description = "The import's URL."))),
        (status = 200, description = "Dry run: what the import would do; nothing stored.", body = ImportView),
        (status = 400, response = BadRequest), (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge), (status = 415, response = UnsupportedMediaType)),
    security(("bearer" = ["manufacturers:write"])))]
pub async fn create(
    State(ctx): State<Arc<AppContext>>,
    caller: Caller,
    QueryParams(params): QueryParams<ImportParams>,
    req: Request,
) -> ApiResult<Response> {
    caller.require(WRITE_SCOPE)?;
    let dry_run = params.dry_run()?;
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let bytes = read_body(req, sheet::MAX_FILE_BYTES).await?;
    let format = sheet::format_of(content_type.as_deref(), &bytes)?;
    // Unpacking and reading a workbook of 10,000 rows is CPU work: off the async threads.
    let sheet = tokio::task::spawn_blocking(move || sheet::read(format, &bytes))
        .await
        .map_err(|_| ApiError::bad_request("the file could not be read"))??;
    let columns = ColumnMap::of(&sheet.header, sheet.header_line)?;
    let checked = check(&sheet, &columns, &caller.client);
    let now = ctx.clock.now();
    let mut import = Import {
        id: ImportId::new(now.unix_timestamp_nanos() / 1_000_000),
        client_id: caller.client.id.clone(),
        created_at: now,
        format,
        total_rows: checked.total_rows,
        valid_rows: u32::try_from(checked.valid.len()).unwrap_or(u32::MAX),
        invalid_rows: checked.invalid_rows,
        chunks: 0,
        errors: Vec::new(),
        errors_omitted: 0,
    };
    let Checked { valid, errors, .. } = checked;
    import.set_errors(errors);
    if dry_run {
        let planned = plan(&ctx, &caller.client, valid, now).await?;
        import.chunks = 1;
        return Ok(Json(ImportView::of(&import, &[planned], true)).into_response());
    }
    let work = chunks::cut(&import.id, &import.client_id, valid);
    import.chunks = u32::try_from(work.len()).unwrap_or(u32::MAX);
    ctx.store.insert_import(&import).await?;
    chunks::queue(ctx.queue.as_ref(), &work).await?;
    tracing::info!(import_id = %import.id, by = %caller.client.id, rows = import.total_rows, valid = import.valid_rows, chunks = import.chunks, "import accepted");
    let location = format!("/v1/manufacturers/imports/{}", import.id);
    let mut resp = (
        StatusCode::ACCEPTED,
        Json(ImportView::of(&import, &[], false)),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

/// A dry run's outcomes: each valid row's upsert planned over the stored record.
async fn plan(
    ctx: &AppContext,
    writer: &Client,
    rows: Vec<ValidRow>,
    now: time::OffsetDateTime,
) -> ApiResult<ImportChunk> {
    let mut outcomes = Vec::with_capacity(rows.len());
    for group in rows.chunks(PLANS_IN_FLIGHT) {
        let planned = futures_util::future::join_all(
            group
                .iter()
                .map(|r| upsert::plan(ctx.store.as_ref(), writer, r.details.clone())),
        )
        .await;
        for (r, p) in group.iter().zip(planned) {
            let (action, detail) = p?;
            outcomes.push(hookline_domain::RowOutcome {
                line: r.line,
                fssai: r.details.fssai_licence.to_string(),
                action,
                detail,
            });
        }
    }
    Ok(ImportChunk {
        chunk: 0,
        finished_at: now,
        outcomes,
    })
}

/// An import's progress and report (its owner only).
#[utoipa::path(get, path = "/v1/manufacturers/imports/{id}", operation_id = "get_import", tag = "manufacturers",
    params(IdParam<ImportId>),
    responses((status = 200, description = "The import: counts, errors, each processed row's outcome; `status` is `complete` once every row is done.", body = ImportView),
        (status = 403, response = Forbidden), (status = 404, response = NotFound)),
    security(("bearer" = ["manufacturers:write"])))]
pub async fn get(
    State(ctx): State<Arc<AppContext>>,
    caller: Caller,
    IdPath(id): IdPath<ImportId>,
) -> ApiResult<Json<ImportView>> {
    caller.require(WRITE_SCOPE)?;
    let import = ctx
        .store
        .get_import(&id)
        .await?
        .filter(|i| caller.owns(&i.client_id))
        .ok_or_else(|| ApiError::not_found("import"))?;
    let chunks = ctx.store.list_import_chunks(&id).await?;
    Ok(Json(ImportView::of(&import, &chunks, false)))
}

/// Query of the template route.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TemplateParams {
    /// `xlsx` (default) or `csv`.
    pub format: Option<String>,
}

/// The import template: the header row of every column (XLSX with a sheet explaining each).
#[utoipa::path(get, path = "/v1/manufacturers/imports/template", operation_id = "get_import_template", tag = "manufacturers",
    params(TemplateParams),
    responses((status = 200, description = "The template file.",
        content(("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), ("text/csv"))),
        (status = 400, response = BadRequest)),
    security(("bearer" = [])))]
pub async fn template(
    _caller: Caller,
    QueryParams(params): QueryParams<TemplateParams>,
) -> ApiResult<Response> {
    let (body, content_type, name) = match params.format.as_deref() {
        None | Some("xlsx") => {
            let book = template::xlsx().map_err(|e| {
                tracing::error!(error = %e, "the XLSX template could not be written");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal_error",
                    "the template could not be written",
                )
            })?;
            (book, sheet::XLSX_TYPE, "manufacturers-template.xlsx")
        }
        Some("csv") => (
            template::csv().into_bytes(),
            "text/csv; charset=utf-8",
            "manufacturers-template.csv",
        ),
        Some(_) => return Err(ApiError::bad_request("format: must be xlsx or csv")),
    };
    let disposition = format!("attachment; filename=\"{name}\"");
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}
