"""OpenTelemetry tracing and Prometheus metrics shared by every service.

One trace runs from the HTTP request through the database transaction, the outbox row (which
stores the ``traceparent``), the relay's Kafka send and every consumer. Spans are exported over
OTLP/HTTP when ``OCOP_OTLP_ENDPOINT`` is set and kept in-process otherwise.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request, Response
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
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


def instrument_http(app: FastAPI, service: str, metrics: Metrics) -> None:
    """A server span per request (continuing an incoming ``traceparent``) plus HTTP metrics."""
    tracer = trace.get_tracer(f"ocop.{service}.http")

    @app.middleware("http")
    async def _observe(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        if request.url.path == "/metrics":
            return await call_next(request)
        parent = _propagator.extract(dict(request.headers))
        started = time.perf_counter()
        with tracer.start_as_current_span(
            f"HTTP {request.method}", context=parent, kind=trace.SpanKind.SERVER
        ) as span:
            span.set_attribute("http.request.method", request.method)
            span.set_attribute("url.path", request.url.path)
            span.set_attribute("ocop.service", service)
            response = await call_next(request)
            route: Any = request.scope.get("route")
            template = getattr(route, "path", "unmatched")
            span.update_name(f"HTTP {request.method} {template}")
            span.set_attribute("http.route", template)
            span.set_attribute("http.response.status_code", response.status_code)
        metrics.http_requests.labels(request.method, template, str(response.status_code)).inc()
        metrics.http_duration.labels(request.method, template).observe(
            time.perf_counter() - started
        )
        return response
