"""Benchmark: the outbox relay and the per-record consumer against raw aiokafka + asyncpg doing the
same work, same run.

Tracing is configured as in a service (the SDK's tracer provider, no exporter), so the spans the
relay and the consumer open cost what they cost in production.

1. Relay. The work: N committed outbox rows, each staged under a request span of its own (so
   each stores its own ``traceparent``), become N keyed Kafka records with CloudEvents headers
   (``acks=all``, idempotent) and N rows stamped as published. The raw baseline reads all rows
   in one query, builds the same headers with its own code, sends them with one aiokafka
   producer without awaiting each record, and stamps them with one ``UPDATE``: the floor for
   this work on this machine. The relay additionally holds its advisory lock, works in batches
   (``OCOP_BENCH_RELAY_BATCH``, the services' default 500: bounded memory and statement size),
   checks for each row whether its key waits behind a parked row, and opens one producer span
   per batch (linked to each row's request). Both sides must have put exactly N records on the
   topic, with the same header names, and stamped every row.
2. Consumer, per record: envelope, contract validation, inbox row and effect in one transaction
   per record, with a consumer span per record, against raw asyncpg reading the same records
   (``json.loads``) and doing one transaction per record with the same two inserts. Both sides
   must have written the same effects.

The ratio (ocop time / raw time) is what to watch; 1.0 is the floor.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import json
import os
import resource
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from uuid import uuid4

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from opentelemetry import trace

from bench.common import report
from ocop_contracts import Envelope
from ocop_contracts.events import ProducerRegistered
from ocop_runtime.consumer import Delivery, EventConsumer, EventRoutes
from ocop_runtime.db import create_pool
from ocop_runtime.kafka import client_options
from ocop_runtime.migrations import migrate
from ocop_runtime.outbox import OutboxRelay, kafka_producer, stage_event
from ocop_runtime.telemetry import Metrics, configure_tracing
from ocop_runtime.testing import producer_registered

ROWS = int(os.environ.get("OCOP_BENCH_ROWS", "5000"))
RECORDS = int(os.environ.get("OCOP_BENCH_RECORDS", "1000"))
ROUNDS = int(os.environ.get("OCOP_BENCH_ROUNDS", "7"))
BATCH = int(os.environ.get("OCOP_BENCH_RELAY_BATCH", "500"))
TOPIC = ProducerRegistered.TOPIC

_tracer = trace.get_tracer("bench")


class Timing:
    """Wall time and this process's CPU time from creation to :meth:`stop`. The CPU time is
    the Python work of each side (the client's sends included), which the machine's other load
    disturbs far less than the wall time."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def stop(self) -> Timing:
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu
        return self


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _fill_outbox(pool: asyncpg.Pool, n: int) -> None:
    """``n`` rows, each staged under a request span of its own, as commands stage them."""
    async with pool.acquire() as conn, conn.transaction():
        for _ in range(n):
            with _tracer.start_as_current_span("HTTP POST /producers"):
                await stage_event(conn, producer_registered(), service="registry")


class Topic:
    """Counts what reaches the topic, and reads back the last record a side sent."""

    def __init__(self, bootstrap: str) -> None:
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, enable_auto_commit=False, **client_options(None)
        )
        self._partitions: list[TopicPartition] = []

    async def start(self) -> None:
        await self._consumer.start()
        await self._consumer._client.force_metadata_update()
        parts = self._consumer.partitions_for_topic(TOPIC) or set()
        self._partitions = [TopicPartition(TOPIC, p) for p in sorted(parts)]
        self._consumer.assign(self._partitions)

    async def stop(self) -> None:
        await self._consumer.stop()

    async def ends(self) -> dict[TopicPartition, int]:
        return dict(await self._consumer.end_offsets(self._partitions))

    async def header_names(self, before: dict[TopicPartition, int]) -> set[str]:
        """The header names of the last record sent after ``before`` on some partition."""
        after = await self.ends()
        tp = next(tp for tp in self._partitions if after[tp] > before[tp])
        self._consumer.seek(tp, after[tp] - 1)
        record = await asyncio.wait_for(self._consumer.getone(tp), 30)
        return {k for k, _ in record.headers}


async def _relay_once(relay: OutboxRelay, pool: asyncpg.Pool, rows: int = ROWS) -> Timing:
    await _fill_outbox(pool, rows)
    timing = Timing()
    while await relay.publish_pending():
        pass
    return timing.stop()


