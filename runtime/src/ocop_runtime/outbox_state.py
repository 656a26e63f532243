"""What the outbox holds and what operators do about it.

- :func:`blames_the_record`: which send errors mean a row can never be published as it is (the
  relay parks such a row with its reason; any other error is retried).
- :func:`outbox_stats`: the backlog (exact up to :data:`BACKLOG_EXACT_UP_TO`, above that the id
  span of pending rows, an upper bound found with two index probes, so it stays cheap with a
  million pending rows), the oldest pending row's age, and the parked rows.
- :func:`parked_rows` and :func:`retry_parked`: list parked rows; clear the park of their keys so
  the relay sends them again in order.
- :class:`Housekeeper`: deletes published outbox rows and inbox rows past their retention.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import asyncpg
from aiokafka.errors import (
    AuthenticationFailedError,
    ClusterAuthorizationFailedError,
    CorruptRecordException,
    DuplicateSequenceNumber,
    InvalidProducerEpoch,
    InvalidTopicError,
    KafkaError,
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    OutOfOrderSequenceNumber,
    PolicyViolationError,
    ProducerClosed,
    ProducerFenced,
    RecordTooLargeError,
    TopicAuthorizationFailedError,
    TransactionalIdAuthorizationFailed,
    UnknownProducerId,
    UnsupportedForMessageFormatError,
    UnsupportedVersionError,
)

from ocop_runtime.telemetry import Metrics

log = logging.getLogger("ocop.outbox")

# Errors that blame the record itself: sending it again, to any broker state, cannot succeed.
_RECORD_FAULTS: tuple[type[BaseException], ...] = (
    MessageSizeTooLargeError,
    RecordTooLargeError,
    TopicAuthorizationFailedError,
    InvalidTopicError,
    CorruptRecordException,
    PolicyViolationError,
    UnsupportedForMessageFormatError,
)
# Non-retriable errors that blame the producer or the connection, never one record: a new
# producer (or the operator fixing credentials) is the cure, so the rows are kept and retried.
_PRODUCER_FAULTS: tuple[type[BaseException], ...] = (
    OutOfOrderSequenceNumber,
    DuplicateSequenceNumber,
    UnknownProducerId,
    InvalidProducerEpoch,
    ProducerFenced,
    ProducerClosed,
    ClusterAuthorizationFailedError,
    TransactionalIdAuthorizationFailed,
    AuthenticationFailedError,
    KafkaTimeoutError,
    UnsupportedVersionError,
)


def blames_the_record(exc: BaseException) -> bool:
    """Whether ``exc``, raised for one record, means that record can never be published as it
    is: a size, authorisation, invalid-topic or serialisation error, or any other non-retriable
    Kafka error that is not about the producer's own state."""
    if isinstance(exc, _RECORD_FAULTS):
        return True
    if isinstance(exc, KafkaError):
        return not exc.retriable and not isinstance(exc, _PRODUCER_FAULTS)
    # Building the record (envelope, encoding) failed: the row's content is the cause.
    return isinstance(exc, ValueError | TypeError)


def describe(exc: BaseException) -> str:
    """``Class: message``, without repeating the class when the message already names it."""
    name, text = type(exc).__name__, str(exc)
    if not text or text == name:
        return name
    return text if text.startswith(name) else f"{name}: {text}"


# Exact up to the cap; above it the id span of pending rows, an upper bound found with two
# index probes (a count over a million rows would read them all every few seconds).
BACKLOG_EXACT_UP_TO = 10_000
_STATS = """
SELECT (SELECT count(*) FROM (SELECT 1 FROM outbox
          WHERE published_at IS NULL AND parked_at IS NULL LIMIT $1) AS capped) AS counted,
       (SELECT max(id) - min(id) + 1 FROM outbox
         WHERE published_at IS NULL AND parked_at IS NULL) AS span,
       (SELECT extract(epoch FROM clock_timestamp() - created_at) FROM outbox
         WHERE published_at IS NULL AND parked_at IS NULL ORDER BY id LIMIT 1) AS oldest,
       (SELECT count(*) FROM outbox WHERE published_at IS NULL AND parked_at IS NOT NULL) AS parked
"""


@dataclass(frozen=True)
class OutboxStats:
    """What the outbox holds: ``backlog`` rows waiting to be sent (exact up to
    :data:`BACKLOG_EXACT_UP_TO`, an upper bound above), the oldest one's age, and parked rows."""

    backlog: int
    backlog_exact: bool
    oldest_seconds: float
    parked: int


async def outbox_stats(db: asyncpg.Pool | asyncpg.Connection) -> OutboxStats:
    row = await db.fetchrow(_STATS, BACKLOG_EXACT_UP_TO + 1)
    assert row is not None
    exact = row["counted"] <= BACKLOG_EXACT_UP_TO
    return OutboxStats(
        backlog=row["counted"] if exact else row["span"],
        backlog_exact=exact,
        oldest_seconds=float(row["oldest"] or 0),
        parked=row["parked"],
    )


