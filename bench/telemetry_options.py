"""Benchmark: what each way of tracing costs, for the same spans, against no tracing, same run.

Tracing is configured as in a service (the SDK's tracer provider, no exporter: spans are made,
recorded and dropped), and each option is measured interleaved with its untraced baseline
(block by block), so background load weighs on both alike.

1. HTTP, one request to a small FastAPI app called in-process (``bench.common.InProcess``):
   no tracing (the baseline); FastAPI's own instrumentation (``FastAPI(telemetry=...)``, one
   server span: what the services use, ``ocop_runtime.telemetry.HTTP_TELEMETRY``);
   ``opentelemetry-instrumentation-asgi``'s ``OpenTelemetryMiddleware`` (one server span and
   two internal spans for the response's start and body); and the hand-written span the services
   had before, an ``@app.middleware("http")`` (Starlette's ``BaseHTTPMiddleware``). Each traced
   option is checked to have finished a server span for the request.
2. PostgreSQL, one ``fetchval`` on one connection: no span (the baseline); one span opened by
   hand around it (as ``ocop_runtime.db.transaction`` does per use case);
   ``opentelemetry-instrumentation-asyncpg`` (a span per statement, with the statement text).
3. Kafka, one record through FastStream's in-memory test broker to a subscriber that does
   nothing: no middleware (the baseline); FastStream's ``KafkaTelemetryMiddleware`` (a
   consumer span and a publisher span per record); its ``KafkaPrometheusMiddleware``; and, for
   comparison, the consumer span ``ocop_runtime.consumer`` opens by hand per record (the
   trace context read from ``traceparent`` and the span with its attributes, outside any
   broker).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from fastapi import FastAPI, Request, Response
from faststream.kafka import KafkaBroker, TestKafkaBroker
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from prometheus_client import CollectorRegistry

from bench.common import InProcess, report
from ocop_runtime.telemetry import HTTP_TELEMETRY, configure_tracing, context_from

N = int(os.environ.get("OCOP_BENCH_TELEMETRY_N", "2000"))
BLOCK = 100
PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
_OFF = {"tracing": False, "metrics": False, "logs": False, "operation_spans": False}


class Recorder(SpanProcessor):
    """Keeps the spans finished while :meth:`recording` (the checks), none while measuring: an
    exporter would add its own cost to every option."""

    def __init__(self) -> None:
        self.on = False
        self.spans: list[ReadableSpan] = []

    def on_end(self, span: ReadableSpan) -> None:
        if self.on:
            self.spans.append(span)

    def recording(self) -> Recorder:
        self.spans, self.on = [], True
        return self

    def get_finished_spans(self) -> list[ReadableSpan]:
        self.on = False
        return self.spans


def _app(telemetry: Any) -> FastAPI:
    app = FastAPI(telemetry=telemetry)

    @app.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    return app


def _hand_written(app: FastAPI) -> FastAPI:
    """The services' HTTP span as it was written by hand (a ``BaseHTTPMiddleware``)."""
    tracer = trace.get_tracer("bench.hand")
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    propagator = TraceContextTextMapPropagator()

    @app.middleware("http")
    async def observe(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        parent = propagator.extract(dict(request.headers))
        with tracer.start_as_current_span(
            f"HTTP {request.method}", context=parent, kind=trace.SpanKind.SERVER
        ) as span:
            span.set_attribute("http.request.method", request.method)
            span.set_attribute("url.path", request.url.path)
            response = await call_next(request)
            template = getattr(request.scope.get("route"), "path", "unmatched")
            span.update_name(f"HTTP {request.method} {template}")
            span.set_attribute("http.route", template)
            span.set_attribute("http.response.status_code", response.status_code)
        return response

    return app


async def _interleaved(
    base: Callable[[], Awaitable[Any]], option: Callable[[], Awaitable[Any]]
) -> tuple[list[float], list[float]]:
    """Per-call times of ``base`` and ``option``, alternating blocks of BLOCK calls."""
    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(N // BLOCK):
        for call, out in ((option, ours), (base, theirs)):
            for _ in range(BLOCK):
                started = time.perf_counter()
                await call()
                out.append(time.perf_counter() - started)
    return ours, theirs


def _row(name: str, ours: list[float], theirs: list[float], **sizes: Any) -> None:
    o, b = statistics.median(ours) * 1e6, statistics.median(theirs) * 1e6
    print(f"  {name:<58} {o:8.1f} µs   untraced {b:8.1f} µs   +{o - b:7.1f} µs   {o / b:5.2f}x")
    report(name, "µs", ocop=o, raw=b, sizes={"calls": len(ours), **sizes})


async def _http(spans: Recorder) -> None:
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    base = InProcess(_app(_OFF))
    options = {
        "HTTP span: FastAPI's own (used)": InProcess(_app(HTTP_TELEMETRY)),
        "HTTP span: opentelemetry-instrumentation-asgi": InProcess(
            OpenTelemetryMiddleware(_app(_OFF))
        ),
        "HTTP span: hand-written BaseHTTPMiddleware (before)": InProcess(_hand_written(_app(_OFF))),
    }
    headers = {"traceparent": PARENT}
    print("HTTP: GET /items/{id} in process, p50 per request")
    for name, client in options.items():
        spans.recording()
        response = await client.get("/items/1", headers=headers)
        assert response.status_code == 200, response.text
        server = [s for s in spans.get_finished_spans() if s.kind == trace.SpanKind.SERVER]
        assert len(server) == 1, f"{name}: {[s.name for s in spans.get_finished_spans()]}"
        assert format(server[0].context.trace_id, "032x") == PARENT[3:35], name
        ours, theirs = await _interleaved(
            lambda: base.get("/items/1", headers=headers),
            lambda c=client: c.get("/items/1", headers=headers),  # type: ignore[misc]
        )
        _row(name, ours, theirs)


async def _postgres(spans: Recorder) -> None:
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor

    conn = await asyncpg.connect(os.environ["OCOP_BENCH_DATABASE_URL"])
    tracer = trace.get_tracer("bench.db")
    query = "SELECT count(*) FROM pg_class WHERE relname = $1"
    try:

        async def plain() -> None:
            await conn.fetchval(query, "pg_type")

        async def by_hand() -> None:
            with tracer.start_as_current_span(
                "db lookup", kind=trace.SpanKind.CLIENT, attributes={"db.system": "postgresql"}
            ):
                await conn.fetchval(query, "pg_type")

        print("PostgreSQL: one fetchval on one connection, p50")
        ours, theirs = await _interleaved(plain, by_hand)
        _row("DB span: by hand, one per use case (used)", ours, theirs)

        instrumentor = AsyncPGInstrumentor()
        ours, theirs = [], []
        for _ in range(N // BLOCK):
            instrumentor.instrument()
            try:
                for _ in range(BLOCK):
                    started = time.perf_counter()
                    await conn.fetchval(query, "pg_type")
                    ours.append(time.perf_counter() - started)
            finally:
                instrumentor.uninstrument()
            for _ in range(BLOCK):
                started = time.perf_counter()
                await conn.fetchval(query, "pg_type")
                theirs.append(time.perf_counter() - started)
        spans.recording()
        instrumentor.instrument()
        try:
            await conn.fetchval(query, "pg_type")
        finally:
            instrumentor.uninstrument()
        assert [s.kind for s in spans.get_finished_spans()] == [trace.SpanKind.CLIENT]
        _row("DB span: opentelemetry-instrumentation-asyncpg, per statement", ours, theirs)
    finally:
        await conn.close()


async def _kafka(spans: Recorder, provider: Any) -> None:
    from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
    from faststream.kafka.prometheus import KafkaPrometheusMiddleware

    def broker(*middlewares: Any) -> KafkaBroker:
        b = KafkaBroker("localhost:9092", middlewares=middlewares)

        @b.subscriber("bench.telemetry", group_id="bench")
        async def handle(body: dict[str, Any]) -> None:
            pass

        return b

    print("Kafka: one record through FastStream's in-memory test broker, p50")
    base = broker()
    options = {
        "Kafka spans: FastStream KafkaTelemetryMiddleware": broker(
            KafkaTelemetryMiddleware(tracer_provider=provider)
        ),
        "Kafka metrics: FastStream KafkaPrometheusMiddleware": broker(
            KafkaPrometheusMiddleware(registry=CollectorRegistry())
        ),
    }
    headers = {"traceparent": PARENT}
    async with TestKafkaBroker(base) as b0:
        for name, option in options.items():
            async with TestKafkaBroker(option) as b1:
                spans.recording()
                await b1.publish(b"{}", "bench.telemetry", headers=headers)
                finished = spans.get_finished_spans()
                if "Telemetry" in name:
                    assert trace.SpanKind.CONSUMER in {s.kind for s in finished}, finished
                ours, theirs = await _interleaved(
                    lambda: b0.publish(b"{}", "bench.telemetry", headers=headers),
                    lambda b=b1: b.publish(b"{}", "bench.telemetry", headers=headers),  # type: ignore[misc]
                )
                _row(name, ours, theirs)

    tracer = trace.get_tracer("bench.consumer")

    async def nothing() -> None:
        pass

    async def consumer_span() -> None:
        with tracer.start_as_current_span(
            "consume registry.producers.v1",
            context=context_from(PARENT, None),
            kind=trace.SpanKind.CONSUMER,
            attributes={
                "messaging.system": "kafka",
                "messaging.destination.name": "registry.producers.v1",
                "messaging.message.id": "4bf92f35-77b3-4da6-a3ce-929d0e0e4736",
                "messaging.consumer.group.name": "evaluation",
                "ocop.event.type": "vn.hanoi.ocop.registry.ProducerRegistered.v1",
            },
        ) as span:
            span.set_attribute("ocop.outcome", "processed")

    ours, theirs = await _interleaved(nothing, consumer_span)
    _row("Kafka span: by hand in ocop_runtime.consumer (used)", ours, theirs)


async def main() -> int:
    provider = configure_tracing("bench", None)
    spans = Recorder()
    provider.add_span_processor(spans)
    await _http(spans)
    await _postgres(spans)
    await _kafka(spans, provider)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
