"""Rebuild the read model from the log: drop the facts, read every subscribed topic from offset
zero to the end offsets taken at the start, and apply the records through the same batched
consumer (inbox, handlers, dead letters) the service runs.

The running service may go on consuming meanwhile: the facts are order-independent and the
inbox makes every event count once, so records read both by the replay and by the service
have one effect, and records after the end offsets are the service's. The statistics are
published again at the end (only those whose content changed).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition

from ocop_contracts import topics
from ocop_insights.domain.facts import local_date
from ocop_insights.handlers import build_routes
from ocop_insights.publishing import publish_changes
from ocop_insights.settings import InsightsSettings
from ocop_insights.store.activity import TABLES as ACTIVITY_TABLES
from ocop_insights.store.facts import READ_MODEL_TABLES
from ocop_runtime.batching import BatchConsumer
from ocop_runtime.db import create_pool
from ocop_runtime.kafka import TopicNames, client_options, start_client
from ocop_runtime.outbox import kafka_producer
from ocop_runtime.telemetry import Metrics

Progress = Callable[[int, int], None]
"""Called with (records read so far, records to read)."""


@dataclass(frozen=True)
class ReplayReport:
    records: int
    seconds: float
    outcomes: dict[str, int]
    published: int

    @property
    def per_second(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0


async def clear(pool: asyncpg.Pool, consumer: str = "insights") -> None:
    """Drop the facts and the inbox rows of the consumer, in one transaction."""
    async with pool.acquire() as conn, conn.transaction():
        for table in (*READ_MODEL_TABLES, *ACTIVITY_TABLES):
            await conn.execute(f"DELETE FROM {table}")
        await conn.execute("DELETE FROM inbox WHERE consumer = $1", consumer)


async def replay(
    settings: InsightsSettings,
    *,
    progress: Progress | None = None,
    metrics: Metrics | None = None,
    publish: bool = True,
) -> ReplayReport:
    names = TopicNames(settings.topic_prefix)
    routes = build_routes(max_records=settings.batch_max_records)
    pool = await create_pool(settings.dsn, settings.db_schema, min_size=1, max_size=2)
    producer = kafka_producer(
        settings.kafka_bootstrap_servers, settings.kafka_auth(), client_id="ocop-insights-replay"
    )
    reader = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        enable_auto_commit=False,
        max_partition_fetch_bytes=4 * 1024 * 1024,
        client_id="ocop-insights-replay",
        **client_options(settings.kafka_auth()),
    )
    await start_client(producer)
    try:
        await start_client(reader)
    except BaseException:
        await producer.stop()
        raise
    try:
        batches = BatchConsumer(
            routes,
            consumer="insights",
            pool=pool,
            producer=producer,
            dlq_topic=topics.dlq("insights"),
            names=names,
            metrics=metrics or Metrics("insights-replay"),
            max_attempts=settings.handler_max_attempts,
            backoff_seconds=settings.handler_backoff_seconds,
            backoff_max_seconds=settings.handler_backoff_max_seconds,
        )
        partitions: list[TopicPartition] = []
        for topic in routes.topics:
            physical = names.physical(topic)
            found = reader.partitions_for_topic(physical)
            if found is None:
                await reader._client.force_metadata_update()
                found = reader.partitions_for_topic(physical) or set()
            partitions += [TopicPartition(physical, p) for p in sorted(found)]
        started = time.perf_counter()
        outcomes: dict[str, int] = {}
        read = 0
        if partitions:
            reader.assign(partitions)
            await reader.seek_to_beginning(*partitions)
            starts = await reader.beginning_offsets(partitions)
            ends = await reader.end_offsets(partitions)
            total = sum(ends[tp] - starts[tp] for tp in partitions)
            await clear(pool)
            if progress:
                progress(0, total)
            remaining = {tp for tp in partitions if ends[tp] > starts[tp]}
            while remaining:
                fetched = await reader.getmany(
                    *remaining, timeout_ms=1000, max_records=settings.batch_max_records
                )
                records = [r for tp, rs in fetched.items() for r in rs if r.offset < ends[tp]]
                if records:
                    for (_, outcome), n in (await batches.apply(records)).items():
                        outcomes[outcome] = outcomes.get(outcome, 0) + n
                    read += len(records)
                    if progress:
                        progress(read, total)
                for tp in list(remaining):
                    if await reader.position(tp) >= ends[tp]:
                        remaining.discard(tp)
        else:
            await clear(pool)
        seconds = time.perf_counter() - started
        published = 0
        if publish:
            published = len(await publish_changes(pool, local_date(datetime.now(UTC))))
        return ReplayReport(read, seconds, outcomes, published)
    finally:
        await reader.stop()
        await producer.stop()
        await pool.close()
