"""Consumers under real faults: evaluation runs as its own OS process (``python -m
ocop_evaluation``), is SIGKILLed inside the window between its database commit and its offset
commit, shares a consumer group with a second process that dies mid-stream, and keeps running
while PostgreSQL is stopped and started under load. Events come from the test as another
agency's system would send them, with a ``ce_source`` of the test's own."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from ocop_contracts import Envelope, topics
from ocop_contracts.events import ProducerRegistered
from ocop_runtime.kafka import client_options, start_client
from ocop_runtime.testing import own_topics, producer_registered, wait_until
from tests.flow import header, records_on
from tests.processes import service_process

SERVICE = "evaluation"


@pytest.fixture
def logins(
    service_logins: Callable[[str], str], owner_logins: Callable[[str], str]
) -> dict[str, Any]:
    """As in production: the service runs as its role and migrates as its schema's owner."""
    return {
        "database_url": service_logins(SERVICE),
        "migration_database_url": owner_logins(SERVICE),
    }


CONSUMED = "ocop_messages_consumed_total"


async def _send(bootstrap: str, events: Sequence[ProducerRegistered], source: str) -> list[str]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", **client_options(None))
    await start_client(producer)
    ids = []
    try:
        for event in events:
            envelope = Envelope(
                id=str(uuid4()),
                type=event.CE_TYPE,
                source=source,
                time=datetime.now(UTC),
                subject=event.key(),
            )
            ids.append(envelope.id)
            await producer.send(
                own_topics().physical(event.TOPIC),
                key=event.key().encode(),
                value=event.to_json(),
                headers=envelope.to_headers(),
            )
        await producer.flush()
    finally:
        await producer.stop()
    return ids


async def _copies(database_url: str, schema: str, ids: Sequence[UUID]) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return int(
            await conn.fetchval(
                f"SELECT count(*) FROM {schema}.producers WHERE producer_id = ANY($1::uuid[])",
                list(ids),
            )
        )
    finally:
        await conn.close()


async def _inbox(database_url: str, schema: str, source: str) -> list[str]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(f"SELECT event_id FROM {schema}.inbox WHERE source = $1", source)
        return [r["event_id"] for r in rows]
    finally:
        await conn.close()


async def test_a_consumer_killed_between_its_commit_and_its_offset_commit_gets_the_record_again(
    kafka_bootstrap: str,
    database_url: str,
    unique: str,
    tmp_path: Path,
    logins: dict[str, Any],
) -> None:
    schema = f"evaluation_{unique}"
    source = f"/tests/{unique}"
    event = producer_registered()
    async with service_process(
        SERVICE,
        **logins,
        kafka_bootstrap=kafka_bootstrap,
        schema=schema,
        log_dir=tmp_path,
        consumer_test_pause_after_commit_seconds=60,
    ) as evaluation:
        [ce_id] = await _send(kafka_bootstrap, [event], source)
        # Committed in the database; the offset commit waits out the pause: kill it there.
        await wait_until(
            lambda: _copies(database_url, schema, [event.producer_id]), what="the effect"
        )
        await evaluation.kill()
        await evaluation.start(consumer_test_pause_after_commit_seconds=0)

        async def absorbed() -> bool:
            duplicates = await evaluation.metric(CONSUMED, {"outcome": "duplicate"})
            return duplicates >= 1

        await wait_until(absorbed, what="the record redelivered after the restart")
        assert await evaluation.metric(CONSUMED, {"outcome": "processed"}) == 0
    assert await _copies(database_url, schema, [event.producer_id]) == 1
    assert await _inbox(database_url, schema, source) == [ce_id]


