"""The outbox relay on the real PostgreSQL server and Kafka broker."""

from __future__ import annotations

import asyncio
import functools
import gc
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.admin import NewTopic

from ocop_contracts.events import ProducerRegistered
from ocop_runtime.db import create_pool
from ocop_runtime.kafka import admin_client, read_all
from ocop_runtime.migrations import migrate
from ocop_runtime.outbox import (
    BACKLOG_EXACT_UP_TO,
    Housekeeper,
    OutboxRelay,
    kafka_producer,
    outbox_stats,
    parked_rows,
    retry_parked,
    stage_event,
)
from ocop_runtime.telemetry import Metrics
from ocop_runtime.testing import producer_registered, wait_until


def _factory(bootstrap: str, **overrides: Any) -> Callable[[], AIOKafkaProducer]:
    return functools.partial(kafka_producer, bootstrap, **overrides)


@asynccontextmanager
async def _schema(database_url: str, schema: str, migrations: Path) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, schema, min_size=2, max_size=6)
    try:
        async with pool.acquire() as conn:
            await migrate(conn, schema, migrations)
        yield pool
    finally:
        await pool.close()


@asynccontextmanager
async def _relay(pool: asyncpg.Pool, bootstrap: str, **options: Any) -> AsyncIterator[OutboxRelay]:
    factory = _factory(bootstrap, **options.pop("producer", {}))
    relay = OutboxRelay(pool, factory, **{"metrics": Metrics("test"), **options})
    try:
        yield relay
    finally:
        await relay.stop()


async def _stage(pool: asyncpg.Pool, topic: str, rows: list[tuple[str, str]]) -> list[int]:
    """Outbox rows for ``topic`` of (key, payload), committed together; their ids in order."""
    now = datetime.now(UTC)
    async with pool.acquire() as conn, conn.transaction():
        return [
            await conn.fetchval(
                "INSERT INTO outbox (event_id, topic, key, ce_type, ce_source, ce_time, payload)"
                " VALUES ($1, $2, $3, 'vn.hanoi.ocop.test.Probe.v1', '/ocop/test', $4, $5)"
                " RETURNING id",
                uuid4(),
                topic,
                key,
                now,
                payload,
            )
            for key, payload in rows
        ]


async def _topic(bootstrap: str, name: str, **configs: str) -> str:
    async with admin_client(bootstrap) as admin:
        await admin.create_topics([NewTopic(name, 1, 1, topic_configs=configs)])
    return name


async def _on_topic(bootstrap: str, topic: str, n: int) -> list[Any] | None:
    records = [r for _, r in await read_all(bootstrap, topic)]
    return records if len(records) >= n else None


async def _state(pool: asyncpg.Pool, ids: list[int]) -> list[str]:
    rows = await pool.fetch(
        "SELECT CASE WHEN published_at IS NOT NULL THEN 'published'"
        " WHEN parked_reason LIKE 'waiting%' THEN 'waiting'"
        " WHEN parked_at IS NOT NULL THEN 'parked' ELSE 'pending' END AS state"
        " FROM outbox WHERE id = ANY($1::bigint[]) ORDER BY id",
        ids,
    )
    return [r["state"] for r in rows]


