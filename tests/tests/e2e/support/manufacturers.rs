//! The manufacturer registry as the tests drive it: a valid manufacturer body, a registrar
//! (a client that may write the registry for some states), and the registry's requests.

use serde_json::{Value, json};

use super::api::{ApiResponse, TestClient, urlencode};
use super::app::TestApp;

/// The scopes of a state's registrar: read and write the registry.
pub const REGISTRAR_SCOPES: [&str; 2] = ["manufacturers:read", "manufacturers:write"];

/// A valid manufacturer body: licence `fssai`, called `name`, in AP, used by `states`.
pub fn manufacturer(fssai: &str, name: &str, states: &[&str]) -> Value {
    json!({
        "name": name,
        "fssai_licence": fssai,
        "licence_valid_until": "2027-03-31",
        "address": "Plot 12, Industrial Estate",
        "district": "Krishna",
        "state": "AP",
        "pincode": "520001",
        "contact": {"name": "R. Rao", "phone": "+91 98480 12345", "email": "rao@example.org"},
        "commodity": "FRK",
        "states": states,
    })
}

impl TestApp {
    /// A client that reads and writes the registry for `states`.
    pub async fn registrar(&self, states: &[&str]) -> TestClient {
        self.client(&REGISTRAR_SCOPES, states).await
    }

    /// `POST /v1/manufacturers`.
    pub async fn register_manufacturer(&self, token: &str, body: &Value) -> ApiResponse {
        self.post("/v1/manufacturers", token, body).await
    }

    /// `PUT /v1/manufacturers/{fssai}` with `body`.
    pub async fn put_manufacturer(&self, token: &str, body: &Value) -> ApiResponse {
        let fssai = body["fssai_licence"].as_str().unwrap_or_default();
        self.put(&format!("/v1/manufacturers/{fssai}"), token, body)
            .await
    }

    /// `GET /v1/manufacturers/{fssai}`.
    pub async fn manufacturer(&self, token: &str, fssai: &str) -> ApiResponse {
        self.get(&format!("/v1/manufacturers/{fssai}"), token).await
    }

    /// The names of every manufacturer `GET /v1/manufacturers?{query}` lists, page by page of
    /// `limit`, with the size of each page.
    pub async fn manufacturer_names(
        &self,
        token: &str,
        query: &str,
        limit: usize,
    ) -> (Vec<String>, Vec<usize>) {
        let (mut names, mut sizes) = (Vec::new(), Vec::new());
        let mut cursor = String::new();
        loop {
            let path = format!(
                "/v1/manufacturers?{query}&limit={limit}&cursor={}",
                urlencode(&cursor)
            );
            let page = self.get(&path, token).await;
            page.assert_status(200);
            let data = page.data();
            sizes.push(data.len());
            names.extend(
                data.iter()
                    .map(|m| m["name"].as_str().unwrap_or("").to_string()),
            );
            match page.json["next_cursor"].as_str() {
                Some(c) => cursor = c.to_string(),
                None => return (names, sizes),
            }
            assert!(sizes.len() < 100, "the cursor never ended");
        }
    }
}
