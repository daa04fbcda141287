//! The configuration table (this crate's README, which is also its documentation) names every
//! `HOOKLINE_*` variable that a runtime reads or the SAM template sets: a variable added to the
//! code or the template without a row fails here.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every whole `HOOKLINE_*` name in `text` (a name ending in `_`, a prefix, is left out).
fn names(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("HOOKLINE_") {
        let tail = &rest[at..];
        let len = tail
            .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(tail.len());
        let name = &tail[..len];
        if !name.ends_with('_') {
            out.insert(name.to_string());
        }
        rest = &tail[len..];
    }
    out
}

/// The names in the Rust files under `dir`, tests aside.
fn names_in_sources(dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for entry in std::fs::read_dir(dir).expect("a source directory") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            out.extend(names_in_sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).expect("a source file");
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            out.extend(names(code));
        }
    }
    out
}

#[test]
fn every_variable_a_runtime_reads_or_the_template_sets_has_a_row() {
    let readme = std::fs::read_to_string(root().join("shared/runtime/README.md")).expect("README");
    let documented = names(&readme);
    let mut read = BTreeSet::new();
    for dir in ["shared/runtime/src", "shared/aws/src", "functions"] {
        read.extend(names_in_sources(&root().join(dir)));
    }
    let template = std::fs::read_to_string(root().join("template.yaml")).expect("template.yaml");
    read.extend(names(&template));
    assert!(
        read.contains("HOOKLINE_ALLOW_HTTP"),
        "the scan found nothing: {read:?}"
    );
    let missing: Vec<_> = read.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "not in shared/runtime/README.md: {missing:?}"
    );
}
