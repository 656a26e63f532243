#!/usr/bin/env bash
# The local stack: Kafka, PostgreSQL and the services of the catalogue (python -m
# ocop_runtime.services), with state under .ocop/.
#   deploy/stack.sh up|down|status
# With OCOP_DATABASE_URL set, no private PostgreSQL is started and every service uses that URL.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

SERVICES=()  # name:port of each service, read by load_services once the venv exists
RUN=$STATE/run
LOGS=$STATE/logs

load_services() {
  local catalogue name port _schema
  catalogue=$(ocop_services) || exit 1
  SERVICES=()
  while read -r name port _schema; do
    if [ -n "$name" ]; then SERVICES+=("$name:$port"); fi
  done <<<"$catalogue"
  [ ${#SERVICES[@]} -gt 0 ] || die "the service catalogue is empty (python -m ocop_runtime.services)"
}

start_service() {
  local name=${1%%:*} port=${1##*:} pidfile upper
  pidfile="$RUN/$name.pid"
  upper=$(echo "$name" | tr '[:lower:]' '[:upper:]')
  if running "$pidfile"; then say "$name already running (pid $(cat "$pidfile"), port $port)"; return 0; fi
  port_busy "$port" && die "port $port ($name) is already in use by another process"
  local dsn_var="OCOP_${upper}_DB_PASSWORD" owner_var="OCOP_${upper}_OWNER_DB_PASSWORD" dsn owner
  dsn=${OCOP_DATABASE_URL:-postgresql://ocop_$name:${!dsn_var:-ocop-dev-$name}@127.0.0.1:${OCOP_PG_PORT:-5432}/ocop}
  # Migrations run as the schema's owner role (deploy/postgres.sh makes it), the service as its
  # own role, which cannot change the audit trail. With OCOP_DATABASE_URL, the same URL serves
  # both unless OCOP_MIGRATION_DATABASE_URL is set too.
  owner=${OCOP_MIGRATION_DATABASE_URL:-}
  if [ -z "${OCOP_DATABASE_URL:-}" ]; then
    owner=postgresql://ocop_${name}_owner:${!owner_var:-ocop-dev-$name-owner}@127.0.0.1:${OCOP_PG_PORT:-5432}/ocop
  fi
  OCOP_ENV=${OCOP_ENV:-dev} OCOP_DATABASE_URL=$dsn OCOP_MIGRATION_DATABASE_URL=$owner \
    OCOP_HTTP_PORT=$port OCOP_STATE_DIR=$STATE \
    OCOP_KAFKA_BOOTSTRAP_SERVERS=${OCOP_KAFKA_BOOTSTRAP_SERVERS:-127.0.0.1:${OCOP_KAFKA_PORT:-9092}} \
    nohup "$ROOT/.venv/bin/python" -m "ocop_$name" >"$LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$pidfile"
}

wait_ready() {
  local name=${1%%:*} port=${1##*:} deadline
  deadline=$((SECONDS + 60))
  until curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; do
    if ! running "$RUN/$name.pid"; then
      tail -n 30 "$LOGS/$name.log" >&2
      die "$name exited during start-up (log: $LOGS/$name.log)"
    fi
    [ $SECONDS -ge $deadline ] && die "$name not ready after 60 s (log: $LOGS/$name.log)"
    sleep 0.3
  done
  say "$name ready on http://127.0.0.1:$port"
}

up() {
  local started=$SECONDS
  "$ROOT/deploy/bootstrap.sh"
  load_services
  mkdir -p "$RUN" "$LOGS"
  "$ROOT/deploy/kafka.sh" start
  "$ROOT/.venv/bin/python" -m ocop_runtime.kafka_security setup "127.0.0.1:${OCOP_KAFKA_PORT:-9092}"
  # One Kafka principal per consuming agency; its client settings are kept under .ocop/.
  mkdir -p "$STATE/kafka-agencies"
  for agency in ${OCOP_KAFKA_AGENCIES:-so-cong-thuong so-y-te}; do
    local settings="$STATE/kafka-agencies/$agency.properties" password=""
    # Re-applied on every start with the password it was given, so a wiped broker gets it back.
    [ -s "$settings" ] && password=$(sed -n 's/^sasl.password=//p' "$settings")
    (umask 077; OCOP_AGENCY_PASSWORD=$password "$ROOT/.venv/bin/ocop" agency add "$agency" \
      --bootstrap "127.0.0.1:${OCOP_KAFKA_PORT:-9092}" >"$settings.new" && mv "$settings.new" "$settings") \
      || die "could not create the Kafka principal of agency $agency"
    say "agency $agency: Kafka client settings in $settings"
  done
  if [ -z "${OCOP_DATABASE_URL:-}" ]; then "$ROOT/deploy/postgres.sh" start; fi
  # The development token issuer: a signing key and its JWKS under .ocop/idp (ocop token).
  OCOP_STATE_DIR=$STATE "$ROOT/.venv/bin/python" -m ocop_runtime.devidp >/dev/null
  for s in "${SERVICES[@]}"; do start_service "$s"; done
  for s in "${SERVICES[@]}"; do wait_ready "$s"; done
  say "stack up in $((SECONDS - started)) s; logs in $LOGS"
}

down() {
  # Every service up started has a pidfile here; no catalogue needed to stop them.
  local pidfile
  for pidfile in "$RUN"/*.pid; do
    if [ -e "$pidfile" ]; then stop_pid "$pidfile" "$(basename "$pidfile" .pid)"; fi
  done
  "$ROOT/deploy/kafka.sh" stop
  "$ROOT/deploy/postgres.sh" stop
}

status() {
  "$ROOT/deploy/kafka.sh" status || true
  "$ROOT/deploy/postgres.sh" status || true
  load_services
  for s in "${SERVICES[@]}"; do
    if running "$RUN/${s%%:*}.pid"; then echo "${s%%:*} running (pid $(cat "$RUN/${s%%:*}.pid"), port ${s##*:})"
    else echo "${s%%:*} stopped"; fi
  done
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) die "usage: $0 up|down|status" ;;
esac
