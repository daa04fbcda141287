#!/usr/bin/env bash
# The web console's browser tests (console/tests): Debian's Chromium (installed with apt-get
# when /usr/bin/chromium is missing) driven by playwright-core from npm (`npm ci`, no browser
# download), against the local runner built from this checkout and started on a free loopback
# port with a fresh data directory and a bootstrap admin. Receivers run on 127.0.0.1, so this
# runner allows private destinations and plain http. Screenshots of failed tests are saved
# (their paths printed); the runner is stopped whatever happens.
set -euo pipefail
cd "$(dirname "$0")/../.."
. infra/scripts/lib/runner.sh

if [ ! -x /usr/bin/chromium ]; then
  echo "== apt-get install chromium"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi

echo "== npm ci (console/tests)"
(cd console/tests && npm ci --no-audit --no-fund --loglevel=error)

RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/hookline-console.XXXXXX")
SCREENSHOTS="$RUN_DIR/screenshots"
echo "== building hookline-local"
build_runner "$RUN_DIR"
start_runner "$RUN_DIR" HOOKLINE_ALLOW_PRIVATE_DESTINATIONS=true HOOKLINE_ALLOW_HTTP=true \
  HOOKLINE_RETRY_SCHEDULE=1s

echo "== console browser tests (Chromium $(/usr/bin/chromium --version 2>/dev/null | awk '{print $2}'))"
status=0
(cd console/tests && HOOKLINE_BASE="$BASE" HOOKLINE_ADMIN_ID="$ADMIN_ID" \
  HOOKLINE_ADMIN_SECRET="$ADMIN_SECRET" CONSOLE_SCREENSHOT_DIR="$SCREENSHOTS" \
  npm test --silent) || status=$?
if [ "$status" -ne 0 ]; then
  if [ -d "$SCREENSHOTS" ]; then
    echo "screenshots of the failed tests:" >&2
    ls -1 "$SCREENSHOTS"/*.png >&2 || true
  fi
  echo "the console's browser tests failed (runner log: $RUN_DIR/runner.log)" >&2
fi
exit "$status"
