#!/usr/bin/env bash
# Runs every check and test of the workspace: the README's "run all tests" command and the
# body of CI. Formatting, clippy with warnings denied, then every test (unit, conformance,
# end-to-end), then the end-to-end tests again on the aws backend (moto), then the API fuzzed
# against its OpenAPI document (infra/scripts/fuzz.sh), then the template lints (cfn-lint; and
# SAM's own where the SAM CLI is installed).
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

# The same end-to-end suite again on the AWS backend: every test app gets its own moto_server
# (pip install 'moto[server]') provisioned by infra/local/bootstrap.
echo "== end-to-end tests on the aws backend (moto)"
if cargo nextest --version >/dev/null 2>&1; then
  HOOKLINE_E2E_BACKEND=aws cargo nextest run -p hookline-e2e --locked --profile ci
else
  HOOKLINE_E2E_BACKEND=aws cargo test -p hookline-e2e --locked --test e2e
fi

# The live API against its own OpenAPI document (Schemathesis, bounded to a few minutes): no
# 5xx, no response the document does not describe. Repeat with the seed it prints.
echo "== fuzz: infra/scripts/fuzz.sh"
infra/scripts/fuzz.sh

echo "== cfn-lint template.yaml"
cfn-lint template.yaml
if command -v sam >/dev/null 2>&1; then
  echo "== sam validate --lint"
  SAM_CLI_TELEMETRY=0 sam validate --lint --region us-east-1
else
  echo "== sam validate skipped: the SAM CLI is not installed (pip install aws-sam-cli)"
fi
