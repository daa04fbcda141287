//! `/v1/apps`: integration app versions, published as declarative definitions with their
//! environment's values, listed, read and deprecated. The client that publishes a key first
//! owns it: only it (or an admin) publishes further versions of it and deprecates them.
//!
//! A version's secret environment values are written to the secret store before its record,
//! and deleted again if the record cannot be written: a refused publish stores nothing.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use hookline_domain::Scope;
use hookline_domain::apps::{APP_SCHEMA, AppStatus, AppVersion, check_version, is_app_key};
use hookline_ports::{PortError, version_sort_key};
use serde_json::Value;
use utoipa::IntoParams;

use crate::api::app_checks;
use crate::api::app_views::{AppSummaryView, AppVersionView, NewAppVersion};
use crate::api::extract::{PageParams, QueryParams, parse_object, read_body};
use crate::api::responses::Unprocessable;
use crate::api::responses::{BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge};
use crate::api::views::ListView;
use crate::auth::Caller;
use crate::context::AppContext;
use crate::problem::{ApiError, ApiResult};

/// The scopes that read apps.
pub const READ: [Scope; 2] = [Scope::AppsRead, Scope::AppsWrite];

/// Largest publish body: a definition of at most 256 KiB, and its environment's values.
pub const MAX_PUBLISH_BODY: usize = 320 * 1024;

/// Writes of one version a deprecation tries while others keep changing it.
const WRITE_TRIES: u32 = 5;

/// The `{key}` and `{version}` of a version's routes.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct VersionParams {
    /// The app's key. Any other text is a 404.
    #[param(pattern = r"^[a-z][a-z0-9_-]{1,63}$")]
    key: String,
    /// A semantic version (`1.2.0`). Any other text is a 404.
    #[param(max_length = 64)]
    version: String,
}

/// The `{key}` of an app's routes.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct KeyParam {
    /// The app's key. Any other text is a 404.
    #[param(pattern = r"^[a-z][a-z0-9_-]{1,63}$")]
    key: String,
}

/// A stored version, or 404 (a key or version of the wrong shape names nothing).
pub(crate) async fn version_of(
    ctx: &AppContext,
    key: &str,
    version: &str,
) -> ApiResult<AppVersion> {
    if !is_app_key(key) || check_version(version).is_err() {
        return Err(ApiError::not_found("app version"));
    }
    ctx.store
        .get_app_version(key, version)
        .await?
        .ok_or_else(|| ApiError::not_found("app version"))
}

/// The client that owns `key` (the publisher of its first version), if it has a version.
async fn owner_of(ctx: &AppContext, key: &str) -> ApiResult<Option<hookline_domain::ClientId>> {
    let page = ctx.store.list_app_versions(Some(key), None, 1).await?;
    Ok(page.items.into_iter().next().map(|v| v.published_by))
}

/// 403 unless the caller may publish and deprecate versions of `key`.
async fn require_publisher(ctx: &AppContext, caller: &Caller, key: &str) -> ApiResult<()> {
    caller.require(Scope::AppsWrite)?;
    match owner_of(ctx, key).await? {
        Some(owner) if !caller.owns(&owner) => Err(ApiError::forbidden(format!(
            "the app '{key}' is another client's: only its publisher (or an admin) publishes and deprecates its versions"
        ))),
        _ => Ok(()),
    }
}

/// The JSON Schema of an app definition.
#[utoipa::path(get, path = "/v1/apps/schema", operation_id = "get_app_schema", tag = "apps",
    responses((status = 200, description = "The JSON Schema (draft 2020-12) every app definition must match.", body = Object)),
    security(("bearer" = [])))]
pub async fn schema(_caller: Caller) -> ApiResult<Json<Value>> {
    let schema: Value = serde_json::from_str(APP_SCHEMA)
        .map_err(|_| ApiError::not_found("app definition schema"))?;
    Ok(Json(schema))
}

/// Publishes a version of an app.
#[utoipa::path(post, path = "/v1/apps", operation_id = "publish_app_version", tag = "apps", request_body = NewAppVersion,
    responses((status = 201, description = "The version, published.", body = AppVersionView),
        (status = 400, response = BadRequest), (status = 403, response = Forbidden),
        (status = 409, description = "The version exists already (`version_exists`)."),
        (status = 413, response = PayloadTooLarge), (status = 422, response = Unprocessable)),
    security(("bearer" = ["apps:write"])))]
