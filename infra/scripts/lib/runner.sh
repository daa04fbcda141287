# Sourced by infra/scripts/fuzz.sh and infra/scripts/generated-client.sh: the local runner
# built from this checkout and run on 127.0.0.1 with a fresh data directory and a bootstrap
# admin, for tools that test the live HTTP API. Needs python3 (the tools' virtual environment
# first on PATH, see python-tools.sh).
#
#   build_runner DIR                 cargo build (debug); the binary copied to DIR/hookline-local
#   start_runner DIR [VAR=value ...] runs it with the variables given; sets BASE, RUNNER_PID,
#                                    ADMIN_ID and ADMIN_SECRET; its log is DIR/runner.log
#   access_token ID SECRET           prints an access token of that client
#   stop_runner                      (also on exit; the run directory, a 180 MB debug binary
#                                    and a database, is then removed unless the script failed)

build_runner() {
  local dir=$1
  # The binary cargo names, copied: a shared target directory's can be rebuilt from another
  # checkout meanwhile.
  cargo build --locked -p hookline-local --message-format=json-render-diagnostics \
    | python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "hookline-local":
        print(m["executable"])' >"$dir/binary"
  cp "$(cat "$dir/binary")" "$dir/hookline-local"
}

RUNNER_PID=
RUNNER_DIR=
stop_runner() {
  if [ -n "$RUNNER_PID" ] && kill -0 "$RUNNER_PID" 2>/dev/null; then
    kill "$RUNNER_PID" 2>/dev/null || true
    wait "$RUNNER_PID" 2>/dev/null || true
  fi
}
on_exit() {
  local status=$?
  stop_runner
  if [ -n "$RUNNER_DIR" ]; then
    if [ "$status" -eq 0 ]; then
      rm -rf "$RUNNER_DIR"
    else
      echo "runner directory kept for inspection: $RUNNER_DIR (runner.log inside)" >&2
    fi
  fi
}
trap on_exit EXIT

start_runner() {
  local dir=$1
  shift
  RUNNER_DIR=$dir
  mkdir -p "$dir/data"
  ADMIN_ID=cl_tool_admin
  ADMIN_SECRET=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')
  env HOOKLINE_ADDR=127.0.0.1:0 HOOKLINE_DATA_DIR="$dir/data" \
    HOOKLINE_ADMIN_CLIENT_ID="$ADMIN_ID" HOOKLINE_ADMIN_CLIENT_SECRET="$ADMIN_SECRET" \
    NO_COLOR=1 RUST_LOG=info "$@" \
    "$dir/hookline-local" >"$dir/runner.log" 2>&1 &
  RUNNER_PID=$!
  for _ in $(seq 1 300); do
    [ -s "$dir/data/addr" ] && break
    kill -0 "$RUNNER_PID" 2>/dev/null || { cat "$dir/runner.log"; echo "the runner exited" >&2; exit 1; }
    sleep 0.1
  done
  [ -s "$dir/data/addr" ] || { echo "the runner did not announce its address" >&2; exit 1; }
  BASE="http://$(cat "$dir/data/addr")"
  echo "== runner at $BASE (pid $RUNNER_PID, log $dir/runner.log)"
}

access_token() {
  python3 - "$BASE" "$1" "$2" <<'PY'
import json, sys, urllib.parse, urllib.request
base, cid, secret = sys.argv[1:]
body = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": cid, "client_secret": secret}).encode()
with urllib.request.urlopen(urllib.request.Request(base + "/oauth/token", data=body), timeout=30) as r:
    print(json.load(r)["access_token"])
PY
}
