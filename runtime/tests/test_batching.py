"""The batched consumer: one inbox statement and one transaction per batch, set-based handlers
called on runs of one type in the batch's order, duplicates without effect, a poison record
isolated and dead-lettered, infrastructure failures rewound, one commit per batch."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any
from uuid import uuid4

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from pydantic import Field

from ocop_contracts import topics
from ocop_contracts.events import ProducerDeregistered, ProducerRegistered
from ocop_runtime.app import ServiceSpec, create_service_app
from ocop_runtime.batching import BatchConsumer, BatchRoutes, Item, runs
from ocop_runtime.db import create_pool
from ocop_runtime.kafka import client_options, consumer_lag, start_client
from ocop_runtime.migrations import migrate
from ocop_runtime.settings import ServiceSettings
from ocop_runtime.telemetry import Metrics
from ocop_runtime.testing import (
    own_topics,
    producer_registered,
    record_of,
    running,
    wait_until,
)

MIGRATION = "CREATE TABLE applied (seq bigserial PRIMARY KEY, ce_type text, producer_id uuid);\n"


class Letters:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send_and_wait(self, topic: str, **record: Any) -> None:
        self.sent.append({"topic": topic, **record})


def deregistered(producer_id: Any) -> ProducerDeregistered:
    from datetime import UTC, datetime

    return ProducerDeregistered(
        producer_id=producer_id, reason="test", deregistered_at=datetime.now(UTC)
    )


@pytest.fixture
def migrations() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="ocop-batching-"))
    (folder / "0001_applied.sql").write_text(MIGRATION)
    return folder


@pytest.fixture
async def pool(database_url: str, unique: str, migrations: Path) -> AsyncIterator[asyncpg.Pool]:
    schema = f"batching_{unique}"
    conn = await asyncpg.connect(database_url)
    try:
        await migrate(conn, schema, migrations)
    finally:
        await conn.close()
    pool = await create_pool(database_url, schema, min_size=1, max_size=2)
    yield pool
    await pool.close()


class Recorder:
    """Set-based handlers writing one row per event, and the calls they got."""

    def __init__(self, poison: set[Any] | None = None) -> None:
        self.calls: list[list[str]] = []
        self.poison = poison or set()

    async def __call__(self, conn: asyncpg.Connection, items: Sequence[Item]) -> None:
        self.calls.append([i.delivery.envelope.id for i in items])
        if any(i.event.producer_id in self.poison for i in items):
            raise ValueError("this producer cannot be applied")
        await conn.execute(
            "INSERT INTO applied (ce_type, producer_id)"
            " SELECT * FROM unnest($1::text[], $2::uuid[])",
            [i.delivery.envelope.type for i in items],
            [i.event.producer_id for i in items],
        )


def consumer(pool: asyncpg.Pool, recorder: Recorder) -> tuple[BatchConsumer, Letters]:
    routes = BatchRoutes()
    routes.on(ProducerRegistered)(recorder)
    routes.on(ProducerDeregistered)(recorder)
    letters = Letters()
    return (
        BatchConsumer(
            routes,
            consumer="insights",
            pool=pool,
            producer=letters,
            dlq_topic=topics.dlq("insights"),
            metrics=Metrics("batching-test"),
            max_attempts=2,
            backoff_seconds=0.01,
            backoff_max_seconds=0.01,
        ),
        letters,
    )


async def test_a_batch_is_applied_in_runs_of_one_type_keeping_its_order(
    pool: asyncpg.Pool,
) -> None:
    recorder = Recorder()
    batch, _ = consumer(pool, recorder)
    a, b = producer_registered(), producer_registered()
    events = [a, b, deregistered(a.producer_id), producer_registered()]
    records = [record_of(e, offset=i, ce_id=f"e{i}") for i, e in enumerate(events)]

    outcomes = await batch.apply(records)

    assert outcomes[(topics.REGISTRY_PRODUCERS, "processed")] == 4
    assert recorder.calls == [["e0", "e1"], ["e2"], ["e3"]]
    rows = await pool.fetch("SELECT ce_type FROM applied ORDER BY seq")
    assert [r["ce_type"] for r in rows] == [e.CE_TYPE for e in events]
    assert await pool.fetchval("SELECT count(*) FROM inbox WHERE consumer = 'insights'") == 4


async def test_duplicates_in_the_batch_and_redeliveries_have_no_effect(pool: asyncpg.Pool) -> None:
    recorder = Recorder()
    batch, _ = consumer(pool, recorder)
    event = producer_registered()
    twice = [record_of(event, offset=0, ce_id="same"), record_of(event, offset=1, ce_id="same")]

    first = await batch.apply(twice)
    again = await batch.apply(twice)

    assert first[(topics.REGISTRY_PRODUCERS, "processed")] == 1
    assert first[(topics.REGISTRY_PRODUCERS, "duplicate")] == 1
    assert again[(topics.REGISTRY_PRODUCERS, "duplicate")] == 2
    assert await pool.fetchval("SELECT count(*) FROM applied") == 1


async def test_runs_split_where_the_type_changes() -> None:
    events = [producer_registered(), producer_registered()]
    items = [Item(e, _delivery(e)) for e in events]
    assert [len(r) for r in runs(items)] == [2]
    assert runs([]) == []


def _delivery(event: Any) -> Any:
    from ocop_runtime.consumer import read_record
    from ocop_runtime.kafka import TopicNames

    record = record_of(event)
    read = read_record(record, list(record.headers), TopicNames(), lambda _t: True)
    assert read is not None
    return read[1]


async def test_a_poison_record_is_dead_lettered_and_the_rest_of_its_batch_applied(
    pool: asyncpg.Pool,
) -> None:
    poison = producer_registered()
    recorder = Recorder(poison={poison.producer_id})
    batch, letters = consumer(pool, recorder)
    good = [producer_registered() for _ in range(3)]
    records = [record_of(e, offset=i) for i, e in enumerate([good[0], poison, *good[1:]])]

    outcomes = await batch.apply(records)

    assert outcomes[(topics.REGISTRY_PRODUCERS, "processed")] == 3
    assert outcomes[(topics.REGISTRY_PRODUCERS, "dead_lettered")] == 1
    applied = {r["producer_id"] for r in await pool.fetch("SELECT producer_id FROM applied")}
    assert applied == {e.producer_id for e in good}
    [letter] = letters.sent
    headers = dict(letter["headers"])
    assert headers["ocop_dlq_reason"].startswith(b"failed 2 times; last: ValueError")
    assert headers["ocop_dlq_offset"] == b"1"


async def test_unreadable_and_unhandled_records_are_dead_lettered_or_ignored(
    pool: asyncpg.Pool,
) -> None:
    batch, letters = consumer(pool, Recorder())
    bad = record_of(producer_registered(), offset=0, value=b"{")
    from ocop_contracts.events import ProductDeregistered

    unhandled = ProductDeregistered(
        product_id=uuid4(),
        producer_id=uuid4(),
        public_code="01-00004-0001-2025",
        reason="test",
        deregistered_at=producer_registered().registered_at,
    )
    outcomes = await batch.apply([bad, record_of(unhandled, offset=1)])

    assert outcomes[(topics.REGISTRY_PRODUCERS, "dead_lettered")] == 1
    assert outcomes[(topics.REGISTRY_PRODUCTS, "ignored")] == 1
    assert len(letters.sent) == 1


class _Unreachable:
    """A pool whose database is gone."""

    def acquire(self) -> Any:
        raise ConnectionRefusedError("database unreachable")


class _Message:
    def __init__(self, records: list[Any]) -> None:
        self.raw_message = tuple(records)
        self.acked = self.nacked = 0

    async def ack(self) -> None:
        self.acked += 1

    async def nack(self) -> None:
        self.nacked += 1


async def test_an_unreachable_database_rewinds_the_batch_instead_of_committing() -> None:
    batch, letters = consumer(_Unreachable(), Recorder())
    message = _Message([record_of(producer_registered(), offset=i) for i in range(3)])

    await batch.handle(message)

    assert (message.acked, message.nacked) == (0, 1)
    assert letters.sent == []


async def _send(bootstrap: str, events: Sequence[Any]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", **client_options(None))
    await start_client(producer)
    try:
        for event in events:
            record = record_of(event)
            await producer.send(
                own_topics().physical(event.TOPIC),
                key=record.key,
                value=record.value,
                headers=list(record.headers),
            )
        await producer.flush()
    finally:
        await producer.stop()


class BatchSettings(ServiceSettings):
    service: str = "insights"
    batch_size: int = Field(default=50)


async def test_on_the_real_broker_every_record_is_applied_once_and_the_group_commits_to_the_end(
    make_settings: Any, migrations: Path, kafka_bootstrap: str
) -> None:
    settings = make_settings(BatchSettings)
    recorder = Recorder()
    routes = BatchRoutes(max_records=50)
    routes.on(ProducerRegistered)(recorder)
    spec = ServiceSpec(
        name="insights",
        title="batching test",
        description="batched consumer under test",
        migrations=migrations,
        batches=routes,
    )
    events = [producer_registered() for _ in range(300)]
    async with running(create_service_app(settings, spec), role=None):
        await _send(kafka_bootstrap, events)
        pool = await create_pool(settings.dsn, settings.db_schema, min_size=1, max_size=1)
        try:

            async def applied() -> bool:
                return await pool.fetchval("SELECT count(*) FROM applied") == len(events)

            await wait_until(applied, timeout_seconds=30, what="300 records applied")

            async def committed() -> bool:
                lag = await consumer_lag(kafka_bootstrap, settings.consumer_group)
                return bool(lag) and sum(lag.values()) == 0

            await wait_until(committed, timeout_seconds=30, what="the group to commit to the end")
        finally:
            await pool.close()
    # Batches, not records: far fewer handler calls than records.
    assert sum(len(c) for c in recorder.calls) == len(events)
    assert len(recorder.calls) < len(events) / 2