async def test_relay_never_skips_a_row_committed_late_by_a_slower_transaction(
    database_url: str, kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    schema = f"outbox_{unique}"
    async with (
        _schema(database_url, schema, tmp_path) as pool,
        _relay(pool, kafka_bootstrap, schema=schema, poll_seconds=0.2) as relay,
    ):
        slow = await asyncpg.connect(database_url, server_settings={"search_path": schema})
        try:
            # The slow transaction takes the lower id first and commits last.
            early, late = producer_registered(), producer_registered()
            slow_tx = slow.transaction()
            await slow_tx.start()
            await stage_event(slow, early, service="registry")
            async with pool.acquire() as fast, fast.transaction():
                await stage_event(fast, late, service="registry")
            assert await relay.publish_pending() == 1  # only the committed row is visible
            await slow_tx.commit()
        finally:
            await slow.close()
        ids = await pool.fetch("SELECT id, key FROM outbox ORDER BY id")
        assert [r["key"] for r in ids] == [early.key(), late.key()]  # lower id, committed later
        assert await relay.publish_pending() == 1  # the late row, not skipped
        assert await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0

    keys = {early.key().encode(), late.key().encode()}
    records = await wait_until(
        lambda: _records(kafka_bootstrap, keys), what="both records on the topic"
    )
    assert {r.key for r in records} == keys


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
    async with (
        _schema(database_url, schema, migrations) as pool,
        _relay(pool, kafka_bootstrap, schema=schema, poll_seconds=poll_seconds) as relay,
    ):
        await relay.start()
        # LISTEN comes first on the connection that then takes the relay lock.
        await wait_until(lambda: _active(relay), what="the relay to LISTEN and hold the lock")
        async with pool.acquire() as conn, conn.transaction():
            await stage_event(conn, producer_registered(), service="registry")
        await wait_until(lambda: _published(pool, 1), what="the first row")
        async with pool.acquire() as conn, conn.transaction():
            if not notify:
                await conn.execute("ALTER TABLE outbox DISABLE TRIGGER outbox_notify")
            await stage_event(conn, producer_registered(), service="registry")
        await wait_until(lambda: _published(pool, 2), timeout_seconds=10, what="the second row")


async def _active(relay: OutboxRelay) -> bool:
    return relay.role == "active"


async def _holding(relay: OutboxRelay, n: int) -> bool:
    """Whether the relay's producer holds ``n`` records sent and not yet acknowledged."""
    accumulator = getattr(relay._producer, "_message_accumulator", None)
    if accumulator is None:
        return False
    batches = [b for q in accumulator._batches.values() for b in q]
    return sum(len(b._msg_futures) for b in batches) == n


async def _published(pool: asyncpg.Pool, n: int) -> bool:
    return bool(
        await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NOT NULL") >= n
    )


async def test_a_row_too_large_is_parked_its_key_waits_other_keys_flow_and_a_retry_resends_in_order(
    database_url: str, kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    schema = f"outbox_{unique}"
    topic = await _topic(kafka_bootstrap, f"ocop.test.parking.{unique}")
    too_large = '{"blob": "' + "x" * 1_100_000 + '"}'  # above the producer's 1 MiB request
    async with (
        _schema(database_url, schema, tmp_path) as pool,
        _relay(pool, kafka_bootstrap, schema=schema) as relay,
    ):
        a1, a2, a3, b1 = await _stage(
            pool, topic, [("a", '{"n": 1}'), ("a", too_large), ("a", '{"n": 3}'), ("b", "{}")]
        )
        assert await relay.publish_pending() == 2
        assert await _state(pool, [a1, a2, a3, b1]) == [
            "published",
            "parked",
            "waiting",
            "published",
        ]
        [head, behind] = await parked_rows(pool)
        assert (head.id, behind.id) == (a2, a3)
        assert head.reason.startswith("MessageSizeTooLargeError")
        assert behind.reason == f"waiting behind parked row {a2}"
        stats = await outbox_stats(pool)
        assert (stats.backlog, stats.parked) == (0, 2)

        # A later row of the waiting key waits too; a retry with the cause still there parks
        # the key again, in the same order.
        [a4] = await _stage(pool, topic, [("a", '{"n": 4}')])
        assert await relay.publish_pending() == 0
        assert await _state(pool, [a2, a3, a4]) == ["parked", "waiting", "waiting"]
        assert await retry_parked(pool, [a3]) == 3  # any row of the key releases the key
        assert await relay.publish_pending() == 0
        assert await _state(pool, [a2, a3, a4]) == ["parked", "waiting", "waiting"]

        # The cause removed (the payload made smaller), the key's rows go out in order.
        await pool.execute("UPDATE outbox SET payload = '{\"n\": 2}' WHERE id = $1", a2)
        assert await retry_parked(pool) == 3
        assert await relay.publish_pending() == 3
        assert (await outbox_stats(pool)).parked == 0

    records = await wait_until(lambda: _on_topic(kafka_bootstrap, topic, 5), what="5 records")
    by_key = [(r.key, r.value) for r in records]
    assert [v for k, v in by_key if k == b"a"] == [
        b'{"n": 1}',
        b'{"n": 2}',
        b'{"n": 3}',
        b'{"n": 4}',
    ]


async def test_a_request_the_broker_refuses_is_resent_record_by_record_and_only_the_culprit_parked(
    database_url: str, kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    schema = f"outbox_{unique}"
    # The broker accepts at most 4 KiB a batch on this topic; the producer allows 1 MiB, so the
    # broker refuses the whole request holding the large record, its neighbours with it.
    topic = await _topic(
        kafka_bootstrap, f"ocop.test.refused.{unique}", **{"max.message.bytes": "4096"}
    )
    metrics = Metrics("test")
    async with (
        _schema(database_url, schema, tmp_path) as pool,
        _relay(pool, kafka_bootstrap, schema=schema, metrics=metrics, retry_seconds=0.1) as relay,
    ):
        rows = [(f"k{i}", f'{{"n": {i}}}') for i in range(6)]
        rows.insert(3, ("big", '{"blob": "' + "x" * 6000 + '"}'))
        ids = await _stage(pool, topic, rows)
        await relay.start()
        await wait_until(
            lambda: _settled(pool, len(ids)), timeout_seconds=30, what="every row settled"
        )
        states = await _state(pool, ids)
        assert states == ["published"] * 3 + ["parked"] + ["published"] * 3
        [parked] = await parked_rows(pool)
        assert parked.key == "big"
        assert parked.reason.startswith("MessageSizeTooLargeError")
        failures = metrics.registry.get_sample_value(
            "ocop_outbox_relay_failures_total", {"error": "MessageSizeTooLargeError"}
        )
        assert failures and failures >= 1
    records = await wait_until(lambda: _on_topic(kafka_bootstrap, topic, 6), what="6 records")
    assert sorted({r.key for r in records}) == sorted(f"k{i}".encode() for i in range(6))


async def _settled(pool: asyncpg.Pool, n: int) -> bool:
    done = await pool.fetchval(
        "SELECT count(*) FROM outbox WHERE published_at IS NOT NULL OR parked_at IS NOT NULL"
    )
    return bool(done >= n)


async def test_a_row_for_a_topic_that_does_not_exist_is_parked(
    database_url: str, kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    schema = f"outbox_{unique}"
    topic = await _topic(kafka_bootstrap, f"ocop.test.exists.{unique}")
    missing = f"ocop.test.missing.{unique}"
    async with (
        _schema(database_url, schema, tmp_path) as pool,
        _relay(
            pool, kafka_bootstrap, schema=schema, producer={"request_timeout_ms": 1500}
        ) as relay,
    ):
        [lost] = await _stage(pool, missing, [("a", "{}")])
        [fine] = await _stage(pool, topic, [("b", "{}")])
        assert await relay.publish_pending() == 1
        assert await _state(pool, [lost, fine]) == ["parked", "published"]
        [parked] = await parked_rows(pool)
        assert parked.reason == f"unknown topic {missing}"


async def test_one_relay_per_schema_publishes_and_another_takes_over_when_it_stops(
    database_url: str, kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    schema = f"outbox_{unique}"
    topic = await _topic(kafka_bootstrap, f"ocop.test.lock.{unique}")
    async with (
        _schema(database_url, schema, tmp_path) as pool,
        _relay(pool, kafka_bootstrap, schema=schema) as first,
        _relay(pool, kafka_bootstrap, schema=schema) as second,
    ):
        ids = await _stage(pool, topic, [("a", "{}"), ("b", "{}")])
        assert await first.publish_pending() == 2
        ids += await _stage(pool, topic, [("a", "{}")])
        assert await second.publish_pending() == 0
        assert (first.role, second.role) == ("active", "standby")
        # The lock is a session lock on the relay's own connection: no transaction stays open.
        idle_in_transaction = await pool.fetchval(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE application_name = $1 AND state LIKE 'idle in transaction%'",
            f"ocop-{schema}",
        )
        assert idle_in_transaction == 0
        await first.stop()
        assert await second.publish_pending() == 1
        assert second.role == "active"
        assert await _state(pool, ids) == ["published"] * 3


async def test_a_relay_stopped_while_awaiting_acknowledgements_leaves_no_failure_unretrieved(
    database_url: str, kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    # The producer holds its batch for a minute: the relay is stopped with records sent and
    # unacknowledged, and the producer it discards fails them. Nothing may be left for asyncio
    # to report as "Future exception was never retrieved" (it did, once per record, whenever a
    # service stopped mid-pass); the rows stay unpublished for the next relay.
    schema = f"outbox_{unique}"
    topic = await _topic(kafka_bootstrap, f"ocop.test.stop.{unique}")
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _, context: reported.append(context))
    try:
        async with _schema(database_url, schema, tmp_path) as pool:
            ids = await _stage(pool, topic, [("a", "{}"), ("b", "{}"), ("c", "{}")])
            async with _relay(
                pool, kafka_bootstrap, schema=schema, producer={"linger_ms": 60_000}
            ) as relay:
                await relay.start()
                await wait_until(
                    lambda: _holding(relay, 3), timeout_seconds=10, what="the rows sent"
                )
            gc.collect()
            assert await _state(pool, ids) == ["pending"] * 3
    finally:
        loop.set_exception_handler(previous)
    assert [c.get("message") for c in reported] == []


async def test_backlog_is_exact_up_to_a_cap_and_an_upper_bound_above_it(
    database_url: str, unique: str, tmp_path: Path
) -> None:
    schema = f"outbox_{unique}"
    async with _schema(database_url, schema, tmp_path) as pool:
        insert = (
            "INSERT INTO outbox (event_id, topic, key, ce_type, ce_source, ce_time, payload)"
            " SELECT gen_random_uuid(), 't', 'k' || i, 'c', 's', now(), '{}'"
            " FROM generate_series(1, $1) AS i"
        )
        await pool.execute(insert, 50)
        await pool.execute("UPDATE outbox SET published_at = now() WHERE id <= 10")
        stats = await outbox_stats(pool)
        assert (stats.backlog, stats.backlog_exact, stats.parked) == (40, True, 0)
        await pool.execute(insert, 2 * BACKLOG_EXACT_UP_TO)
        await pool.execute("UPDATE outbox SET published_at = now() WHERE id % 2 = 0 AND id > 50")
        stats = await outbox_stats(pool)
        pending = await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        assert pending > BACKLOG_EXACT_UP_TO
        assert not stats.backlog_exact
        assert pending <= stats.backlog <= 2 * BACKLOG_EXACT_UP_TO + 40
        assert stats.oldest_seconds >= 0


async def test_housekeeping_deletes_published_and_inbox_rows_past_their_retention_in_small_batches(
    database_url: str, unique: str, tmp_path: Path
) -> None:
    schema = f"outbox_{unique}"
    async with _schema(database_url, schema, tmp_path) as pool:
        await pool.execute(
            "INSERT INTO outbox (event_id, topic, key, ce_type, ce_source, ce_time, payload,"
            " created_at, published_at)"
            " SELECT gen_random_uuid(), 't', 'k', 'c', 's', now(), '{}',"
            "  now() - interval '9 days',"
            "  CASE WHEN i <= 20 THEN now() - interval '8 days'"  # old and published: deleted
            "       WHEN i <= 25 THEN now() - interval '1 hour' END"  # recent, or never published
            " FROM generate_series(1, 28) AS i"
        )
        await pool.execute(
            "INSERT INTO inbox (consumer, topic, source, event_id, ce_type, kafka_partition,"
            " kafka_offset, processed_at)"
            " SELECT 'c', 't', 's', 'e' || i, 'c', 0, i,"
            "  now() - CASE WHEN i <= 10 THEN interval '31 days' ELSE interval '1 day' END"
            " FROM generate_series(1, 12) AS i"
        )
        metrics = Metrics("test")
        housekeeper = Housekeeper(
            pool,
            metrics=metrics,
            outbox_retention_hours=7 * 24,
            inbox_retention_hours=30 * 24,
            batch_size=7,
        )
        assert await housekeeper.run_once() == {"outbox": 20, "inbox": 10}
        assert await pool.fetchval("SELECT count(*) FROM outbox") == 8
        assert await pool.fetchval("SELECT count(*) FROM inbox") == 2
        assert await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 3
        sample = metrics.registry.get_sample_value
        assert sample("ocop_housekeeping_deleted_total", {"table": "outbox"}) == 20
        assert sample("ocop_housekeeping_deleted_total", {"table": "inbox"}) == 10
        assert await housekeeper.run_once() == {"outbox": 0, "inbox": 0}
