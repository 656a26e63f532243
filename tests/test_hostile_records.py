"""Records nobody planned for, on the real broker: every one is applied, dead-lettered with a
reason, or redelivered; none is passed over, whatever its headers or value hold."""

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
    send_event,
    send_raw,
)


def _replace(headers: list[tuple[str, bytes]], name: str, value: bytes | None) -> list[Any]:
    return [(k, value if k == name else v) for k, v in headers]


async def test_hostile_records_are_each_dead_lettered_with_a_reason_and_the_next_is_applied(
    make_settings: Any, kafka_bootstrap: str, database_url: str, unique: str
) -> None:
    schema = f"evaluation_{unique}"
    event = producer_registered()
    key = event.key().encode()
    good = event.to_json()

    def headers(ce_id: str) -> list[tuple[str, bytes]]:
        return envelope_headers(event, ce_id=ce_id)

    cases: dict[str, tuple[bytes | None, list[Any], str]] = {}
    ids = [str(uuid4()) for _ in range(9)]
    cases[ids[0]] = (good, _replace(headers(ids[0]), "ce_subject", b"\xff\xfe\x00"), "not UTF-8")
    cases[ids[1]] = (good, _replace(headers(ids[1]), "ce_subject", None), "no value")
    cases[ids[2]] = (good, [*headers(ids[2]), ("x-agency", b"\xc3\x28")], "not UTF-8")
    cases[ids[3]] = (good, [*headers(ids[3]), ("x-agency", None)], "no value")
    cases[ids[4]] = (good, [*headers(ids[4]), ("ce_id", str(uuid4()).encode())], "more than once")
    cases[ids[5]] = (None, headers(ids[5]), "invalid")
    cases[ids[6]] = (b"\xff\xfe not json", headers(ids[6]), "invalid")
    cases[ids[7]] = (good, _replace(headers(ids[7]), "ce_specversion", b"0.3"), "specversion")
    cases[ids[8]] = (good, _replace(headers(ids[8]), "ce_time", b"yesterday"), "ce_time")

    async with running(counting_evaluation_app(make_settings, CountingHandler())):
        for value, hostile_headers, _ in cases.values():
            await send_raw(
                kafka_bootstrap,
                topics.REGISTRY_PRODUCERS,
                key=key,
                value=value,
                headers=hostile_headers,
            )
        # Same key, so same partition: applied only after every hostile record was settled.
        good_id = await send_event(kafka_bootstrap, event)
        await wait_until(
            lambda: _applied(database_url, schema, event.producer_id, good_id),
            what="the good event after the hostile ones",
        )

        async def all_dead() -> list[Any] | None:
            dead = await records_on(
                kafka_bootstrap,
                topics.dlq("evaluation"),
                lambda r: (
                    header(r, "ocop_dlq_consumer") == "evaluation"
                    and any(header(r, "ce_id") == i or _has_value(r, "ce_id", i) for i in cases)
                ),
            )
            return dead if len(dead) >= len(cases) else None

        dead = await wait_until(all_dead, what="a dead letter for every hostile record")

    by_id: dict[str, Any] = {}
    for record in dead:
        for ce_id in cases:
            if _has_value(record, "ce_id", ce_id):
                by_id[ce_id] = record
    assert set(by_id) == set(cases)
    for ce_id, (value, _, reason) in cases.items():
        letter = by_id[ce_id]
        assert reason in (header(letter, "ocop_dlq_reason") or ""), (
            ce_id,
            header(letter, "ocop_dlq_reason"),
        )
        assert header(letter, "ocop_dlq_topic") == own_topics().physical(topics.REGISTRY_PRODUCERS)
        assert letter.value == value  # kept as it came, for a replay
    # The raw header values travel to the dead letter unchanged.
    assert ("ce_subject", b"\xff\xfe\x00") in by_id[ids[0]].headers
    assert ("x-agency", None) in by_id[ids[3]].headers
    applied = [e for _, e, _ in await effects(database_url, schema, [event.producer_id])]
    assert applied == [good_id]


async def test_an_event_id_reused_by_another_sender_is_not_taken_for_a_duplicate(
    make_settings: Any, kafka_bootstrap: str, database_url: str, unique: str
) -> None:
    schema = f"evaluation_{unique}"
    first, second = producer_registered(), producer_registered()
    shared_id = str(uuid4())
    async with running(counting_evaluation_app(make_settings, CountingHandler())):
        await send_event(kafka_bootstrap, first, ce_id=shared_id)
        await wait_until(
            lambda: _applied(database_url, schema, first.producer_id, shared_id),
            what="the first sender's event",
        )
        other_sender = _replace(
            envelope_headers(second, ce_id=shared_id), "ce_source", b"/agencies/so-cong-thuong"
        )
        await send_raw(
            kafka_bootstrap,
            topics.REGISTRY_PRODUCERS,
            key=second.key().encode(),
            value=second.to_json(),
            headers=other_sender,
        )
        await wait_until(
            lambda: _applied(database_url, schema, second.producer_id, shared_id),
            what="the second sender's event with the same id",
        )
        # The very same sender repeating itself is still a duplicate.
        await send_event(kafka_bootstrap, first, ce_id=shared_id)
        sentinel = await send_event(kafka_bootstrap, first)
        await wait_until(
            lambda: _applied(database_url, schema, first.producer_id, sentinel),
            what="the sentinel",
        )
    applied = [e for _, e, _ in await effects(database_url, schema, [first.producer_id])]
    assert applied == [shared_id, sentinel]


def _has_value(record: Any, name: str, expected: str) -> bool:
    return any(k == name and v == expected.encode() for k, v in record.headers)


async def _applied(database_url: str, schema: str, producer_id: Any, ce_id: str) -> bool:
    rows = await effects(database_url, schema, [producer_id])
    return any(e == ce_id for _, e, _ in rows)
