"""What the relay makes of a batch of outbox rows: each row's CloudEvents headers, and one
producer span for the batch.

The trace of an event is the request's that staged it: the row stores the ``traceparent`` of
the span current in that transaction, and the record carries that same ``traceparent``, so every
consumer's span is a child of the request's. The relay adds one span per batch, not one per
record (a span and a context switch per record cost the relay as much as the send itself):
a child of the request's span when every row of the batch came from the same request (one
command, one import), otherwise linked to each row's request (:mod:`ocop_runtime.batch_spans`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opentelemetry import trace

from ocop_contracts.envelope import (
    CONTENT_TYPE,
    H_CONTENT_TYPE,
    H_ID,
    H_SOURCE,
    H_SPECVERSION,
    H_SUBJECT,
    H_TIME,
    H_TRACEPARENT,
    H_TRACESTATE,
    H_TYPE,
    SPECVERSION,
    Headers,
)
from ocop_runtime import batch_spans as spans
from ocop_runtime.telemetry import CurrentSpan

_tracer = trace.get_tracer("ocop.outbox")
_SPECVERSION = (H_SPECVERSION, SPECVERSION.encode())
_CONTENT_TYPE = (H_CONTENT_TYPE, CONTENT_TYPE.encode())


def record_headers(row: Any) -> Headers:
    """The CloudEvents headers of one outbox row (as :meth:`ocop_contracts.Envelope.to_headers`
    writes them), with the row's stored trace context."""
    time = row["ce_time"]
    headers: Headers = [
        _SPECVERSION,
        (H_ID, str(row["event_id"]).encode()),
        (H_TYPE, row["ce_type"].encode()),
        (H_SOURCE, row["ce_source"].encode()),
        (H_TIME, time.isoformat().encode()),
        (H_SUBJECT, row["key"].encode()),
        _CONTENT_TYPE,
    ]
    traceparent, tracestate = row["traceparent"], row["tracestate"]
    if traceparent:
        headers.append((H_TRACEPARENT, traceparent.encode()))
        if tracestate:
            headers.append((H_TRACESTATE, tracestate.encode()))
    return headers


def batch_span(rows: Sequence[Any]) -> CurrentSpan:
    """One producer span around sending ``rows``: under their request when they share one,
    else linked to each request."""
    return spans.batch_span(
        _tracer,
        "publish",
        trace.SpanKind.PRODUCER,
        topics=(r["topic"] for r in rows),
        origins=((r["traceparent"], r["tracestate"]) for r in rows),
        attributes={
            "messaging.operation.type": "send",
            "messaging.batch.message_count": len(rows),
        },
    )
