"""Delivery guarantees on the real broker and database: inbox, dead letters, retries, relay."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from ocop_contracts import topics
from ocop_runtime.testing import own_topics, producer_registered, running, wait_until
from tests.flow import (
    CountingHandler,
    counting_evaluation_app,
    effects,
    envelope_headers,
    header,
    records_on,
    scalar,
    send_event,
    send_raw,
)


async def _applied(database_url: str, schema: str, event: Any, ce_id: str) -> bool:
    rows = await effects(database_url, schema, [event.producer_id])
    return any(e == ce_id for _, e, _ in rows)


async def test_same_event_delivered_twice_has_one_effect(
    make_settings: Any, kafka_bootstrap: str, database_url: str, unique: str
) -> None:
    schema = f"evaluation_{unique}"
    event = producer_registered()
    async with running(counting_evaluation_app(make_settings, CountingHandler())):
        ce_id = await send_event(kafka_bootstrap, event)
        await send_event(kafka_bootstrap, event, ce_id=ce_id)
        # Same key, so same partition, handled after both copies.
        sentinel_id = await send_event(kafka_bootstrap, event)
        await wait_until(
            lambda: _applied(database_url, schema, event, sentinel_id), what="the sentinel"
        )
    copies = await records_on(
        kafka_bootstrap, topics.REGISTRY_PRODUCERS, lambda r: header(r, "ce_id") == ce_id
    )
    assert len(copies) == 2
    applied = [e for _, e, _ in await effects(database_url, schema, [event.producer_id])]
    assert applied.count(ce_id) == 1
    assert applied.count(sentinel_id) == 1


async def _dead_letters(bootstrap: str, ce_ids: set[str]) -> list[Any]:
    return await records_on(
        bootstrap, topics.dlq("evaluation"), lambda r: header(r, "ce_id") in ce_ids
    )


async def test_malformed_event_and_unknown_type_are_dead_lettered_and_the_next_event_is_processed(
    make_settings: Any, kafka_bootstrap: str, database_url: str, unique: str
) -> None:
    schema = f"evaluation_{unique}"
    event = producer_registered()
    malformed_id, unknown_id = str(uuid4()), str(uuid4())
    key = event.key().encode()
    async with running(counting_evaluation_app(make_settings, CountingHandler())):
        await send_raw(
            kafka_bootstrap,
            topics.REGISTRY_PRODUCERS,
            key=key,
            value=b'{"producer_id": "not-a-uuid"',
            headers=envelope_headers(event, ce_id=malformed_id),
        )
        await send_raw(
            kafka_bootstrap,
            topics.REGISTRY_PRODUCERS,
            key=key,
            value=event.to_json(),
            headers=envelope_headers(
                event, ce_id=unknown_id, ce_type="vn.hanoi.ocop.registry.ProducerExploded.v1"
            ),
        )
        good_id = await send_event(kafka_bootstrap, event)
        await wait_until(
            lambda: _applied(database_url, schema, event, good_id), what="the good event"
        )
        dead = await wait_until(
            lambda: _both_dead_lettered(kafka_bootstrap, {malformed_id, unknown_id}),
            what="both dead letters",
        )
    by_id = {header(r, "ce_id"): r for r in dead}
    assert set(by_id) == {malformed_id, unknown_id}
    malformed = by_id[malformed_id]
    assert "invalid vn.hanoi.ocop.registry.ProducerRegistered.v1" in (
        header(malformed, "ocop_dlq_reason") or ""
    )
    assert header(malformed, "ocop_dlq_topic") == own_topics().physical(topics.REGISTRY_PRODUCERS)
    assert header(malformed, "ocop_dlq_consumer") == "evaluation"
    assert header(malformed, "ocop_dlq_offset") is not None
    assert malformed.value == b'{"producer_id": "not-a-uuid"'
    assert "unknown event type" in (header(by_id[unknown_id], "ocop_dlq_reason") or "")
    applied = [e for _, e, _ in await effects(database_url, schema, [event.producer_id])]
    assert applied == [good_id]


async def _both_dead_lettered(bootstrap: str, ce_ids: set[str]) -> list[Any] | None:
    dead = await _dead_letters(bootstrap, ce_ids)
    return dead if len(dead) == len(ce_ids) else None


async def test_handler_that_fails_twice_then_succeeds_has_one_effect_and_no_dead_letter(
    make_settings: Any, kafka_bootstrap: str, database_url: str, unique: str
) -> None:
    schema = f"evaluation_{unique}"
    event = producer_registered()
    handler = CountingHandler(fail_first={event.producer_id: 2})
    async with running(counting_evaluation_app(make_settings, handler, handler_max_attempts=3)):
        ce_id = await send_event(kafka_bootstrap, event)
        await wait_until(lambda: _applied(database_url, schema, event, ce_id), what="the effect")
    assert handler.calls[event.producer_id] == 3
    assert [e for _, e, _ in await effects(database_url, schema, [event.producer_id])] == [ce_id]
    assert await _dead_letters(kafka_bootstrap, {ce_id}) == []


async def test_handler_that_always_fails_is_dead_lettered_after_bounded_retries(
    make_settings: Any, kafka_bootstrap: str, database_url: str, unique: str
) -> None:
    schema = f"evaluation_{unique}"
    poison, after = producer_registered(), producer_registered()
    handler = CountingHandler(always_fail={poison.producer_id})
    async with running(counting_evaluation_app(make_settings, handler, handler_max_attempts=3)):
        poison_id = await send_event(kafka_bootstrap, poison)
        after_id = await send_event(kafka_bootstrap, after)
        [dead] = await wait_until(
            lambda: _dead_letters(kafka_bootstrap, {poison_id}), what="the dead letter"
        )
        await wait_until(
            lambda: _applied(database_url, schema, after, after_id), what="the next event"
        )
    assert handler.calls[poison.producer_id] == 3
    assert header(dead, "ocop_dlq_attempts") == "3"
    assert "failed 3 times" in (header(dead, "ocop_dlq_reason") or "")
    assert "handler always fails" in (header(dead, "ocop_dlq_reason") or "")
    assert await effects(database_url, schema, [poison.producer_id]) == []
    logged = await scalar(
        database_url, f"SELECT count(*) FROM {schema}.dead_letters WHERE event_id = $1", poison_id
    )
    assert logged == 1
