"""Helpers for the cross-service tests: services in-process on the real broker and database."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import asyncpg
from aiokafka import AIOKafkaProducer

from ocop_contracts import Envelope, Event
from ocop_contracts.events import ProducerRegistered
from ocop_evaluation.app import create_app as create_evaluation
from ocop_evaluation.app import service_spec as evaluation_spec
from ocop_evaluation.settings import EvaluationSettings
from ocop_registry.app import create_app as create_registry_app
from ocop_registry.settings import RegistrySettings
from ocop_runtime.app import create_service_app
from ocop_runtime.consumer import Delivery, EventRoutes
from ocop_runtime.kafka import client_options, read_all, start_client
from ocop_runtime.outbox import OutboxRelay
from ocop_runtime.testing import own_topics, wait_until

Settings = Callable[..., Any]


def registry_app(
    make_settings: Settings,
    *,
    relay_factory: Callable[..., OutboxRelay] = OutboxRelay,
    **overrides: Any,
) -> Any:
    settings = make_settings(RegistrySettings, **overrides)
    return create_registry_app(settings, relay_factory=relay_factory)


def evaluation_app(make_settings: Settings, **overrides: Any) -> Any:
    return create_evaluation(make_settings(EvaluationSettings, **overrides))


def tax_code() -> str:
    """A fresh 10-digit enterprise/cooperative code (unique within a test's schema)."""
    return f"{random.randrange(10**9, 10**10)}"


async def records_on(bootstrap: str, topic: str, predicate: Callable[[Any], bool]) -> list[Any]:
    """The records of the running test's ``topic`` (a catalogue name) that ``predicate`` keeps,
    read to the topic's end offsets."""
    physical = own_topics().physical(topic)
    return [r for _, r in await read_all(bootstrap, physical) if predicate(r)]


def header(record: Any, name: str) -> str | None:
    for k, v in record.headers:
        if k == name:
            return bytes(v or b"").decode(errors="replace")
    return None


async def scalar(database_url: str, sql: str, *args: Any) -> Any:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def send_raw(
    bootstrap: str,
    topic: str,
    *,
    key: bytes,
    value: bytes | None,
    headers: Sequence[tuple[str, bytes | None]],
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", **client_options(None))
    await start_client(producer)
    try:
        await producer.send_and_wait(
            own_topics().physical(topic), key=key, value=value, headers=list(headers)
        )
    finally:
        await producer.stop()


async def producer_copy(client: Any, producer_id: str) -> dict[str, Any] | None:
    response = await client.get(f"/producers/{producer_id}")
    return response.json() if response.status_code == 200 else None


async def wait_for_copy(
    client: Any, producer_id: str, *, version: int = 1, timeout_seconds: float = 30
) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        copy = await producer_copy(client, producer_id)
        return copy if copy and copy["version"] >= version else None

    return await wait_until(
        probe,
        timeout_seconds=timeout_seconds,
        what=f"evaluation to hold producer {producer_id} v{version}",
    )


def envelope_headers(
    event: Event, *, ce_id: str | None = None, ce_type: str | None = None
) -> list[tuple[str, bytes]]:
    return Envelope(
        id=ce_id or str(uuid4()),
        type=ce_type or event.CE_TYPE,
        source="/tests",
        time=datetime.now(UTC),
        subject=event.key(),
    ).to_headers()


async def send_event(bootstrap: str, event: Event, *, ce_id: str | None = None) -> str:
    """Publish ``event`` as a service would; return its ce_id."""
    ce_id = ce_id or str(uuid4())
    await send_raw(
        bootstrap,
        event.TOPIC,
        key=event.key().encode(),
        value=event.to_json(),
        headers=envelope_headers(event, ce_id=ce_id),
    )
    return ce_id


async def send_events(bootstrap: str, events: Sequence[Event]) -> list[str]:
    """Publish many events through one producer, each keyed by its aggregate."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=5, **client_options(None)
    )
    await start_client(producer)
    try:
        ids = [str(uuid4()) for _ in events]
        futures = [
            await producer.send(
                own_topics().physical(e.TOPIC),
                key=e.key().encode(),
                value=e.to_json(),
                headers=envelope_headers(e, ce_id=i),
            )
            for e, i in zip(events, ids, strict=True)
        ]
        await asyncio.gather(*futures)
        return ids
    finally:
        await producer.stop()


class CountingHandler:
    """A deliberately non-idempotent effect (one row per application) so that a second
    application of the same event would show; optionally failing for chosen producers."""

    def __init__(
        self,
        label: str = "app",
        *,
        fail_first: dict[UUID, int] | None = None,
        always_fail: set[UUID] | None = None,
        slow: set[UUID] | None = None,
        delay: float = 0.0,
    ) -> None:
        self.label = label
        self.slow = set(slow or ())
        self.delay = delay
        self.fail_first = dict(fail_first or {})
        self.always_fail = set(always_fail or ())
        self.calls: dict[UUID, int] = {}

    def routes(self) -> EventRoutes:
        routes = EventRoutes()

        @routes.on(ProducerRegistered)
        async def on_producer_registered(
            conn: asyncpg.Connection, event: ProducerRegistered, delivery: Delivery
        ) -> None:
            pid = event.producer_id
            if pid in self.slow:
                await asyncio.sleep(self.delay)
            self.calls[pid] = self.calls.get(pid, 0) + 1
            if pid in self.always_fail:
                raise RuntimeError(f"handler always fails for {pid}")
            if self.calls[pid] <= self.fail_first.get(pid, 0):
                raise RuntimeError(f"transient failure {self.calls[pid]} for {pid}")
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS effects (producer_id uuid NOT NULL, event_id text NOT NULL,"
                " applied_by text NOT NULL, kafka_partition int NOT NULL, kafka_offset bigint NOT NULL)"
            )
            await conn.execute(
                "INSERT INTO effects VALUES ($1, $2, $3, $4, $5)",
                pid,
                delivery.envelope.id,
                self.label,
                delivery.partition,
                delivery.offset,
            )

        return routes


def counting_evaluation_app(
    make_settings: Settings, handler: CountingHandler, **overrides: Any
) -> Any:
    settings = make_settings(EvaluationSettings, **overrides)
    # Every record through the counting handler, none through evaluation's own batches.
    spec = replace(evaluation_spec(), routes=handler.routes(), batches=None)
    return create_service_app(settings, spec)


async def effect_positions(
    database_url: str, schema: str, applied_by: str
) -> list[tuple[int, int]]:
    """(partition, offset) of every record that ``applied_by`` applied."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            f"SELECT kafka_partition, kafka_offset FROM {schema}.effects WHERE applied_by = $1",
            applied_by,
        )
        return [(r[0], r[1]) for r in rows]
    finally:
        await conn.close()


async def effects(
    database_url: str, schema: str, producer_ids: list[UUID]
) -> list[tuple[UUID, str, str]]:
    """(producer_id, event_id, applied_by) of every application of these producers' events."""
    conn = await asyncpg.connect(database_url)
    try:
        exists = await conn.fetchval("SELECT to_regclass($1)", f"{schema}.effects")
        if not exists:
            return []
        rows = await conn.fetch(
            f"SELECT producer_id, event_id, applied_by FROM {schema}.effects WHERE producer_id = ANY($1::uuid[])",
            producer_ids,
        )
        return [(r["producer_id"], r["event_id"], r["applied_by"]) for r in rows]
    finally:
        await conn.close()
