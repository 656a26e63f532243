#!/usr/bin/env bash
# docker-compose.yml for real, on this machine: the Docker engine, local equivalents of the
# official images (deploy/compose.local.yml), the stack, and an operator's check of it.
#   deploy/compose.sh engine|images|up|down|test|ps|logs [SERVICE]
#     engine  install Debian's docker.io, docker-compose and debootstrap if missing (as root) and
#             start dockerd if it is not running (host networking only: no bridge, no iptables)
#     images  build the local images (cached: a second run takes seconds)
#     up      images, then the stack, and wait until every container is healthy
#     down    `compose down -v`: containers and volumes go; stops dockerd if this script started it
#     test    up, the operator's check (tests/test_compose_stack.py), down -v, nothing left behind
# Environment: OCOP_COMPOSE_DIR (.ocop/compose: the generated .env with the stack's secrets and
# the token issuer's key), OCOP_COMPOSE_KEEP=1 (test: leave the stack running afterwards).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DIR=${OCOP_COMPOSE_DIR:-$STATE/compose}
PROJECT=ocop
DEBIAN_SUITE=bookworm
DEBIAN_MIRROR=${OCOP_DEBIAN_MIRROR:-http://deb.debian.org/debian}
LOCAL=ocop-local
# Services that have no local equivalent and are left out of `up` (see docs/OPERATIONS.md).
NO_LOCAL_IMAGE=(grafana)

apt_install() {
  [ "$(id -u)" -eq 0 ] || die "missing $*; install with: sudo apt-get install -y $*"
  if [ ! -f "$STATE/.apt-updated" ]; then
    apt-get update -qq && mkdir -p "$STATE" && touch "$STATE/.apt-updated"
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null \
    || die "apt-get install $* failed"
}

# The engine's own files; /usr/sbin holds dockerd on Debian.
engine_installed() { command -v dockerd >/dev/null || [ -x /usr/sbin/dockerd ]; }

engine() {
  local missing=()
  engine_installed || missing+=(docker.io)
  command -v docker-compose >/dev/null || missing+=(docker-compose)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]} from Debian's packages"
    apt_install "${missing[@]}"
  fi
  if docker info >/dev/null 2>&1; then return 0; fi
  [ "$(id -u)" -eq 0 ] || die "the Docker engine is not running; start it (as root: dockerd)"
  mkdir -p "$DIR"
  say "starting the Docker engine (log: $DIR/dockerd.log)"
  # No default bridge, no iptables rules: every container of this stack uses the host's network,
  # so no address but the loopback (and the package registries, for builds) is ever reached.
  nohup /usr/sbin/dockerd --bridge=none --iptables=false --ip-forward=false --ip-masq=false \
    --storage-driver=overlay2 --pidfile "$DIR/dockerd.pid" >"$DIR/dockerd.log" 2>&1 </dev/null &
  echo $! >"$DIR/dockerd.started"
  local deadline=$((SECONDS + 60))
  until docker info >/dev/null 2>&1; do
    if ! kill -0 "$(cat "$DIR/dockerd.started")" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
      tail -n 30 "$DIR/dockerd.log" >&2
      die "the Docker engine did not start (log: $DIR/dockerd.log)"
    fi
    sleep 0.5
  done
  say "Docker engine up"
}

engine_stop() {
  [ -f "$DIR/dockerd.started" ] || return 0
  local pid; pid=$(cat "$DIR/dockerd.started")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    say "Docker engine stopped"
  fi
  rm -f "$DIR/dockerd.started"
}

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

# build TAG CONTEXT [ARGS...]: docker build on the host's network, cached.
build() {
  local tag=$1 context=$2; shift 2
  say "building $tag"
  docker build --network host -t "$tag" "$@" "$context" >"$DIR/build.log" 2>&1 \
    || { tail -n 30 "$DIR/build.log" >&2; die "building $tag failed (log: $DIR/build.log)"; }
}

