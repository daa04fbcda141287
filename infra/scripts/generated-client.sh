#!/usr/bin/env bash
# Generates a Python client from the committed OpenAPI document with a stock generator
# (openapi-python-client, as a portal developer would: docs/API.md, "Generating a client"),
# and runs a portal's first session with it, unmodified, against the local runner on
# 127.0.0.1: a token, a client, a subscription to a receiver on loopback, an event published
# and delivered signed, its deliveries listed (tests/client/use_generated_client.py). The
# generated code stays in a temporary directory, never in the repository.
set -euo pipefail
cd "$(dirname "$0")/../.."
. infra/scripts/python-tools.sh
. infra/scripts/lib/runner.sh

RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/hookline-client.XXXXXX")
echo "== openapi-python-client generate (shared/handlers/openapi.json) in $RUN_DIR"
(cd "$RUN_DIR" && openapi-python-client generate --meta none --output-path hookline_client \
  --path "$OLDPWD/shared/handlers/openapi.json")

echo "== building hookline-local"
build_runner "$RUN_DIR"
# The receiver listens on 127.0.0.1 over plain HTTP: allowed for this runner only.
start_runner "$RUN_DIR" HOOKLINE_ALLOW_PRIVATE_DESTINATIONS=true HOOKLINE_ALLOW_HTTP=true \
  HOOKLINE_RETRY_SCHEDULE=1s
PYTHONPATH="$RUN_DIR" python3 tests/client/use_generated_client.py "$BASE" "$ADMIN_ID" "$ADMIN_SECRET" || {
  echo "the generated client's session failed: see $RUN_DIR/runner.log" >&2
  exit 1
}
