# Shared helpers for the local-stack scripts (sourced, not run).
# shellcheck shell=bash
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE=${OCOP_STATE_DIR:-$ROOT/.ocop}
CACHE=${OCOP_CACHE_DIR:-$HOME/.cache/ocop}

say() { printf '[ocop] %s\n' "$*" >&2; }
die() { printf '[ocop] error: %s\n' "$*" >&2; exit 1; }

# ocop_services [--all]: the service catalogue, one "name port schema" line a service, from the
# installed packages (python -m ocop_runtime.services); --all adds the services the topic
# catalogue reserves (port "-"). Use as: list=$(ocop_services) || exit 1
ocop_services() {
  "$ROOT/.venv/bin/python" -m ocop_runtime.services "$@" \
    || die "cannot read the service catalogue (.venv/bin/python -m ocop_runtime.services); run deploy/bootstrap.sh"
}

# port_busy PORT: true when something already listens on 127.0.0.1:PORT.
port_busy() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# wait_port PORT SECONDS PIDFILE: wait until PORT accepts connections, failing early if the process died.
wait_port() {
  local port=$1 deadline=$((SECONDS + $2)) pidfile=$3
  until port_busy "$port"; do
    if [ -n "$pidfile" ] && ! kill -0 "$(cat "$pidfile" 2>/dev/null)" 2>/dev/null; then
      return 1
    fi
    [ $SECONDS -ge $deadline ] && return 1
    sleep 0.2
  done
}

# running PIDFILE: true when the pid in PIDFILE is alive.
running() {
  [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

# stop_pid PIDFILE NAME: SIGTERM, wait up to 30 s, then SIGKILL.
stop_pid() {
  local pidfile=$1 name=$2 pid
  if ! running "$pidfile"; then rm -f "$pidfile"; return 0; fi
  pid=$(cat "$pidfile")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    say "$name (pid $pid) did not stop in 30 s; killing it"
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
  say "$name stopped"
}
