"""Transactional outbox: stage events in the use case's transaction; one relay publishes them.

The relay is the only publisher. It reads a batch of unpublished rows in id order in one short
statement, sends them with an idempotent producer (``acks=all``) keyed by aggregate id without
awaiting each record, waits (bounded) for the acknowledgements, then stamps the acknowledged rows
in one statement. No transaction is open while it waits on the broker.

- **Nothing committed is skipped.** It selects by ``published_at IS NULL`` rather than above a
  high-water id, so a row committed late by a slower transaction is picked up on the next pass.
- **One relay per schema.** A session advisory lock, held on a connection the relay keeps for its
  life (the same one that LISTENs), makes replicas stand by; every statement of a pass runs on
  that connection, so a relay whose connection died cannot stamp, and re-takes the lock (or
  stands by) before its next pass. A crash between sending and stamping re-sends the rows with
  the same ``ce_id``; consumers' inboxes absorb the duplicates.
- **A failed send starts clean.** Only rows the broker acknowledged are stamped, and only up to
  the first failure of their key; the producer is then discarded (a refused or expired batch
  leaves the idempotent producer's sequence numbers behind, and every later batch to that
  partition would be refused with ``OutOfOrderSequenceNumber``) and the next pass resends from
  the first unstamped row with a new one. A key's first copies always stay in order.
- **A row that can never be published is parked**, with its reason: too large, a topic the
  service may not write or that does not exist, a record that cannot be built, or another
  error that blames the record. Later rows of its key are parked behind it; other keys flow.
  When the broker refuses a whole request, the rows in it are sent again one at a time to find
  the one to blame. :func:`retry_parked` clears a key's park so its rows are sent again in order.
- **Health.** A relay that has failed for ``unhealthy_after_seconds`` reports it
  (:meth:`OutboxRelay.health_problem`, ``/readyz``) and in ``ocop_outbox_relay_healthy``; every
  failure counts in ``ocop_outbox_relay_failures``. Backlog, lag and parked gauges are refreshed
  on a timer by :func:`outbox_stats`, which stays cheap with a million pending rows.
- :class:`Housekeeper` deletes published outbox rows and inbox rows past their retention.

The relay is :mod:`ocop_runtime.relay`; statistics, parked rows and housekeeping are
:mod:`ocop_runtime.outbox_state`. Both are re-exported here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import asyncpg
from aiokafka import AIOKafkaProducer

from ocop_contracts import Event
from ocop_contracts.envelope import source
from ocop_runtime.kafka import KafkaAuth, client_options
from ocop_runtime.outbox_state import (
    BACKLOG_EXACT_UP_TO,
    Housekeeper,
    OutboxStats,
    ParkedRow,
    blames_the_record,
    outbox_stats,
    parked_rows,
    retry_parked,
)
from ocop_runtime.relay import OutboxRelay, RelaySendTimeout
from ocop_runtime.telemetry import current_trace_headers

__all__ = [
    "BACKLOG_EXACT_UP_TO",
    "Housekeeper",
    "OutboxRelay",
    "OutboxStats",
    "ParkedRow",
    "RelaySendTimeout",
    "blames_the_record",
    "kafka_producer",
    "outbox_stats",
    "parked_rows",
    "retry_parked",
    "stage_event",
    "stage_events",
]

_INSERT = """
INSERT INTO outbox (event_id, topic, key, ce_type, ce_source, ce_time, payload, traceparent, tracestate)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
"""
# Per row: event id, topic, key, type and payload; the rest is the same for every row.
_INSERT_MANY = """
INSERT INTO outbox (event_id, topic, key, ce_type, ce_source, ce_time, payload, traceparent, tracestate)
SELECT e.event_id, e.topic, e.key, e.ce_type, $6::text, $7::timestamptz, e.payload, $8::text,
    $9::text
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[])
    WITH ORDINALITY AS e (event_id, topic, key, ce_type, payload, n)
ORDER BY e.n
"""


async def stage_event(
    conn: asyncpg.Connection, event: Event, *, service: str, topic: str | None = None
) -> UUID:
    """Add ``event`` to the outbox inside the caller's transaction; return its ``ce_id``.
    ``topic``: a catalogue name other than the event's own (an agency's replies topic); the
    relay sends it, like every row's topic, under the service's topic prefix."""
    event_id = uuid4()
    traceparent, tracestate = current_trace_headers()
    await conn.execute(
        _INSERT,
        event_id,
        topic or event.TOPIC,
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
    """Stage many events in one statement (bulk imports); outbox order is list order.

    One ``INSERT ... SELECT FROM unnest(...)`` rather than an ``executemany``: PostgreSQL runs
    one statement instead of one per row, and the outbox's statement trigger (the relay's
    NOTIFY) fires once. ``WITH ORDINALITY`` orders the rows, so the ids follow the list."""
    if not events:
        return []
    traceparent, tracestate = current_trace_headers()
    ids = [uuid4() for _ in events]
    await conn.execute(
        _INSERT_MANY,
        ids,
        [e.TOPIC for e in events],
        [e.key() for e in events],
        [e.CE_TYPE for e in events],
        [e.model_dump_json() for e in events],
        source(service),
        datetime.now(UTC),
        traceparent,
        tracestate,
    )
    return ids


def kafka_producer(
    bootstrap_servers: str, auth: KafkaAuth | None = None, **overrides: Any
) -> AIOKafkaProducer:
    """The producer every service uses: idempotent, ``acks=all``, bounded request time."""
    options: dict[str, Any] = {
        **client_options(auth),
        "bootstrap_servers": bootstrap_servers,
        "enable_idempotence": True,
        "acks": "all",
        "linger_ms": 0,
        "request_timeout_ms": 10_000,
        "retry_backoff_ms": 200,
    }
    options.update(overrides)
    return AIOKafkaProducer(**options)