pub async fn publish(
    State(ctx): State<Arc<AppContext>>,
    caller: Caller,
    req: Request,
) -> ApiResult<(StatusCode, Json<AppVersionView>)> {
    caller.require(Scope::AppsWrite)?;
    let input: NewAppVersion = parse_object(&read_body(req, MAX_PUBLISH_BODY).await?)?;
    let definition = app_checks::definition(&input.definition)?;
    let catalog = ctx.catalog.get(ctx.store.as_ref()).await?;
    if let Some((key, t)) = definition
        .triggers
        .iter()
        .find(|(_, t)| !catalog.contains_key(&t.event_type))
    {
        return Err(app_checks::field(
            &format!("definition.triggers.{key}.event_type"),
            &format!("'{}' is not in this stack's event catalog", t.event_type),
        ));
    }
    let (plain, secret) = app_checks::environment(&definition, &input.environment)?;
    let (key, version) = (definition.key.clone(), definition.version.clone());
    require_publisher(&ctx, &caller, &key).await?;
    if ctx.store.get_app_version(&key, &version).await?.is_some() {
        return Err(version_exists(&key, &version));
    }
    let record = AppVersion {
        status: AppStatus::Published,
        environment: plain,
        secret_environment: secret.keys().cloned().collect(),
        published_by: caller.client.id.clone(),
        published_at: ctx.clock.now(),
        deprecated_at: None,
        revision: 0,
        definition,
    };
    let secret_name = AppVersion::secret_name(&key, &version);
    if !secret.is_empty() {
        let bytes = serde_json::to_vec(&secret).unwrap_or_default();
        ctx.store.put_secret(&secret_name, &bytes).await?;
    }
    match ctx.store.insert_app_version(&record).await {
        Ok(true) => {}
        // Another publish of the same version got in between the check and the write: the
        // secret written is now that version's (whoever wrote it last), so it stays.
        Ok(false) => return Err(version_exists(&key, &version)),
        Err(e) => {
            if !secret.is_empty()
                && let Err(d) = ctx.store.delete_secret(&secret_name).await
            {
                tracing::warn!(app = %key, version = %version, error = %d, "the secret environment of an unpublished version was not deleted");
            }
            return Err(e.into());
        }
    }
    tracing::info!(app = %key, version = %version, client_id = %caller.client.id, "app version published");
    Ok((StatusCode::CREATED, Json(AppVersionView::of(&record))))
}

fn version_exists(key: &str, version: &str) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "version_exists",
        format!("version {version} of '{key}' is published already: publish a new version"),
    )
}

/// Apps with their versions, by key.
#[utoipa::path(get, path = "/v1/apps", operation_id = "list_apps", tag = "apps", params(PageParams),
    responses((status = 200, description = "A page of apps, by key.", body = ListView<AppSummaryView>),
        (status = 400, response = BadRequest), (status = 403, response = Forbidden)),
    security(("bearer" = ["apps:read"]), ("bearer" = ["apps:write"])))]
pub async fn list(
    State(ctx): State<Arc<AppContext>>,
    caller: Caller,
    QueryParams(page): QueryParams<PageParams>,
) -> ApiResult<Json<ListView<AppSummaryView>>> {
    caller.require_any(&READ)?;
    let limit = page.limit()?;
    // The cursor is the last key of the previous page: apps are few, and versions are listed
    // by key, so the next page starts at the first version of a later key.
    let after = page.cursor().map(str::to_string);
    let mut apps: Vec<Vec<AppVersion>> = Vec::new();
    let mut store_cursor: Option<String> = None;
    'pages: loop {
        let p = ctx
            .store
            .list_app_versions(None, store_cursor.as_deref(), 100)
            .await?;
        for v in p.items {
            if after.as_deref().is_some_and(|a| v.key() <= a) {
                continue;
            }
            let same_app = apps.last().is_some_and(|g| g[0].key() == v.key());
            if same_app {
                if let Some(group) = apps.last_mut() {
                    group.push(v);
                }
            } else if apps.len() == limit {
                break 'pages;
            } else {
                apps.push(vec![v]);
            }
        }
        match p.next_cursor {
            Some(c) => store_cursor = Some(c),
            None => {
                let data = summaries(&apps);
                return Ok(Json(ListView {
                    data,
                    next_cursor: None,
                }));
            }
        }
    }
    let data = summaries(&apps);
    let next_cursor = data.last().map(|a| a.key.clone());
    Ok(Json(ListView { data, next_cursor }))
}

