"""The AsyncAPI documents are complete and valid: generated from the catalogues, checked by the
official parser (@asyncapi/parser, installed by deploy/bootstrap.sh), served by each service and
committed as docs/asyncapi/ocop.json."""

from __future__ import annotations

import asyncio
import copy
import importlib
import inspect
from pathlib import Path
from typing import Any

import pytest

from ocop_contracts import envelope, event_types, topics
from ocop_runtime import asyncapi_tools
from ocop_runtime.asyncapi import Layout, service_document, system_document
from ocop_runtime.asyncapi_messages import message_id
from ocop_runtime.cli.asyncapi import STATIC_DOCUMENT, render
from ocop_runtime.kafka import TopicNames
from ocop_runtime.services import discover
from ocop_runtime.testing import own_topics, running
from tests.catalogue import settings_class

ROOT = Path(__file__).resolve().parents[1]
CE_HEADERS = {"ce_id", "ce_type", "ce_source", "ce_time", "ce_subject", "traceparent"}


@pytest.fixture(scope="module")
def system() -> dict[str, Any]:
    return system_document()


@pytest.fixture(scope="module")
def parsed(system: dict[str, Any]) -> asyncapi_tools.Validation:
    return asyncapi_tools.validate(system)


def _resolve(document: dict[str, Any], ref: str) -> Any:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    while isinstance(node, dict) and "$ref" in node:  # a channel's message points further
        node = _resolve(document, node["$ref"])
    return node


def _channel_of(document: dict[str, Any], operation: dict[str, Any]) -> dict[str, Any]:
    channel: dict[str, Any] = _resolve(document, operation["channel"]["$ref"])
    return channel


@pytest.mark.timeout(300)
def test_the_official_parser_finds_no_error_or_warning_in_the_system_document(
    parsed: asyncapi_tools.Validation, system: dict[str, Any]
) -> None:
    assert not parsed.errors, "\n".join(map(str, parsed.errors))
    assert not parsed.warnings, "\n".join(map(str, parsed.warnings))
    # The parser read the whole document, not an empty shell.
    assert parsed.channels is not None and parsed.operations is not None
    assert set(parsed.channels) == {c["address"] for c in system["channels"].values()}
    assert set(parsed.operations) == set(system["operations"])
    assert set(parsed.messages or ()) == {message_id(c) for c in event_types().values()}


@pytest.mark.timeout(300)
def test_the_parser_reports_a_broken_document(system: dict[str, Any]) -> None:
    broken = copy.deepcopy(system)
    first = next(iter(broken["channels"].values()))
    first["bindings"]["kafka"]["partitions"] = "three"
    del broken["components"]["schemas"]

    found = asyncapi_tools.validate(broken)

    assert found.errors
    assert any("partitions" in str(d) for d in found.errors)


def test_every_event_command_and_reply_has_its_payload_schema_from_the_contract(
    system: dict[str, Any],
) -> None:
    messages = system["components"]["messages"]
    assert set(messages) == {message_id(c) for c in event_types().values()}
    for ce_type, cls in event_types().items():
        message = messages[message_id(cls)]
        payload = _resolve(system, message["payload"]["$ref"])
        expected = cls.model_json_schema()
        assert set(payload["properties"]) == set(expected["properties"]), ce_type
        assert set(payload.get("required", [])) == set(expected.get("required", [])), ce_type
        doc = inspect.getdoc(cls)
        if cls.__doc__ and doc:
            assert doc in message["description"], f"{ce_type}: docstring not in the description"
        assert ce_type in message["description"]


def test_every_message_declares_the_cloudevents_headers_and_its_kafka_key(
    system: dict[str, Any],
) -> None:
    for cls in event_types().values():
        message = system["components"]["messages"][message_id(cls)]
        headers = message["headers"]
        assert set(headers["properties"]) >= CE_HEADERS, cls.CE_TYPE
        assert headers["properties"]["ce_type"]["const"] == cls.CE_TYPE
        assert {"ce_id", "ce_type", "ce_source", "ce_time", "ce_subject"} <= set(
            headers["required"]
        )
        key = message["bindings"]["kafka"]["key"]
        assert key["type"] == "string" and cls.KEY_FIELD in key["description"]
        if cls.TOPIC.endswith(".commands.v1"):
            assert "authorization" in headers["required"], cls.CE_TYPE
            assert message["correlationId"]["location"] == "$message.header#/ce_id"
        elif ".replies." in cls.TOPIC:
            assert message["correlationId"]["location"] == "$message.payload#/command_id"
        else:
            assert headers["properties"]["ce_source"]["const"] == envelope.source(cls.SERVICE)


def test_every_catalogued_topic_is_a_channel_with_its_kafka_binding(
    system: dict[str, Any],
) -> None:
    by_address = {c["address"]: c for c in system["channels"].values()}
    used = {cls.TOPIC for cls in event_types().values()} | set(topics.EVENT_TOPICS)
    assert used <= set(by_address)
    for topic in used:
        binding = by_address[topic]["bindings"]["kafka"]
        assert binding["topic"] == topic and binding["partitions"] == 3
        carried = {message_id(c) for c in event_types().values() if topic == c.TOPIC}
        assert set(by_address[topic]["messages"]) == carried, topic
    for service in topics.COMMAND_SERVICES:
        binding = by_address[topics.commands(service)]["bindings"]["kafka"]
        assert binding["topicConfiguration"]["retention.ms"] == 3 * 24 * 3600 * 1000
    for topic in topics.COMPACTED_TOPICS:
        binding = by_address[topic]["bindings"]["kafka"]
        assert binding["topicConfiguration"]["cleanup.policy"] == ["compact"]


