"""The CloudEvents envelope: headers out, headers in, and every way a record's headers can be wrong."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

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
    Envelope,
    EnvelopeError,
    ce_type,
    source,
)

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def _envelope(**overrides: object) -> Envelope:
    fields: dict[str, object] = {
        "id": "0b7f1c2e-5a43-4e0e-9a57-1f5c0c6f7d10",
        "type": ce_type("registry", "ProducerRegistered"),
        "source": source("registry"),
        "time": datetime(2025, 3, 14, 9, 26, 53, 589000, tzinfo=timezone(timedelta(hours=7))),
        "subject": "5b3e8d0a-2f61-4c1a-8d55-3e0c3f4a9b21",
        "traceparent": TRACEPARENT,
        "tracestate": "ocop=1",
    }
    fields.update(overrides)
    return Envelope(**fields)  # type: ignore[arg-type]


def _valid_headers() -> dict[str, bytes]:
    return dict(_envelope().to_headers())


def _reject(headers: dict[str, bytes]) -> str:
    with pytest.raises(EnvelopeError) as caught:
        Envelope.from_headers(headers)
    return str(caught.value)


def test_envelope_survives_a_round_trip_through_headers() -> None:
    envelope = _envelope()

    assert Envelope.from_headers(envelope.to_headers()) == envelope


def test_headers_carry_every_cloudevents_attribute_content_type_and_trace_context() -> None:
    envelope = _envelope()

    headers = envelope.to_headers()

    assert all(isinstance(value, bytes) for _, value in headers)
    by_name = dict(headers)
    assert len(by_name) == len(headers), "a header is written twice"
    assert by_name == {
        H_SPECVERSION: b"1.0",
        H_ID: envelope.id.encode(),
        H_TYPE: b"vn.hanoi.ocop.registry.ProducerRegistered.v1",
        H_SOURCE: b"/ocop/registry",
        H_TIME: b"2025-03-14T09:26:53.589000+07:00",
        H_SUBJECT: envelope.subject.encode(),
        H_CONTENT_TYPE: b"application/json",
        H_TRACEPARENT: TRACEPARENT.encode(),
        H_TRACESTATE: b"ocop=1",
    }


def test_time_read_back_is_the_same_instant_with_its_offset() -> None:
    sent = datetime(2025, 1, 1, 0, 0, tzinfo=UTC)

    received = Envelope.from_headers(_envelope(time=sent).to_headers()).time

    assert received == sent
    assert received.utcoffset() == timedelta(0)


def test_headers_omit_trace_context_when_there_is_none() -> None:
    headers = dict(_envelope(traceparent=None, tracestate=None).to_headers())

    assert H_TRACEPARENT not in headers
    assert H_TRACESTATE not in headers
    envelope = Envelope.from_headers(headers)
    assert envelope.traceparent is None
    assert envelope.tracestate is None


def test_headers_may_be_given_as_a_list_of_pairs_or_a_mapping() -> None:
    envelope = _envelope()

    assert Envelope.from_headers(list(envelope.to_headers())) == envelope
    assert Envelope.from_headers(dict(envelope.to_headers())) == envelope


def test_content_type_with_a_charset_parameter_is_accepted() -> None:
    headers = _valid_headers()
    headers[H_CONTENT_TYPE] = b"application/json; charset=utf-8"

    assert Envelope.from_headers(headers).id == _envelope().id


@pytest.mark.parametrize("header", [H_ID, H_TYPE, H_SOURCE, H_SPECVERSION])
def test_a_record_without_a_required_attribute_is_refused_naming_it(header: str) -> None:
    headers = _valid_headers()
    del headers[header]

    message = _reject(headers)

    assert "missing" in message
    assert header in message


@pytest.mark.parametrize("header", [H_ID, H_TYPE, H_SOURCE, H_SPECVERSION])
def test_a_record_with_an_empty_required_attribute_is_refused_naming_it(header: str) -> None:
    headers = _valid_headers()
    headers[header] = b""

    assert header in _reject(headers)


def test_a_record_missing_several_attributes_is_refused_naming_each() -> None:
    headers = _valid_headers()
    del headers[H_ID]
    del headers[H_SOURCE]

    message = _reject(headers)

    assert H_ID in message
    assert H_SOURCE in message


def test_a_record_of_another_specversion_is_refused() -> None:
    headers = _valid_headers()
    headers[H_SPECVERSION] = b"0.3"

    message = _reject(headers)

    assert H_SPECVERSION in message
    assert "0.3" in message


@pytest.mark.parametrize("content_type", [b"application/avro", b"text/plain", b"application/xml"])
def test_a_record_whose_value_is_not_json_is_refused(content_type: bytes) -> None:
    headers = _valid_headers()
    headers[H_CONTENT_TYPE] = content_type

    message = _reject(headers)

    assert "content-type" in message
    assert content_type.decode() in message


@pytest.mark.parametrize("bad_time", [b"yesterday", b"2025-13-01T00:00:00Z", b"14/03/2025 09:26"])
def test_a_record_with_an_unreadable_time_is_refused(bad_time: bytes) -> None:
    headers = _valid_headers()
    headers[H_TIME] = bad_time

    message = _reject(headers)

    assert H_TIME in message
    assert bad_time.decode() in message


@pytest.mark.parametrize("header", [H_ID, H_TYPE, H_SUBJECT, H_TRACEPARENT])
def test_a_header_that_is_not_utf8_is_refused_naming_it(header: str) -> None:
    headers = _valid_headers()
    headers[header] = b"\xff\xfe\xc3("

    message = _reject(headers)

    assert header in message
    assert "UTF-8" in message


def test_envelope_error_is_a_value_error() -> None:
    assert issubclass(EnvelopeError, ValueError)


def test_specversion_and_content_type_are_the_cloudevents_values() -> None:
    assert SPECVERSION == "1.0"
    assert CONTENT_TYPE == "application/json"


def test_ce_type_names_service_event_and_major_version() -> None:
    assert ce_type("registry", "ProducerRegistered") == (
        "vn.hanoi.ocop.registry.ProducerRegistered.v1"
    )
    assert ce_type("evaluation", "ProductCertified", 2) == (
        "vn.hanoi.ocop.evaluation.ProductCertified.v2"
    )


def test_ce_type_has_the_published_shape() -> None:
    shape = re.compile(r"^vn\.hanoi\.ocop\.[a-z]+\.[A-Z][A-Za-z]+\.v\d+$")

    assert shape.fullmatch(ce_type("inspection", "ViolationFound"))


def test_source_names_the_publishing_service() -> None:
    assert source("trade") == "/ocop/trade"
