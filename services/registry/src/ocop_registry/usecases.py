"""Registry use cases: each one transaction of load -> domain -> save -> outbox."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

import asyncpg

from ocop_registry import domain, store
from ocop_registry.publishing import to_contract
from ocop_runtime.db import transaction
from ocop_runtime.outbox import stage_event

SERVICE = "registry"


class NotFound(LookupError):
    pass


async def _publish(conn: asyncpg.Connection, events: list[domain.DomainEvent]) -> None:
    for event in events:
        await stage_event(conn, to_contract(event), service=SERVICE)


async def register_producer(pool: asyncpg.Pool, cmd: domain.RegisterProducer) -> domain.Producer:
    producer, events = domain.register_producer(cmd, producer_id=uuid4(), now=datetime.now(UTC))
    async with transaction(pool, "register_producer") as conn:
        await store.insert_producer(conn, producer)
        await _publish(conn, events)
    return producer


async def update_producer(
    pool: asyncpg.Pool, producer_id: UUID, cmd: domain.UpdateProducer
) -> domain.Producer:
    async with transaction(pool, "update_producer") as conn:
        # The row lock orders concurrent updates of one producer, so their outbox ids (and
        # Kafka order) follow their commit order.
        current = await store.get_producer(conn, producer_id, for_update=True)
        if current is None:
            raise NotFound(f"producer {producer_id} is not registered")
        updated, events = domain.update_producer(current, cmd, now=datetime.now(UTC))
        if events:
            await store.save_producer(conn, updated)
            await _publish(conn, events)
    return updated
