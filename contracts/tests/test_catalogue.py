"""The catalogue of event types and topics: names, keys, decoding and the guards on new contracts."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest
from pydantic import ValidationError

from ocop_contracts import Event, UnknownEventType, decode_event, event_class, event_types, topics
from ocop_contracts.envelope import ce_type
from ocop_contracts.events.registry import LegalForm, ProducerRegistered, ProducerUpdated

TOPIC_NAME = re.compile(r"^ocop\.[a-z]+\.[a-z_]+\.v\d+$")


def _registered() -> ProducerRegistered:
    return ProducerRegistered(
        producer_id=uuid4(),
        legal_form=LegalForm.COOPERATIVE,
        name="HTX Gốm sứ Bát Tràng",
        commune_code="00127",
        registered_at=datetime(2025, 3, 14, 2, 0, tzinfo=UTC),
    )


def test_catalogue_lists_the_registry_events() -> None:
    types = event_types()

    assert types["vn.hanoi.ocop.registry.ProducerRegistered.v1"] is ProducerRegistered
    assert types["vn.hanoi.ocop.registry.ProducerUpdated.v1"] is ProducerUpdated


def test_catalogue_returned_is_a_copy_that_callers_cannot_corrupt() -> None:
    event_types().clear()

    assert event_types()


def test_every_message_type_travels_on_a_catalogued_topic() -> None:
    for type_, cls in event_types().items():
        assert cls.TOPIC in topics.all_topics(), f"{type_} is published on {cls.TOPIC}"


def test_every_event_type_travels_on_a_topic_of_its_own_service() -> None:
    for type_, cls in event_types().items():
        assert cls.TOPIC.split(".")[1] == cls.SERVICE, f"{type_} is published on {cls.TOPIC}"


def test_every_ce_type_is_built_from_service_event_name_and_version() -> None:
    for type_, cls in event_types().items():
        assert type_ == cls.CE_TYPE
        assert ce_type(cls.SERVICE, cls.EVENT_NAME, cls.VERSION) == cls.CE_TYPE
        assert cls.CE_TYPE.endswith(f".v{cls.VERSION}")


def test_every_event_type_is_keyed_by_a_required_field() -> None:
    for type_, cls in event_types().items():
        assert cls.KEY_FIELD in cls.model_fields, f"{type_} has no key field {cls.KEY_FIELD}"
        assert cls.model_fields[cls.KEY_FIELD].is_required(), f"{type_}: key may be missing"


def test_event_key_is_the_aggregate_id_as_text() -> None:
    event = _registered()

    assert event.key() == str(event.producer_id)


def test_every_topic_name_follows_the_naming_scheme() -> None:
    for topic in topics.all_topics():
        assert TOPIC_NAME.match(topic), topic


def test_all_topics_holds_the_event_topics_commands_replies_and_dead_letters_once() -> None:
    every = topics.all_topics()

    assert len(topics.EVENT_TOPICS) == 10
    expected = {
        *topics.EVENT_TOPICS,
        *(topics.commands(s) for s in topics.COMMAND_SERVICES),
        *(topics.replies(s) for s in topics.COMMAND_SERVICES),
        *(topics.dlq(s) for s in topics.CONSUMER_SERVICES),
    }
    assert set(every) == expected
    assert len(every) == len(set(every)), "a topic is listed twice"
    assert len(every) == 10 + 2 * len(topics.COMMAND_SERVICES) + len(topics.CONSUMER_SERVICES)


def test_all_topics_includes_each_services_commands_and_dead_letter_topic() -> None:
    every = set(topics.all_topics())

    for service in ("registry", "evaluation", "trade", "inspection"):
        assert f"ocop.{service}.commands.v1" in every
    for service in ("registry", "evaluation", "trade", "inspection", "insights"):
        assert f"ocop.{service}.dlq.v1" in every


def test_commands_and_dead_letter_topics_are_named_after_the_service() -> None:
    assert topics.commands("evaluation") == "ocop.evaluation.commands.v1"
    assert topics.dlq("insights") == "ocop.insights.dlq.v1"
    assert topics.replies("registry") == "ocop.registry.replies.v1"
    assert (
        topics.agency_replies("registry", "so-cong-thuong")
        == "ocop.registry.replies.so-cong-thuong.v1"
    )
    assert topics.agency_replies("trade", "x1").startswith(topics.replies_prefix("trade"))


@pytest.mark.parametrize("agency", ["", "x", "So", "a.b", "a_b", "-ab", "a" * 42])
def test_an_agency_replies_topic_needs_an_agencys_short_name(agency: str) -> None:
    with pytest.raises(ValueError, match="agency name"):
        topics.agency_replies("registry", agency)


@pytest.mark.parametrize("make_topic", [topics.dlq, topics.commands, topics.replies])
@pytest.mark.parametrize("service", ["billing", "Registry", "", "registry.x"])
def test_topics_of_an_unknown_service_are_refused(
    make_topic: Callable[[str], str], service: str
) -> None:
    with pytest.raises(ValueError, match="unknown ocop service"):
        make_topic(service)


def test_an_event_survives_encoding_and_decoding() -> None:
    event = _registered()

    decoded = decode_event(ProducerRegistered.CE_TYPE, event.to_json())

    assert decoded == event
    assert type(decoded) is ProducerRegistered


@pytest.mark.parametrize(
    "type_",
    [
        "vn.hanoi.ocop.registry.ProducerDeleted.v1",
        "vn.hanoi.ocop.registry.ProducerRegistered.v2",
        "ProducerRegistered",
        "",
    ],
)
def test_decoding_an_unknown_type_raises_unknown_event_type(type_: str) -> None:
    with pytest.raises(UnknownEventType, match="unknown event type"):
        decode_event(type_, _registered().to_json())
    with pytest.raises(LookupError):
        event_class(type_)


@pytest.mark.parametrize(
    ("field", "bad"),
    [("producer_id", "not-a-uuid"), ("legal_form", "sole_trader"), ("registered_at", "soon")],
)
def test_decoding_a_bad_value_raises_a_validation_error_naming_the_field(
    field: str, bad: str
) -> None:
    value = json.loads(_registered().to_json())
    value[field] = bad

    with pytest.raises(ValidationError) as caught:
        decode_event(ProducerRegistered.CE_TYPE, json.dumps(value).encode())

    assert [error["loc"] for error in caught.value.errors()] == [(field,)]


def test_decoding_a_value_without_a_required_field_raises_a_validation_error() -> None:
    value = json.loads(_registered().to_json())
    del value["commune_code"]

    with pytest.raises(ValidationError, match="commune_code"):
        decode_event(ProducerRegistered.CE_TYPE, json.dumps(value).encode())


def test_decoding_a_value_that_is_not_json_raises_a_validation_error() -> None:
    with pytest.raises(ValidationError):
        decode_event(ProducerRegistered.CE_TYPE, b"{not json")


def test_an_unknown_field_from_a_newer_producer_is_ignored() -> None:
    event = _registered()
    value = json.loads(event.to_json())
    value["star_rating"] = 4

    decoded = decode_event(ProducerRegistered.CE_TYPE, json.dumps(value).encode())

    assert decoded == event
    assert "star_rating" not in decoded.model_dump()
    assert not hasattr(decoded, "star_rating")


def test_a_second_contract_claiming_a_published_ce_type_is_refused() -> None:
    event_types()

    with pytest.raises(TypeError, match=re.escape(ProducerRegistered.CE_TYPE)):

        class ProducerRegisteredAgain(
            Event,
            service="registry",
            topic=topics.REGISTRY_PRODUCERS,
            name="ProducerRegistered",
            key="producer_id",
        ):
            producer_id: UUID

    assert event_types()[ProducerRegistered.CE_TYPE] is ProducerRegistered


def test_an_event_keyed_by_a_field_it_does_not_have_is_refused() -> None:
    with pytest.raises(TypeError, match="product_id"):

        class ProductScoredByMistake(
            Event,
            service="evaluation",
            topic=topics.EVALUATION_RESULTS,
            name="ProductScoredByMistake",
            key="product_id",
        ):
            producer_id: UUID

    assert not any("ProductScoredByMistake" in type_ for type_ in event_types())


def test_an_event_without_a_key_is_refused() -> None:
    with pytest.raises(TypeError, match="key"):

        class OutletOpenedWithoutKey(
            Event,
            service="trade",
            topic=topics.TRADE_LISTINGS,
            name="OutletOpenedWithoutKey",
        ):
            outlet_id: UUID

    assert not any("OutletOpenedWithoutKey" in type_ for type_ in event_types())
