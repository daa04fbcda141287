//! What `sam build` deploys: every function builds from its own workspace member, with the
//! release profile that keeps panics unwinding (cargo-lambda sets `panic = "abort"` where the
//! profile is silent, and the deliver handler must survive a panicking attempt), and the SAM
//! CLI may run unattended. CI runs `sam build` itself; this catches a drift in seconds.

mod support;

use support::stack::{root, template};

/// The `key = value` lines of one `[section]` of a TOML file.
fn section(text: &str, name: &str) -> Vec<(String, String)> {
    let header = format!("[{name}]");
    text.lines()
        .skip_while(|l| l.trim() != header)
        .skip(1)
        .take_while(|l| !l.trim_start().starts_with('['))
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().trim_matches('"').to_string()))
        .collect()
}

#[test]
fn the_release_profile_is_the_size_optimised_one_and_unwinds() {
    let cargo = std::fs::read_to_string(root().join("Cargo.toml")).expect("Cargo.toml");
    let release = section(&cargo, "profile.release");
    let get = |k: &str| {
        release
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(
        get("panic"),
        Some("unwind"),
        "stated, so cargo-lambda keeps it"
    );
    assert_eq!(get("opt-level"), Some("z"));
    assert_eq!(get("lto"), Some("fat"));
    assert_eq!(get("codegen-units"), Some("1"));
    assert_eq!(get("strip"), Some("true"));
}

#[test]
fn every_function_builds_from_its_own_member_with_its_binary() {
    let t = template();
    let mut functions = 0;
    for (name, resource) in t["Resources"].as_object().expect("resources") {
        if resource["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        functions += 1;
        assert_eq!(
            resource["Metadata"]["BuildMethod"], "rust-cargolambda",
            "{name}"
        );
        let binary = resource["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .expect("a Binary");
        let code = resource["Properties"]["CodeUri"].as_str().expect("CodeUri");
        let manifest = std::fs::read_to_string(root().join(code).join("Cargo.toml"))
            .unwrap_or_else(|e| panic!("{name}: {code}/Cargo.toml: {e}"));
        let package = section(&manifest, "package");
        let crate_name = package
            .iter()
            .find(|(k, _)| k == "name")
            .map(|(_, v)| v.clone());
        assert_eq!(
            crate_name.as_deref(),
            Some(binary),
            "{name}: {code} builds {binary}"
        );
    }
    assert!(functions >= 5, "{functions} functions");
    assert_eq!(
        t["Globals"]["Function"]["Architectures"][0]["Ref"], "Architecture",
        "one architecture parameter for every function"
    );
    assert_eq!(t["Parameters"]["Architecture"]["Default"], "arm64");
}

#[test]
fn samconfig_lets_sam_build_run_unattended() {
    let config = std::fs::read_to_string(root().join("samconfig.toml")).expect("samconfig.toml");
    let build = section(&config, "default.build.parameters");
    assert!(
        build
            .iter()
            .any(|(k, v)| k == "beta_features" && v == "true"),
        "rust-cargolambda is a beta feature: {build:?}"
    );
}