async def test_two_consumers_in_one_group_with_one_killed_mid_stream_lose_and_repeat_nothing(
    kafka_bootstrap: str,
    database_url: str,
    unique: str,
    tmp_path: Path,
    logins: dict[str, Any],
) -> None:
    schema = f"evaluation_{unique}"
    source = f"/tests/{unique}"
    group = f"ocop.evaluation.{unique}"
    events = [producer_registered() for _ in range(300)]
    common: dict[str, Any] = {
        **logins,
        "kafka_bootstrap": kafka_bootstrap,
        "schema": schema,
        "log_dir": tmp_path,
        "consumer_group": group,
    }
    async with (
        service_process(SERVICE, **common) as first,
        service_process(SERVICE, **common) as second,
    ):
        ids = await _send(kafka_bootstrap, events[:150], source)

        async def both_working() -> bool:
            done = [await p.metric(CONSUMED, {"outcome": "processed"}) for p in (first, second)]
            return all(n > 0 for n in done) or sum(done) >= 150

        await wait_until(both_working, what="both members applying records")
        await second.kill()  # the group rebalances onto the first, mid-stream
        ids += await _send(kafka_bootstrap, events[150:], source)
        await wait_until(
            lambda: _all_copies(database_url, schema, events),
            timeout_seconds=90,
            what="all 300 effects after the rebalance",
        )
    applied = await _inbox(database_url, schema, source)
    assert sorted(applied) == sorted(ids), "each event applied exactly once"
    assert len(set(applied)) == len(applied)


async def _all_copies(database_url: str, schema: str, events: Sequence[ProducerRegistered]) -> bool:
    return await _copies(database_url, schema, [e.producer_id for e in events]) == len(events)


@pytest.mark.skipif(
    not os.environ.get("OCOP_TEST_PG_CTL"), reason="needs the test stack's PostgreSQL control"
)
async def test_postgres_stopped_under_load_is_redelivered_not_dead_lettered_and_readyz_says_so(
    kafka_bootstrap: str,
    database_url: str,
    unique: str,
    tmp_path: Path,
    logins: dict[str, Any],
) -> None:
    schema = f"evaluation_{unique}"
    source = f"/tests/{unique}"
    events = [producer_registered() for _ in range(200)]
    async with service_process(
        SERVICE,
        **logins,
        kafka_bootstrap=kafka_bootstrap,
        schema=schema,
        log_dir=tmp_path,
        handler_backoff_max_seconds=0.5,
    ) as evaluation:
        ids = await _send(kafka_bootstrap, events[:100], source)
        await wait_until(
            lambda: _some_copies(database_url, schema, events), what="the first effects"
        )
        await postgres("stop")
        try:
            ids += await _send(kafka_bootstrap, events[100:], source)

            async def not_ready() -> bool:
                response = await evaluation.get("/readyz")
                return response is not None and response.status_code == 503

            await wait_until(not_ready, what="/readyz 503 while PostgreSQL is down")
            assert (await evaluation.get("/healthz")).status_code == 200  # type: ignore[union-attr]
            assert await evaluation.metric(CONSUMED, {"outcome": "redelivered"}) >= 1
        finally:
            await postgres("start")
        await evaluation.wait_ready(timeout_seconds=60)
        await wait_until(
            lambda: _all_copies(database_url, schema, events),
            timeout_seconds=90,
            what="every effect once PostgreSQL is back",
        )
        assert await evaluation.metric(CONSUMED, {"outcome": "dead_lettered"}) == 0
    assert sorted(await _inbox(database_url, schema, source)) == sorted(ids)
    dead = await records_on(
        kafka_bootstrap, topics.dlq(SERVICE), lambda r: header(r, "ce_source") == source
    )
    assert dead == []


async def _some_copies(
    database_url: str, schema: str, events: Sequence[ProducerRegistered]
) -> bool:
    return await _copies(database_url, schema, [e.producer_id for e in events]) > 0


async def postgres(action: str) -> None:
    """Stop or start the test stack's PostgreSQL in a child process (the loop keeps running)."""
    script = os.environ["OCOP_TEST_PG_CTL"]
    process = await asyncio.create_subprocess_exec(
        script, action, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output, _ = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, output.decode(errors="replace")
