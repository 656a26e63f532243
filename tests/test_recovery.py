"""Failure and recovery on the real broker and database: a relay dying mid-batch, the broker
going away under load, a consumer restarted mid-stream."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable
from typing import Any
from uuid import UUID

import asyncpg

from ocop_contracts import topics
from ocop_runtime.kafka import admin_client
from ocop_runtime.outbox import OutboxRelay
from ocop_runtime.testing import kafka_ctl, own_topics, producer_registered, running, wait_until
from tests.flow import (
    CountingHandler,
    counting_evaluation_app,
    effect_positions,
    effects,
    evaluation_app,
    header,
    records_on,
    registry_app,
    scalar,
    send_event,
    send_events,
    tax_code,
)


class RelayKilledBeforeMarking(OutboxRelay):
    """Dies as a killed process would: after Kafka acknowledged the batch, before the rows are
    stamped as published (the stamping transaction never commits)."""

    async def _mark_published(self, conn: asyncpg.Connection, ids: list[int]) -> None:
        raise asyncio.CancelledError


async def _applied(database_url: str, schema: str, producer_id: UUID, ce_id: str) -> bool:
    return any(e == ce_id for _, e, _ in await effects(database_url, schema, [producer_id]))


async def _with_ce_id(bootstrap: str, ce_id: str, at_least: int) -> list[Any] | None:
    found = await records_on(
        bootstrap, topics.REGISTRY_PRODUCERS, lambda r: header(r, "ce_id") == ce_id
    )
    return found if len(found) >= at_least else None


def _unpublished(database_url: str, schema: str) -> Awaitable[Any]:
    return scalar(database_url, f"SELECT count(*) FROM {schema}.outbox WHERE published_at IS NULL")


async def test_relay_killed_between_sending_and_marking_resends_and_the_inbox_absorbs_it(
    make_settings: Any, kafka_bootstrap: str, database_url: str, unique: str
) -> None:
    registry_schema, evaluation_schema = f"registry_{unique}", f"evaluation_{unique}"
    async with running(
        registry_app(make_settings, relay_factory=RelayKilledBeforeMarking)
    ) as registry:
        response = await registry.post(
            "/producers",
            json={
                "name": f"HTX {unique}",
                "legal_form": "cooperative",
                "commune_code": "00004",
                "registration_number": tax_code(),
            },
        )
        producer_id = UUID(response.json()["id"])
        [first] = await wait_until(
            lambda: records_on(
                kafka_bootstrap,
                topics.REGISTRY_PRODUCERS,
                lambda r: r.key == str(producer_id).encode(),
            ),
            what="the first send",
        )
        assert await _unpublished(database_url, registry_schema) == 1
    ce_id = header(first, "ce_id")
    assert ce_id

    async with (
        running(registry_app(make_settings)),
        running(counting_evaluation_app(make_settings, CountingHandler())),
    ):
        copies = await wait_until(
            lambda: _with_ce_id(kafka_bootstrap, ce_id, 2), what="the re-sent record"
        )
        assert len(copies) == 2
        await wait_until(
            lambda: _zero(_unpublished(database_url, registry_schema)),
            what="the outbox row to be stamped",
        )
        # Same key, same partition: handled after both copies.
        sentinel_id = await send_event(kafka_bootstrap, producer_registered(producer_id))
        await wait_until(
            lambda: _applied(database_url, evaluation_schema, producer_id, sentinel_id),
            what="the sentinel",
        )
    applied = [e for _, e, _ in await effects(database_url, evaluation_schema, [producer_id])]
    assert applied.count(ce_id) == 1


async def _zero(value: Awaitable[Any]) -> bool:
    return await value == 0


async def test_broker_stopped_while_commands_arrive_then_started_delivers_everything_in_order_per_key(
    make_settings: Any, kafka_bootstrap: str, database_url: str, unique: str
) -> None:
    evaluation_schema = f"evaluation_{unique}"
    async with (
        running(registry_app(make_settings)) as registry,
        running(evaluation_app(make_settings)),
    ):
        kafka_ctl("stop")
        try:
            ids = []
            for i in range(4):
                response = await registry.post(
                    "/producers",
                    json={
                        "name": f"HTX {unique} {i}",
                        "legal_form": "cooperative",
                        "registration_number": tax_code(),
                        "commune_code": "00004",
                    },
                )
                assert response.status_code == 201, response.text
                ids.append(response.json()["id"])
            for round_ in range(2):
                for pid in ids:
                    response = await registry.patch(
                        f"/producers/{pid}", json={"name": f"HTX {unique} r{round_} {pid[:4]}"}
                    )
                    assert response.status_code == 200, response.text
            assert await _unpublished(database_url, f"registry_{unique}") == 12
        finally:
            kafka_ctl("start")

        await wait_until(
            lambda: scalar(
                database_url,
                f"SELECT count(*) = 4 FROM {evaluation_schema}.producers WHERE producer_id = ANY($1::uuid[]) AND version = 3",
                [UUID(i) for i in ids],
            ),
            timeout_seconds=90,
            what="evaluation to catch up after the broker returned",
        )
    published = await records_on(kafka_bootstrap, topics.REGISTRY_PRODUCERS, lambda r: True)
    for pid in ids:
        records = [r for r in published if r.key == pid.encode()]
        versions = [json.loads(r.value).get("version", 1) for r in records]
        # At-least-once may repeat a record after a failed send, never reorder a key's events.
        assert sorted(set(versions)) == [1, 2, 3]
        assert versions == sorted(versions), f"{pid}: {versions}"


async def test_consumer_restarted_mid_stream_resumes_from_committed_offsets(
    make_settings: Any, kafka_bootstrap: str, database_url: str, unique: str
) -> None:
    schema = f"evaluation_{unique}"
    events = [producer_registered() for _ in range(120)]
    ids = [e.producer_id for e in events]
    first = CountingHandler("first", slow=set(ids), delay=0.02)
    async with running(counting_evaluation_app(make_settings, first)):
        await send_events(kafka_bootstrap, events)
        await wait_until(
            lambda: _at_least(effects(database_url, schema, ids), 20),
            what="the first instance to make progress",
        )
    done_by_first = len(await effects(database_url, schema, ids))
    assert 0 < done_by_first < len(ids), "the restart must happen mid-stream"
    # Every record the first instance applied had its offset committed (ack after the database
    # commit), so the second instance, in the same group, starts past them.
    async with admin_client(kafka_bootstrap) as admin:
        committed = await admin.list_consumer_group_offsets(f"ocop.evaluation.{unique}")
    by_partition = {
        tp.partition: meta.offset
        for tp, meta in committed.items()
        if tp.topic == own_topics().physical(topics.REGISTRY_PRODUCERS)
    }
    for partition, offset in await effect_positions(database_url, schema, "first"):
        assert by_partition[partition] > offset
    second = CountingHandler("second")
    async with running(counting_evaluation_app(make_settings, second)):
        await wait_until(
            lambda: _at_least(effects(database_url, schema, ids), len(ids)), what="all events"
        )
    applied = await effects(database_url, schema, ids)
    assert sorted(pid for pid, _, _ in applied) == sorted(ids)  # each exactly once
    assert sum(1 for _, _, by in applied if by == "second") == len(ids) - done_by_first


async def _at_least(rows: Awaitable[list[Any]], n: int) -> bool:
    return len(await rows) >= n
