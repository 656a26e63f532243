"""Consuming in batches: for read models and replays, where throughput matters.

A batch is what one ``getmany`` returns (per partition in offset order, partitions one after
the other). It is settled in one go:

1. each record is read with :func:`ocop_runtime.consumer.read_record`, exactly as the
   per-record consumer reads it (a record it must dead-letter is set aside, a known type the
   service does not handle is ignored);
2. one transaction: **one** statement inserts the inbox rows of the batch
   (``unnest``, ``ON CONFLICT DO NOTHING RETURNING``), which says which records are new (a
   redelivered one, or the second copy inside the batch, has no effect); the service's
   handlers then apply the new records **set-based**, one call per run of consecutive records
   of the same type, so the order of the batch (and so each key's order) is kept;
3. the set-aside records are dead-lettered with their reason;
4. **one** offset commit for the batch.

Failures, as in :class:`ocop_runtime.consumer.EventConsumer`:

* the database or the broker is unreachable (:func:`~ocop_runtime.consumer.is_infrastructure`):
  nothing commits, the batch is rewound (nack) and redelivered after a pause;
* a handler raises anything else (a poison record, a bug): the transaction rolls back and the
  batch is applied again one record at a time through the per-record consumer, which retries
  with backoff and dead-letters the one record that keeps failing, so one bad record costs its
  batch the fast path and nothing else.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from faststream import AckPolicy
from faststream.kafka import KafkaRouter, Topic
from faststream.kafka.annotations import KafkaMessage
from opentelemetry import trace

from ocop_runtime.batch_spans import batch_span
from ocop_runtime.consumer import (
    Delivery,
    EventConsumer,
    EventRoutes,
    RecordRejected,
    RoutingTable,
    _Redeliver,
    is_infrastructure,
    read_record,
)
from ocop_runtime.kafka import TopicNames
from ocop_runtime.telemetry import Metrics

log = logging.getLogger("ocop.batching")
_tracer = trace.get_tracer("ocop.batching")


@dataclass(frozen=True, slots=True)
class Item:
    """One new record of a batch: its contract event and where it came from."""

    event: Any
    delivery: Delivery
    record: Any = None  # the record as it came (for the per-record fallback)


BatchHandler = Callable[[asyncpg.Connection, Sequence[Item]], Awaitable[None]]
"""Applies consecutive records of one event type in the batch's transaction."""


class BatchRoutes(RoutingTable[BatchHandler]):
    """A read model's routing table: event types and the set-based handler of each.

    ``max_records``: the most records one batch holds; ``timeout_ms``: how long a fetch waits
    for records when there are none (it returns as soon as there are: this is how often an idle
    consumer wakes up, not a delay); ``after_commit``: called after each batch that applied
    records (e.g. to wake a publisher)."""

    def __init__(
        self,
        *,
        max_records: int = 2000,
        timeout_ms: int = 500,
        after_commit: Callable[[], None] | None = None,
    ) -> None:
        self.max_records = max_records
        self.timeout_ms = timeout_ms
        self.after_commit = after_commit
        super().__init__()

    def one_at_a_time(self) -> EventRoutes:
        """The same table for the per-record consumer: each handler called with one record."""
        routes = EventRoutes()
        for type_, handler in self._handlers.items():
            routes._handlers[type_] = _single(handler)
        routes.listen(*self._topics)
        return routes


def _single(
    handler: BatchHandler,
) -> Callable[[asyncpg.Connection, Any, Delivery], Awaitable[None]]:
    async def apply(conn: asyncpg.Connection, event: Any, delivery: Delivery) -> None:
        await handler(conn, (Item(event, delivery, None),))

    return apply


_INBOX = """
INSERT INTO inbox (consumer, topic, source, event_id, ce_type, kafka_partition, kafka_offset)
SELECT $1, t.topic, t.source, t.event_id, t.ce_type, t.kafka_partition, t.kafka_offset
FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::bigint[])
    AS t(topic, source, event_id, ce_type, kafka_partition, kafka_offset)
ON CONFLICT DO NOTHING
RETURNING topic, source, event_id
"""


def runs(items: Sequence[Item]) -> list[list[Item]]:
    """Consecutive records of the same type, in the batch's order."""
    out: list[list[Item]] = []
    for item in items:
        if out and out[-1][0].delivery.envelope.type == item.delivery.envelope.type:
            out[-1].append(item)
        else:
            out.append([item])
    return out


