"""The dashboards' live feed: the statistics topic, followed from its end, fanned out to every
page connected over Server-Sent Events. Whichever replica published a snapshot, every replica's
dashboards get it, as any other subscriber of the topic would."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError
from pydantic import ValidationError

from ocop_contracts import topics
from ocop_contracts.events import StatisticPublished
from ocop_runtime.app import ServiceContext
from ocop_runtime.kafka import TopicNames, client_options, start_client

log = logging.getLogger("ocop.insights.live")


class Broadcast:
    """Fans snapshots out to the connected dashboards; a dashboard too slow to read skips one."""

    def __init__(self, queue_size: int = 256) -> None:
        self._queues: set[asyncio.Queue[StatisticPublished]] = set()
        self._size = queue_size

    def send(self, events: list[StatisticPublished]) -> None:
        for queue in list(self._queues):
            for event in events:
                with contextlib.suppress(asyncio.QueueFull):
                    queue.put_nowait(event)

    @contextlib.asynccontextmanager
    async def listen(self) -> AsyncIterator[asyncio.Queue[StatisticPublished]]:
        queue: asyncio.Queue[StatisticPublished] = asyncio.Queue(self._size)
        self._queues.add(queue)
        try:
            yield queue
        finally:
            self._queues.discard(queue)


async def follow(ctx: ServiceContext, broadcast: Broadcast) -> None:
    """Read the statistics topic from its end (no consumer group: nothing to commit) and hand
    every snapshot to ``broadcast``, until cancelled."""
    settings = ctx.settings
    topic = TopicNames(settings.topic_prefix).physical(topics.INSIGHTS_STATISTICS)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        enable_auto_commit=False,
        client_id=f"ocop-{settings.service}-live",
        **client_options(settings.kafka_auth()),
    )
    await start_client(consumer)
    try:
        found = consumer.partitions_for_topic(topic)
        if not found:
            await consumer._client.force_metadata_update()
            found = consumer.partitions_for_topic(topic) or set()
        partitions = [TopicPartition(topic, p) for p in sorted(found)]
        consumer.assign(partitions)
        await consumer.seek_to_end(*partitions)
        while True:
            try:
                fetched = await consumer.getmany(timeout_ms=1000)
            except KafkaError as exc:
                log.warning("statistics topic not readable now (%s); retrying", exc)
                await asyncio.sleep(1)
                continue
            snapshots = []
            for records in fetched.values():
                for record in records:
                    try:
                        snapshots.append(
                            StatisticPublished.model_validate_json(record.value or b"")
                        )
                    except ValidationError as exc:
                        log.warning("skipping an unreadable snapshot at %s: %s", record.offset, exc)
            if snapshots:
                broadcast.send(snapshots)
    finally:
        await consumer.stop()