# The Debian base every local image starts from: debootstrap into a folder, docker import.
base_image() {
  local tag=$LOCAL/debian:$DEBIAN_SUITE tarball=$CACHE/compose/debian-$DEBIAN_SUITE.tar
  image_exists "$tag" && return 0
  if [ ! -s "$tarball" ]; then
    local root=$CACHE/compose/rootfs-$DEBIAN_SUITE
    say "debootstrap $DEBIAN_SUITE (minbase) into $root"
    rm -rf "$root" && mkdir -p "$root"
    debootstrap --variant=minbase "$DEBIAN_SUITE" "$root" "$DEBIAN_MIRROR" >"$CACHE/compose/debootstrap.log" 2>&1 \
      || { tail -n 20 "$CACHE/compose/debootstrap.log" >&2; die "debootstrap failed"; }
    # Keep images small: no apt caches, no docs beyond copyright.
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    tar -C "$root" -cf "$tarball.part" . && mv "$tarball.part" "$tarball"
    rm -rf "$root"
  fi
  say "importing $tag"
  docker import -c 'CMD ["/bin/bash"]' -c 'ENV LANG=C.UTF-8' "$tarball" "$tag" >/dev/null
}

images() {
  engine
  mkdir -p "$CACHE/compose"
  base_image
  local base=$LOCAL/debian:$DEBIAN_SUITE ctx=$DIR/context
  # This machine's CA bundle: PyPI is reached through it (installed after the apt-get steps,
  # since Debian's ca-certificates regenerates the bundle when it installs).
  rm -rf "$ctx" && mkdir -p "$ctx"
  cp -r "$ROOT/deploy/images/." "$ctx/"
  cp /etc/ssl/certs/ca-certificates.crt "$ctx/python/ca-certificates.crt"
  build "$LOCAL/python:3.11" "$ctx/python" --build-arg BASE="$base"
  build "$LOCAL/postgres:15" "$ctx/postgres" --build-arg BASE="$base"
  # Kafka from the same Maven Central jars `make up` runs (deploy/kafka.sh fetch).
  "$ROOT/deploy/kafka.sh" fetch
  local version libs
  version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$ROOT/deploy/kafka/pom.xml")
  libs=$CACHE/kafka-$version/libs
  mkdir -p "$ctx/kafka/libs"
  cp -p "$libs"/*.jar "$ctx/kafka/libs/"
  cp "$ROOT/deploy/kafka/log4j2.xml" "$ctx/kafka/log4j2.xml"
  build "$LOCAL/kafka:$version" "$ctx/kafka" --build-arg BASE="$base"
  build "$LOCAL/prometheus:2" "$ctx/prometheus" --build-arg BASE="$base"
  say "building the services' image (Dockerfile, BASE_IMAGE=$LOCAL/python:3.11)"
  compose build >"$DIR/build.log" 2>&1 \
    || { tail -n 30 "$DIR/build.log" >&2; die "docker-compose build failed (log: $DIR/build.log)"; }
}

# The secrets an operator's .env holds, made once per state folder (random, URL-safe).
env_file() {
  mkdir -p "$DIR"
  local env=$DIR/.env
  if [ ! -s "$env" ]; then
    local secret name upper
    secret() { head -c 18 /dev/urandom | base64 | tr -d '/+=\n'; }
    (
      umask 077
      {
        echo "OCOP_PG_SUPERUSER_PASSWORD=$(secret)"
        echo "OCOP_KEYCLOAK_ADMIN_PASSWORD=$(secret)"
        echo "OCOP_CITY_OFFICE_CLIENT_SECRET=$(secret)"
        echo "OCOP_WEB_REDIRECT_URI=http://localhost:8000/callback"
        echo "OCOP_WEB_ORIGIN=http://localhost:8000"
        echo "OCOP_GRAFANA_ADMIN_PASSWORD=$(secret)"
        while read -r name _rest; do
          [ -n "$name" ] || continue
          upper=$(echo "$name" | tr '[:lower:]' '[:upper:]')
          echo "OCOP_${upper}_DB_PASSWORD=$(secret)"
          echo "OCOP_${upper}_OWNER_DB_PASSWORD=$(secret)"
        done <<<"$(ocop_services --all)"
      } >"$env"
    )
  fi
  # The token issuer standing in for Keycloak serves this key's JWKS (deploy/images/devidp).
  OCOP_STATE_DIR=$DIR "$ROOT/.venv/bin/python" -m ocop_runtime.devidp >/dev/null
}

# Debian 12's docker-compose (1.29) predates the top-level `name:` key and refuses published
# ports with host networking (compose 2 would take `ports: !reset []` in the override): it
# reads docker-compose.yml without those two (the name comes from --project-name; on the host's
# network each service's port is its own), and nothing else changes.
compose() {
  mkdir -p "$DIR"
  "$ROOT/.venv/bin/python" - "$ROOT/docker-compose.yml" "$DIR/docker-compose.yml" <<'PY' || die "cannot read docker-compose.yml"
import sys, yaml
document = yaml.safe_load(open(sys.argv[1], encoding="utf-8"))
document.pop("name", None)
for service in document["services"].values():
    service.pop("ports", None)
document = {k: v for k, v in document.items() if not k.startswith("x-")}
with open(sys.argv[2], "w", encoding="utf-8") as out:
    yaml.safe_dump(document, out, sort_keys=False)
PY
  OCOP_COMPOSE_DIR=$DIR docker-compose --project-name "$PROJECT" --project-directory "$ROOT" --env-file "$DIR/.env" \
    -f "$DIR/docker-compose.yml" -f "$ROOT/deploy/compose.local.yml" "$@"
}

# The services to start: all of docker-compose.yml's but those without a local image.
stack_services() {
  local s skip
  for s in $(compose config --services); do
    skip=0
    for n in "${NO_LOCAL_IMAGE[@]}"; do [ "$s" = "$n" ] && skip=1; done
    [ $skip = 1 ] || echo "$s"
  done
}

wait_healthy() {
  local deadline=$((SECONDS + ${1:-300})) ids id state unhealthy
  ids=$(compose ps -q)
  while :; do
    unhealthy=()
    for id in $ids; do
      # Running and healthy, or a one-shot container (restart "no", such as kafka-topics) done.
      state=$(docker inspect -f '{{.Name}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}} {{.HostConfig.RestartPolicy.Name}}:{{.State.ExitCode}}' "$id")
      case "$state" in *" running healthy "*|*" running none "*|*" exited none no:0") ;; *) unhealthy+=("$state") ;; esac
    done
    [ ${#unhealthy[@]} -eq 0 ] && return 0
    if [ $SECONDS -ge $deadline ]; then
      say "not healthy: ${unhealthy[*]}"
      return 1
    fi
    sleep 2
  done
}

up() {
  local started=$SECONDS
  env_file
  images
  say "images ready in $((SECONDS - started)) s"
  # shellcheck disable=SC2046
  compose up -d --no-build $(stack_services) || die "docker-compose up failed"
  wait_healthy 300 || { compose ps >&2; die "the stack is not healthy (deploy/compose.sh logs SERVICE)"; }
  say "stack healthy in $((SECONDS - started)) s"
  compose ps
}

down() {
  if engine_installed && docker info >/dev/null 2>&1 && [ -f "$DIR/.env" ]; then
    compose down -v --remove-orphans --timeout 20 || true
  fi
  engine_stop
}

# leftovers: what the project left in the engine (containers, volumes, networks).
leftovers() {
  docker ps -aq --filter "label=com.docker.compose.project=$PROJECT"
  docker volume ls -q --filter "label=com.docker.compose.project=$PROJECT"
  docker network ls -q --filter "label=com.docker.compose.project=$PROJECT"
}

test_stack() {
  local started=$SECONDS rc=0
  # From a clean slate: no container or volume of an earlier run (whose database would hold
  # other passwords) is reused.
  engine
  env_file
  compose down -v --remove-orphans --timeout 20 >/dev/null 2>&1 || true
  up
  local up_seconds=$((SECONDS - started))
  OCOP_COMPOSE_STACK=1 OCOP_COMPOSE_DIR=$DIR "$ROOT/.venv/bin/pytest" -p no:cacheprovider -q \
    "$ROOT/tests/test_compose_stack.py" || rc=$?
  if [ "${OCOP_COMPOSE_KEEP:-0}" = 1 ]; then
    say "OCOP_COMPOSE_KEEP=1: the stack stays up (make compose-down)"
    return $rc
  fi
  compose down -v --remove-orphans --timeout 20 || rc=1
  local left; left=$(leftovers)
  if [ -n "$left" ]; then say "compose down -v left: $left"; rc=1; else say "compose down -v left nothing behind"; fi
  engine_stop
  say "compose test: up in ${up_seconds} s, all in $((SECONDS - started)) s (exit $rc)"
  return $rc
}

# Java and Maven (the Kafka jars), the project's virtual environment (the catalogue, the token
# issuer's key, the checks): what `make up` and `make test` install too, when missing.
prepare() { "$ROOT/deploy/bootstrap.sh"; }

case "${1:-}" in
  engine) engine ;;
  images) prepare; env_file; images ;;
  up) prepare; up ;;
  down) down ;;
  test) prepare; test_stack ;;
  ps) compose ps ;;
  logs) compose logs --tail 100 "${@:2}" ;;
  *) die "usage: $0 engine|images|up|down|test|ps|logs [SERVICE]" ;;
esac
