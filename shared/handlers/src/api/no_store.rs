//! Responses that carry a secret (a client secret, a webhook signing secret, an access token)
//! are marked `Cache-Control: no-store`, so that no cache between the caller and Hookline (a
//! proxy, a browser, an SDK's HTTP cache) keeps a copy of it.

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};

/// A response that no cache may store.
pub struct NoStore<T>(pub T);

impl<T: IntoResponse> IntoResponse for NoStore<T> {
    fn into_response(self) -> Response {
        let mut resp = self.0.into_response();
        forbid_storing(resp.headers_mut());
        resp
    }
}

/// Sets `Cache-Control: no-store` on a response's headers.
pub fn forbid_storing(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}
