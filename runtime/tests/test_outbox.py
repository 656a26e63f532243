"""The outbox relay on the real PostgreSQL server and Kafka broker."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg

from ocop_contracts.events import ProducerRegistered
from ocop_runtime.db import create_pool
from ocop_runtime.kafka import read_all
from ocop_runtime.migrations import migrate
from ocop_runtime.outbox import OutboxRelay, kafka_producer, stage_event
from ocop_runtime.telemetry import Metrics
from ocop_runtime.testing import producer_registered, wait_until


async def test_relay_never_skips_a_row_committed_late_by_a_slower_transaction(
    database_url: str, kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    schema = f"outbox_{unique}"
    pool = await create_pool(database_url, schema, min_size=2, max_size=4)
    producer = kafka_producer(kafka_bootstrap)
    await producer.start()
    slow = await asyncpg.connect(database_url, server_settings={"search_path": schema})
    try:
        async with pool.acquire() as conn:
            await migrate(conn, schema, tmp_path)
        relay = OutboxRelay(
            pool, producer, schema=schema, metrics=Metrics("test"), poll_seconds=0.2
        )

        # The slow transaction takes the lower id first and commits last.
        early, late = producer_registered(), producer_registered()
        slow_tx = slow.transaction()
        await slow_tx.start()
        await stage_event(slow, early, service="registry")
        async with pool.acquire() as fast, fast.transaction():
            await stage_event(fast, late, service="registry")
        assert await relay.publish_pending() == 1  # only the committed row is visible
        await slow_tx.commit()
        ids = await pool.fetch("SELECT id, key FROM outbox ORDER BY id")
        assert [r["key"] for r in ids] == [early.key(), late.key()]  # lower id, committed later
        assert await relay.publish_pending() == 1  # the late row, not skipped
        assert await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0

        keys = {early.key().encode(), late.key().encode()}
        records = await wait_until(
            lambda: _records(kafka_bootstrap, keys), what="both records on the topic"
        )
        assert {r.key for r in records} == keys
    finally:
        await slow.close()
        await producer.stop()
        await pool.close()


async def _records(bootstrap: str, keys: set[bytes]) -> list[Any] | None:
    found = [r for _, r in await read_all(bootstrap, ProducerRegistered.TOPIC) if r.key in keys]
    return found if len(found) == len(keys) else None


async def test_relay_wakes_on_notify_without_waiting_for_the_poll(
    database_url: str, kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    # A poll interval far longer than the wait: only NOTIFY can wake the relay in time.
    await _second_row_is_published(
        database_url, kafka_bootstrap, f"outbox_{unique}", tmp_path, poll_seconds=600, notify=True
    )


async def test_relay_polls_for_rows_whose_notification_never_came(
    database_url: str, kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    await _second_row_is_published(
        database_url, kafka_bootstrap, f"outbox_{unique}", tmp_path, poll_seconds=0.3, notify=False
    )


async def _second_row_is_published(
    database_url: str,
    kafka_bootstrap: str,
    schema: str,
    migrations: Path,
    *,
    poll_seconds: float,
    notify: bool,
) -> None:
    """Bring the relay to its idle wait (a first row published), then stage a second row with
    or without its NOTIFY and wait for it to be published."""
    pool = await create_pool(database_url, schema, min_size=2, max_size=4)
    producer = kafka_producer(kafka_bootstrap)
    await producer.start()
    relay = OutboxRelay(
        pool, producer, schema=schema, metrics=Metrics("test"), poll_seconds=poll_seconds
    )
    try:
        async with pool.acquire() as conn:
            await migrate(conn, schema, migrations)
        await relay.start()
        await wait_until(lambda: _listening(pool, schema), what="the relay to LISTEN")
        async with pool.acquire() as conn, conn.transaction():
            await stage_event(conn, producer_registered(), service="registry")
        await wait_until(lambda: _published(pool, 1), what="the first row")
        async with pool.acquire() as conn, conn.transaction():
            if not notify:
                await conn.execute("ALTER TABLE outbox DISABLE TRIGGER outbox_notify")
            await stage_event(conn, producer_registered(), service="registry")
        await wait_until(lambda: _published(pool, 2), timeout_seconds=10, what="the second row")
    finally:
        await relay.stop()
        await producer.stop()
        await pool.close()


async def _listening(pool: asyncpg.Pool, schema: str) -> bool:
    channels = await pool.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE query LIKE $1",
        f"LISTEN %ocop_outbox_{schema}%",
    )
    return bool(channels)


async def _published(pool: asyncpg.Pool, n: int) -> bool:
    return bool(
        await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NOT NULL") >= n
    )
