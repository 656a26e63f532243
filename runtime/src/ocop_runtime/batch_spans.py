"""One span for a batch of records, sent or consumed, in the trace of the requests behind them.

A span per record costs about as much as handling the record; a batch gets one. It is a child
of the request's span when every record of the batch came from the same request (one command,
one import, or a batch of one record), otherwise a root of its own linked to each record's
request (up to :data:`MAX_LINKS`), as the OpenTelemetry messaging conventions have it for a
batch. Used by the outbox relay (``publish``) and the batched consumer (``consume``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, SpanKind, Tracer

from ocop_runtime.telemetry import CurrentSpan, context_from

# The SDK keeps 128 links a span by default; more would be built only to be dropped.
MAX_LINKS = 128

Origin = tuple[str | None, str | None]  # (traceparent, tracestate) of one record


def batch_span(
    tracer: Tracer,
    operation: str,
    kind: SpanKind,
    *,
    topics: Iterable[str],
    origins: Iterable[Origin],
    attributes: dict[str, Any],
) -> CurrentSpan:
    """``{operation} {topic}`` when the batch has one topic (else ``operation``), under the
    records' request when they share one, else linked to each request; current in the
    ``with`` block."""
    named = set(topics)
    traced = {(parent, state) for parent, state in origins if parent}
    attributes = {"messaging.system": "kafka", **attributes}
    if len(named) == 1:
        (topic,) = named
        attributes["messaging.destination.name"] = topic
        name = f"{operation} {topic}"
    else:
        name = operation
    parent = Context()  # a root of its own unless the records share one request
    links: list[Link] = []
    if len(traced) == 1:
        (origin,) = traced
        parent = context_from(*origin)
    else:
        for traceparent, tracestate in list(traced)[:MAX_LINKS]:
            context = trace.get_current_span(context_from(traceparent, tracestate))
            if context.get_span_context().is_valid:
                links.append(Link(context.get_span_context()))
    return CurrentSpan(
        tracer.start_span(name, context=parent, kind=kind, links=links, attributes=attributes)
    )
