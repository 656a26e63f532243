"""The outbox relay under real faults: the registry runs as its own OS process (``python -m
ocop_registry``), is SIGKILLed and restarted, and the test broker is stopped and started while
the relay has work in flight. Rows are staged straight into the service's outbox, for a topic of
the test's own that the registry's Kafka principal may write; every check of order reads the
topic itself, partition by partition, to its end offsets."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import NewTopic

from ocop_runtime.db import create_pool
from ocop_runtime.kafka import TopicNames, admin_client, client_options, start_client
from ocop_runtime.kafka_security import Binding, Operation, Pattern, Resource, create_acls
from ocop_runtime.outbox import retry_parked
from ocop_runtime.testing import wait_until
from tests.processes import ServiceProcess, broker, service_process

SERVICE = "registry"  # its Kafka principal is the one the relay writes with


@pytest.fixture(autouse=True)
def _own_topics() -> Iterator[TopicNames]:
    """Each test here creates the one topic its rows go to and grants the registry's principal
    that topic alone (to fault it for real): the services run without a topic prefix."""
    yield TopicNames()


CE_TYPE = "vn.hanoi.ocop.test.RelayProbe.v1"


# -- the test's topics and rows ------------------------------------------------------------


async def _topic(bootstrap: str, name: str, *, writable: bool = True, partitions: int = 3) -> str:
    async with admin_client(bootstrap) as admin:
        await admin.create_topics([NewTopic(name, partitions, 1)])
    if writable:
        await _grant_write(bootstrap, name)
    return name


async def _grant_write(bootstrap: str, topic: str) -> None:
    async with admin_client(bootstrap) as admin:
        await create_acls(
            admin,
            [
                Binding(SERVICE, Resource.TOPIC, topic, Pattern.LITERAL, op)
                for op in (Operation.WRITE, Operation.DESCRIBE)
            ],
        )


@dataclass
class Staged:
    """Rows staged in one schema's outbox: ce_id -> (topic, key, seq); seq counts per key."""

    rows: dict[str, tuple[str, str, int]] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)  # ce_id -> outbox id
    next_seq: Counter[str] = field(default_factory=Counter)

    def expected(self, topic: str) -> dict[str, list[int]]:
        by_key: dict[str, list[int]] = defaultdict(list)
        for t, key, seq in self.rows.values():
            if t == topic:
                by_key[key].append(seq)
        return {k: sorted(v) for k, v in by_key.items()}


async def _stage(
    conn: asyncpg.Connection,
    schema: str,
    staged: Staged,
    topic: str,
    keys: Iterable[str],
    *,
    payload: str | None = None,
) -> list[str]:
    """One row per key (in one transaction, so one NOTIFY); their ce_ids in id order. The rows
    count as staged once committed."""
    out = []
    now = datetime.now(UTC)
    written: list[tuple[str, str, int, int]] = []
    async with conn.transaction():
        for key in keys:
            staged.next_seq[key] += 1
            seq = staged.next_seq[key]
            ce_id = str(uuid4())
            row_id = await conn.fetchval(
                f"INSERT INTO {schema}.outbox (event_id, topic, key, ce_type, ce_source, ce_time,"
                " payload) VALUES ($1, $2, $3, $4, '/ocop/registry', $5, $6) RETURNING id",
                UUID(ce_id),
                topic,
                key,
                CE_TYPE,
                now,
                payload or json.dumps({"key": key, "seq": seq}),
            )
            written.append((ce_id, key, seq, row_id))
    for ce_id, key, seq, row_id in written:
        staged.rows[ce_id] = (topic, key, seq)
        staged.ids[ce_id] = row_id
        out.append(ce_id)
    return out


