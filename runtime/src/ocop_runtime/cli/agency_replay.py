"""``ocop agency replay``: a topic's records from a point in time, or an agency's consumer group
moved back to it (``ocop_contracts.replay``: Kafka's ``offsets_for_times``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import typer
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from ocop_contracts import replay, topics
from ocop_runtime.cli.common import BootstrapOption, CliError, fail, run
from ocop_runtime.kafka import KafkaAuth, TopicNames, client_options, start_client


@dataclass(frozen=True)
class Replayed:
    partition: int
    offset: int
    timestamp: datetime
    key: str | None
    headers: dict[str, str]
    value: Any

    def as_json(self) -> dict[str, Any]:
        return {
            "partition": self.partition,
            "offset": self.offset,
            "timestamp": self.timestamp.isoformat(),
            "key": self.key,
            "headers": self.headers,
            "value": self.value,
        }


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    numbers = consumer.partitions_for_topic(topic)
    if not numbers:  # a consumer has no metadata of a topic it did not subscribe to
        await consumer._client.force_metadata_update()
        numbers = consumer.partitions_for_topic(topic)
    if not numbers:
        raise CliError(f"no topic {topic} (or not allowed to describe it)")
    return [TopicPartition(topic, n) for n in sorted(numbers)]


async def records_since(
    bootstrap: str,
    topic: str,
    since: datetime,
    *,
    until: datetime | None = None,
    limit: int | None = None,
    auth: KafkaAuth | None = None,
) -> list[Replayed]:
    """The records of ``topic`` from ``since`` (before ``until``) up to its end as it is when the
    read starts, oldest first."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, **client_options(auth)
    )
    await start_client(consumer)
    try:
        partitions = await _partitions(consumer, topic)
        consumer.assign(partitions)
        starts = await replay.seek_to_time(consumer, since)
        ends = await consumer.end_offsets(partitions)
        remaining = {p for p in partitions if starts[p] < ends[p]}
        stop_ms = replay.timestamp_ms(until) if until else None
        found: list[Replayed] = []
        while remaining:
            batches = await consumer.getmany(*remaining, timeout_ms=1000)
            for partition, records in batches.items():
                for record in records:
                    if record.offset >= ends[partition] or (
                        stop_ms is not None and record.timestamp >= stop_ms
                    ):
                        remaining.discard(partition)
                        break
                    found.append(_replayed(record))
                if await consumer.position(partition) >= ends[partition]:
                    remaining.discard(partition)
        found.sort(key=lambda r: (r.timestamp, r.partition, r.offset))
        return found[:limit] if limit else found
    finally:
        await consumer.stop()


def _replayed(record: Any) -> Replayed:
    headers = {k: (v or b"").decode(errors="replace") for k, v in record.headers or ()}
    try:
        value: Any = json.loads(record.value) if record.value is not None else None
    except ValueError:
        value = (record.value or b"").decode(errors="replace")
    return Replayed(
        partition=record.partition,
        offset=record.offset,
        timestamp=datetime.fromtimestamp(record.timestamp / 1000, UTC),
        key=record.key.decode(errors="replace") if record.key is not None else None,
        headers=headers,
        value=value,
    )


async def rewind_group(
    bootstrap: str, group: str, topic: str, since: datetime, auth: KafkaAuth | None = None
) -> dict[int, int]:
    """Commit, for consumer group ``group``, the offsets of ``topic``'s first records at or
    after ``since``: its consumers resume from there at their next start. The group must have
    no running consumer."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        **client_options(auth),
    )
    await start_client(consumer)
    try:
        partitions = await _partitions(consumer, topic)
        consumer.assign(partitions)
        offsets = await replay.offsets_at(consumer, since, partitions)
        try:
            await consumer.commit(offsets)
        except KafkaError as exc:
            raise CliError(
                f"could not move group {group}: {exc} (stop its consumers first)"
            ) from exc
        return {p.partition: o for p, o in offsets.items()}
    finally:
        await consumer.stop()


def agency_replay(
    topic: str = typer.Argument(
        ..., help="A topic of the catalogue, e.g. ocop.registry.products.v1."
    ),
    since: str = typer.Option(
        ..., "--since", help="YYYY-MM-DD (midnight in Hanoi) or an ISO 8601 time."
    ),
    until: str | None = typer.Option(None, "--until", help="Stop before this time."),
    group: str | None = typer.Option(
        None,
        "--group",
        help="Instead of printing, move this consumer group (e.g. agency.NAME.products) to "
        "--since; its consumers must be stopped.",
    ),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Print at most N records."),
    prefix: str = typer.Option(
        "", "--topic-prefix", envvar="OCOP_TOPIC_PREFIX", help="The services' OCOP_TOPIC_PREFIX."
    ),
    bootstrap: str = BootstrapOption,
) -> None:
    """Replay a topic from a date: print its records from --since (one JSON object a line,
    oldest first), or with --group move a consumer group back to --since so that its consumers
    read again from there."""
    if topic not in topics.all_topics():
        raise fail(f"{topic}: not a topic of the catalogue (ocop_contracts.topics)", 2)
    try:
        start = replay.parse_since(since)
        stop = replay.parse_since(until) if until else None
    except ValueError as exc:
        raise fail(str(exc), 2) from exc
    physical = TopicNames(prefix).physical(topic)
    if group is not None:
        moved = run(rewind_group(bootstrap, group, physical, start), bootstrap)
        typer.echo(
            f"group {group} on {physical} from {start.isoformat()}: "
            + ", ".join(f"partition {p} offset {o}" for p, o in sorted(moved.items()))
        )
        return
    for record in run(
        records_since(bootstrap, physical, start, until=stop, limit=limit), bootstrap
    ):
        typer.echo(json.dumps(record.as_json(), ensure_ascii=False))
