"""Reading a topic from a point in time: the offsets of the first records at or after it.

Kafka keeps a timestamp on every record (the time the service published it); a consumer's
``offsets_for_times`` finds, per partition, the first record at or after a time. This module
works with any client that has aiokafka's consumer methods (no Kafka client is a dependency of
this package)::

    from aiokafka import AIOKafkaConsumer
    from ocop_contracts import replay, topics

    # No group: the consumer is given every partition of the topic when it starts.
    consumer = AIOKafkaConsumer(topics.EVALUATION_CERTIFICATES, bootstrap_servers=..., ...)
    await consumer.start()
    await replay.seek_to_time(consumer, replay.parse_since("2025-07-01"))
    async for record in consumer: ...  # from 1 July 2025, 00:00 in Hanoi

With a consumer group, call :func:`seek_to_time` from the rebalance listener's
``on_partitions_assigned`` (once: later assignments should resume from the committed offsets).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any, Protocol

# Hanoi is UTC+7 all year (no daylight saving): a date means that day's midnight there.
HANOI = timezone(timedelta(hours=7), "ICT")


class OffsetAndTimestamp(Protocol):
    offset: int


class TimeSeekingConsumer(Protocol):
    """What :func:`seek_to_time` uses of a consumer (aiokafka's ``AIOKafkaConsumer`` has it)."""

    def assignment(self) -> Any: ...

    async def offsets_for_times(
        self, timestamps: dict[Any, int]
    ) -> Mapping[Any, OffsetAndTimestamp | None]: ...

    async def end_offsets(self, partitions: list[Any]) -> Mapping[Any, int]: ...

    def seek(self, partition: Any, offset: int) -> None: ...


def parse_since(text: str) -> datetime:
    """``2025-07-01`` (midnight in Hanoi) or an ISO 8601 time (``2025-07-01T08:30``, read as
    Hanoi time, or with its own offset such as ``Z`` or ``+00:00``); an aware datetime.

    Raises :class:`ValueError` naming the accepted forms."""
    value = text.strip()
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time(0), HANOI)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{text!r} is not a date (YYYY-MM-DD) or an ISO 8601 time (YYYY-MM-DDTHH:MM[:SS][+HH:MM])"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=HANOI)


def timestamp_ms(moment: datetime) -> int:
    """Kafka's timestamp (milliseconds since the epoch) of an aware ``moment`` (naive: UTC)."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return int(aware.timestamp() * 1000)


async def offsets_at(
    consumer: TimeSeekingConsumer, since: datetime, partitions: Iterable[Any]
) -> dict[Any, int]:
    """Per partition, the offset of the first record at or after ``since``; a partition whose
    records are all older gets its end offset (it has nothing to replay)."""
    wanted = list(partitions)
    if not wanted:
        return {}
    at = timestamp_ms(since)
    found = await consumer.offsets_for_times({p: at for p in wanted})
    missing = [p for p in wanted if found.get(p) is None]
    ends = await consumer.end_offsets(missing) if missing else {}
    offsets = {}
    for partition in wanted:
        hit = found.get(partition)
        offsets[partition] = ends[partition] if hit is None else hit.offset
    return offsets


async def seek_to_time(
    consumer: TimeSeekingConsumer, since: datetime, partitions: Iterable[Any] | None = None
) -> dict[Any, int]:
    """Move ``partitions`` (default: every partition assigned to ``consumer``) to the first
    record at or after ``since``; returns where each one now starts."""
    chosen = list(consumer.assignment() if partitions is None else partitions)
    offsets = await offsets_at(consumer, since, chosen)
    for partition, offset in offsets.items():
        consumer.seek(partition, offset)
    return offsets