@dataclass(frozen=True)
class ParkedRow:
    id: int
    event_id: UUID
    topic: str
    key: str
    ce_type: str
    created_at: datetime
    parked_at: datetime
    reason: str


async def parked_rows(pool: asyncpg.Pool, *, limit: int = 1000) -> list[ParkedRow]:
    """Parked outbox rows, oldest first, with the reason each was set aside."""
    rows = await pool.fetch(
        "SELECT id, event_id, topic, key, ce_type, created_at, parked_at, parked_reason"
        " FROM outbox WHERE published_at IS NULL AND parked_at IS NOT NULL ORDER BY id LIMIT $1",
        limit,
    )
    return [
        ParkedRow(
            r["id"],
            r["event_id"],
            r["topic"],
            r["key"],
            r["ce_type"],
            r["created_at"],
            r["parked_at"],
            r["parked_reason"] or "",
        )
        for r in rows
    ]


async def retry_parked(pool: asyncpg.Pool, ids: Iterable[int] | None = None) -> int:
    """Clear the park of the keys of rows ``ids`` (None: every parked row) and wake the relay,
    which sends them again in id order; return how many rows were released. A row whose cause
    is still there is parked again (with the later rows of its key) on the next pass."""
    async with pool.acquire() as conn, conn.transaction():
        if ids is None:
            status = await conn.execute(
                "UPDATE outbox SET parked_at = NULL, parked_reason = NULL"
                " WHERE published_at IS NULL AND parked_at IS NOT NULL"
            )
        else:
            status = await conn.execute(
                "UPDATE outbox SET parked_at = NULL, parked_reason = NULL"
                " WHERE published_at IS NULL AND parked_at IS NOT NULL AND key IN ("
                "  SELECT key FROM outbox WHERE id = ANY($1::bigint[])"
                "   AND published_at IS NULL AND parked_at IS NOT NULL)",
                list(ids),
            )
        await conn.execute("SELECT pg_notify('ocop_outbox_' || current_schema(), '')")
    return int(status.split()[-1])


_PURGE_OUTBOX = """
DELETE FROM outbox WHERE id IN (
    SELECT id FROM outbox WHERE published_at < clock_timestamp() - $1::interval
     ORDER BY published_at LIMIT $2 FOR UPDATE SKIP LOCKED)
"""
_PURGE_INBOX = """
DELETE FROM inbox WHERE ctid = ANY(ARRAY(
    SELECT ctid FROM inbox WHERE processed_at < clock_timestamp() - $1::interval
     ORDER BY processed_at LIMIT $2 FOR UPDATE SKIP LOCKED))
"""


class Housekeeper:
    """Deletes published outbox rows older than ``outbox_retention_hours`` and inbox rows older
    than ``inbox_retention_hours`` (0 keeps them), ``batch_size`` rows per statement, at start
    and every ``interval_seconds``. Replicas share the work (``SKIP LOCKED``). An inbox row is
    what makes a redelivered event a duplicate: keep it longer than any topic a consumer may
    re-read."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        metrics: Metrics,
        outbox_retention_hours: float = 168.0,
        inbox_retention_hours: float = 720.0,
        interval_seconds: float = 600.0,
        batch_size: int = 1000,
        pause_seconds: float = 0.05,
    ) -> None:
        self._pool = pool
        self._metrics = metrics
        self._retention = {"outbox": outbox_retention_hours, "inbox": inbox_retention_hours}
        self._interval = interval_seconds
        self._batch_size = batch_size
        self._pause = pause_seconds
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="housekeeping")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def run_once(self) -> dict[str, int]:
        """Delete what is past its retention now; return the rows deleted per table."""
        deleted = {}
        for table, sql in (("outbox", _PURGE_OUTBOX), ("inbox", _PURGE_INBOX)):
            hours = self._retention[table]
            if hours > 0:
                deleted[table] = await self._purge(table, sql, timedelta(hours=hours))
        return deleted

    async def _purge(self, table: str, sql: str, age: timedelta) -> int:
        total = 0
        while True:
            status = await self._pool.execute(sql, age, self._batch_size, timeout=60)
            n = int(status.split()[-1])
            total += n
            if n:
                self._metrics.housekeeping_deleted.labels(table).inc(n)
            if n < self._batch_size:
                return total
            await asyncio.sleep(self._pause)  # small statements, room for other work between

    async def _run(self) -> None:
        while True:
            try:
                deleted = await self.run_once()
                if any(deleted.values()):
                    log.info("housekeeping: deleted %s", deleted)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("housekeeping: %s; trying again later", describe(exc))
            await asyncio.sleep(self._interval)


def connection_gone(conn: asyncpg.Connection) -> bool:
    """True when ``conn`` can no longer serve: closed, or already handed back to the pool (which
    asyncpg does to a connection the server dropped)."""
    try:
        return conn.is_closed()
    except asyncpg.InterfaceError:
        return True
