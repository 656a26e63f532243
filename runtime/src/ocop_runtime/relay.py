"""The outbox relay: the only publisher of a schema's outbox (see :mod:`ocop_runtime.outbox`).

One pass reads a batch of unpublished, unparked rows in id order in one short statement, sends
them with the relay's own idempotent producer without awaiting each record, waits (at most the
send timeout) for the acknowledgements, then stamps the acknowledged rows in one statement; no
transaction is open while it waits on the broker. Every statement runs on the connection that
holds the relay's session advisory lock (and LISTENs), so a relay whose connection died cannot
stamp, and takes the lock again (or stands by) before its next pass. Each record carries its
row's stored ``traceparent``; the pass opens one producer span for its batch
(:mod:`ocop_runtime.outbox_records`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    ProducerClosed,
    TopicAuthorizationFailedError,
    UnknownTopicOrPartitionError,
)

from ocop_runtime.db import keeps_session_state
from ocop_runtime.kafka import TopicNames
from ocop_runtime.outbox_records import batch_span, record_headers
from ocop_runtime.outbox_state import blames_the_record, connection_gone, describe, outbox_stats
from ocop_runtime.telemetry import Metrics

log = logging.getLogger("ocop.outbox")


class RelaySendTimeout(Exception):
    """The broker did not take and acknowledge a batch within the relay's send timeout."""


# Unpublished, unparked rows in id order, each with the first parked row of its key (if any):
# such a row must wait behind it, so that the key's order holds.
_BATCH = """
SELECT o.id, o.event_id, o.topic, o.key, o.ce_type, o.ce_source, o.ce_time, o.payload,
       o.traceparent, o.tracestate,
       (SELECT min(p.id) FROM outbox p
         WHERE p.key = o.key AND p.published_at IS NULL AND p.parked_at IS NOT NULL) AS parked_head
  FROM outbox o
 WHERE o.published_at IS NULL AND o.parked_at IS NULL
 ORDER BY o.id
 LIMIT $1
"""
_PARK = """
UPDATE outbox SET parked_at = clock_timestamp(), parked_reason = p.reason
  FROM unnest($1::bigint[], $2::text[]) AS p(id, reason)
 WHERE outbox.id = p.id AND outbox.published_at IS NULL
"""


def _retrieved(future: asyncio.Future[Any]) -> None:
    """Take a settled future's outcome, so that asyncio does not report it as never retrieved."""
    if not future.cancelled():
        future.exception()


@dataclass
class _Pass:
    """What one pass over a batch came to."""

    acked: list[asyncpg.Record] = field(default_factory=list)
    parked: list[tuple[int, str]] = field(default_factory=list)
    failure: BaseException | None = None
    # A record was refused by the broker and parked: the refused request left the producer's
    # sequence behind, so the producer is replaced and the next pass starts at once.
    restart: bool = False


