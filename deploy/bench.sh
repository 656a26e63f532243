#!/usr/bin/env bash
# `make bench`: benchmarks on a private Kafka and PostgreSQL (ports 29092/29093, 25432 under
# .ocop/bench/stack), each measurement next to a raw baseline measured in the same run; at the end
# one table (bench/table.py), written to .ocop/bench/results.json and compared with the last run.
#   deploy/bench.sh [MODULE...]   e.g. deploy/bench.sh bench.outbox_relay (default: every bench)
# OCOP_BENCH_STATE_DIR, OCOP_BENCH_KAFKA_PORT, OCOP_BENCH_KAFKA_CONTROLLER_PORT, OCOP_BENCH_PG_PORT
# and OCOP_BENCH_RESULTS_DIR let two runs share a machine; sizes are OCOP_BENCH_* settings (README).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

"$ROOT/deploy/bootstrap.sh"
export OCOP_STATE_DIR=${OCOP_BENCH_STATE_DIR:-$ROOT/.ocop/bench/stack}
export OCOP_KAFKA_PORT=${OCOP_BENCH_KAFKA_PORT:-29092}
export OCOP_KAFKA_CONTROLLER_PORT=${OCOP_BENCH_KAFKA_CONTROLLER_PORT:-29093}
export OCOP_KAFKA_DIR=$OCOP_STATE_DIR/kafka
export OCOP_PG_PORT=${OCOP_BENCH_PG_PORT:-25432} OCOP_PG_DIR=$OCOP_STATE_DIR/postgres OCOP_PG_SUPERUSER_PASSWORD=ocop-dev-superuser
export OCOP_BENCH_RESULTS_DIR=${OCOP_BENCH_RESULTS_DIR:-$ROOT/.ocop/bench}
cleanup() { "$ROOT/deploy/kafka.sh" stop || true; "$ROOT/deploy/postgres.sh" stop || true; }
trap cleanup EXIT
cleanup >/dev/null 2>&1
rm -rf "$OCOP_STATE_DIR"; mkdir -p "$OCOP_STATE_DIR" "$OCOP_BENCH_RESULTS_DIR"
"$ROOT/deploy/kafka.sh" start
"$ROOT/deploy/postgres.sh" start
export OCOP_BENCH_KAFKA_BOOTSTRAP=127.0.0.1:$OCOP_KAFKA_PORT
export OCOP_BENCH_DATABASE_URL=postgresql://postgres:$OCOP_PG_SUPERUSER_PASSWORD@127.0.0.1:$OCOP_PG_PORT/ocop
"$ROOT/.venv/bin/python" -m ocop_runtime.kafka_security setup "$OCOP_BENCH_KAFKA_BOOTSTRAP"
cd "$ROOT"

# Every benchmark adds its rows to this run's file (bench.common.report); bench.table reads it.
export OCOP_BENCH_ROWS_FILE=$OCOP_BENCH_RESULTS_DIR/rows.jsonl
rm -f "$OCOP_BENCH_ROWS_FILE"
if [ $# -gt 0 ]; then
  modules=("$@")
else
  # The bench/*.py modules that are benchmarks (each has a main()), the three first in this order.
  mapfile -t modules < <("$ROOT/.venv/bin/python" -m bench.table --list)
fi
started=$SECONDS
failed=()
for module in "${modules[@]}"; do
  say "$module"
  "$ROOT/.venv/bin/python" -m "$module" || failed+=("$module")
done
"$ROOT/.venv/bin/python" -m bench.table --seconds $((SECONDS - started))
[ ${#failed[@]} -eq 0 ] || die "benchmarks that failed: ${failed[*]}"
