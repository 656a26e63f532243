"""The thin flow on the real broker and database: registry -> Kafka -> evaluation."""

from __future__ import annotations

from typing import Any

from ocop_contracts import topics
from ocop_runtime.testing import own_topics, running
from tests.flow import (
    evaluation_app,
    header,
    records_on,
    registry_app,
    scalar,
    tax_code,
    wait_for_copy,
)

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


async def test_registered_producer_reaches_evaluation_with_cloudevents_headers_and_one_trace(
    make_settings: Any, kafka_bootstrap: str, database_url: str, spans: Any, unique: str
) -> None:
    async with (
        running(registry_app(make_settings)) as registry,
        running(evaluation_app(make_settings)) as evaluation,
    ):
        response = await registry.post(
            "/producers",
            json={
                "name": f"HTX Đại Thắng {unique}",
                "legal_form": "cooperative",
                "registration_number": tax_code(),
                "commune_code": "00004",
            },
            headers={"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"},
        )
        assert response.status_code == 201, response.text
        producer_id = response.json()["id"]

        copy = await wait_for_copy(evaluation, producer_id)
        assert copy["name"] == f"HTX Đại Thắng {unique}"
        registry_metrics = (await registry.get("/metrics")).text
        evaluation_metrics = (await evaluation.get("/metrics")).text
        assert copy["legal_form"] == "cooperative"
        assert copy["commune_code"] == "00004"

    assert (
        'ocop_http_requests_total{method="POST",route="/producers",status="201"} 1.0'
        in registry_metrics
    )
    assert (
        'ocop_http_request_duration_seconds_count{method="POST",route="/producers"}'
        in registry_metrics
    )
    assert f'ocop_events_published_total{{topic="{topics.REGISTRY_PRODUCERS}"}}' in registry_metrics
    assert "ocop_outbox_lag_seconds" in registry_metrics
    assert (
        f'ocop_messages_consumed_total{{outcome="processed",topic="{topics.REGISTRY_PRODUCERS}"}}'
        in evaluation_metrics
    )
    assert "ocop_message_handle_duration_seconds_count" in evaluation_metrics

    [record] = await records_on(
        kafka_bootstrap, topics.REGISTRY_PRODUCERS, lambda r: r.key == producer_id.encode()
    )
    assert header(record, "ce_specversion") == "1.0"
    assert header(record, "ce_type") == "vn.hanoi.ocop.registry.ProducerRegistered.v1"
    assert header(record, "ce_source") == "/ocop/registry"
    assert header(record, "ce_subject") == producer_id
    assert header(record, "content-type") == "application/json"
    assert header(record, "ce_time")
    assert (header(record, "traceparent") or "").split("-")[1] == TRACE_ID

    event_id = header(record, "ce_id")
    assert (
        await scalar(
            database_url,
            f"SELECT count(*) FROM evaluation_{unique}.inbox WHERE event_id = $1",
            event_id,
        )
        == 1
    )

    names = {
        s.name for s in spans.get_finished_spans() if format(s.context.trace_id, "032x") == TRACE_ID
    }
    assert "POST /producers" in names  # FastAPI's server span: "{method} {route}"
    assert "db register_producer" in names
    assert f"publish {topics.REGISTRY_PRODUCERS}" in names
    assert f"consume {own_topics().physical(topics.REGISTRY_PRODUCERS)}" in names  # on the wire


async def test_household_name_never_leaves_registry(
    make_settings: Any, kafka_bootstrap: str, unique: str
) -> None:
    person = f"Nguyễn Văn A {unique}"
    async with (
        running(registry_app(make_settings)) as registry,
        running(evaluation_app(make_settings)) as evaluation,
    ):
        response = await registry.post(
            "/producers",
            json={
                "name": person,
                "legal_form": "household_business",
                "commune_code": "00004",
                "registration_number": "01A8012345",
            },
        )
        producer_id = response.json()["id"]
        copy = await wait_for_copy(evaluation, producer_id)
        assert copy["name"] is None
    published = await records_on(kafka_bootstrap, topics.REGISTRY_PRODUCERS, lambda r: True)
    assert published
    assert not [r for r in published if person.encode() in (r.value or b"")]


async def test_bad_producer_gets_422_naming_the_field(make_settings: Any) -> None:
    async with running(registry_app(make_settings)) as registry:
        response = await registry.post(
            "/producers", json={"name": "HTX", "legal_form": "club", "commune_code": "00004"}
        )
        assert response.status_code == 422
        [error] = response.json()["detail"]
        assert error["loc"] == ["body", "legal_form"]

        response = await registry.post(
            "/producers",
            json={
                "name": "   ",
                "legal_form": "cooperative",
                "commune_code": "00004",
                "registration_number": tax_code(),
            },
        )
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["body", "name"]
        assert "blank" in response.json()["detail"][0]["msg"]