_RAW_SELECT = (
    "SELECT id, event_id, topic, key, ce_type, ce_source, ce_time, payload, traceparent,"
    " tracestate FROM outbox WHERE published_at IS NULL ORDER BY id"
)


async def _raw_once(pool: asyncpg.Pool, producer: AIOKafkaProducer, n: int = ROWS) -> Timing:
    await _fill_outbox(pool, n)
    timing = Timing()
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(_RAW_SELECT)
        futures = []
        for r in rows:
            headers = [
                ("ce_specversion", b"1.0"),
                ("ce_id", str(r["event_id"]).encode()),
                ("ce_type", r["ce_type"].encode()),
                ("ce_source", r["ce_source"].encode()),
                ("ce_time", r["ce_time"].isoformat().encode()),
                ("ce_subject", r["key"].encode()),
                ("content-type", b"application/json"),
            ]
            if r["traceparent"]:
                headers.append(("traceparent", r["traceparent"].encode()))
            if r["tracestate"]:
                headers.append(("tracestate", r["tracestate"].encode()))
            futures.append(
                await producer.send(
                    r["topic"], value=r["payload"].encode(), key=r["key"].encode(), headers=headers
                )
            )
        await asyncio.gather(*futures)
        await conn.execute(
            "UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])",
            [r["id"] for r in rows],
        )
    return timing.stop()


async def _checked(
    name: str, side: asyncpg.Pool, topic: Topic, run: Callable[[], Awaitable[Timing]]
) -> tuple[Timing, set[str]]:
    """Run one side's round; check that it put exactly ROWS records on the topic and stamped
    every row; return its time and the header names of one of its records."""
    before = await topic.ends()
    elapsed = await run()
    after = await topic.ends()
    sent = sum(after.values()) - sum(before.values())
    assert sent == ROWS, f"{name}: {sent} records on the topic, {ROWS} rows staged"
    pending = await side.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
    assert pending == 0, f"{name}: {pending} rows left unstamped"
    return elapsed, await topic.header_names(before)


def _records(n: int) -> list[SimpleNamespace]:
    out = []
    for i in range(n):
        event = producer_registered(name=f"HTX thử {i}")
        with _tracer.start_as_current_span("HTTP POST /producers"):
            ctx = trace.get_current_span().get_span_context()
            traceparent = f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-01"
        headers = Envelope(
            id=str(uuid4()),
            type=event.CE_TYPE,
            source="/ocop/registry",
            time=datetime.now(UTC),
            subject=event.key(),
            traceparent=traceparent,
        ).to_headers()
        out.append(
            SimpleNamespace(
                topic=event.TOPIC,
                partition=0,
                offset=i,
                key=event.key().encode(),
                value=event.to_json(),
                headers=headers,
            )
        )
    return out


async def _consumer_once(
    pool: asyncpg.Pool, producer: AIOKafkaProducer, records: list[SimpleNamespace]
) -> Timing:
    routes = EventRoutes()

    @routes.on(ProducerRegistered)
    async def on_producer_registered(
        conn: asyncpg.Connection, e: ProducerRegistered, d: Delivery
    ) -> None:
        await conn.execute("INSERT INTO effects VALUES ($1, $2)", e.producer_id, e.name)

    consumer = EventConsumer(
        routes,
        consumer=f"bench-{uuid4().hex[:6]}",
        pool=pool,
        producer=producer,
        dlq_topic="unused",
        metrics=Metrics("bench"),
    )
    timing = Timing()
    for record in records:
        assert await consumer.apply(record) == "processed"
    return timing.stop()


async def _raw_consumer_once(pool: asyncpg.Pool, records: list[SimpleNamespace]) -> Timing:
    consumer = f"raw-{uuid4().hex[:6]}"
    timing = Timing()
    for r in records:
        headers = dict(r.headers)
        value = json.loads(r.value)
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO inbox (consumer, topic, source, event_id, ce_type, kafka_partition,"
                " kafka_offset) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                consumer,
                r.topic,
                headers["ce_source"].decode(),
                headers["ce_id"].decode(),
                headers["ce_type"].decode(),
                r.partition,
                r.offset,
            )
            await conn.execute(
                "INSERT INTO raw_effects VALUES ($1::uuid, $2)", value["producer_id"], value["name"]
            )
    return timing.stop()


async def _same_effects(pool: asyncpg.Pool) -> None:
    ours = sorted(tuple(r) for r in await pool.fetch("SELECT * FROM effects"))
    theirs = sorted(tuple(r) for r in await pool.fetch("SELECT * FROM raw_effects"))
    assert ours == theirs and len(ours) == RECORDS, (len(ours), len(theirs))
    await pool.execute("TRUNCATE effects, raw_effects")