@contextlib.asynccontextmanager
async def _database(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(database_url)
    try:
        yield conn
    finally:
        await conn.close()


async def _count(conn: asyncpg.Connection, schema: str, where: str) -> int:
    n: int = await conn.fetchval(f"SELECT count(*) FROM {schema}.outbox WHERE {where}")
    return n


async def _all_published(conn: asyncpg.Connection, schema: str, n: int) -> bool:
    return await _count(conn, schema, "published_at IS NOT NULL") >= n


# -- reading the topic to its end ----------------------------------------------------------


async def _read_to_end(bootstrap: str, topic: str) -> dict[int, list[Any]]:
    """Every record of every partition of ``topic``, from the beginning to the end offsets."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, **client_options(None)
    )
    await start_client(consumer)
    try:
        metadata = await consumer._client.fetch_all_metadata()
        tps = [TopicPartition(topic, p) for p in sorted(metadata.partitions_for_topic(topic) or ())]
        assert tps, f"no partitions for {topic}"
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        out: dict[int, list[Any]] = {tp.partition: [] for tp in tps}
        deadline = time.monotonic() + 60
        remaining = [tp for tp in tps if await consumer.position(tp) < ends[tp]]
        while remaining:
            assert time.monotonic() < deadline, f"could not read {topic} to its end offsets"
            batch = await consumer.getmany(*remaining, timeout_ms=500)
            for tp, records in batch.items():
                out[tp.partition].extend(r for r in records if r.offset < ends[tp])
            remaining = [tp for tp in remaining if await consumer.position(tp) < ends[tp]]
        return out
    finally:
        await consumer.stop()


def _header(record: Any, name: str) -> str | None:
    return next((bytes(v).decode() for k, v in record.headers if k == name), None)


async def _check_topic(bootstrap: str, topic: str, staged: Staged) -> Counter[str]:
    """Assert what the topic holds: only staged rows; each key on one partition; per key, the
    first copies in staging order and none missing; a duplicate is a re-send of the same
    ce_id (same key and sequence). Return the copies per ce_id."""
    copies: Counter[str] = Counter()
    firsts: dict[str, list[int]] = defaultdict(list)
    partition_of: dict[str, int] = {}
    for partition, records in (await _read_to_end(bootstrap, topic)).items():
        for record in records:
            ce_id = _header(record, "ce_id")
            assert ce_id in staged.rows, f"a record that is no staged row: ce_id {ce_id}"
            _, key, seq = staged.rows[ce_id]
            assert record.key == key.encode()
            assert json.loads(record.value) == {"key": key, "seq": seq}
            assert partition_of.setdefault(key, partition) == partition
            copies[ce_id] += 1
            if copies[ce_id] == 1:
                firsts[key].append(seq)
    expected = staged.expected(topic)
    assert set(firsts) == set(expected)
    for key, seqs in expected.items():
        assert firsts[key] == seqs, f"key {key}: first copies in order {firsts[key]}"
    return copies


# -- a writer that keeps staging while faults happen ---------------------------------------


class Writer:
    """Stages ``per_tick`` rows (round-robin over ``keys``) every ``interval`` seconds until
    stopped, on a connection of its own, like use cases committing while the relay works."""

    def __init__(
        self,
        database_url: str,
        schema: str,
        staged: Staged,
        topic: str,
        keys: list[str],
        *,
        per_tick: int = 10,
        interval: float = 0.05,
    ) -> None:
        self._database_url = database_url
        self._args = (schema, staged, topic)
        self._keys = keys
        self._per_tick = per_tick
        self._interval = interval
        self._task: asyncio.Task[None] | None = None
        self._turn = 0
        self._stopping = False

    async def _run(self) -> None:
        async with _database(self._database_url) as conn:
            while not self._stopping:
                batch = [
                    self._keys[(self._turn + i) % len(self._keys)] for i in range(self._per_tick)
                ]
                self._turn += self._per_tick
                await _stage(conn, *self._args, batch)
                await asyncio.sleep(self._interval)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Let the current transaction finish (a cancelled COMMIT leaves unknown whether its
        rows were staged), then end."""
        self._stopping = True
        if self._task is not None:
            await self._task


# -- the faults ------------------------------------------------------------------------------


async def test_relay_sigkilled_between_send_and_stamp_resends_every_row_with_its_ce_id(
    kafka_bootstrap: str, database_url: str, unique: str, tmp_path: Path
) -> None:
    schema = f"registry_{unique}"
    topic = await _topic(kafka_bootstrap, f"ocop.test.relay.{unique}")
    staged = Staged()
    async with (
        _database(database_url) as conn,
        service_process(
            SERVICE,
            database_url=database_url,
            kafka_bootstrap=kafka_bootstrap,
            schema=schema,
            log_dir=tmp_path,
            relay_test_pause_after_send_seconds=120,
        ) as registry,
    ):
        # One transaction, so that the relay's first pass takes all 60 rows.
        await _stage(conn, schema, staged, topic, [f"k{i}" for i in range(6)] * 10)

        async def acknowledged_not_stamped() -> bool:
            on_topic = sum(len(r) for r in (await _read_to_end(kafka_bootstrap, topic)).values())
            return on_topic >= 60

        await wait_until(acknowledged_not_stamped, what="the broker to acknowledge all 60 rows")
        # The relay is in its window: acknowledged, not stamped. Kill it there.
        assert await _count(conn, schema, "published_at IS NULL") == 60
        await registry.kill()
        assert await _count(conn, schema, "published_at IS NULL") == 60

        await registry.start(relay_test_pause_after_send_seconds=0)
        await wait_until(lambda: _all_published(conn, schema, 60), what="all rows stamped")

    copies = await _check_topic(kafka_bootstrap, topic, staged)
    # Every row was acknowledged before the kill and sent again after it, with its own ce_id.
    assert set(copies.values()) == {2}, copies


async def test_broker_stopped_with_batches_in_flight_then_started_publishes_every_row_in_order(
    kafka_bootstrap: str, database_url: str, unique: str, tmp_path: Path
) -> None:
    schema = f"registry_{unique}"
    topic = await _topic(kafka_bootstrap, f"ocop.test.relay.{unique}")
    staged = Staged()
    async with (
        _database(database_url) as conn,
        service_process(
            SERVICE,
            database_url=database_url,
            kafka_bootstrap=kafka_bootstrap,
            schema=schema,
            log_dir=tmp_path,
            relay_batch_size=20,
            relay_send_timeout_seconds=5,
            relay_retry_seconds=0.5,
            relay_poll_seconds=0.2,
        ) as registry,
    ):
        writer = Writer(database_url, schema, staged, topic, [f"k{i}" for i in range(24)])
        writer.start()
        try:
            await wait_until(
                lambda: _all_published(conn, schema, 100), what="the relay to be publishing"
            )
            await broker("stop")
            try:
                # Down until batches queued while the broker is away have failed (the send
                # timeout, 5 s): the failure that left the old relay stuck.
                async def failed() -> bool:
                    return await registry.metric("ocop_outbox_relay_failures_total") > 0

                await wait_until(failed, timeout_seconds=60, what="a failed send")
            finally:
                await broker("start")
            restarted_at = len(staged.rows)

            async def written_after_restart() -> bool:
                return len(staged.rows) >= restarted_at + 50

            await wait_until(written_after_restart, what="rows staged after the restart")
        finally:
            await writer.stop()
        total = len(staged.rows)
        await wait_until(
            lambda: _all_published(conn, schema, total),
            timeout_seconds=120,
            what=f"all {total} rows published after the broker returned",
        )
        failures = await registry.metric("ocop_outbox_relay_failures_total")
        assert failures > 0, "the relay never took its retry path"
        await registry.wait_ready()  # healthy again

    copies = await _check_topic(kafka_bootstrap, topic, staged)
    assert len(copies) == total


async def test_a_row_that_can_never_be_published_is_parked_its_key_waits_other_keys_flow(
    kafka_bootstrap: str, database_url: str, unique: str, tmp_path: Path
) -> None:
    schema = f"registry_{unique}"
    topic = await _topic(kafka_bootstrap, f"ocop.test.relay.{unique}")
    forbidden = await _topic(kafka_bootstrap, f"ocop.test.forbidden.{unique}", writable=False)
    staged = Staged()
    too_large = json.dumps({"blob": "x" * 1_100_000})  # above the producer's 1 MiB request
    async with (
        _database(database_url) as conn,
        service_process(
            SERVICE,
            database_url=database_url,
            kafka_bootstrap=kafka_bootstrap,
            schema=schema,
            log_dir=tmp_path,
        ) as registry,
    ):
        [a1] = await _stage(conn, schema, staged, topic, ["a"])
        [a2] = await _stage(conn, schema, staged, forbidden, ["a"])
        [c1] = await _stage(conn, schema, staged, topic, ["c"], payload=too_large)
        [a3, c2, b1] = await _stage(conn, schema, staged, topic, ["a", "c", "b"])
        [b2] = await _stage(conn, schema, staged, topic, ["b"])
        for never_sent in (c1, c2):
            del staged.rows[never_sent]

        async def state() -> dict[str, str]:
            rows = await conn.fetch(
                f"SELECT event_id::text AS ce_id, CASE WHEN published_at IS NOT NULL THEN 'sent'"
                " WHEN parked_reason LIKE 'waiting%' THEN 'waiting'"
                " WHEN parked_at IS NOT NULL THEN 'parked' ELSE 'pending' END AS state"
                f" FROM {schema}.outbox"
            )
            return {r["ce_id"]: r["state"] for r in rows}

        parked_state = {
            a1: "sent",
            a2: "parked",
            a3: "waiting",
            b1: "sent",
            b2: "sent",
            c1: "parked",
            c2: "waiting",
        }

        async def settled_as(expected: dict[str, str]) -> bool:
            return await state() == expected

        await wait_until(lambda: settled_as(parked_state), what="the rows to be parked or sent")
        reasons = {
            str(r["event_id"]): r["parked_reason"]
            for r in await conn.fetch(f"SELECT event_id, parked_reason FROM {schema}.outbox")
        }
        assert reasons[a2].startswith("TopicAuthorizationFailedError")
        assert reasons[c1].startswith("MessageSizeTooLargeError")
        assert reasons[a3] == f"waiting behind parked row {staged.ids[a2]}"
        assert reasons[c2] == f"waiting behind parked row {staged.ids[c1]}"
        status = await registry.json("/status")
        assert (status["outbox_parked"], status["outbox_backlog"]) == (4, 0)

        async def parked_gauge() -> bool:
            return await registry.metric("ocop_outbox_parked") == 4

        await wait_until(parked_gauge, what="the parked gauge")
        assert await registry.metric("ocop_outbox_relay_healthy") == 1

        pool = await create_pool(database_url, schema, min_size=1, max_size=2)
        try:
            # Retried with the cause still there: parked again, the key still waits.
            assert await retry_parked(pool, [staged.ids[a2]]) == 2
            await wait_until(lambda: settled_as(parked_state), what="a2 parked again")
            # The cause removed (the service may now write the topic): the key goes out in order.
            await _grant_write(kafka_bootstrap, forbidden)

            async def sent_after_a_retry() -> bool:
                current = await state()
                if current[a2] == "parked":  # retried before the broker applied the grant
                    await retry_parked(pool, [staged.ids[a2]])
                return current == {**parked_state, a2: "sent", a3: "sent"}

            await wait_until(sent_after_a_retry, interval=1, what="a2 and a3 sent after a retry")
        finally:
            await pool.close()
        stamps = {
            str(r["event_id"]): r["published_at"]
            for r in await conn.fetch(f"SELECT event_id, published_at FROM {schema}.outbox")
        }
        assert stamps[a1] < stamps[a2] <= stamps[a3]

    copies = await _check_topic(kafka_bootstrap, topic, staged)  # a1, a3, b1, b2 in order
    assert c2 not in copies
    assert set(copies.values()) == {1}
    on_forbidden = [
        r for rs in (await _read_to_end(kafka_bootstrap, forbidden)).values() for r in rs
    ]
    assert [_header(r, "ce_id") for r in on_forbidden] == [a2]


async def test_two_relays_on_one_schema_publish_one_at_a_time_and_lose_nothing(
    kafka_bootstrap: str, database_url: str, unique: str, tmp_path: Path
) -> None:
    schema = f"registry_{unique}"
    topic = await _topic(kafka_bootstrap, f"ocop.test.relay.{unique}")
    staged = Staged()
    common: dict[str, Any] = {
        "database_url": database_url,
        "kafka_bootstrap": kafka_bootstrap,
        "schema": schema,
        "log_dir": tmp_path,
        "relay_batch_size": 25,
        "relay_poll_seconds": 0.2,
    }
    published = ("ocop_events_published_total", {"topic": topic})

    async def lock_holders(conn: asyncpg.Connection) -> int:
        n: int = await conn.fetchval(
            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)"
            " WHERE l.locktype = 'advisory' AND l.granted AND a.application_name = $1",
            f"ocop-{schema}",
        )
        return n

    async with (
        _database(database_url) as conn,
        service_process(SERVICE, **common) as first,
        service_process(SERVICE, **common) as second,
    ):

        async def one_active() -> dict[ServiceProcess, str] | None:
            found = {p: (await p.json("/status"))["relay"] for p in (first, second)}
            return found if sorted(found.values()) == ["active", "standby"] else None

        roles = await wait_until(one_active, what="one active relay and one standing by")
        active = first if roles[first] == "active" else second
        standby = second if active is first else first

        writer = Writer(
            database_url, schema, staged, topic, [f"k{i}" for i in range(12)], per_tick=6
        )
        writer.start()
        try:
            await wait_until(lambda: _all_published(conn, schema, 150), what="publishing")
            for _ in range(5):
                assert await lock_holders(conn) == 1
                await asyncio.sleep(0.1)
            assert await standby.metric(*published) == 0
            assert await active.metric(*published) > 0
            await active.kill()  # mid-stream

            async def taken_over() -> bool:
                return (await standby.json("/status"))["relay"] == "active"

            await wait_until(taken_over, what="the standby relay to take the lock")
            before = await standby.metric(*published)

            async def survivor_publishing() -> bool:
                return await standby.metric(*published) > before

            await wait_until(survivor_publishing, what="the survivor to publish")
        finally:
            await writer.stop()
        total = len(staged.rows)
        try:
            await wait_until(
                lambda: _all_published(conn, schema, total),
                timeout_seconds=60,
                what="all rows published",
            )
        except AssertionError as exc:
            status = await standby.json("/status")
            raise AssertionError(f"{exc}; survivor: {status}\n{standby.log_tail(30)}") from None
        assert await standby.metric(*published) > before
        assert await lock_holders(conn) == 1

    copies = await _check_topic(kafka_bootstrap, topic, staged)
    assert len(copies) == total