class BatchConsumer:
    """Applies batches of records to one service's schema through its :class:`BatchRoutes`."""

    def __init__(
        self,
        routes: BatchRoutes,
        *,
        consumer: str,
        pool: asyncpg.Pool,
        producer: AIOKafkaProducer,
        dlq_topic: str,
        names: TopicNames | None = None,
        metrics: Metrics,
        max_attempts: int = 5,
        backoff_seconds: float = 0.2,
        backoff_max_seconds: float = 5.0,
        pause_after_commit_seconds: float = 0.0,
    ) -> None:
        self.routes = routes
        self.consumer = consumer
        self._pool = pool
        self._names = names or TopicNames()
        self._metrics = metrics
        self._backoff_max = backoff_max_seconds
        self._pause_after_commit = pause_after_commit_seconds
        # Dead letters, retries and the one-at-a-time fallback are the per-record consumer's.
        self.single = EventConsumer(
            routes.one_at_a_time(),
            consumer=consumer,
            pool=pool,
            producer=producer,
            dlq_topic=dlq_topic,
            names=self._names,
            metrics=metrics,
            max_attempts=max_attempts,
            backoff_seconds=backoff_seconds,
            backoff_max_seconds=backoff_max_seconds,
        )

    def router(self, group_id: str, *, description: str = "") -> KafkaRouter:
        """The FastStream router: one batch subscriber over the service's topics, acked by
        hand once per batch."""
        router = KafkaRouter()
        if not self.routes.topics:
            return router
        consumer = self

        async def on_batch(msg: Any) -> None:
            await consumer.handle(msg)

        async def keep_bytes(msg: Any) -> Any:
            # The message itself, as the per-record consumer's decoder (see there) does.
            return msg

        subscriber = router.subscriber(
            *(Topic(self._names.physical(t), declare=False) for t in self.routes.topics),
            group_id=group_id,
            batch=True,
            max_records=self.routes.max_records,
            batch_timeout_ms=self.routes.timeout_ms,
            ack_policy=AckPolicy.MANUAL,
            auto_offset_reset="earliest",
            parser=keep_raw_batch,
            decoder=keep_bytes,
            title=f"{self.consumer} batch consumer",
            description=description,
        )
        subscriber(on_batch)
        fetch_without_idle_sleep(subscriber)
        return router

    async def handle(self, msg: Any) -> None:
        """Settle one batch: applied (with its dead letters) and committed, or rewound."""
        records: Sequence[Any] = msg.raw_message
        try:
            await self.apply(records)
        except Exception as exc:
            if is_infrastructure(exc) or isinstance(exc, _Redeliver):
                log.warning(
                    "%s: cannot apply a batch of %d now (%s: %s); will redeliver",
                    self.consumer,
                    len(records),
                    type(exc).__name__,
                    exc,
                )
            else:
                log.exception("%s: unexpected failure on a batch; will redeliver", self.consumer)
            for topic in {r.topic for r in records}:
                self._metrics.messages.labels(self._names.logical(topic), "redelivered").inc()
            await asyncio.sleep(self._backoff_max)
            await msg.nack()
            return
        if self._pause_after_commit:
            await asyncio.sleep(self._pause_after_commit)  # tests: a window to be killed in
        try:
            await msg.ack()
        except Exception as exc:
            # The effects are committed; a redelivery would hit the inbox. Nothing to undo.
            log.warning("%s: offset commit failed (%s); redelivery is absorbed", self.consumer, exc)

    async def apply(self, records: Sequence[Any]) -> Counter[tuple[str, str]]:
        """Apply a batch; return the outcomes by (topic, outcome). Raises only for
        infrastructure failures (or a dead letter that could not be written)."""
        started = time.perf_counter()
        outcomes: Counter[tuple[str, str]] = Counter()
        items: list[Item] = []
        rejected: list[tuple[Any, list[tuple[str, bytes]], str]] = []
        for record in records:
            headers = list(record.headers or [])
            try:
                read = read_record(record, headers, self._names, self.routes.handler_for)
            except RecordRejected as exc:
                rejected.append((record, headers, exc.reason))
                continue
            if read is None:
                outcomes[(self._names.logical(record.topic), "ignored")] += 1
            else:
                items.append(Item(read[0], read[1], record))
        # One span for the batch: a child of the request behind its records when they share
        # one (a batch of one record always does), else linked to each record's request.
        with batch_span(
            _tracer,
            "consume",
            trace.SpanKind.CONSUMER,
            topics=(r.topic for r in records),
            origins=(
                (i.delivery.envelope.traceparent, i.delivery.envelope.tracestate) for i in items
            ),
            attributes={
                "messaging.operation.type": "process",
                "messaging.batch.message_count": len(records),
                "messaging.consumer.group.name": self.consumer,
            },
        ) as span:
            if items:
                try:
                    outcomes.update(await self._apply_batch(items))
                except Exception as exc:
                    if is_infrastructure(exc):
                        raise
                    span.record_exception(exc)
                    log.info(
                        "%s: batch of %d failed (%s: %s); applying it one record at a time",
                        self.consumer,
                        len(items),
                        type(exc).__name__,
                        exc,
                    )
                    for item in items:
                        outcome = await self.single.apply(item.record)
                        outcomes[(item.delivery.topic, outcome)] += 1
            for record, headers, reason in rejected:
                await self.single.dead_letter(record, headers, reason, attempts=0)
                outcomes[(self._names.logical(record.topic), "dead_lettered")] += 1
            span.set_attribute("ocop.outcomes", str(dict(outcomes)))
        for (topic, outcome), count in outcomes.items():
            self._metrics.messages.labels(topic, outcome).inc(count)
        if records:
            per_record = (time.perf_counter() - started) / len(records)
            for topic in {r.topic for r in records}:
                self._metrics.message_duration.labels(self._names.logical(topic)).observe(
                    per_record
                )
        if self.routes.after_commit is not None and items:
            self.routes.after_commit()
        return outcomes

    async def _apply_batch(self, items: list[Item]) -> Counter[tuple[str, str]]:
        outcomes: Counter[tuple[str, str]] = Counter()
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                _INBOX,
                self.consumer,
                [i.delivery.topic for i in items],
                [i.delivery.envelope.source for i in items],
                [i.delivery.envelope.id for i in items],
                [i.delivery.envelope.type for i in items],
                [i.delivery.partition for i in items],
                [i.delivery.offset for i in items],
            )
            new = {(r["topic"], r["source"], r["event_id"]) for r in rows}
            fresh: list[Item] = []
            for item in items:
                key = (
                    item.delivery.topic,
                    item.delivery.envelope.source,
                    item.delivery.envelope.id,
                )
                if key in new:
                    new.discard(key)  # a second copy inside the batch is a duplicate too
                    fresh.append(item)
                    outcomes[(item.delivery.topic, "processed")] += 1
                else:
                    outcomes[(item.delivery.topic, "duplicate")] += 1
            for run in runs(fresh):
                handler = self.routes.handler_for(run[0].delivery.envelope.type)
                assert handler is not None
                await handler(conn, run)
        return outcomes


