//! Headers for what a browser renders as a page: the API docs (`/docs` and the
//! `/openapi.json` it loads) today, a console later. A page comes with a Content Security
//! Policy that names exactly where its scripts, styles and images come from and which inline
//! blocks it runs (by hash), `X-Content-Type-Options: nosniff`, frame protection
//! (`X-Frame-Options: DENY` and `frame-ancestors 'none'`: no other site may frame it to trick
//! a user into clicking) and `Referrer-Policy: no-referrer` (the assets' host learns nothing
//! of the page's address).

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// Where a page's resources come from.
#[derive(Debug, Clone, Copy)]
pub struct PageSources<'a> {
    /// The one source of its scripts, style sheets and images: `'self'` or an origin.
    pub assets: &'a str,
    /// The text of each inline `<script>` it runs.
    pub inline_scripts: &'a [&'a str],
    /// The text of each inline `<style>` it (or one of its scripts) inserts.
    pub inline_styles: &'a [&'a str],
}

/// The CSP hash source of an inline block: `'sha256-<base64>'`.
pub fn hash_source(text: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes());
    format!("'sha256-{}'", STANDARD.encode(digest.as_ref()))
}

/// The Content Security Policy of a page: nothing by default; scripts, styles and images
/// from `assets` only (images also as `data:` URLs, which Swagger UI's style sheet uses for
/// its icons), inline blocks by hash only; fetches to the page's own origin; no `<base>`, no
/// form posts, no framing.
pub fn content_security_policy(sources: &PageSources<'_>) -> String {
    let with_hashes = |blocks: &[&str]| {
        let mut list = vec![sources.assets.to_string()];
        list.extend(blocks.iter().map(|b| hash_source(b)));
        list.join(" ")
    };
    format!(
        "default-src 'none'; script-src {}; style-src {}; img-src {} data:; \
         connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        with_hashes(sources.inline_scripts),
        with_hashes(sources.inline_styles),
        sources.assets,
    )
}

/// `routes` with the page headers on every response, `policy` as its CSP.
pub fn with_page_headers<S>(routes: Router<S>, policy: &str) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let headers: Vec<(HeaderName, HeaderValue)> = [
        (header::CONTENT_SECURITY_POLICY, policy),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
    ]
    .into_iter()
    .filter_map(|(name, value)| match HeaderValue::from_str(value) {
        Ok(v) => Some((name, v)),
        Err(_) => {
            // Policies are built from constants; a test holds them to valid header values.
            tracing::error!(header = %name, "a page header is not a valid header value");
            None
        }
    })
    .collect();
    routes.layer(middleware::map_response(move |mut resp: Response| {
        let headers = headers.clone();
        async move {
            for (name, value) in headers {
                resp.headers_mut().insert(name, value);
            }
            resp
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_source_is_the_base64_sha256_of_the_block() {
        // The example of the CSP Level 3 specification, section 8.3.
        assert_eq!(
            hash_source("alert('Hello, world.');"),
            "'sha256-qznLcsROx4GACP2dm0UCKCzCG+HiZ1guq6ZZDob/Tng='"
        );
    }

    #[test]
    fn a_policy_allows_the_assets_and_the_inline_blocks_only() {
        let policy = content_security_policy(&PageSources {
            assets: "https://cdn.example",
            inline_scripts: &["run()"],
            inline_styles: &[],
        });
        assert!(policy.starts_with("default-src 'none'; "), "{policy}");
        assert!(
            policy.contains(&format!(
                "script-src https://cdn.example {};",
                hash_source("run()")
            )),
            "{policy}"
        );
        assert!(
            policy.contains("style-src https://cdn.example;"),
            "{policy}"
        );
        assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
        assert!(!policy.contains("unsafe"), "{policy}");
        assert!(HeaderValue::from_str(&policy).is_ok());
    }
}