async def test_relay_waiting_on_a_broker_that_does_not_come_back_stays_responsive_and_not_ready(
    kafka_bootstrap: str, database_url: str, unique: str, tmp_path: Path
) -> None:
    schema = f"registry_{unique}"
    topic = await _topic(kafka_bootstrap, f"ocop.test.relay.{unique}")
    staged = Staged()
    seen_idle_in_transaction: list[str] = []

    async def watch_transactions() -> None:
        """Sample the service's connections all along the outage."""
        async with _database(database_url) as watcher:
            while True:
                seen_idle_in_transaction.extend(
                    r["query"]
                    for r in await watcher.fetch(
                        "SELECT query FROM pg_stat_activity"
                        " WHERE application_name = $1 AND state LIKE 'idle in transaction%'",
                        f"ocop-{schema}",
                    )
                )
                await asyncio.sleep(0.05)

    async with (
        _database(database_url) as conn,
        service_process(
            SERVICE,
            database_url=database_url,
            kafka_bootstrap=kafka_bootstrap,
            schema=schema,
            log_dir=tmp_path,
            relay_send_timeout_seconds=3,
            relay_unhealthy_after_seconds=5,
            relay_retry_seconds=0.5,
        ) as registry,
    ):
        # The relay's producer is connected when the broker goes away under it.
        await _stage(conn, schema, staged, topic, [f"k{i}" for i in range(10)])
        await wait_until(lambda: _all_published(conn, schema, 10), what="the first rows")
        await broker("stop")
        watcher = asyncio.create_task(watch_transactions())
        try:
            for _ in range(5):
                await _stage(conn, schema, staged, topic, [f"k{i}" for i in range(10)])

            async def relay_not_ready() -> dict[str, Any] | None:
                response = await registry.get("/readyz")
                assert response is not None, "the process stopped answering"
                body: dict[str, Any] = response.json()
                failing = response.status_code == 503 and "relay" in body.get("checks", {})
                return body if failing else None

            body = await wait_until(relay_not_ready, what="/readyz to say the relay is failing")
            assert body["checks"]["relay"].startswith("relay failing for")
            assert await registry.metric("ocop_outbox_relay_healthy") == 0
            assert await registry.metric("ocop_outbox_relay_failures_total") > 0
            # The process is alive and its event loop answers at once.
            for _ in range(15):
                started = time.monotonic()
                health = await registry.get("/healthz")
                assert health is not None and health.status_code == 200
                assert time.monotonic() - started < 1.0
                await asyncio.sleep(0.2)
            assert await _count(conn, schema, "published_at IS NULL") == 50
            # No connection of the service held a transaction open waiting on the broker.
            assert seen_idle_in_transaction == []
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            await broker("start")
        await wait_until(lambda: _all_published(conn, schema, 60), what="the rows after all")
        await registry.wait_ready()
    await _check_topic(kafka_bootstrap, topic, staged)


