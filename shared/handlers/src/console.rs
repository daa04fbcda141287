//! The web console: the static page, style sheet and ES modules of `console/` (at the root of
//! the repository), embedded in the binary and served at `/console` and `/console/…` by the
//! local runner's router and the `manage` function's. The files are the whole program: no
//! build step, nothing from another origin; the page signs in against this same API and keeps
//! its token in memory only (docs/console.md).
//!
//! Every response carries the page headers of [`crate::browser`] with [`policy`]: scripts,
//! styles and images from this origin only and no inline block at all (the console has none),
//! fetches to this origin only.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use crate::browser::{PageSources, content_security_policy, with_page_headers};
use crate::problem::problem_response;

/// One embedded file of the console.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    /// Its path under `console/` (and under `/console/` in URLs).
    pub path: &'static str,
    /// What it is sent as.
    pub content_type: &'static str,
    /// Its text.
    pub body: &'static str,
}

macro_rules! asset {
    ($path:literal, $content_type:literal) => {
        Asset {
            path: $path,
            content_type: $content_type,
            body: include_str!(concat!("../../../console/", $path)),
        }
    };
}

/// The page itself, served at `/console`.
pub const INDEX: Asset = asset!("index.html", "text/html; charset=utf-8");

/// Every other file (a test holds this list to the files of `console/`, tests aside).
pub const ASSETS: &[Asset] = &[
    asset!("style.css", "text/css; charset=utf-8"),
    asset!("app.js", "text/javascript; charset=utf-8"),
    asset!("api.js", "text/javascript; charset=utf-8"),
    asset!("ui.js", "text/javascript; charset=utf-8"),
    asset!("pages/subscriptions.js", "text/javascript; charset=utf-8"),
    asset!(
        "pages/subscription_form.js",
        "text/javascript; charset=utf-8"
    ),
    asset!("pages/catalog.js", "text/javascript; charset=utf-8"),
    asset!("pages/deliveries.js", "text/javascript; charset=utf-8"),
    asset!("pages/delivery.js", "text/javascript; charset=utf-8"),
    asset!("pages/replay.js", "text/javascript; charset=utf-8"),
    asset!("pages/chart.js", "text/javascript; charset=utf-8"),
    asset!("pages/clients.js", "text/javascript; charset=utf-8"),
    asset!("pages/apps.js", "text/javascript; charset=utf-8"),
    asset!("pages/connections.js", "text/javascript; charset=utf-8"),
    asset!("pages/connection_form.js", "text/javascript; charset=utf-8"),
    asset!("pages/workflow_steps.js", "text/javascript; charset=utf-8"),
];

/// The console's Content Security Policy: its own origin for everything, no inline blocks.
pub fn policy() -> String {
    content_security_policy(&PageSources {
        assets: "'self'",
        inline_scripts: &[],
        inline_styles: &[],
    })
}

/// `/console` (the page) and `/console/{path}` (its files), with the page headers.
pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let routes = Router::new()
        .route("/console", get(|| async { send(&INDEX) }))
        // The page finds its files relative to `/console`; from `/console/` it would miss them.
        .route("/console/", get(|| async { Redirect::to("../console") }))
        .route("/console/{*path}", get(file));
    with_page_headers(routes, &policy())
}

async fn file(Path(path): Path<String>) -> Response {
    match ASSETS.iter().find(|a| a.path == path) {
        Some(asset) => send(asset),
        None => problem_response(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such console file",
            &[],
        ),
    }
}

