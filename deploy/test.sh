#!/usr/bin/env bash
# `make test`: lint, format check, types, then the whole pytest suite against a private Kafka and
# PostgreSQL on their own ports (19092/19093, 15432) under .ocop/test, so a running `make up`
# stack is left alone. The test stack is started fresh and stopped afterwards. OCOP_TEST_STATE_DIR
# and OCOP_TEST_*_PORT let two test runs share a machine.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

started=$SECONDS
"$ROOT/deploy/bootstrap.sh"
cd "$ROOT"
VENV=$ROOT/.venv/bin

# OCOP_TEST_SKIP_LINT=1 runs only pytest (for a quick run of some tests; `make test` never sets it).
if [ "${OCOP_TEST_SKIP_LINT:-}" != 1 ]; then
  say "ruff check"; "$VENV/ruff" check .
  say "ruff format --check"; "$VENV/ruff" format --check .
  say "mypy"; "$VENV/mypy"
fi

export OCOP_STATE_DIR=${OCOP_TEST_STATE_DIR:-$ROOT/.ocop/test}
export OCOP_KAFKA_PORT=${OCOP_TEST_KAFKA_PORT:-19092}
export OCOP_KAFKA_CONTROLLER_PORT=${OCOP_TEST_KAFKA_CONTROLLER_PORT:-19093}
export OCOP_KAFKA_DIR=$OCOP_STATE_DIR/kafka
export OCOP_PG_PORT=${OCOP_TEST_PG_PORT:-15432}
export OCOP_PG_DIR=$OCOP_STATE_DIR/postgres
export OCOP_PG_SUPERUSER_PASSWORD=ocop-dev-superuser

cleanup() {
  "$ROOT/deploy/kafka.sh" stop || true
  "$ROOT/deploy/postgres.sh" stop || true
}
trap cleanup EXIT
cleanup >/dev/null 2>&1
rm -rf "$OCOP_STATE_DIR"
mkdir -p "$OCOP_STATE_DIR"
"$ROOT/deploy/kafka.sh" start
# Each test runs its services on topics of its own, under test.<id>. (OCOP_TOPIC_PREFIX).
"$VENV/python" -m ocop_runtime.kafka_security setup "127.0.0.1:$OCOP_KAFKA_PORT" --test-topics test.
"$ROOT/deploy/postgres.sh" start

export OCOP_TEST_KAFKA_BOOTSTRAP=127.0.0.1:$OCOP_KAFKA_PORT
export OCOP_TEST_DATABASE_URL=postgresql://postgres:$OCOP_PG_SUPERUSER_PASSWORD@127.0.0.1:$OCOP_PG_PORT/ocop
export OCOP_TEST_KAFKA_CTL=$ROOT/deploy/kafka.sh
export OCOP_TEST_PG_CTL=$ROOT/deploy/postgres.sh

say "pytest"
set +e
"$VENV/pytest" "$@"
rc=$?
set -e
say "make test finished in $((SECONDS - started)) s (pytest exit $rc)"
exit $rc
