#!/usr/bin/env bash
# Fuzzes the live HTTP API against its own OpenAPI document with Schemathesis: the local
# runner on 127.0.0.1 with a fresh data directory, every operation called as the bootstrap
# admin and again as a portal client (every non-admin scope, two states), bounded in time.
# Fails on any 5xx, on any response the document does not describe (status, content type,
# headers, body) and on a request the document forbids that is accepted; also validates the
# served and the committed document with openapi-spec-validator. The runner and Schemathesis
# run in a network namespace of their own (unshare, as root), so nothing leaves the machine.
#
#   infra/scripts/fuzz.sh                         # builds hookline-local (debug) first
#   HOOKLINE_FUZZ_SEED=42 infra/scripts/fuzz.sh   # repeat a run exactly
#
# Schemathesis and openapi-spec-validator come from the project's virtual environment
# (infra/scripts/python-tools.sh: .venv, or $HOOKLINE_TOOLS_DIR), installed on the first run
# from infra/python-tools.txt. HOOKLINE_FUZZ_MAX_EXAMPLES (default 25) bounds the cases per
# operation and phase, HOOKLINE_FUZZ_MAX_TIME (default 100) the seconds of each of the two
# runs; the runner's log is kept in the run's directory, which is printed.
set -euo pipefail
cd "$(dirname "$0")/../.."

MAX_EXAMPLES=${HOOKLINE_FUZZ_MAX_EXAMPLES:-25}
MAX_TIME=${HOOKLINE_FUZZ_MAX_TIME:-100}
SEED=${HOOKLINE_FUZZ_SEED:-$RANDOM}

# --- tools -----------------------------------------------------------------------------------
. infra/scripts/python-tools.sh
TOOLS=$HOOKLINE_TOOLS_DIR
. infra/scripts/lib/runner.sh

# --- the runner ------------------------------------------------------------------------------
# The fuzzed subscriptions point at made-up hosts and test pings and replays send to them:
# the runner and Schemathesis run in a network namespace of their own with only a loopback
# interface, so that nothing (not even a DNS query) leaves the machine.
if [ -z "${HOOKLINE_FUZZ_ISOLATED:-}" ]; then
  echo "== building hookline-local"
  RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/hookline-fuzz.XXXXXX")
  build_runner "$RUN_DIR"
  exec unshare --net -- env HOOKLINE_FUZZ_ISOLATED=1 HOOKLINE_FUZZ_RUN_DIR="$RUN_DIR" "$0" "$@"
fi
ip link set lo up
RUN_DIR=$HOOKLINE_FUZZ_RUN_DIR
# Private destinations stay forbidden, as deployed: a subscription to 127.0.0.1 is refused.
start_runner "$RUN_DIR" HOOKLINE_ALLOW_PRIVATE_DESTINATIONS=false HOOKLINE_ALLOW_HTTP=false \
  HOOKLINE_RETRY_SCHEDULE=1s

# --- tokens ----------------------------------------------------------------------------------
ADMIN_TOKEN=$(access_token "$ADMIN_ID" "$ADMIN_SECRET")
# The portal: every scope but admin, two states; its id and secret from the API itself.
read -r PORTAL_ID PORTAL_SECRET < <("$TOOLS/bin/python" - "$BASE" "$ADMIN_TOKEN" <<'PY'
import json, sys, urllib.request
base, admin = sys.argv[1:]
body = json.dumps({"name": "fuzz portal", "states": ["AP", "TG"],
    "scopes": ["events:write", "events:read", "subscriptions:read", "subscriptions:write",
        "manufacturers:read", "manufacturers:write", "sync:read", "sync:write"]}).encode()
req = urllib.request.Request(base + "/v1/clients", data=body, headers={
    "authorization": "Bearer " + admin, "content-type": "application/json"})
with urllib.request.urlopen(req, timeout=30) as r:
    c = json.load(r)
print(c["id"], c["client_secret"])
PY
)
PORTAL_TOKEN=$(access_token "$PORTAL_ID" "$PORTAL_SECRET")

# --- the document ----------------------------------------------------------------------------
echo "== openapi-spec-validator $BASE/openapi.json"
curl -sf "$BASE/openapi.json" -o "$RUN_DIR/openapi.json"
status=0
"$TOOLS/bin/openapi-spec-validator" "$RUN_DIR/openapi.json" shared/handlers/openapi.json || status=1
# The runner serves what this checkout's annotations generate, which is the committed copy.
# Beside it, the served one documents the catalog's event types as webhooks.
"$TOOLS/bin/python" - "$RUN_DIR/openapi.json" shared/handlers/openapi.json <<'PY' || status=1
import json, sys
served, committed = (json.load(open(p)) for p in sys.argv[1:])
for doc in (served, committed):
    doc["info"].pop("version", None)
catalog = set(served["webhooks"]) - set(committed["webhooks"])
if not catalog:
    sys.exit("the served document documents no catalog type as a webhook")
for name in catalog:
    del served["webhooks"][name]
if served != committed:
    sys.exit("the served document is not shared/handlers/openapi.json: a stale or foreign build?")
PY

# --- schemathesis ----------------------------------------------------------------------------
# Not positive_data_acceptance: what the API refuses beyond a JSON Schema (an event type not in
# the catalog, a cursor it did not issue, a filter pattern that does not compile, a state of
# another stack) is schema-valid, so valid-looking requests are rightly refused with 4xx.
CHECKS=not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,negative_data_rejection
# The portal first: the admin's run may delete the portal client (an admin cannot delete itself).
for who in portal admin; do
  if [ "$who" = admin ]; then bearer=$ADMIN_TOKEN; else bearer=$PORTAL_TOKEN; fi
  # The token is not echoed: it is a credential, valid for the runner's life.
  # One worker: Hypothesis parses lambdas' source with `ast` from worker threads, which
  # CPython 3.11 can fail with "SystemError: AST constructor recursion depth mismatch".
  cmd=("$TOOLS/bin/st" --config-file "$PWD/infra/scripts/schemathesis.toml"
    run "$BASE/openapi.json" --checks "$CHECKS"
    --max-examples "$MAX_EXAMPLES" --max-time "$MAX_TIME" --seed "$SEED"
    --workers 1 --request-timeout 20 --suppress-health-check all
    --report junit --report-dir "$RUN_DIR/$who" --output-truncate false)
  echo "== schemathesis as $who: ${cmd[*]} -H 'Authorization: Bearer <$who token>'"
  # From the run's directory: Schemathesis keeps its example database in the working directory.
  (cd "$RUN_DIR" && "${cmd[@]}" -H "Authorization: Bearer $bearer") || status=1
done

if grep -q "panicked" "$RUN_DIR/runner.log"; then
  echo "a handler panicked: see $RUN_DIR/runner.log" >&2
  grep -n -A3 "panicked" "$RUN_DIR/runner.log" | head -40 >&2
  status=1
fi
echo "== fuzz $([ "$status" = 0 ] && echo passed || echo FAILED) (seed $SEED; repeat with HOOKLINE_FUZZ_SEED=$SEED infra/scripts/fuzz.sh)"
exit "$status"
