"""Replay from a time: ``ocop_contracts.replay`` (Kafka's offsets_for_times) and ``ocop agency
replay``, on the real broker, with records whose timestamps lie hours apart."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from typer.testing import CliRunner

from ocop_contracts import Envelope, replay, topics
from ocop_runtime.cli import app as cli
from ocop_runtime.kafka import KafkaAuth, admin_client, client_options, ensure_topics, start_client
from ocop_runtime.kafka_security import agency_principal
from ocop_runtime.testing import own_topics
from tests.commands import grant_in_test_topics

NOW = datetime.now(UTC).replace(microsecond=0)
# Three hours of history, an hour apart: Kafka keeps each record's time.
TIMES = [NOW - timedelta(hours=3), NOW - timedelta(hours=2), NOW - timedelta(hours=1)]


async def publish_history(bootstrap: str, topic: str) -> dict[str, datetime]:
    """Two records at each of TIMES on ``topic``, under keys spread over its partitions; their
    ce_id -> time."""
    await ensure_topics(bootstrap, [topic], partitions=3, replication_factor=1)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", **client_options(None))
    await start_client(producer)
    sent: dict[str, datetime] = {}
    try:
        for moment in TIMES:
            for _ in range(2):
                key, ce_id = str(uuid4()), str(uuid4())
                headers = Envelope(
                    id=ce_id,
                    type="vn.hanoi.ocop.registry.ProductUpdated.v1",
                    source="/ocop/registry",
                    time=moment,
                    subject=key,
                ).to_headers()
                await producer.send_and_wait(
                    topic,
                    key=key.encode(),
                    value=json.dumps({"product_id": key}).encode(),
                    headers=headers,
                    timestamp_ms=replay.timestamp_ms(moment),
                )
                sent[ce_id] = moment
    finally:
        await producer.stop()
    return sent


async def read_to_end(consumer: AIOKafkaConsumer, topic: str) -> list[Any]:
    partitions = list(consumer.assignment())
    ends = await consumer.end_offsets(partitions)
    found: list[Any] = []
    remaining = [p for p in partitions if await consumer.position(p) < ends[p]]
    async with asyncio.timeout(30):
        while remaining:
            for partition, records in (await consumer.getmany(*remaining, timeout_ms=500)).items():
                found += [r for r in records if r.offset < ends[partition]]
            remaining = [p for p in remaining if await consumer.position(p) < ends[p]]
    return found


def ce_ids(records: list[Any]) -> set[str]:
    return {Envelope.from_headers(r.headers).id for r in records}


def test_since_reads_a_date_as_midnight_in_hanoi_and_a_time_with_its_offset() -> None:
    assert replay.parse_since("2025-07-01") == datetime(2025, 6, 30, 17, 0, tzinfo=UTC)
    assert replay.parse_since("2025-07-01T08:30") == datetime(2025, 7, 1, 1, 30, tzinfo=UTC)
    assert replay.parse_since("2025-07-01T08:30:00Z") == datetime(2025, 7, 1, 8, 30, tzinfo=UTC)
    assert replay.parse_since("2025-07-01T08:30+00:00") == datetime(2025, 7, 1, 8, 30, tzinfo=UTC)
    assert replay.timestamp_ms(datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)) == 1000
    for bad in ("1/7/2025", "yesterday", "2025-13-01", ""):
        with pytest.raises(ValueError, match="YYYY-MM-DD"):
            replay.parse_since(bad)


async def test_an_agency_reads_a_topic_from_a_time_with_the_contracts_helper(
    kafka_bootstrap: str, unique: str
) -> None:
    topic = own_topics().physical(topics.REGISTRY_PRODUCTS)
    sent = await publish_history(kafka_bootstrap, topic)
    name = f"so-{unique}"
    password = f"pw-{unique}"
    result = await asyncio.to_thread(
        CliRunner().invoke,
        cli,
        ["agency", "add", name, "--bootstrap", kafka_bootstrap, "--password", password],
    )
    assert result.exit_code == 0, result.output
    await grant_in_test_topics(kafka_bootstrap, name)
    agency = KafkaAuth(username=agency_principal(name), password=password)

    # As the module's docstring shows: no group, every partition assigned at start.
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka_bootstrap,
        enable_auto_commit=False,
        **client_options(agency),
    )
    await start_client(consumer)
    try:
        partitions = sorted(consumer.assignment())
        assert len(partitions) == 3

        starts = await replay.seek_to_time(consumer, TIMES[1])
        from_the_second_hour = await read_to_end(consumer, topic)

        await replay.seek_to_time(consumer, NOW + timedelta(minutes=1))  # after every record
        from_the_future = await read_to_end(consumer, topic)

        await replay.seek_to_time(consumer, TIMES[0] - timedelta(days=1))
        everything = await read_to_end(consumer, topic)
    finally:
        await consumer.stop()

    assert ce_ids(from_the_second_hour) == {i for i, t in sent.items() if t >= TIMES[1]}
    assert set(starts) == set(partitions)
    assert from_the_future == []
    assert ce_ids(everything) == set(sent)


def replay_cli(bootstrap: str, *args: str) -> Any:
    return CliRunner().invoke(
        cli,
        [
            "agency",
            "replay",
            topics.REGISTRY_PRODUCTS,
            "--topic-prefix",
            own_topics().prefix,
            "--bootstrap",
            bootstrap,
            *args,
        ],
    )


async def test_ocop_agency_replay_prints_the_records_since_a_time_oldest_first(
    kafka_bootstrap: str,
) -> None:
    sent = await publish_history(kafka_bootstrap, own_topics().physical(topics.REGISTRY_PRODUCTS))

    since = await asyncio.to_thread(replay_cli, kafka_bootstrap, "--since", TIMES[1].isoformat())
    window = await asyncio.to_thread(
        replay_cli,
        kafka_bootstrap,
        "--since",
        TIMES[1].isoformat(),
        "--until",
        TIMES[2].isoformat(),
    )
    bad = await asyncio.to_thread(replay_cli, kafka_bootstrap, "--since", "yesterday")

    assert since.exit_code == 0, since.output
    lines = [json.loads(line) for line in since.output.strip().splitlines()]
    assert {line["headers"]["ce_id"] for line in lines} == {
        i for i, t in sent.items() if t >= TIMES[1]
    }
    stamps = [line["timestamp"] for line in lines]
    assert stamps == sorted(stamps)
    assert all(line["value"]["product_id"] == line["key"] for line in lines)
    assert window.exit_code == 0, window.output
    assert {json.loads(line)["headers"]["ce_id"] for line in window.output.splitlines()} == {
        i for i, t in sent.items() if t == TIMES[1]
    }
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.output


async def test_ocop_agency_replay_moves_a_stopped_group_back_to_a_time(
    kafka_bootstrap: str, unique: str
) -> None:
    topic = own_topics().physical(topics.REGISTRY_PRODUCTS)
    sent = await publish_history(kafka_bootstrap, topic)
    group = f"agency.so-{unique}.products"

    moved = await asyncio.to_thread(
        replay_cli, kafka_bootstrap, "--since", TIMES[2].isoformat(), "--group", group
    )
    assert moved.exit_code == 0, moved.output

    async with admin_client(kafka_bootstrap) as admin:
        committed = await admin.list_consumer_group_offsets(group)
    assert {tp.topic for tp in committed} == {topic} and len(committed) == 3
    # The group's next consumer starts where the CLI put it: the last hour only.
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka_bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        **client_options(None),
    )
    await start_client(consumer)
    try:
        read: list[Any] = []
        async with asyncio.timeout(60):
            while len(read) < 2:
                batches = await consumer.getmany(timeout_ms=500)
                read += [r for records in batches.values() for r in records]
    finally:
        await consumer.stop()
    assert ce_ids(read) == {i for i, t in sent.items() if t == TIMES[2]}
