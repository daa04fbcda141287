#!/usr/bin/env bash
# The web console's browser tests (console/tests), in two browsers against one runner: Debian's
# Chromium driven by playwright-core (console.test.mjs, the whole console), then Debian's
# Firefox ESR driven by puppeteer-core over WebDriver BiDi (firefox.test.mjs, the core path).
# Each browser is installed with apt-get when /usr/bin/chromium or /usr/bin/firefox-esr is
# missing; the npm packages come from `npm ci`, with no browser download. The local runner is
# built from this checkout and started on a free loopback port with a fresh data directory and a
# bootstrap admin. Receivers run on 127.0.0.1, so this runner allows private destinations and
# plain http. Screenshots of failed tests are saved (their paths printed); the runner is stopped
# whatever happens.
set -euo pipefail
cd "$(dirname "$0")/../.."
. infra/scripts/lib/runner.sh

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/firefox-esr ] || missing+=(firefox-esr)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "== apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

echo "== npm ci (console/tests)"
(cd console/tests && npm ci --no-audit --no-fund --loglevel=error)

RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/hookline-console.XXXXXX")
SCREENSHOTS="$RUN_DIR/screenshots"
echo "== building hookline-local"
build_runner "$RUN_DIR"
start_runner "$RUN_DIR" HOOKLINE_ALLOW_PRIVATE_DESTINATIONS=true HOOKLINE_ALLOW_HTTP=true \
  HOOKLINE_RETRY_SCHEDULE=1s

status=0
run_tests() { # browser version, npm script
  echo "== console browser tests ($1)"
  (cd console/tests && HOOKLINE_BASE="$BASE" HOOKLINE_ADMIN_ID="$ADMIN_ID" \
    HOOKLINE_ADMIN_SECRET="$ADMIN_SECRET" CONSOLE_SCREENSHOT_DIR="$SCREENSHOTS" \
    npm run --silent "$2") || status=$?
}
# Firefox runs even when Chromium failed: a failure in one browser only is worth knowing.
run_tests "Chromium $(/usr/bin/chromium --version 2>/dev/null | awk '{print $2}')" test:chromium
run_tests "Firefox ESR $(/usr/bin/firefox-esr --version 2>/dev/null | awk '{print $NF}')" test:firefox
if [ "$status" -ne 0 ]; then
  if [ -d "$SCREENSHOTS" ]; then
    echo "screenshots of the failed tests:" >&2
    ls -1 "$SCREENSHOTS"/*.png >&2 || true
  fi
  echo "the console's browser tests failed (runner log: $RUN_DIR/runner.log)" >&2
fi
exit "$status"
