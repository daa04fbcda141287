//! The template examples of docs/API.md (*Payload formats*) render exactly the bodies the
//! document shows, and those bodies have the shapes the seeds' receivers expect: the test
//! reads the examples from the document, so the two cannot drift apart.

use hookline_domain::template::render_json;
use serde_json::Value;

const API_MD: &str = include_str!("../../../docs/API.md");
const MARKER: &str = "<!-- template-example: ";

/// One documented example: the template, the envelope it renders, the body it gives.
struct Example {
    name: String,
    template: String,
    envelope: Value,
    body: Value,
}

/// The contents of the next `n` fenced code blocks of `text`.
fn fenced_blocks(text: &str, n: usize) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut rest = text;
    while blocks.len() < n {
        let start = rest.find("```").expect("a fenced block");
        let after_fence = &rest[start + 3..];
        let body_start = after_fence.find('\n').expect("a fence line") + 1;
        let body = &after_fence[body_start..];
        let end = body.find("```").expect("the end of the block");
        blocks.push(body[..end].trim_end().to_string());
        rest = &body[end + 3..];
    }
    blocks
}

fn examples() -> Vec<Example> {
    API_MD
        .match_indices(MARKER)
        .map(|(at, _)| {
            let after = &API_MD[at + MARKER.len()..];
            let name = after[..after.find(" -->").expect("the marker's end")].to_string();
            let blocks = fenced_blocks(after, 3);
            let json = |i: usize| -> Value {
                serde_json::from_str(&blocks[i])
                    .unwrap_or_else(|e| panic!("{name}: block {i} is not JSON: {e}"))
            };
            Example {
                template: blocks[0].clone(),
                envelope: json(1),
                body: json(2),
                name,
            }
        })
        .collect()
}

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    k.sort_unstable();
    k
}

#[test]
fn the_documented_templates_render_the_documented_bodies() {
    let examples = examples();
    let names: Vec<&str> = examples.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["assessment", "facility-management"]);
    for e in &examples {
        let rendered = render_json(&e.template, &e.envelope)
            .unwrap_or_else(|err| panic!("{}: the template does not render: {err}", e.name));
        let rendered: Value = serde_json::from_slice(&rendered).expect("render_json gives JSON");
        assert_eq!(rendered, e.body, "{}: the body the document shows", e.name);
    }
}

#[test]
fn the_documented_bodies_have_the_seeds_shapes() {
    let examples = examples();
    // The assessment seed's plugin event, and its attempt.started example's parts.
    let assessment = &examples[0].body;
    assert_eq!(
        keys(assessment),
        ["context", "data", "id", "name", "timestamp"]
    );
    assert_eq!(
        keys(&assessment["context"]),
        ["organisationId", "tenantId", "userId"]
    );
    assert_eq!(
        keys(&assessment["data"]),
        ["attemptId", "attemptNumber", "testId"]
    );
    // The facility-management seed's notification.
    let facility = &examples[1].body;
    assert_eq!(keys(facility), ["event", "payload"]);
    assert_eq!(facility["payload"]["type"], "Report");
}
