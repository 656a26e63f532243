"""OpenTelemetry tracing and Prometheus metrics shared by every service.

One trace runs from the HTTP request through the database transaction, the outbox row (which
stores the ``traceparent``), the relay's Kafka send and every consumer. Spans are exported over
OTLP/HTTP when ``OCOP_OTLP_ENDPOINT`` is set and kept in-process otherwise.
"""

from __future__ import annotations

import time
from collections.abc import MutableMapping
from contextvars import Token
from typing import Any

from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span, Status, StatusCode, TraceFlags, TraceState
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_propagator = TraceContextTextMapPropagator()
_exporting_to: set[str] = set()


def configure_tracing(service: str, otlp_endpoint: str | None) -> TracerProvider:
    """Install the SDK tracer provider once per process; add an OTLP exporter when configured."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider(resource=Resource.create({"service.namespace": "ocop"}))
        trace.set_tracer_provider(provider)
    if otlp_endpoint and otlp_endpoint not in _exporting_to:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=otlp_endpoint.rstrip("/") + "/v1/traces")
        provider.add_span_processor(BatchSpanProcessor(exporter))
        _exporting_to.add(otlp_endpoint)
    return provider


def current_trace_headers() -> tuple[str | None, str | None]:
    """The W3C ``traceparent`` / ``tracestate`` of the current span, for storing on a row."""
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier.get("traceparent"), carrier.get("tracestate")


def context_from(traceparent: str | None, tracestate: str | None = None) -> otel_context.Context:
    """The context of a W3C ``traceparent`` (and ``tracestate``): what a span continuing it
    takes as ``context``. A well-formed version-00 ``traceparent`` is read directly (this runs
    for every record consumed); anything else goes through the propagator, which is strict."""
    if (
        traceparent
        and len(traceparent) == 55
        and traceparent.startswith("00-")
        and traceparent[35] == "-"
        and traceparent[52] == "-"
    ):
        try:
            trace_id = int(traceparent[3:35], 16)
            span_id = int(traceparent[36:52], 16)
            flags = int(traceparent[53:55], 16)
        except ValueError:
            pass
        else:
            if trace_id and span_id and traceparent == traceparent.lower():
                state = TraceState.from_header([tracestate]) if tracestate else None
                parent = trace.SpanContext(
                    trace_id,
                    span_id,
                    is_remote=True,
                    trace_flags=TraceFlags(flags),
                    trace_state=state,
                )
                return trace.set_span_in_context(trace.NonRecordingSpan(parent))
    carrier = {}
    if traceparent:
        carrier["traceparent"] = traceparent
    if tracestate:
        carrier["tracestate"] = tracestate
    return _propagator.extract(carrier)


class Metrics:
    """Prometheus metrics of one service, in its own registry (several apps may share a process)."""

    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.http_requests = Counter(
            "ocop_http_requests", "HTTP requests served", ["method", "route", "status"], registry=r
        )
        self.http_duration = Histogram(
            "ocop_http_request_duration_seconds",
            "HTTP request duration",
            ["method", "route"],
            registry=r,
        )
        self.messages = Counter(
            "ocop_messages_consumed",
            "Kafka records handled, by outcome (processed, duplicate, ignored, dead_lettered, redelivered)",
            ["topic", "outcome"],
            registry=r,
        )
        self.message_duration = Histogram(
            "ocop_message_handle_duration_seconds",
            "Time to handle one record",
            ["topic"],
            registry=r,
        )
        self.handler_retries = Counter(
            "ocop_handler_retries",
            "Handler attempts that failed and were retried",
            ["topic"],
            registry=r,
        )
        self.published = Counter(
            "ocop_events_published", "Outbox rows published to Kafka", ["topic"], registry=r
        )
        self.outbox_backlog = Gauge(
            "ocop_outbox_backlog", "Outbox rows not yet published", registry=r
        )
        self.outbox_lag = Gauge(
            "ocop_outbox_lag_seconds", "Age of the oldest unpublished outbox row", registry=r
        )
        self.outbox_parked = Gauge(
            "ocop_outbox_parked",
            "Outbox rows parked: refused for good by the broker, or waiting behind such a row of "
            "their key",
            registry=r,
        )
        self.relay_failures = Counter(
            "ocop_outbox_relay_failures",
            "Relay passes that failed (the relay restarts its producer and tries again), by error",
            ["error"],
            registry=r,
        )
        self.relay_healthy = Gauge(
            "ocop_outbox_relay_healthy",
            "1 while the relay publishes or stands by; 0 once it has failed for longer than "
            "OCOP_RELAY_UNHEALTHY_AFTER_SECONDS",
            registry=r,
        )
        self.housekeeping_deleted = Counter(
            "ocop_housekeeping_deleted",
            "Rows deleted by housekeeping (published outbox rows, inbox rows) past their retention",
            ["table"],
            registry=r,
        )
        self.info = Gauge("ocop_service_info", "Service identity", ["service"], registry=r)
        self.info.labels(service=service).set(1)


# FastAPI's own OpenTelemetry instrumentation (``FastAPI(telemetry=...)``): a server span per
# request with the HTTP semantic conventions (named ``{method} {route}``, continuing an incoming
# ``traceparent``), the same work the hand-written middleware did, for less. Its spans around
# dependency resolution, the endpoint and serialisation (three more spans a request), its OTel
# metrics and logs are off: the metrics are Prometheus's (below), the errors are logged already.
# Not traced: the scrapes of /metrics and the probes of /healthz and /readyz (an orchestrator's
# probe every few seconds is no one's request, and a server span is about a third of the cost of
# a probe); they are still counted in the metrics and rate limited.
UNTRACED_PATHS = frozenset({"/metrics", "/healthz", "/readyz"})


def _untraced(scope: MutableMapping[str, Any]) -> bool:
    return scope.get("path") in UNTRACED_PATHS


HTTP_TELEMETRY: TelemetryConfig = {
    "tracing": True,
    "operation_spans": False,
    "metrics": False,
    "logs": False,
    "exclude": _untraced,
}


def instrument_http(app: FastAPI, service: str, metrics: Metrics) -> None:
    """HTTP metrics per route and status, and the service's name on the request's span (the
    span itself is FastAPI's: see :data:`HTTP_TELEMETRY`)."""
    app.add_middleware(HttpMetrics, service=service, metrics=metrics)


_CACHED_LABELS = 1000  # label sets kept at hand (routes x methods x statuses)


class HttpMetrics:
    """Pure ASGI middleware: counts each request and observes its duration by method, route
    template and status, without the task and stream per request of ``@app.middleware``."""

    def __init__(self, app: Any, service: str, metrics: Metrics) -> None:
        self.app = app
        self.service = service
        self.metrics = metrics
        # Prometheus children by labels: .labels() costs a lock and a dict build each call.
        self._counted: dict[tuple[str, str, int], Any] = {}
        self._timed: dict[tuple[str, str], Any] = {}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] == "/metrics":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def observe(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        span = trace.get_current_span()
        if span.is_recording():
            span.set_attribute("ocop.service", self.service)
        try:
            await self.app(scope, receive, observe)
        finally:
            method = scope["method"]
            template = getattr(scope.get("route"), "path", "unmatched")
            counted = self._counted.get((method, template, status))
            if counted is None:
                counted = self.metrics.http_requests.labels(method, template, str(status))
                if len(self._counted) < _CACHED_LABELS:
                    self._counted[(method, template, status)] = counted
            timed = self._timed.get((method, template))
            if timed is None:
                timed = self.metrics.http_duration.labels(method, template)
                if len(self._timed) < _CACHED_LABELS:
                    self._timed[(method, template)] = timed
            counted.inc()
            timed.observe(time.perf_counter() - started)


class CurrentSpan:
    """``span`` as the current span for a ``with`` block, ended after it; an exception leaving
    the block is recorded on it and marks it failed. What ``start_as_current_span`` does,
    without its two generator-based context managers (a third of the cost of a span, and this
    runs for every record)."""

    __slots__ = ("_span", "_token")

    def __init__(self, span: Span) -> None:
        self._span = span
        self._token: Token[otel_context.Context] | None = None

    def __enter__(self) -> Span:
        self._token = otel_context.attach(trace.set_span_in_context(self._span))
        return self._span

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, _: Any) -> None:
        try:
            if exc is not None:
                self._span.record_exception(exc)
                self._span.set_status(
                    Status(StatusCode.ERROR, f"{kind.__name__ if kind else ''}: {exc}")
                )
        finally:
            if self._token is not None:
                otel_context.detach(self._token)
            self._span.end()