def test_commands_are_received_with_a_token_and_answered_on_the_agency_replies_channel(
    system: dict[str, Any],
) -> None:
    commanded = {c.SERVICE for c in event_types().values() if c.TOPIC.endswith(".commands.v1")}
    assert commanded, "no command in the catalogue"
    consumers = {(e.name, t) for e in discover() for t in e.consumes}
    for service in commanded:
        if (service, topics.commands(service)) not in consumers:
            continue  # its package is not installed here: no operation to describe
        operation = system["operations"][f"{service}.receive.{topics.commands(service)}"]
        assert operation["action"] == "receive"
        assert operation["security"] == [{"$ref": "#/components/securitySchemes/commandToken"}]
        reply_channel = _resolve(system, operation["reply"]["channel"]["$ref"])
        assert reply_channel["address"] == f"ocop.{service}.replies.{{agency}}.v1"
        assert "agency" in reply_channel["parameters"]
        names = {_resolve(system, m["$ref"])["name"] for m in operation["reply"]["messages"]}
        assert names == {"CommandAccepted", "CommandRejected"}
        command_names = {
            _resolve(system, m["$ref"])["name"]
            for m in _channel_of(system, operation)["messages"].values()
        }
        assert command_names == {
            c.EVENT_NAME for c in event_types().values() if topics.commands(service) == c.TOPIC
        }


def test_operations_follow_the_service_catalogue(system: dict[str, Any]) -> None:
    for entry in discover():
        for topic in entry.consumes:
            operation = system["operations"][f"{entry.name}.receive.{topic}"]
            assert _channel_of(system, operation)["address"] == topic
        for topic in entry.publishes:
            operation = system["operations"][f"{entry.name}.send.{topic}"]
            assert operation["action"] == "send"


def test_servers_declare_sasl_scram_and_tls(system: dict[str, Any]) -> None:
    servers = system["servers"]
    schemes = system["components"]["securitySchemes"]
    assert {s["protocol"] for s in servers.values()} == {"kafka", "kafka-secure"}
    for server in servers.values():
        (ref,) = server["security"]
        assert _resolve(system, ref["$ref"])["type"] == "scramSha512"
    assert servers["production"]["protocol"] == "kafka-secure"
    assert schemes["commandToken"]["type"] == "oauth2"


@pytest.mark.timeout(300)
def test_each_service_document_is_valid_and_under_its_topic_prefix() -> None:
    names = TopicNames("test.prefix.")
    entries = discover()
    documents = [
        service_document(
            entry.name,
            f"The {entry.name} service.",
            entry.consumes,
            [
                c
                for c in event_types().values()
                if entry.name == c.SERVICE and not c.TOPIC.endswith(".commands.v1")
            ],
            Layout(names=names),
        )
        for entry in entries
    ]
    for entry, document, found in zip(
        entries, documents, asyncapi_tools.validate_many(documents), strict=True
    ):
        assert not found.errors, f"{entry.name}:\n" + "\n".join(map(str, found.errors))
        addresses = {c["address"] for c in document["channels"].values()}
        assert {names.physical(t) for t in entry.consumes} <= addresses
        assert all(a.startswith("test.prefix.") for a in addresses)


@pytest.mark.timeout(600)
async def test_a_running_service_serves_a_document_the_parser_accepts(make_settings: Any) -> None:
    """What ``GET /asyncapi.json`` answers (:func:`ocop_runtime.asyncapi.for_service`), for the
    first service that takes commands: its topics under its prefix, its broker, its commands
    with their replies. The other services' documents come from the same code
    (test_each_service_document_is_valid_and_under_its_topic_prefix)."""
    entry = next(e for e in discover() if any(t.endswith(".commands.v1") for t in e.consumes))
    create_app = importlib.import_module(f"{entry.package}.app").create_app
    async with running(create_app(make_settings(settings_class(entry)))) as client:
        answer = await client.get("/asyncapi.json")
    assert answer.status_code == 200, answer.text
    document = answer.json()

    found = await asyncio.to_thread(asyncapi_tools.validate, document)

    assert not found.errors, "\n".join(map(str, found.errors))
    (server,) = document["servers"].values()
    assert server["security"], "its broker takes SASL/SCRAM"
    prefix = own_topics().prefix
    assert all(c["address"].startswith(prefix) for c in document["channels"].values())
    receive = document["operations"][f"{entry.name}.receive.{topics.commands(entry.name)}"]
    reply = _resolve(document, receive["reply"]["channel"]["$ref"])
    assert reply["address"] == f"{prefix}ocop.{entry.name}.replies.{{agency}}.v1"
    for message in document["components"]["messages"].values():
        assert {"ce_id", "ce_type", "traceparent"} <= set(message["headers"]["properties"])


def test_the_committed_system_document_is_the_generated_one(system: dict[str, Any]) -> None:
    committed = (ROOT / STATIC_DOCUMENT).read_text(encoding="utf-8")
    assert committed == render(system), (
        f"{STATIC_DOCUMENT} is out of date: run .venv/bin/ocop asyncapi --validate "
        f"-o {STATIC_DOCUMENT}"
    )


@pytest.mark.timeout(900)  # the generator bundles a large page: over a minute on a busy machine
def test_the_html_site_renders_every_message_with_the_official_generator(
    system: dict[str, Any], tmp_path: Path
) -> None:
    index = asyncapi_tools.render_html(system, tmp_path / "site")

    html = index.read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html>")
    for cls in event_types().values():
        assert cls.CE_TYPE in html, f"{cls.CE_TYPE} missing from the HTML site"
