//! The repository's stack definition, template.yaml, as the tests read it.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// template.yaml as JSON, read with the bootstrap's own CloudFormation-aware loader.
pub fn template() -> Value {
    let script = "import importlib.machinery, importlib.util, json, sys\n\
        loader = importlib.machinery.SourceFileLoader('bootstrap', sys.argv[1])\n\
        module = importlib.util.module_from_spec(importlib.util.spec_from_loader('bootstrap', loader))\n\
        loader.exec_module(module)\n\
        print(json.dumps(module.load_template()))";
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(root().join("infra/local/bootstrap"))
        .output()
        .expect("python3 with PyYAML and boto3 is needed: infra/scripts/test.sh installs them into .venv (infra/scripts/python-tools.sh)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("template as JSON")
}
