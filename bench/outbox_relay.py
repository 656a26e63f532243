"""Benchmark: the outbox relay against raw aiokafka + asyncpg doing the same work, same run.

The work: N committed outbox rows become N keyed Kafka records with CloudEvents headers
(acks=all, idempotent) and N rows stamped as published. The raw baseline reads all rows in one
query, sends them with one aiokafka producer without awaiting each record, and stamps them with
one UPDATE: the floor for this work on this machine. The relay additionally holds its advisory
lock, works in batches of 500 (bounded memory and statement size), checks for each row whether
its key waits behind a parked row, and opens one producer span per record so the trace continues
from the outbox row. The ratio (relay time / baseline
time) is what to watch; 1.0 is the floor.

Also measured: the consumer path (envelope + contract validation + inbox + effect in one
transaction per record) against raw asyncpg doing one transaction per record with the same two
inserts.
"""

from __future__ import annotations

import asyncio
import functools
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from uuid import uuid4

import asyncpg
from aiokafka import AIOKafkaProducer

from ocop_contracts import Envelope
from ocop_contracts.events import ProducerRegistered
from ocop_runtime.consumer import Delivery, EventConsumer, EventRoutes
from ocop_runtime.db import create_pool
from ocop_runtime.migrations import migrate
from ocop_runtime.outbox import OutboxRelay, kafka_producer, stage_event
from ocop_runtime.telemetry import Metrics
from ocop_runtime.testing import producer_registered

ROWS = int(os.environ.get("OCOP_BENCH_ROWS", "5000"))
RECORDS = int(os.environ.get("OCOP_BENCH_RECORDS", "1000"))
ROUNDS = int(os.environ.get("OCOP_BENCH_ROUNDS", "3"))


async def _fill_outbox(pool: asyncpg.Pool, n: int) -> None:
    async with pool.acquire() as conn, conn.transaction():
        for _ in range(n):
            await stage_event(conn, producer_registered(), service="registry")


async def _relay_once(relay: OutboxRelay, pool: asyncpg.Pool, rows: int = ROWS) -> float:
    await _fill_outbox(pool, rows)
    started = time.perf_counter()
    while await relay.publish_pending():
        pass
    return time.perf_counter() - started


async def _raw_once(pool: asyncpg.Pool, producer: AIOKafkaProducer) -> float:
    await _fill_outbox(pool, ROWS)
    started = time.perf_counter()
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            "SELECT id, topic, key, payload, event_id, ce_type FROM outbox"
            " WHERE published_at IS NULL ORDER BY id"
        )
        futures = [
            await producer.send(
                r["topic"],
                value=r["payload"].encode(),
                key=r["key"].encode(),
                headers=[
                    ("ce_id", str(r["event_id"]).encode()),
                    ("ce_type", r["ce_type"].encode()),
                ],
            )
            for r in rows
        ]
        await asyncio.gather(*futures)
        await conn.execute(
            "UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])",
            [r["id"] for r in rows],
        )
    return time.perf_counter() - started


def _records(n: int) -> list[SimpleNamespace]:
    out = []
    for i in range(n):
        event = producer_registered()
        headers = Envelope(
            id=str(uuid4()),
            type=event.CE_TYPE,
            source="/bench",
            time=datetime.now(UTC),
            subject=event.key(),
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


async def _consumer_once(pool: asyncpg.Pool, producer: AIOKafkaProducer) -> float:
    routes = EventRoutes()

    @routes.on(ProducerRegistered)
    async def on_producer_registered(
        conn: asyncpg.Connection, e: ProducerRegistered, d: Delivery
    ) -> None:
        await conn.execute("INSERT INTO effects VALUES ($1, $2)", e.producer_id, e.name)

    consumer = EventConsumer(
        routes,
        consumer="bench",
        pool=pool,
        producer=producer,
        dlq_topic="unused",
        metrics=Metrics("bench"),
    )
    records = _records(RECORDS)
    started = time.perf_counter()
    for record in records:
        assert await consumer.apply(record) == "processed"
    return time.perf_counter() - started


async def _raw_consumer_once(pool: asyncpg.Pool) -> float:
    records = _records(RECORDS)
    started = time.perf_counter()
    for r in records:
        ce_id = next(v for k, v in r.headers if k == "ce_id").decode()
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO inbox (consumer, source, event_id, ce_type, topic, kafka_partition,"
                " kafka_offset) VALUES ('raw', '/ocop/bench', $1, 't', $2, 0, $3)",
                ce_id,
                r.topic,
                r.offset,
            )
            await conn.execute("INSERT INTO effects VALUES ($1, $2)", uuid4(), "HTX thử")
    return time.perf_counter() - started


async def main() -> int:
    database_url = os.environ["OCOP_BENCH_DATABASE_URL"]
    bootstrap = os.environ["OCOP_BENCH_KAFKA_BOOTSTRAP"]
    schema = f"bench_{uuid4().hex[:8]}"
    pool = await create_pool(database_url, schema, min_size=2, max_size=4)
    producer = kafka_producer(bootstrap)
    await producer.start()
    try:
        empty = Path(__file__).parent / "migrations"
        async with pool.acquire() as conn:
            await migrate(conn, schema, empty)
            await conn.execute("CREATE TABLE effects (producer_id uuid, name text)")
        await _raw_once(pool, producer)  # warm-up: metadata, connections
        relay = OutboxRelay(
            pool,
            functools.partial(kafka_producer, bootstrap),
            schema=schema,
            metrics=Metrics("bench"),
            batch_size=500,
        )
        try:
            await _relay_once(relay, pool, 500)  # warm-up: its own producer and lock
            relay_times = [await _relay_once(relay, pool) for _ in range(ROUNDS)]
        finally:
            await relay.stop()
        raw = [await _raw_once(pool, producer) for _ in range(ROUNDS)]
        consumer = [await _consumer_once(pool, producer) for _ in range(ROUNDS)]
        raw_consumer = [await _raw_consumer_once(pool) for _ in range(ROUNDS)]
    finally:
        await producer.stop()
        await pool.close()

    def line(name: str, n: int, ours: list[float], base: list[float]) -> None:
        o, b = statistics.median(ours), statistics.median(base)
        print(
            f"{name:<28} {n:>6} records  ocop {n / o:>9,.0f}/s  raw {n / b:>9,.0f}/s"
            f"  ratio {o / b:5.2f}x (time, median of {ROUNDS})"
        )

    line("outbox relay -> kafka", ROWS, relay_times, raw)
    line("consumer (inbox + effect)", RECORDS, consumer, raw_consumer)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