def fetch_without_idle_sleep(subscriber: Any) -> None:
    """Make a FastStream batch subscriber fetch with ``getmany`` alone.

    ``getmany(timeout_ms=...)`` returns as soon as records are there, or empty once the timeout
    has passed. FastStream's batch subscriber then sleeps ``batch_timeout_ms`` more before it
    fetches again, so a record arriving in that sleep waited up to the whole timeout (a
    quarter of it on average on an idle consumer: 25 ms for the old 100 ms). Here an empty
    fetch is handed back at once and the subscriber's loop fetches again, so a record is taken
    when it arrives and an idle consumer wakes once per timeout."""

    async def get_msg(consumer: AIOKafkaConsumer) -> tuple[Any, ...]:
        fetched = await consumer.getmany(
            timeout_ms=subscriber.batch_timeout_ms, max_records=subscriber.max_records
        )
        return tuple(chain.from_iterable(fetched.values()))

    subscriber.get_msg = get_msg


async def keep_raw_batch(
    records: tuple[Any, ...], original: Callable[[Any], Awaitable[KafkaMessage]]
) -> KafkaMessage:
    """FastStream's batch parser, fed headers it can always decode, handing the records on as
    they came (see :func:`ocop_runtime.consumer.keep_raw_headers`)."""
    clean = []
    for record in records:
        readable = [
            (key, (value or b"").decode("utf-8", errors="replace").encode())
            for key, value in record.headers or ()
        ]
        clean.append(dataclasses.replace(record, headers=readable))
    message = await original(tuple(clean))
    message.raw_message = records
    return message
