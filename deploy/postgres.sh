#!/usr/bin/env bash
# PostgreSQL for the local stack: Debian's server, a private cluster under .ocop/.
#   deploy/postgres.sh install|start|stop|status
# Environment: OCOP_PG_PORT (5432), OCOP_PG_DIR (.ocop/postgres),
#              OCOP_PG_SUPERUSER_PASSWORD (dev default), OCOP_<SERVICE>_DB_PASSWORD (dev defaults).
# Creates database `ocop` and, per service of the catalogue (python -m ocop_runtime.services
# --all), a role ocop_<service>_owner owning its schema (migrations log in as it) and the login
# role ocop_<service> the service runs as, which owns nothing: the owner grants it what it needs
# at each start-up, on the audit trail INSERT and SELECT only. PUBLIC gets nothing, so a role can
# touch only its own schema. OCOP_<SERVICE>_OWNER_DB_PASSWORD: the owner's (dev default).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PORT=${OCOP_PG_PORT:-5432}
DIR=${OCOP_PG_DIR:-$STATE/postgres}
SUPERPW=${OCOP_PG_SUPERUSER_PASSWORD:-ocop-dev-superuser}
# Where the cluster really lives. As root, initdb and the server run as the postgres user, who
# cannot reach a checkout inside a home folder of mode 0700 (root's usually is): then the cluster
# lives under /var/lib/ocop/clusters/<hash of DIR>, owned by postgres, and DIR/data links to it.
HOME_DIR=$DIR
if [ "$(id -u)" -eq 0 ] && id postgres >/dev/null 2>&1; then
  probe=$DIR
  until [ -d "$probe" ]; do probe=$(dirname "$probe"); done
  if ! runuser -u postgres -- test -x "$probe" 2>/dev/null; then
    HOME_DIR=/var/lib/ocop/clusters/$(printf '%s' "$DIR" | sha256sum | cut -c1-16)
  fi
fi
DATA=$HOME_DIR/data

pgbin() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$bin" ] && echo "$bin"
}

install() {
  [ -n "$(pgbin)" ] && [ -x "$(pgbin)/initdb" ] && return 0
  [ "$(id -u)" -eq 0 ] || die "PostgreSQL is not installed; run: sudo apt-get install -y postgresql"
  say "installing PostgreSQL from Debian's packages"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  [ -n "$(pgbin)" ] || die "apt-get install postgresql did not provide initdb"
  # Debian starts its own cluster on 5432; the project runs its own, so stop Debian's.
  if command -v pg_ctlcluster >/dev/null; then
    for c in $(pg_lsclusters -h 2>/dev/null | awk '{print $1"/"$2}'); do
      pg_ctlcluster "${c%/*}" "${c#*/}" stop 2>/dev/null || true
    done
  fi
}

# as_pg CMD...: initdb and the server refuse to run as root, so run them as Debian's postgres user
# (from /, as the current folder may be out of that user's reach).
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

# psql_admin ARGS...: psql as the superuser; the SQL comes on standard input, so that passwords in
# it never appear on a command line. The password travels in a 0600 file, not the environment.
psql_admin() {
  local pgpass; pgpass=$(mktemp); chmod 600 "$pgpass"
  printf '127.0.0.1:%s:*:postgres:%s\n' "$PORT" "$SUPERPW" >"$pgpass"
  local rc=0
  PGOPTIONS="-c client_min_messages=warning" PGPASSFILE=$pgpass "$(pgbin)/psql" -X -q \
    -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres "$@" || rc=$?
  rm -f "$pgpass"
  return $rc
}