class OutboxRelay:
    """Publishes one schema's outbox; woken by LISTEN/NOTIFY and by a poll timer.

    ``producer_factory`` makes the relay's own producer (``ocop_runtime.outbox.kafka_producer``);
    the relay starts it when it first has work and replaces it after any failed send.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        producer_factory: Callable[[], AIOKafkaProducer],
        *,
        schema: str,
        metrics: Metrics,
        batch_size: int = 500,
        poll_seconds: float = 1.0,
        retry_seconds: float = 1.0,
        send_timeout_seconds: float = 15.0,
        unhealthy_after_seconds: float = 30.0,
        gauge_seconds: float = 5.0,
        db_timeout_seconds: float = 30.0,
        test_pause_after_send_seconds: float = 0.0,
        names: TopicNames | None = None,
    ) -> None:
        if isinstance(producer_factory, AIOKafkaProducer):
            raise TypeError(
                "OutboxRelay takes a producer factory (it replaces its producer after a failed "
                "send), e.g. functools.partial(kafka_producer, bootstrap_servers, auth)"
            )
        self._pool = pool
        self._new_producer = producer_factory
        self._producer: AIOKafkaProducer | None = None
        self._schema = schema
        self._metrics = metrics
        self._batch_size = batch_size
        self._poll_seconds = poll_seconds
        self._retry_seconds = retry_seconds
        self._send_timeout = send_timeout_seconds
        self._unhealthy_after = unhealthy_after_seconds
        self._gauge_seconds = gauge_seconds
        self._db_timeout = db_timeout_seconds
        self._test_pause = test_pause_after_send_seconds
        self._names = names or TopicNames()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._reporter: asyncio.Task[None] | None = None
        self._conn: asyncpg.Connection | None = None  # holds the lock and LISTENs
        self._locked = False
        self._more = False
        self._channel = f"ocop_outbox_{schema}"
        self._lock_name = f"ocop.relay.{schema}"
        # Rows whose produce request the broker refused with an error that blames a record:
        # each is sent alone next time, to tell the one at fault from its neighbours.
        self._suspects: set[int] = set()
        self._failing_since: float | None = None
        self._failures = 0
        self._last_error = ""
        self._last_warning = 0.0

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"outbox-relay-{self._schema}")
        self._reporter = asyncio.create_task(self._report(), name=f"outbox-gauges-{self._schema}")

    async def stop(self) -> None:
        for task in (self._task, self._reporter):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._task = self._reporter = None
        await self._discard_producer()
        await self._release_connection()

    def wake(self) -> None:
        self._wake.set()

    @property
    def role(self) -> str:
        """``active`` (holds the lock), ``standby`` (another relay does) or ``starting``."""
        if self._locked:
            return "active"
        return "standby" if self._conn is not None else "starting"

    def health_problem(self) -> str | None:
        """Why the relay is not doing its job, or None: it publishes or stands by."""
        if self._task is not None and self._task.done():
            return "the relay has stopped"
        since = self._failing_since
        if since is None:
            return None
        failing = time.monotonic() - since
        if failing < self._unhealthy_after:
            return None
        return (
            f"relay failing for {failing:.0f}s ({self._failures} attempts, rows pending); "
            f"last error: {self._last_error}"
        )

    async def _run(self) -> None:
        while True:
            # Cleared before the batch is read: a NOTIFY arriving during the pass sets it
            # again, so the wait below returns at once and nothing waits for the poll.
            self._wake.clear()
            try:
                await self.publish_pending()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                await self._failed(exc)
                await asyncio.sleep(self._retry_seconds)
                continue
            self._succeeded()
            if self._more:
                continue
            if not self._locked:
                await asyncio.sleep(self._retry_seconds)  # standby: try the lock again later
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_seconds)

    def _succeeded(self) -> None:
        if self._failing_since is not None:
            log.warning(
                "outbox relay (%s): publishing again after %d failed attempts",
                self._schema,
                self._failures,
            )
        self._failing_since = None
        self._failures = 0
        self._last_error = ""
        self._metrics.relay_healthy.set(1)

    async def _failed(self, exc: BaseException) -> None:
        self._failures += 1
        previous, self._last_error = self._last_error, describe(exc)
        if self._failing_since is None:
            self._failing_since = time.monotonic()
        self._metrics.relay_failures.labels(type(exc).__name__).inc()
        self._metrics.relay_healthy.set(0 if self.health_problem() else 1)
        # During an outage: a warning when the error changes and every 30 s, not every retry.
        repeated = self._last_error == previous and time.monotonic() - self._last_warning < 30
        log.log(
            logging.DEBUG if repeated else logging.WARNING,
            "outbox relay (%s): %s; retrying every %gs (attempt %d)",
            self._schema,
            self._last_error,
            self._retry_seconds,
            self._failures,
        )
        if not repeated:
            self._last_warning = time.monotonic()
        conn = self._conn
        if conn is not None and (connection_gone(conn) or isinstance(exc, TimeoutError)):
            # The lock may be gone with the connection (or a statement hangs on it): let it go
            # and take the lock again, or stand by, before the next pass.
            await self._release_connection()

    async def _report(self) -> None:
        while True:
            try:
                stats = await asyncio.wait_for(outbox_stats(self._pool), self._db_timeout)
                self._metrics.outbox_backlog.set(stats.backlog)
                self._metrics.outbox_lag.set(stats.oldest_seconds)
                self._metrics.outbox_parked.set(stats.parked)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.debug("outbox gauges (%s): %s", self._schema, describe(exc))
            self._metrics.relay_healthy.set(0 if self.health_problem() else 1)
            await asyncio.sleep(self._gauge_seconds)

    async def _lock_connection(self) -> asyncpg.Connection | None:
        """The connection holding the relay lock, or None while another relay holds it."""
        conn = self._conn
        if conn is not None and connection_gone(conn):
            log.warning("outbox relay (%s): lost its connection and the relay lock", self._schema)
            await self._release_connection()
            conn = None
        if conn is None:
            conn = await self._pool.acquire(timeout=self._db_timeout)
            keeps_session_state(conn)  # its LISTEN and lock go when it returns to the pool
            try:
                await conn.add_listener(self._channel, self._on_notify)
            except BaseException:
                await self._pool.release(conn)
                raise
            self._conn, self._locked = conn, False
        if not self._locked:
            self._locked = bool(
                await conn.fetchval(
                    "SELECT pg_try_advisory_lock(hashtext($1))",
                    self._lock_name,
                    timeout=self._db_timeout,
                )
            )
            if not self._locked:
                return None
            log.info("outbox relay (%s): holds the relay lock", self._schema)
            self._suspects.clear()
        return conn

    async def _release_connection(self) -> None:
        conn, self._conn, self._locked = self._conn, None, False
        if conn is None:
            return
        with contextlib.suppress(Exception):
            await asyncio.wait_for(conn.remove_listener(self._channel, self._on_notify), 5)
        # Releasing resets the session, which unlocks; a broken connection is closed instead.
        try:
            await asyncio.wait_for(self._pool.release(conn), 5)
        except Exception:
            with contextlib.suppress(Exception):  # already handed back when the server went away
                conn.terminate()

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    async def _ensure_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = self._new_producer()
            try:
                await producer.start()
            except BaseException:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(producer.stop(), 5)
                raise
            self._producer = producer
        return self._producer

    async def _discard_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is None:
            return
        # What it still holds belongs to a pass that is over (those rows stay unstamped and a
        # new producer sends them again): fail it now, or stop() would wait for a broker that
        # may not come back.
        accumulator = getattr(producer, "_message_accumulator", None)
        if accumulator is not None:
            held = [b for q in accumulator._batches.values() for b in q]
            held += list(accumulator._pending_batches)
            accumulator.fail_all(ProducerClosed())
            for batch in held:  # a batch not yet handed to the sender: its waiter is failed too
                waiter = getattr(batch, "_drain_waiter", None)
                if waiter is not None and waiter.done():
                    _retrieved(waiter)
        try:
            await asyncio.wait_for(producer.stop(), 10)
        except Exception as exc:
            log.warning("outbox relay (%s): producer did not stop: %s", self._schema, exc)

    async def publish_pending(self) -> int:
        """Publish one batch of unpublished rows; return how many were published. Raises the
        send failure (after stamping what the broker acknowledged) if the batch failed."""
        conn = await self._lock_connection()
        if conn is None:
            self._more = False
            return 0
        rows = await conn.fetch(_BATCH, self._batch_size, timeout=self._db_timeout)
        self._more = len(rows) >= self._batch_size
        if not rows:
            return 0
        with batch_span(rows) as span:
            outcome = await self._send_batch(rows)
            span.set_attribute("ocop.outbox.acked", len(outcome.acked))
        acked = [row["id"] for row in outcome.acked]
        if acked:
            if self._test_pause:
                await asyncio.sleep(self._test_pause)
            await self._mark_published(conn, acked)
            for topic, n in Counter(row["topic"] for row in outcome.acked).items():
                self._metrics.published.labels(topic).inc(n)
            self._suspects.difference_update(acked)
        if outcome.parked:
            await self._park(conn, outcome.parked)
            self._suspects.difference_update(i for i, _ in outcome.parked)
        if outcome.failure is not None:
            raise outcome.failure
        self._more = self._more or outcome.restart
        return len(acked)

    async def _send_batch(self, rows: Sequence[asyncpg.Record]) -> _Pass:
        out = _Pass()
        # key -> the parked row it waits behind
        waiting: dict[str, int] = {r["key"]: r["parked_head"] for r in rows if r["parked_head"]}
        refused_topics: dict[str, str] = {}
        sent: list[tuple[asyncpg.Record, asyncio.Future[Any]]] = []

        def park(row: asyncpg.Record, reason: str) -> None:
            out.parked.append((row["id"], reason))
            waiting.setdefault(row["key"], row["id"])
            log.error(
                "outbox relay (%s): parked row %s (topic %s, key %s): %s",
                self._schema,
                row["id"],
                row["topic"],
                row["key"],
                reason,
            )

        try:
            async with asyncio.timeout(self._send_timeout):
                producer = await self._ensure_producer()
                for row in rows:
                    key, topic = row["key"], row["topic"]
                    if key in waiting:
                        out.parked.append((row["id"], f"waiting behind parked row {waiting[key]}"))
                        continue
                    if topic in refused_topics:
                        park(row, refused_topics[topic])
                        continue
                    alone = row["id"] in self._suspects
                    if alone and sent:
                        await asyncio.wait([f for _, f in sent])
                        if any(f.exception() for _, f in sent):
                            break  # counted as the pass's failure below
                    try:
                        future = await self._send(producer, row)
                    except asyncio.CancelledError:
                        raise
                    except Exception as exc:
                        # Raised before the record was queued: the producer is unharmed.
                        reason = await self._refusal(producer, topic, exc)
                        if reason is None:
                            out.failure = exc
                            break
                        if isinstance(
                            exc, TopicAuthorizationFailedError | UnknownTopicOrPartitionError
                        ):
                            refused_topics[topic] = reason
                        park(row, reason)
                        continue
                    if alone:
                        await asyncio.wait([future])
                        refused = future.exception()
                        if refused is not None and blames_the_record(refused):
                            park(row, describe(refused))
                            out.restart = True
                            break
                    sent.append((row, future))
                    if alone and future.exception() is not None:
                        break
                if sent:
                    await asyncio.wait([f for _, f in sent])
        except asyncio.CancelledError:
            # Stopped mid-pass: the rows stay unstamped, and the producer being discarded will
            # fail what it still holds. Nobody awaits those records any more.
            for _, future in sent:
                future.add_done_callback(_retrieved)
            raise
        except TimeoutError:
            out.failure = out.failure or RelaySendTimeout(
                f"the broker did not take and acknowledge the batch in {self._send_timeout:g}s"
            )
        except Exception as exc:  # starting the producer, or anything unforeseen mid-batch
            out.failure = out.failure or exc

        # Stamp acknowledged rows only up to the first failure of their key: a later row of
        # that key is sent again after the failed one, never before it.
        failed_keys: set[str] = set()
        for row, future in sent:
            if row["key"] in failed_keys:
                continue
            if future.done() and not future.cancelled() and future.exception() is None:
                out.acked.append(row)
                continue
            failed_keys.add(row["key"])
            error = future.exception() if future.done() and not future.cancelled() else None
            if error is not None and blames_the_record(error):
                self._suspects.add(row["id"])
            if out.failure is None:
                out.failure = error or RelaySendTimeout(
                    f"no acknowledgement within {self._send_timeout:g}s"
                )
        if out.failure is not None or out.restart:
            await self._discard_producer()
            for _, future in sent:  # every one is settled now; their errors are accounted for
                if future.done() and not future.cancelled():
                    future.exception()
        return out

    async def _refusal(
        self, producer: AIOKafkaProducer, topic: str, exc: BaseException
    ) -> str | None:
        """Why a record refused before it was queued can never be published, or None when
        the error is the broker's or the producer's state (the row is kept for a retry)."""
        if isinstance(exc, UnknownTopicOrPartitionError):
            # Also what an unreachable broker looks like: ask the broker whether it exists.
            try:
                metadata = await producer.client.fetch_all_metadata()
            except Exception:
                return None
            if metadata.brokers() and self._names.physical(topic) not in metadata.topics():
                return f"unknown topic {topic}"
            return None
        return describe(exc) if blames_the_record(exc) else None

    async def _send(self, producer: AIOKafkaProducer, row: asyncpg.Record) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = await producer.send(
            self._names.physical(row["topic"]),
            value=row["payload"].encode(),
            key=row["key"].encode(),
            headers=record_headers(row),
        )
        return future

    async def _mark_published(self, conn: asyncpg.Connection, ids: list[int]) -> None:
        await conn.execute(
            "UPDATE outbox SET published_at = clock_timestamp() WHERE id = ANY($1::bigint[])",
            ids,
            timeout=self._db_timeout,
        )

    async def _park(self, conn: asyncpg.Connection, parked: list[tuple[int, str]]) -> None:
        await conn.execute(
            _PARK, [i for i, _ in parked], [r for _, r in parked], timeout=self._db_timeout
        )
