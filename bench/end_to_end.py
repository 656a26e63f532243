"""Benchmark: through the running services over real HTTP, a command's latency until another
service has applied it, and the command rate with 16 concurrent clients against the raw
transaction rate, same run.

The registry and evaluation run as their own OS processes (``python -m ocop_<service>``, uvicorn,
one process each) on the bench stack, each with a schema of its own; both consumer groups start
at the end of their topics, so that neither replays what the benchmarks before this one published.

1. Latency, light load: one client sends ``POST /producers`` to the registry, one after the
   other (``OCOP_BENCH_E2E_REQUESTS``); for each, the time until the registry answered, and the
   time until evaluation applied the ``ProducerRegistered`` event: the ``received_at`` its
   consumer's transaction wrote on its copy of the producer (``clock_timestamp()``, the same
   machine's clock as the client's). Every producer must reach evaluation.
   Requests go through a real socket with ``bench.common.LeanHttp`` (no HTTP client library in
   the figures); ``GET /healthz`` the same way first is the floor of the HTTP stack.
2. Commands under load: 16 clients send ``POST /producers`` at once
   (``OCOP_BENCH_E2E_CONCURRENT_REQUESTS`` in all). Baseline: 16 asyncpg connections writing the
   same physical work per command, one transaction with the producer's row and its outbox row,
   into a schema migrated with the registry's own migrations. Both sides must have written as
   many producers and outbox rows as commands. ``GET /healthz`` from 16 clients is the rate the
   HTTP stack reaches with no work at all.
3. Latency at 50% of saturation: commands sent at half the rate step 2 reached, at steady
   intervals (an open loop, ``OCOP_BENCH_E2E_PACED_SECONDS``, 5 s by default), each timed until
   answered and until applied by evaluation, as in step 1.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from bench.common import LeanHttp, bench_settings, report, skip_app_history
from ocop_evaluation.app import create_app as create_evaluation_app
from ocop_evaluation.settings import EvaluationSettings
from ocop_registry import usecases
from ocop_registry.app import MIGRATIONS
from ocop_registry.app import create_app as create_registry_app
from ocop_registry.settings import RegistrySettings
from ocop_runtime.auth import Role
from ocop_runtime.db import create_pool
from ocop_runtime.migrations import migrate
from ocop_runtime.testing import bearer, wait_until
from tests.processes import service_process

REQUESTS = int(os.environ.get("OCOP_BENCH_E2E_REQUESTS", "200"))
CONCURRENT = 16
CONCURRENT_REQUESTS = int(os.environ.get("OCOP_BENCH_E2E_CONCURRENT_REQUESTS", "800"))
PACED_SECONDS = float(os.environ.get("OCOP_BENCH_E2E_PACED_SECONDS", "5"))
WARMUP = 20


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def _producer() -> dict[str, str]:
    return {
        "name": f"HTX đo {uuid4().hex[:8]}",
        "legal_form": "cooperative",
        "registration_number": f"{random.randrange(10**9, 10**10)}",
        "commune_code": "00004",
    }


async def _latency(client: LeanHttp, evaluation: asyncpg.Pool) -> tuple[list[float], list[float]]:
    answered: list[float] = []
    sent: dict[UUID, datetime] = {}
    for i in range(WARMUP + REQUESTS):
        at = datetime.now(UTC)
        started = time.perf_counter()
        response = await client.post("/producers", json=_producer())
        elapsed = time.perf_counter() - started
        assert response.status_code == 201, response.text
        if i >= WARMUP:
            answered.append(elapsed)
            sent[UUID(response.json()["id"])] = at
        # The next command once this one is applied: one at a time, a light load.
        producer_id = UUID(response.json()["id"])

        async def applied(pid: UUID = producer_id) -> bool:
            found = await evaluation.fetchval("SELECT 1 FROM producers WHERE producer_id = $1", pid)
            return found is not None

        await wait_until(applied, timeout_seconds=60, interval=0.002, what="evaluation's copy")
    rows = await evaluation.fetch(
        "SELECT producer_id, received_at FROM producers WHERE producer_id = ANY($1::uuid[])",
        list(sent),
    )
    assert len(rows) == len(sent), (len(rows), len(sent))
    return answered, [(r["received_at"] - sent[r["producer_id"]]).total_seconds() for r in rows]


async def _concurrent(url: str, headers: dict[str, str], path: str = "/producers") -> float:
    """``CONCURRENT_REQUESTS`` requests from ``CONCURRENT`` clients, each on its own
    connection: ``POST /producers`` with a new producer, or a ``GET`` of ``path``."""
    queue: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    for _ in range(CONCURRENT_REQUESTS):
        queue.put_nowait(_producer())
    clients = [await LeanHttp.connect(url, headers) for _ in range(CONCURRENT)]

    async def worker(client: LeanHttp) -> None:
        while not queue.empty():
            body = queue.get_nowait()
            if path == "/producers":
                response = await client.post(path, json=body)
                assert response.status_code == 201, response.text
            else:
                response = await client.get(path)
                assert response.status_code == 200, response.text

    started = time.perf_counter()
    try:
        await asyncio.gather(*(worker(c) for c in clients))
    finally:
        for c in clients:
            await c.close()
    return time.perf_counter() - started


async def _paced(
    url: str, headers: dict[str, str], rate: float, evaluation: asyncpg.Pool
) -> tuple[list[float], list[float]]:
    """Commands sent at a steady ``rate`` per second (an open loop: each leaves at its time
    whether or not the ones before were answered, on whichever of the clients is free) for
    ``PACED_SECONDS``; the time each was answered and applied by evaluation."""
    clients: asyncio.Queue[LeanHttp] = asyncio.Queue()
    for _ in range(CONCURRENT):
        clients.put_nowait(await LeanHttp.connect(url, headers))
    answered: list[float] = []
    sent: dict[UUID, datetime] = {}

    async def one(body: dict[str, str]) -> None:
        client = await clients.get()
        try:
            at = datetime.now(UTC)
            started = time.perf_counter()
            response = await client.post("/producers", json=body)
            answered.append(time.perf_counter() - started)
            assert response.status_code == 201, response.text
            sent[UUID(response.json()["id"])] = at
        finally:
            clients.put_nowait(client)

    count = max(1, round(rate * PACED_SECONDS))
    start = time.perf_counter()
    tasks = []
    for i in range(count):
        await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
        tasks.append(asyncio.create_task(one(_producer())))
    await asyncio.gather(*tasks)
    while not clients.empty():
        await clients.get_nowait().close()

    async def all_applied() -> bool:
        found = await evaluation.fetchval(
            "SELECT count(*) FROM producers WHERE producer_id = ANY($1::uuid[])", list(sent)
        )
        return bool(found == len(sent))

    await wait_until(all_applied, timeout_seconds=120, what="evaluation's copies")
    rows = await evaluation.fetch(
        "SELECT producer_id, received_at FROM producers WHERE producer_id = ANY($1::uuid[])",
        list(sent),
    )
    return answered, [(r["received_at"] - sent[r["producer_id"]]).total_seconds() for r in rows]


async def _caught_up(registry_db: asyncpg.Pool, evaluation: asyncpg.Pool) -> None:
    """Wait until evaluation holds a copy of every producer the registry has."""
    expected = await registry_db.fetchval("SELECT count(*) FROM producers")

    async def applied() -> bool:
        return bool(await evaluation.fetchval("SELECT count(*) FROM producers") >= expected)

    await wait_until(applied, timeout_seconds=300, what="evaluation to apply the burst")


async def _floor(client: LeanHttp) -> list[float]:
    """``GET /healthz`` one at a time through the same socket: the HTTP stack with no work."""
    samples = []
    for i in range(WARMUP + REQUESTS):
        started = time.perf_counter()
        response = await client.get("/healthz")
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, response.text
        if i >= WARMUP:
            samples.append(elapsed)
    return samples


_RAW_PRODUCER = (
    "INSERT INTO producers (id, name, legal_form, commune_code, version, registered_at,"
    " updated_at, registration_number) VALUES ($1, $2, $3, $4, 1, $5, $5, $6)"
)
_RAW_OUTBOX = (
    "INSERT INTO outbox (event_id, topic, key, ce_type, ce_source, ce_time, payload)"
    " VALUES ($1, 'registry.producers.v1', $2, 'vn.hanoi.ocop.registry.ProducerRegistered.v1',"
    " '/ocop/registry', $3, $4)"
)


async def _raw_concurrent(pool: asyncpg.Pool) -> float:
    queue: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    for _ in range(CONCURRENT_REQUESTS):
        queue.put_nowait(_producer())

    async def worker() -> None:
        async with pool.acquire() as conn:
            while not queue.empty():
                body = queue.get_nowait()
                pid, now = uuid4(), datetime.now(UTC)
                payload = json.dumps({"producer_id": str(pid), **body, "version": 1})
                async with conn.transaction():
                    await conn.execute(
                        _RAW_PRODUCER,
                        pid,
                        body["name"],
                        body["legal_form"],
                        body["commune_code"],
                        now,
                        body["registration_number"],
                    )
                    await conn.execute(_RAW_OUTBOX, uuid4(), str(pid), now, payload)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENT)))
    return time.perf_counter() - started


async def main() -> int:
    database_url = os.environ["OCOP_BENCH_DATABASE_URL"]
    bootstrap = os.environ["OCOP_BENCH_KAFKA_BOOTSTRAP"]
    unique = uuid4().hex[:8]
    registry_settings = bench_settings(RegistrySettings, unique)
    evaluation_settings = bench_settings(EvaluationSettings, unique)
    # Neither service replays what the benchmarks before this one published: the registry
    # would retry and dead-letter evaluation's events about applications it never had while
    # this one measures (its spec's topics, from an app built only to read them).
    await skip_app_history(create_registry_app(registry_settings), registry_settings)
    await skip_app_history(create_evaluation_app(evaluation_settings), evaluation_settings)
    raw_schema = f"registry_e2e_raw_{unique}"
    logs = Path(tempfile.mkdtemp(prefix="ocop-bench-e2e-"))
    common: dict[str, Any] = {
        "database_url": database_url,
        "kafka_bootstrap": bootstrap,
        "log_dir": logs,
        "rate_limit_burst": 1_000_000,
        "rate_limit_subject_burst": 1_000_000,
        "db_pool_max": CONCURRENT,
    }
    async with (
        service_process(
            "registry",
            schema=registry_settings.db_schema,
            consumer_group=registry_settings.consumer_group,
            **common,
        ) as registry,
        service_process(
            "evaluation",
            schema=evaluation_settings.db_schema,
            consumer_group=evaluation_settings.consumer_group,
            **common,
        ),
    ):
        evaluation = await create_pool(
            database_url, evaluation_settings.db_schema, min_size=1, max_size=2
        )
        raw = await create_pool(database_url, raw_schema, min_size=CONCURRENT, max_size=CONCURRENT)
        registry_db = await create_pool(
            database_url, registry_settings.db_schema, min_size=1, max_size=2
        )
        try:
            async with raw.acquire() as conn:
                await migrate(conn, raw_schema, MIGRATIONS)
            await usecases.load_admin_units(raw)  # what the producers' communes refer to
            headers = bearer(Role.CITY_OFFICE, subject="bench-e2e")
            # Light load means nothing else at work: the database writes out what the benchmarks
            # before this one left in its buffers now, not during the measurement.
            await raw.execute("CHECKPOINT")
            client = await LeanHttp.connect(registry.url, headers)
            try:
                floor = await _floor(client)
                answered, applied = await _latency(client, evaluation)
            finally:
                await client.close()
            floor_seconds = await _concurrent(registry.url, headers, "/healthz")
            before = await registry_db.fetchval("SELECT count(*) FROM producers")
            ours = await _concurrent(registry.url, headers)
            theirs = await _raw_concurrent(raw)
            written = await registry_db.fetchval("SELECT count(*) FROM producers") - before
            assert written == CONCURRENT_REQUESTS, written
            raw_rows = await raw.fetchval("SELECT count(*) FROM producers")
            raw_events = await raw.fetchval("SELECT count(*) FROM outbox")
            assert (raw_rows, raw_events) == (CONCURRENT_REQUESTS, CONCURRENT_REQUESTS)
            await _caught_up(registry_db, evaluation)  # the burst applied before pacing
            half = CONCURRENT_REQUESTS / ours / 2
            paced_answered, paced_applied = await _paced(registry.url, headers, half, evaluation)
        finally:
            await evaluation.close()
            await raw.close()
            await registry_db.close()

    med = statistics.median
    print("end to end over HTTP: registry and evaluation as their own processes")
    for name, samples, limit in (
        ("POST /producers answered", answered, None),
        ("POST /producers -> applied by evaluation", applied, 10.0),
    ):
        p50, p99 = med(samples) * 1e3, _pct(samples, 0.99) * 1e3
        print(f"  {name:<44} p50 {p50:7.1f} ms  p99 {p99:7.1f} ms  ({len(samples)} commands)")
        sizes = {"commands": len(samples)}
        report(f"{name} p50", "ms", ocop=p50, raw=None, sizes=sizes, limit=limit)
        report(
            f"{name} p99",
            "ms",
            ocop=p99,
            raw=None,
            sizes=sizes,
            limit=None if limit is None else 40,
        )
    for name, samples in (
        ("POST /producers answered, 50% of saturation", paced_answered),
        ("POST /producers -> applied, 50% of saturation", paced_applied),
    ):
        p50, p99 = med(samples) * 1e3, _pct(samples, 0.99) * 1e3
        print(
            f"  {name:<44} p50 {p50:7.1f} ms  p99 {p99:7.1f} ms  ({len(samples)} commands at"
            f" {half:,.0f}/s)"
        )
        sizes = {"commands": len(samples), "rate": round(half)}
        report(f"{name} p50", "ms", ocop=p50, raw=None, sizes=sizes)
        report(f"{name} p99", "ms", ocop=p99, raw=None, sizes=sizes)
    p50 = med(floor) * 1e3
    print(f"  {'GET /healthz (the HTTP floor)':<44} p50 {p50:7.1f} ms  ({len(floor)} requests)")
    report("GET /healthz over HTTP p50", "ms", ocop=p50, raw=None, sizes={"requests": len(floor)})
    floor_rate = CONCURRENT_REQUESTS / floor_seconds
    report(
        f"GET /healthz over HTTP, {CONCURRENT} clients",
        "requests/s",
        ocop=floor_rate,
        raw=None,
        sizes={"requests": CONCURRENT_REQUESTS, "clients": CONCURRENT},
    )
    rate, raw_rate = CONCURRENT_REQUESTS / ours, CONCURRENT_REQUESTS / theirs
    print(
        f"  {CONCURRENT} clients, POST /producers: {rate:,.0f}/s; raw transactions (producer +"
        f" outbox row, {CONCURRENT} connections): {raw_rate:,.0f}/s; {rate / raw_rate:.2f} of raw;"
        f" GET /healthz with no work: {floor_rate:,.0f}/s"
    )
    report(
        f"POST /producers, {CONCURRENT} clients",
        "commands/s",
        ocop=rate,
        raw=raw_rate,
        sizes={"commands": CONCURRENT_REQUESTS, "clients": CONCURRENT},
        target=1 / 0.8,
    )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