async def test_a_notify_during_a_pass_leads_to_another_pass_without_waiting_for_the_poll(
    kafka_bootstrap: str, database_url: str, unique: str, tmp_path: Path
) -> None:
    schema = f"registry_{unique}"
    topic = await _topic(kafka_bootstrap, f"ocop.test.relay.{unique}")
    staged = Staged()
    async with (
        _database(database_url) as conn,
        service_process(
            SERVICE,
            database_url=database_url,
            kafka_bootstrap=kafka_bootstrap,
            schema=schema,
            log_dir=tmp_path,
            relay_poll_seconds=600,  # only a NOTIFY can bring the second row out in time
            relay_test_pause_after_send_seconds=5,
        ),
    ):
        await _stage(conn, schema, staged, topic, ["a"])

        async def in_the_pass() -> bool:
            on_topic = sum(len(r) for r in (await _read_to_end(kafka_bootstrap, topic)).values())
            return on_topic == 1 and await _count(conn, schema, "published_at IS NULL") == 1

        await wait_until(in_the_pass, what="the first row acknowledged and not yet stamped")
        await _stage(conn, schema, staged, topic, ["b"])  # its NOTIFY arrives mid-pass
        assert await _count(conn, schema, "published_at IS NULL") == 2
        await wait_until(
            lambda: _all_published(conn, schema, 2),
            timeout_seconds=15,
            what="the second row without waiting for the 600 s poll",
        )
    await _check_topic(kafka_bootstrap, topic, staged)