# prepare_home: the cluster's folder, owned by postgres; when it lives outside DIR, DIR/data links
# to it, and a cluster left there by a DIR that was since removed is dropped (its state went
# with DIR).
prepare_home() {
  mkdir -p "$DIR"
  if [ "$HOME_DIR" != "$DIR" ]; then
    if [ ! -L "$DIR/data" ] && [ -d "$HOME_DIR" ]; then
      say "dropping a stale cluster in $HOME_DIR (its state folder $DIR was removed)"
      rm -rf "$HOME_DIR"
    fi
    mkdir -p "$HOME_DIR"
    ln -sfn "$HOME_DIR/data" "$DIR/data"
    ln -sfn "$HOME_DIR/postgres.log" "$DIR/postgres.log"
    say "the cluster lives in $HOME_DIR (the postgres user cannot reach $DIR)"
  fi
  [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$HOME_DIR"
  chmod 700 "$HOME_DIR"
}

start() {
  install
  local bin; bin=$(pgbin)
  if [ -f "$DATA/postmaster.pid" ] && as_pg "$bin/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    say "postgres already running (port $PORT)"
  else
    port_busy "$PORT" && die "port $PORT is already in use by another process; stop it or set OCOP_PG_PORT"
    prepare_home
    if [ ! -f "$DATA/PG_VERSION" ]; then
      say "creating a PostgreSQL cluster in $DATA"
      # The password file is readable by the postgres user only, and removed at once.
      local pwfile; pwfile=$(mktemp -p "$HOME_DIR"); printf '%s\n' "$SUPERPW" >"$pwfile"
      chmod 600 "$pwfile"; [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$pwfile"
      as_pg "$bin/initdb" -D "$DATA" -U postgres --pwfile="$pwfile" --auth-host=scram-sha-256 \
        --auth-local=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1 \
        || { rm -f "$pwfile"; cat "$DIR/initdb.log" >&2; die "initdb failed"; }
      rm -f "$pwfile"
      cat >>"$DATA/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$HOME_DIR'
max_connections = 200
shared_buffers = 128MB
log_min_messages = warning
CONF
    fi
    say "starting postgres on 127.0.0.1:$PORT (log: $DIR/postgres.log)"
    as_pg "$bin/pg_ctl" -D "$DATA" -l "$HOME_DIR/postgres.log" -o "-p $PORT" -w -t 60 start >/dev/null \
      || { tail -n 20 "$HOME_DIR/postgres.log" >&2; die "postgres did not start on port $PORT"; }
  fi
  provision
}

provision() {
  echo "SELECT 1 FROM pg_database WHERE datname = 'ocop'" | psql_admin -d postgres -tA | grep -q 1 \
    || echo "CREATE DATABASE ocop" | psql_admin -d postgres
  local sql="REVOKE ALL ON DATABASE ocop FROM PUBLIC; REVOKE CREATE ON SCHEMA public FROM PUBLIC;"
  local catalogue s _port schema pw var
  # Every service of the catalogue, and those the topic catalogue reserves for later.
  catalogue=$(ocop_services --all) || exit 1
  while read -r s _port schema; do
    [ -n "$s" ] || continue
    var="OCOP_$(echo "$s" | tr '[:lower:]' '[:upper:]')_DB_PASSWORD"
    pw=${!var:-ocop-dev-$s}
    var="OCOP_$(echo "$s" | tr '[:lower:]' '[:upper:]')_OWNER_DB_PASSWORD"
    owner_pw=${!var:-ocop-dev-$s-owner}
    # A stack provisioned before owner roles had the service's role own its schema and tables:
    # REASSIGN OWNED hands them to the owner (a no-op once done).
    sql+="
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ocop_$s') THEN
    CREATE ROLE ocop_$s LOGIN;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ocop_${s}_owner') THEN
    CREATE ROLE ocop_${s}_owner LOGIN;
  END IF;
END \$\$;
ALTER ROLE ocop_$s LOGIN PASSWORD '$pw';
ALTER ROLE ocop_${s}_owner LOGIN PASSWORD '$owner_pw';
GRANT CONNECT ON DATABASE ocop TO ocop_$s, ocop_${s}_owner;
CREATE SCHEMA IF NOT EXISTS $schema AUTHORIZATION ocop_${s}_owner;
ALTER SCHEMA $schema OWNER TO ocop_${s}_owner;
GRANT USAGE ON SCHEMA $schema TO ocop_$s;
REASSIGN OWNED BY ocop_$s TO ocop_${s}_owner;
ALTER ROLE ocop_$s SET search_path = $schema;
ALTER ROLE ocop_${s}_owner SET search_path = $schema;"
  done <<<"$catalogue"
  printf '%s\n' "$sql" | psql_admin -d ocop >/dev/null
}

stop() {
  local bin; bin=$(pgbin) || true
  if [ -n "$bin" ] && [ -f "$DATA/postmaster.pid" ]; then
    as_pg "$bin/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null 2>&1 && say "postgres stopped" || true
  fi
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  provision) provision ;;
  stop) stop ;;
  status)
    if [ -f "$DATA/postmaster.pid" ] && as_pg "$(pgbin)/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
      echo "postgres running (127.0.0.1:$PORT)"
    else echo "postgres stopped"; exit 1; fi ;;
  *) die "usage: $0 install|start|provision|stop|status" ;;
esac
