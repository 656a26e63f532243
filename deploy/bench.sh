#!/usr/bin/env bash
# `make bench`: benchmarks on a private Kafka and PostgreSQL (ports 29092/29093, 25432 under
# .ocop/bench), printing ratios against raw baselines measured in the same run.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

"$ROOT/deploy/bootstrap.sh"
export OCOP_STATE_DIR=$ROOT/.ocop/bench
export OCOP_KAFKA_PORT=29092 OCOP_KAFKA_CONTROLLER_PORT=29093 OCOP_KAFKA_DIR=$OCOP_STATE_DIR/kafka
export OCOP_PG_PORT=25432 OCOP_PG_DIR=$OCOP_STATE_DIR/postgres OCOP_PG_SUPERUSER_PASSWORD=ocop-dev-superuser
cleanup() { "$ROOT/deploy/kafka.sh" stop || true; "$ROOT/deploy/postgres.sh" stop || true; }
trap cleanup EXIT
cleanup >/dev/null 2>&1
rm -rf "$OCOP_STATE_DIR"; mkdir -p "$OCOP_STATE_DIR"
"$ROOT/deploy/kafka.sh" start
"$ROOT/deploy/postgres.sh" start
export OCOP_BENCH_KAFKA_BOOTSTRAP=127.0.0.1:$OCOP_KAFKA_PORT
export OCOP_BENCH_DATABASE_URL=postgresql://postgres:$OCOP_PG_SUPERUSER_PASSWORD@127.0.0.1:$OCOP_PG_PORT/ocop
"$ROOT/.venv/bin/python" -m ocop_runtime.kafka_security setup "$OCOP_BENCH_KAFKA_BOOTSTRAP"
cd "$ROOT"
"$ROOT/.venv/bin/python" -m bench.outbox_relay
"$ROOT/.venv/bin/python" -m bench.registry_api
"$ROOT/.venv/bin/python" -m bench.evaluation_round
