#!/usr/bin/env bash
# Installs what the project needs and is missing: Java and Maven (for Kafka), uv, the workspace's
# virtual environment (Python 3.11, uv.lock). Safe to run again.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

export UV_PYTHON_DOWNLOADS=never
PYTHON=${OCOP_PYTHON:-python3.11}

apt_install() {
  [ "$(id -u)" -eq 0 ] || die "missing $*; install with: sudo apt-get install -y $*"
  if [ ! -f "$STATE/.apt-updated" ]; then
    apt-get update -qq && mkdir -p "$STATE" && touch "$STATE/.apt-updated"
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

command -v "$PYTHON" >/dev/null || die "$PYTHON is required (the project runs on CPython 3.11)"
command -v java >/dev/null || { say "installing Java"; apt_install openjdk-17-jre-headless; }
command -v mvn >/dev/null || { say "installing Maven"; apt_install maven; }
# promtool (Debian's prometheus package) runs the alert rules' unit tests (deploy/prometheus).
command -v promtool >/dev/null || { say "installing promtool"; apt_install --no-install-recommends prometheus; }
# The dashboard's browser test drives Debian's Chromium through Playwright (whose own browser
# download is not used).
command -v chromium >/dev/null || { say "installing Chromium"; apt_install chromium; }

if ! command -v uv >/dev/null; then
  say "installing uv from PyPI"
  "$PYTHON" -m pip install --quiet uv || die "could not install uv with pip"
fi
UV=$(command -v uv)
cd "$ROOT"
"$UV" sync --frozen --python "$PYTHON" --quiet || die "uv sync failed"
# Bytecode: Python reads .pyc files even where it does not write them (PYTHONDONTWRITEBYTECODE),
# and without them every service process and test run compiles each module it imports again
# (about 1.3 s of CPU per service start here). The installed packages once per lock file, the
# project's own sources every time (a changed file's old .pyc is ignored, never used).
if [ ! -f "$ROOT/.venv/.ocop-bytecode" ] || [ "$ROOT/uv.lock" -nt "$ROOT/.venv/.ocop-bytecode" ]; then
  say "compiling the virtual environment's bytecode"
  "$ROOT/.venv/bin/python" -m compileall -q -j 0 "$ROOT/.venv/lib" >/dev/null 2>&1 || true
  touch "$ROOT/.venv/.ocop-bytecode"
fi
"$ROOT/.venv/bin/python" -m compileall -q -j 0 runtime contracts services bench tests >/dev/null 2>&1 || true
# The official AsyncAPI parser and HTML generator (npm), for the AsyncAPI tests and `ocop asyncapi`.
"$ROOT/deploy/asyncapi/install.sh"
