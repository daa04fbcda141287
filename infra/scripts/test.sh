#!/usr/bin/env bash
# Runs every check and test of the workspace: the README's "run all tests" command and the
# body of CI. Formatting, clippy with warnings denied, then every test (unit, conformance,
# end-to-end), then the template lint once a template exists.
set -euo pipefail
cd "$(dirname "$0")/../.."

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy (warnings denied)"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --profile ci
else
  cargo test --workspace --locked
fi

if [ -f template.yaml ]; then
  echo "== cfn-lint template.yaml"
  cfn-lint template.yaml
fi