fn summaries(apps: &[Vec<AppVersion>]) -> Vec<AppSummaryView> {
    apps.iter()
        .filter_map(|versions| {
            let mut versions = versions.clone();
            versions.sort_by_key(|v| version_sort_key(v.version()));
            AppSummaryView::of(&versions)
        })
        .collect()
}

/// The versions of one app, in semver order.
#[utoipa::path(get, path = "/v1/apps/{key}/versions", operation_id = "list_app_versions", tag = "apps",
    params(KeyParam, PageParams),
    responses((status = 200, description = "A page of the app's versions.", body = ListView<AppVersionView>),
        (status = 400, response = BadRequest), (status = 403, response = Forbidden),
        (status = 404, response = NotFound)),
    security(("bearer" = ["apps:read"]), ("bearer" = ["apps:write"])))]
pub async fn versions(
    State(ctx): State<Arc<AppContext>>,
    caller: Caller,
    Path(key): Path<String>,
    QueryParams(page): QueryParams<PageParams>,
) -> ApiResult<Json<ListView<AppVersionView>>> {
    caller.require_any(&READ)?;
    if !is_app_key(&key) {
        return Err(ApiError::not_found("app"));
    }
    let p = ctx
        .store
        .list_app_versions(Some(&key), page.cursor(), page.limit()?)
        .await?;
    if p.items.is_empty() && page.cursor().is_none() {
        return Err(ApiError::not_found("app"));
    }
    Ok(Json(ListView {
        data: p.items.iter().map(AppVersionView::of).collect(),
        next_cursor: p.next_cursor,
    }))
}

/// One version of an app.
#[utoipa::path(get, path = "/v1/apps/{key}/versions/{version}", operation_id = "get_app_version", tag = "apps",
    params(VersionParams),
    responses((status = 200, description = "The version.", body = AppVersionView),
        (status = 403, response = Forbidden), (status = 404, response = NotFound)),
    security(("bearer" = ["apps:read"]), ("bearer" = ["apps:write"])))]
pub async fn get(
    State(ctx): State<Arc<AppContext>>,
    caller: Caller,
    Path((key, version)): Path<(String, String)>,
) -> ApiResult<Json<AppVersionView>> {
    caller.require_any(&READ)?;
    let v = version_of(&ctx, &key, &version).await?;
    Ok(Json(AppVersionView::of(&v)))
}

/// Deprecates a version: its connections keep running; new connections and upgrades to it
/// are refused. Deprecating a deprecated version changes nothing.
#[utoipa::path(post, path = "/v1/apps/{key}/versions/{version}/deprecate", operation_id = "deprecate_app_version", tag = "apps",
    params(VersionParams),
    responses((status = 200, description = "The version, deprecated.", body = AppVersionView),
        (status = 403, response = Forbidden), (status = 404, response = NotFound),
        (status = 409, response = Conflict)),
    security(("bearer" = ["apps:write"])))]
pub async fn deprecate(
    State(ctx): State<Arc<AppContext>>,
    caller: Caller,
    Path((key, version)): Path<(String, String)>,
) -> ApiResult<Json<AppVersionView>> {
    caller.require(Scope::AppsWrite)?;
    version_of(&ctx, &key, &version).await?;
    require_publisher(&ctx, &caller, &key).await?;
    for _ in 0..WRITE_TRIES {
        let mut v = version_of(&ctx, &key, &version).await?;
        if v.status == AppStatus::Deprecated {
            return Ok(Json(AppVersionView::of(&v)));
        }
        v.status = AppStatus::Deprecated;
        v.deprecated_at = Some(ctx.clock.now());
        match ctx.store.update_app_version(&v).await {
            Ok(true) => {
                v.revision += 1;
                tracing::info!(app = %key, version = %version, "app version deprecated");
                return Ok(Json(AppVersionView::of(&v)));
            }
            Ok(false) => continue,
            Err(PortError::NotFound) => return Err(ApiError::not_found("app version")),
            Err(e) => return Err(e.into()),
        }
    }
    Err(PortError::Conflict(format!(
        "version {version} of '{key}' kept changing; try again"
    ))
    .into())
}
