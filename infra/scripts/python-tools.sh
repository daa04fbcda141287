# Sourced (not run) by infra/scripts/test.sh, infra/scripts/fuzz.sh and .ci/run: makes sure
# the Python tools of infra/python-tools.txt are installed in a virtual environment and puts
# its bin directory first on PATH, so that `moto_server`, `cfn-lint`, `sam`, `st` and the
# `python3` that runs infra/local/bootstrap (PyYAML, boto3) all come from it. Needs only
# python3 with its venv module, and the pip index.
#
# The environment is $HOOKLINE_TOOLS_DIR, by default .venv at the repository root
# (gitignored): made on the first run and reused after, and installed again whenever
# infra/python-tools.txt differs from the copy kept in it.

HOOKLINE_REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export HOOKLINE_TOOLS_DIR=${HOOKLINE_TOOLS_DIR:-$HOOKLINE_REPO_ROOT/.venv}
if [ ! -x "$HOOKLINE_TOOLS_DIR/bin/python" ]; then
  echo "== creating the Python tools' virtual environment $HOOKLINE_TOOLS_DIR"
  python3 -m venv "$HOOKLINE_TOOLS_DIR" || {
    echo "python3 -m venv failed: Python 3 with its venv module is needed (Debian, Ubuntu: apt-get install python3-venv)" >&2
    exit 1
  }
fi
if ! cmp -s "$HOOKLINE_REPO_ROOT/infra/python-tools.txt" "$HOOKLINE_TOOLS_DIR/python-tools.txt"; then
  echo "== installing infra/python-tools.txt into $HOOKLINE_TOOLS_DIR"
  "$HOOKLINE_TOOLS_DIR/bin/python" -m pip install --quiet --disable-pip-version-check \
    -r "$HOOKLINE_REPO_ROOT/infra/python-tools.txt"
  cp "$HOOKLINE_REPO_ROOT/infra/python-tools.txt" "$HOOKLINE_TOOLS_DIR/python-tools.txt"
fi
export PATH="$HOOKLINE_TOOLS_DIR/bin:$PATH"
export SAM_CLI_TELEMETRY=0
