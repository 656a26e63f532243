"""Transactional outbox: stage events in the use case's transaction; one relay publishes them.

The relay is the only publisher. It reads unpublished rows in id order, sends them with an
idempotent producer (``acks=all``) keyed by aggregate id without awaiting each record, waits for
every acknowledgement, then stamps the rows in one statement. It selects by ``published_at IS
NULL`` rather than by a high-water id, so a row committed late by a slower transaction (with a
lower id than rows already sent) is still picked up on the next pass: nothing committed is
skipped. A transaction-scoped advisory lock keeps one active relay per schema, so replicas do not
reorder a key's events. A crash between sending and stamping re-sends the rows; consumers'
inboxes absorb the duplicates.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import asyncpg
from aiokafka import AIOKafkaProducer
from opentelemetry import trace

from ocop_contracts import Envelope, Event
from ocop_contracts.envelope import source
from ocop_runtime.kafka import KafkaAuth, client_options
from ocop_runtime.telemetry import Metrics, context_from, current_trace_headers

log = logging.getLogger("ocop.outbox")
_tracer = trace.get_tracer("ocop.outbox")

_INSERT = """
INSERT INTO outbox (event_id, topic, key, ce_type, ce_source, ce_time, payload, traceparent, tracestate)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
"""


async def stage_event(conn: asyncpg.Connection, event: Event, *, service: str) -> UUID:
    """Add ``event`` to the outbox inside the caller's transaction; return its ``ce_id``."""
    event_id = uuid4()
    traceparent, tracestate = current_trace_headers()
    await conn.execute(
        _INSERT,
        event_id,
        event.TOPIC,
        event.key(),
        event.CE_TYPE,
        source(service),
        datetime.now(UTC),
        event.model_dump_json(),
        traceparent,
        tracestate,
    )
    return event_id


async def stage_events(
    conn: asyncpg.Connection, events: Sequence[Event], *, service: str
) -> list[UUID]:
    """Stage many events in one round trip (bulk imports); outbox order is list order."""
    traceparent, tracestate = current_trace_headers()
    now = datetime.now(UTC)
    rows = [
        (
            uuid4(),
            e.TOPIC,
            e.key(),
            e.CE_TYPE,
            source(service),
            now,
            e.model_dump_json(),
            traceparent,
            tracestate,
        )
        for e in events
    ]
    await conn.executemany(_INSERT, rows)
    return [r[0] for r in rows]


def kafka_producer(
    bootstrap_servers: str, auth: KafkaAuth | None = None, **overrides: Any
) -> AIOKafkaProducer:
    """The producer every service uses: idempotent, ``acks=all``, bounded request time."""
    options: dict[str, Any] = {
        **client_options(auth),
        "bootstrap_servers": bootstrap_servers,
        "enable_idempotence": True,
        "acks": "all",
        "linger_ms": 5,
        "request_timeout_ms": 10_000,
        "retry_backoff_ms": 200,
    }
    options.update(overrides)
    return AIOKafkaProducer(**options)


class OutboxRelay:
    """Publishes one schema's outbox; woken by LISTEN/NOTIFY and by a poll timer."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        producer: AIOKafkaProducer,
        *,
        schema: str,
        metrics: Metrics,
        batch_size: int = 500,
        poll_seconds: float = 1.0,
        retry_seconds: float = 1.0,
    ) -> None:
        self._pool = pool
        self._producer = producer
        self._schema = schema
        self._metrics = metrics
        self._batch_size = batch_size
        self._poll_seconds = poll_seconds
        self._retry_seconds = retry_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._listener: asyncpg.Connection | None = None
        self._channel = f"ocop_outbox_{schema}"

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"outbox-relay-{self._schema}")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._unlisten()

    def wake(self) -> None:
        self._wake.set()

    async def _listen(self) -> None:
        if self._listener is not None and not self._listener.is_closed():
            return
        conn = await self._pool.acquire()
        await conn.add_listener(self._channel, self._on_notify)
        self._listener = conn

    async def _unlisten(self) -> None:
        conn, self._listener = self._listener, None
        if conn is None:
            return
        with contextlib.suppress(Exception):
            await conn.remove_listener(self._channel, self._on_notify)
        with contextlib.suppress(Exception):
            await self._pool.release(conn)

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    async def _run(self) -> None:
        while True:
            try:
                await self._listen()
                sent = await self.publish_pending()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # Broker or database unavailable: keep the rows, try again; never drop them.
                log.warning(
                    "outbox relay (%s): %s: %s; retrying", self._schema, type(exc).__name__, exc
                )
                await self._unlisten()
                await asyncio.sleep(self._retry_seconds)
                continue
            if sent >= self._batch_size:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_seconds)

    async def publish_pending(self) -> int:
        """Publish one batch of unpublished rows; return how many were published."""
        async with self._pool.acquire() as conn, conn.transaction():
            locked = await conn.fetchval(
                "SELECT pg_try_advisory_xact_lock(hashtext($1))", f"ocop.relay.{self._schema}"
            )
            if not locked:
                return 0
            rows = await conn.fetch(
                "SELECT id, event_id, topic, key, ce_type, ce_source, ce_time, payload,"
                " traceparent, tracestate FROM outbox WHERE published_at IS NULL"
                " ORDER BY id LIMIT $1",
                self._batch_size,
            )
            if not rows:
                self._metrics.outbox_backlog.set(0)
                self._metrics.outbox_lag.set(0)
                return 0
            futures = [await self._send(row) for row in rows]
            results = await asyncio.gather(*futures, return_exceptions=True)
            sent_ids: list[int] = []
            failure: BaseException | None = None
            for row, result in zip(rows, results, strict=True):
                if isinstance(result, BaseException):
                    failure = result
                    break
                sent_ids.append(row["id"])
                self._metrics.published.labels(row["topic"]).inc()
            if sent_ids:
                await self._mark_published(conn, sent_ids)
        await self._refresh_backlog()
        if failure is not None:
            raise failure
        return len(sent_ids)

    async def _send(self, row: asyncpg.Record) -> asyncio.Future[Any]:
        parent = context_from(row["traceparent"], row["tracestate"])
        with _tracer.start_as_current_span(
            f"publish {row['topic']}",
            context=parent,
            kind=trace.SpanKind.PRODUCER,
            attributes={
                "messaging.system": "kafka",
                "messaging.destination.name": row["topic"],
                "messaging.message.id": str(row["event_id"]),
            },
        ):
            traceparent, tracestate = current_trace_headers()
            envelope = Envelope(
                id=str(row["event_id"]),
                type=row["ce_type"],
                source=row["ce_source"],
                time=row["ce_time"],
                subject=row["key"],
                traceparent=traceparent,
                tracestate=tracestate,
            )
            future: asyncio.Future[Any] = await self._producer.send(
                row["topic"],
                value=row["payload"].encode(),
                key=row["key"].encode(),
                headers=envelope.to_headers(),
            )
            return future

    async def _mark_published(self, conn: asyncpg.Connection, ids: list[int]) -> None:
        await conn.execute(
            "UPDATE outbox SET published_at = clock_timestamp() WHERE id = ANY($1::bigint[])", ids
        )

    async def _refresh_backlog(self) -> None:
        row = await self._pool.fetchrow(
            "SELECT count(*) AS n, extract(epoch FROM clock_timestamp() - min(created_at)) AS age"
            " FROM outbox WHERE published_at IS NULL"
        )
        self._metrics.outbox_backlog.set(row["n"] if row else 0)
        self._metrics.outbox_lag.set(float(row["age"] or 0) if row else 0)
