"""The per-record consumer's span: current while the record is applied (what the handler
stages carries its trace), ended after, and failed with the exception when one escapes."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from ocop_runtime.telemetry import CurrentSpan

_tracer = trace.get_tracer("tests.consumer_span")


def test_the_span_is_current_inside_and_ended_after(spans: InMemorySpanExporter) -> None:
    with CurrentSpan(_tracer.start_span("consume t.ok")) as span:
        assert trace.get_current_span() is span
        assert not [s for s in spans.get_finished_spans() if s.name == "consume t.ok"]
    assert trace.get_current_span() is not span
    [done] = [s for s in spans.get_finished_spans() if s.name == "consume t.ok"]
    assert done.status.status_code is StatusCode.UNSET


def test_an_escaping_exception_is_recorded_and_marks_the_span_failed(
    spans: InMemorySpanExporter,
) -> None:
    with pytest.raises(ConnectionError), CurrentSpan(_tracer.start_span("consume t.down")):
        raise ConnectionError("database gone")
    [done] = [s for s in spans.get_finished_spans() if s.name == "consume t.down"]
    assert done.status.status_code is StatusCode.ERROR
    assert done.status.description == "ConnectionError: database gone"
    assert [e.name for e in done.events] == ["exception"]
    assert trace.get_current_span() is trace.INVALID_SPAN