fn send(asset: &Asset) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            ),
            // Revalidated on each load, so that a new release is never mixed with old modules.
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        asset.body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::{Path as FsPath, PathBuf};

    use super::*;

    fn console_dir() -> PathBuf {
        FsPath::new(env!("CARGO_MANIFEST_DIR")).join("../../console")
    }

    /// The files under `dir`, relative to the console's directory; its browser tests aside.
    fn files(dir: &FsPath, out: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).expect("a console directory") {
            let path = entry.expect("an entry").path();
            let relative = path
                .strip_prefix(console_dir())
                .expect("under the console")
                .to_string_lossy()
                .replace('\\', "/");
            if path.is_dir() {
                if relative != "tests" {
                    files(&path, out);
                }
            } else {
                out.insert(relative);
            }
        }
    }

    #[test]
    fn every_file_of_the_console_is_embedded_once() {
        let mut on_disk = BTreeSet::new();
        files(&console_dir(), &mut on_disk);
        let embedded: Vec<&str> = std::iter::once(INDEX.path)
            .chain(ASSETS.iter().map(|a| a.path))
            .collect();
        let unique: BTreeSet<String> = embedded.iter().map(|p| p.to_string()).collect();
        assert_eq!(unique.len(), embedded.len(), "a file listed twice");
        assert_eq!(unique, on_disk);
    }

    #[test]
    fn the_page_runs_no_inline_script_or_style() {
        for asset in std::iter::once(&INDEX).chain(ASSETS) {
            let text = asset.body.to_ascii_lowercase();
            assert!(!text.contains("<style"), "{}", asset.path);
            assert!(!text.contains(" style="), "{}", asset.path);
            assert!(!text.contains("javascript:"), "{}", asset.path);
            assert!(!text.contains(" onclick="), "{}", asset.path);
            for other_origin in [
                "src=\"http",
                "href=\"http",
                "from \"http",
                "import(\"http",
                "url(http",
            ] {
                assert!(
                    !text.contains(other_origin),
                    "{}: {other_origin}",
                    asset.path
                );
            }
        }
        // Each script element loads a file of the console.
        for tag in INDEX.body.split("<script").skip(1) {
            let open = tag.split('>').next().unwrap_or_default();
            assert!(open.contains("src=\"console/"), "<script{open}>");
        }
    }

    #[test]
    fn the_new_client_form_offers_every_scope() {
        let form = ASSETS
            .iter()
            .find(|a| a.path == "pages/clients.js")
            .expect("the clients page");
        for scope in hookline_domain::Scope::ALL {
            let entry = format!("[\"{}\", \"", scope.as_str());
            assert!(form.body.contains(&entry), "{entry}");
        }
    }

    #[test]
    fn the_policy_allows_this_origin_only() {
        let policy = policy();
        assert!(policy.contains("script-src 'self';"), "{policy}");
        assert!(policy.contains("style-src 'self';"), "{policy}");
        assert!(policy.contains("connect-src 'self'"), "{policy}");
        assert!(!policy.contains("sha256"), "{policy}");
        assert!(!policy.contains("unsafe"), "{policy}");
    }

    #[tokio::test]
    async fn the_page_and_its_files_are_served_with_the_page_headers() {
        let base = crate::test_support::serve(routes()).await;
        let http = reqwest::Client::new();
        let paths = std::iter::once("/console".to_string())
            .chain(ASSETS.iter().map(|a| format!("/console/{}", a.path)));
        for path in paths {
            let resp = http
                .get(format!("{base}{path}"))
                .send()
                .await
                .expect("answer");
            assert_eq!(resp.status(), 200, "{path}");
            let headers = resp.headers();
            assert_eq!(
                headers[header::CONTENT_SECURITY_POLICY],
                policy().as_str(),
                "{path}"
            );
            assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
            assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");
            assert_eq!(headers[header::REFERRER_POLICY], "no-referrer");
            let content_type = headers[header::CONTENT_TYPE].to_str().expect("ASCII");
            let expected = if path.ends_with(".js") {
                "text/javascript"
            } else if path.ends_with(".css") {
                "text/css"
            } else {
                "text/html"
            };
            assert!(content_type.starts_with(expected), "{path}: {content_type}");
        }
        let missing = http
            .get(format!("{base}/console/nothing.js"))
            .send()
            .await
            .expect("answer");
        assert_eq!(missing.status(), 404);
        assert!(missing.headers()[header::CONTENT_SECURITY_POLICY].len() > 10);
    }
}
