"""Registry use cases: each one transaction of load -> domain -> save -> outbox."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

import asyncpg

from ocop_registry import domain, store, units
from ocop_registry.publishing import to_contract
from ocop_runtime.db import transaction
from ocop_runtime.outbox import stage_event

SERVICE = "registry"


class NotFound(LookupError):
    pass


async def _publish(conn: asyncpg.Connection, events: list[domain.DomainEvent]) -> None:
    for event in events:
        await stage_event(conn, to_contract(event), service=SERVICE)


async def load_admin_units(pool: asyncpg.Pool) -> None:
    """Fill the dated administrative units from the data shipped with the service."""
    units_, successions = units.load_dataset()
    async with transaction(pool, "load_admin_units") as conn:
        await store.load_admin_units(conn, units_, successions)


async def _check_commune(conn: asyncpg.Connection, code: str, now: datetime) -> None:
    domain.check_commune_valid_on(code, now.date(), await store.commune_versions(conn, code))


async def register_producer(pool: asyncpg.Pool, cmd: domain.RegisterProducer) -> domain.Producer:
    now = datetime.now(UTC)
    producer, events = domain.register_producer(cmd, producer_id=uuid4(), now=now)
    async with transaction(pool, "register_producer") as conn:
        await _check_commune(conn, producer.commune_code, now)
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
        now = datetime.now(UTC)
        updated, events = domain.update_producer(current, cmd, now=now)
        if updated.commune_code != current.commune_code:
            await _check_commune(conn, updated.commune_code, now)
        if events:
            await store.save_producer(conn, updated)
            await _publish(conn, events)
    return updated
