"""The cheap paths of telemetry and authentication do what the general ones did: the relay's
headers and batch span, trace contexts read from ``traceparent``, FastAPI's server span with
the HTTP metrics, and verified tokens served from the cache."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import httpx
import jwt
import pytest
from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from prometheus_client import generate_latest

from ocop_contracts import Envelope
from ocop_runtime.auth import TokenVerifier
from ocop_runtime.batch_spans import MAX_LINKS
from ocop_runtime.devidp import DEV_AUDIENCE, DEV_ISSUER, jwks_url
from ocop_runtime.outbox_records import batch_span, record_headers
from ocop_runtime.telemetry import HTTP_TELEMETRY, Metrics, context_from, instrument_http
from ocop_runtime.testing import session_idp, token

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = f"00-{TRACE}-00f067aa0ba902b7-01"


def _row(
    traceparent: str | None = None, tracestate: str | None = None, **kw: Any
) -> dict[str, Any]:
    return {
        "event_id": uuid4(),
        "topic": kw.get("topic", "registry.producers.v1"),
        "key": "c0ffee",
        "ce_type": "vn.hanoi.ocop.registry.ProducerRegistered.v1",
        "ce_source": "/ocop/registry",
        "ce_time": kw.get("ce_time", datetime(2026, 3, 1, 8, 30, 15, 123456, tzinfo=UTC)),
        "traceparent": traceparent,
        "tracestate": tracestate,
    }


@pytest.mark.parametrize(
    ("traceparent", "tracestate", "ce_time"),
    [
        (None, None, datetime(2026, 3, 1, 8, 30, 15, 123456, tzinfo=UTC)),
        (PARENT, None, datetime(2026, 3, 1, 8, 30, 15, tzinfo=UTC)),
        (PARENT, "rojo=00f067aa0ba902b7", datetime(2026, 3, 1, 8, 30, 15, 5, tzinfo=UTC)),
    ],
)
def test_record_headers_are_the_envelopes_headers(
    traceparent: str | None, tracestate: str | None, ce_time: datetime
) -> None:
    row = _row(traceparent, tracestate, ce_time=ce_time)
    envelope = Envelope(
        id=str(row["event_id"]),
        type=row["ce_type"],
        source=row["ce_source"],
        time=ce_time,
        subject=row["key"],
        traceparent=traceparent,
        tracestate=tracestate,
    )
    assert record_headers(row) == envelope.to_headers()
    assert Envelope.from_headers(record_headers(row)) == envelope


@pytest.mark.parametrize(
    "traceparent",
    [
        PARENT,
        f"00-{TRACE}-00f067aa0ba902b7-00",
        f"00-{'0' * 32}-00f067aa0ba902b7-01",
        f"00-{TRACE}-{'0' * 16}-01",
        f"00-{TRACE.upper()}-00f067aa0ba902b7-01",
        f"01-{TRACE}-00f067aa0ba902b7-01",
        f"00-{TRACE[:-1]}g-00f067aa0ba902b7-01",
        "not a traceparent",
        None,
    ],
)
@pytest.mark.parametrize("tracestate", [None, "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"])
def test_context_from_reads_what_the_propagator_reads(
    traceparent: str | None, tracestate: str | None
) -> None:
    carrier = {k: v for k, v in (("traceparent", traceparent), ("tracestate", tracestate)) if v}
    expected = trace.get_current_span(TraceContextTextMapPropagator().extract(carrier))
    got = trace.get_current_span(context_from(traceparent, tracestate))
    a, b = got.get_span_context(), expected.get_span_context()
    assert (a.trace_id, a.span_id, a.trace_flags, a.is_remote, a.is_valid) == (
        b.trace_id,
        b.span_id,
        b.trace_flags,
        b.is_remote,
        b.is_valid,
    )
    assert dict(a.trace_state or {}) == dict(b.trace_state or {})


def _finished(spans: InMemorySpanExporter, name: str) -> Any:
    return [s for s in spans.get_finished_spans() if s.name == name][-1]


def test_a_batch_from_one_request_is_a_child_of_that_request(spans: InMemorySpanExporter) -> None:
    with batch_span([_row(PARENT, topic="t.one"), _row(PARENT, topic="t.one")]):
        pass
    span = _finished(spans, "publish t.one")
    assert span.kind == trace.SpanKind.PRODUCER
    assert format(span.context.trace_id, "032x") == TRACE
    assert span.parent is not None and span.parent.span_id == 0x00F067AA0BA902B7
    assert dict(span.attributes or {})["messaging.batch.message_count"] == 2


def test_a_batch_from_many_requests_links_to_each_of_them(spans: InMemorySpanExporter) -> None:
    parents = [f"00-{uuid4().hex}-{uuid4().hex[:16]}-01" for _ in range(MAX_LINKS + 5)]
    rows = [_row(p, topic="t.many") for p in parents] + [_row(None, topic="t.other")]
    with batch_span(rows):
        pass
    span = _finished(spans, "publish")
    assert span.parent is None
    assert format(span.context.trace_id, "032x") not in {p[3:35] for p in parents}
    linked = {format(link.context.trace_id, "032x") for link in span.links}
    assert len(linked) == MAX_LINKS
    assert linked <= {p[3:35] for p in parents}


def _app(service: str, metrics: Metrics) -> FastAPI:
    app = FastAPI(telemetry=HTTP_TELEMETRY)
    instrument_http(app, service, metrics)

    @app.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    @app.get("/metrics")
    async def prometheus() -> str:
        return "metrics"

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


async def test_fastapi_serves_the_request_span_and_the_middleware_counts_it(
    spans: InMemorySpanExporter,
) -> None:
    metrics = Metrics("demo")
    transport = httpx.ASGITransport(app=_app("demo", metrics))
    async with httpx.AsyncClient(transport=transport, base_url="http://demo") as client:
        ok = await client.get("/items/7", headers={"traceparent": PARENT})
        missing = await client.get("/nowhere")
        bad = await client.get("/items/x")
        await client.get("/metrics")
        probe = await client.get("/healthz", headers={"traceparent": PARENT})
    assert (ok.status_code, missing.status_code, bad.status_code) == (200, 404, 422)
    assert probe.status_code == 200
    [span] = [
        s
        for s in spans.get_finished_spans()
        if s.name == "GET /items/{item_id}"
        and dict(s.attributes or {}).get("http.response.status_code") == 200
    ]
    assert span.kind == trace.SpanKind.SERVER
    assert format(span.context.trace_id, "032x") == TRACE  # continues the caller's trace
    attributes = dict(span.attributes or {})
    assert attributes["http.route"] == "/items/{item_id}"
    assert attributes["http.response.status_code"] == 200
    assert attributes["ocop.service"] == "demo"
    # Scrapes and health probes are not traced (they are still counted, below).
    assert not [
        s for s in spans.get_finished_spans() if "/metrics" in s.name or "/healthz" in s.name
    ]
    text = generate_latest(metrics.registry).decode()
    assert (
        'ocop_http_requests_total{method="GET",route="/items/{item_id}",status="200"} 1.0' in text
    )
    assert (
        'ocop_http_requests_total{method="GET",route="/items/{item_id}",status="422"} 1.0' in text
    )
    assert 'ocop_http_requests_total{method="GET",route="unmatched",status="404"} 1.0' in text
    assert 'route="/metrics"' not in text
    assert 'ocop_http_requests_total{method="GET",route="/healthz",status="200"} 1.0' in text
    assert (
        'ocop_http_request_duration_seconds_count{method="GET",route="/items/{item_id}"} 2.0'
        in text
    )


async def test_a_verified_token_is_served_from_the_cache_until_it_expires(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    verifier = TokenVerifier(DEV_ISSUER, DEV_AUDIENCE, jwks_url(session_idp()))
    access = token("city_office", subject="cached")
    first = await verifier.verify(access, "10.0.0.1")
    assert (first.subject, first.client) == ("cached", "10.0.0.1")

    def no_decoding(*_: object, **__: object) -> None:
        raise AssertionError("a cached token is not decoded again")

    monkeypatch.setattr(jwt, "get_unverified_header", no_decoding)
    again = await verifier.verify(access, "10.0.0.2")
    assert (again.subject, again.client) == ("cached", "10.0.0.2")
    assert (await verifier.verify(access)).client is None

    principal, _, kid = verifier._verified[access]
    verifier._verified[access] = (principal, 0.0, kid)  # its expiry has passed
    with pytest.raises(AssertionError, match="not decoded again"):
        await verifier.verify(access)
    assert access not in verifier._verified
