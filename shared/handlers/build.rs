//! Embeds the committed OpenAPI document (`openapi.json`, pretty-printed for its readers)
//! without its whitespace: the `manage` Lambda function carries it, and every byte of that
//! binary counts against its size target.

use std::path::PathBuf;

fn main() {
    println!("cargo::rerun-if-changed=openapi.json");
    let text = std::fs::read_to_string("openapi.json").expect("shared/handlers/openapi.json");
    let doc: serde_json::Value = serde_json::from_str(&text).expect("openapi.json is JSON");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    std::fs::write(
        out.join("openapi.min.json"),
        serde_json::to_string(&doc).expect("serializes"),
    )
    .expect("writes the minified document");
}
