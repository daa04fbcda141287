#!/usr/bin/env bash
# Runs every check and test of the workspace: the README's "run all tests" command and the
# body of CI. Formatting, clippy with warnings denied, then every test (unit, conformance,
# end-to-end), then the end-to-end tests again on the aws backend (moto), then the web
# console's browser tests (infra/scripts/console-tests.sh), then the API fuzzed
# against its OpenAPI document (infra/scripts/fuzz.sh) and a client generated from it used
# (infra/scripts/generated-client.sh), then the template lints (cfn-lint; and SAM's own).
#
# Needs the Rust toolchain, python3 and Node.js with npm (Chromium and Firefox ESR are installed
# by apt-get when missing); the Python tools (moto, cfn-lint, the SAM CLI,
# Schemathesis) are installed into the project's virtual environment on the first run (.venv,
# or $HOOKLINE_TOOLS_DIR; see infra/scripts/python-tools.sh) and taken from there.
set -euo pipefail
cd "$(dirname "$0")/../.."
. infra/scripts/python-tools.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy (warnings denied)"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --profile ci
  # nextest runs no doctests; the domain's show what must not compile (a swapped id).
  cargo test --doc -p hookline-domain --locked
else
  cargo test --workspace --locked
fi

# The same end-to-end suite again on the AWS backend: every test app gets its own moto_server
# (from the virtual environment, first on PATH) provisioned by infra/local/bootstrap.
echo "== end-to-end tests on the aws backend (moto)"
if cargo nextest --version >/dev/null 2>&1; then
  HOOKLINE_E2E_BACKEND=aws cargo nextest run -p hookline-e2e --locked --profile ci
else
  HOOKLINE_E2E_BACKEND=aws cargo test -p hookline-e2e --locked --test e2e
fi

# The web console in Debian's Chromium (playwright-core from npm) against a fresh runner:
# sign-in, subscriptions, test event and its attempt, retry, replay, admin pages; then its
# core path in Debian's Firefox ESR (puppeteer-core) against the same runner.
echo "== console browser tests: infra/scripts/console-tests.sh"
infra/scripts/console-tests.sh

# The live API against its own OpenAPI document (Schemathesis, bounded to a few minutes): no
# 5xx, no response the document does not describe. Repeat with the seed it prints.
echo "== fuzz: infra/scripts/fuzz.sh"
infra/scripts/fuzz.sh

# A client generated from the committed document by a stock generator, used unmodified
# against the runner: token, subscription, event, signed delivery, deliveries listed.
echo "== generated client: infra/scripts/generated-client.sh"
infra/scripts/generated-client.sh

echo "== cfn-lint template.yaml"
cfn-lint template.yaml
echo "== sam validate --lint"
sam validate --lint --region us-east-1