async def main() -> int:
    configure_tracing("bench", None)
    database_url = os.environ["OCOP_BENCH_DATABASE_URL"]
    bootstrap = os.environ["OCOP_BENCH_KAFKA_BOOTSTRAP"]
    schema = f"bench_{uuid4().hex[:8]}"
    pool = await create_pool(database_url, schema, min_size=2, max_size=4)
    producer = kafka_producer(bootstrap)
    await producer.start()
    topic = Topic(bootstrap)
    try:
        empty = Path(__file__).parent / "migrations"
        async with pool.acquire() as conn:
            await migrate(conn, schema, empty)
            await conn.execute("CREATE TABLE effects (producer_id uuid, name text)")
            await conn.execute("CREATE TABLE raw_effects (producer_id uuid, name text)")
        await _raw_once(pool, producer, BATCH)  # warm-up: metadata, connections
        await topic.start()
        relay = OutboxRelay(
            pool,
            functools.partial(kafka_producer, bootstrap),
            schema=schema,
            metrics=Metrics("bench"),
            batch_size=BATCH,
        )
        relay_times, raw_times = [], []
        relay_peak_mb = 0.0
        try:
            await _relay_once(relay, pool, BATCH)  # warm-up: its own producer and lock
            # What set-up built out of the collector's full collections, as a service does once
            # it has started (ocop_runtime.app): both sides then pay only for their own garbage.
            gc.collect()
            gc.freeze()
            # Interleaved, each side first in every other round (relay, raw, raw, relay, ...):
            # background load and the order weigh on both alike.
            for i in range(ROUNDS):
                if i % 2:
                    raw_first = await _checked(
                        "raw", pool, topic, functools.partial(_raw_once, pool, producer)
                    )
                elapsed, ours = await _checked(
                    "relay", pool, topic, functools.partial(_relay_once, relay, pool)
                )
                relay_times.append(elapsed)
                # The process's peak before any raw round at full size (the raw baseline holds
                # every row at once): what the relay's side needed, for bench.growth.
                relay_peak_mb = relay_peak_mb or _peak_mb()
                if not i % 2:
                    raw_first = await _checked(
                        "raw", pool, topic, functools.partial(_raw_once, pool, producer)
                    )
                elapsed, theirs = raw_first
                raw_times.append(elapsed)
                assert ours == theirs, f"header names differ: {ours ^ theirs}"
        finally:
            await relay.stop()
        consumer, raw_consumer = [], []
        await _consumer_once(pool, producer, _records(100))  # warm-up
        await _raw_consumer_once(pool, _records(100))
        await pool.execute("TRUNCATE effects, raw_effects")
        for i in range(ROUNDS):
            records = _records(RECORDS)
            if i % 2:
                raw_consumer.append(await _raw_consumer_once(pool, records))
            consumer.append(await _consumer_once(pool, producer, records))
            if not i % 2:
                raw_consumer.append(await _raw_consumer_once(pool, records))
            await _same_effects(pool)
    finally:
        await topic.stop()
        await producer.stop()
        await pool.close()

    def line(name: str, n: int, ours: list[Timing], base: list[Timing], target: float) -> None:
        sizes: dict[str, Any] = {"records": n, "rounds": ROUNDS}
        if name.startswith("outbox"):
            sizes["batch"] = BATCH
        for what, unit in (("wall", "records/s"), ("cpu", "records/s of CPU")):
            o = statistics.median(getattr(t, what) for t in ours)
            b = statistics.median(getattr(t, what) for t in base)
            rounds = ", ".join(
                f"{getattr(x, what) / getattr(y, what):.2f}"
                for x, y in zip(ours, base, strict=True)
            )
            label = name if what == "wall" else f"{name}, CPU of this process"
            print(
                f"{label:<44} {n:>6} records  ocop {n / o:>9,.0f}/s  raw {n / b:>9,.0f}/s"
                f"  ratio {o / b:5.2f}x (median of {ROUNDS}; per round {rounds})"
            )
            report(label, unit, ocop=n / o, raw=n / b, sizes=sizes, target=target)

    line("outbox relay -> kafka", ROWS, relay_times, raw_times, 1.15)
    report(
        "outbox relay peak memory",
        "MB",
        ocop=relay_peak_mb,
        raw=None,
        sizes={"records": ROWS, "batch": BATCH},
    )
    line("consumer, per record", RECORDS, consumer, raw_consumer, 1.2)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
