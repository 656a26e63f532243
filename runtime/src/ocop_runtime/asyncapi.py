"""AsyncAPI 3 documents of ocop's topics, generated from the catalogues.

Nothing here names a service or an event: the channels come from the topic catalogue and the
contracts' catalogue (:func:`ocop_contracts.event_types`: every event, command and reply with
its topic, key field and docstring), the operations from the service catalogue
(:func:`ocop_runtime.services.discover`: who publishes and consumes what). Each message carries
its payload's JSON Schema (descriptions from the contracts' docstrings and field
descriptions), the CloudEvents binary-mode headers it travels with, its Kafka key (the
aggregate id) and, for commands and their answers, how the two correlate and where the answer
goes. Each channel has its Kafka binding (partitions, replicas, retention or compaction).

* :func:`system_document`: the whole system (``ocop asyncapi``; ``docs/asyncapi/ocop.json``).
* :func:`service_document`: one running service's topics (``GET /asyncapi.json``), under its
  topic prefix.

:mod:`ocop_runtime.asyncapi_tools` validates a document with the official AsyncAPI parser and
renders the HTML site with the AsyncAPI generator.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from pydantic.json_schema import models_json_schema

from ocop_contracts import Event, envelope, event_types, topics
from ocop_runtime.asyncapi_messages import KAFKA_BINDING_VERSION, kind_of, message, message_id
from ocop_runtime.kafka import TopicNames, topic_config
from ocop_runtime.settings import ServiceSettings

ASYNCAPI_VERSION = "3.0.0"
SCHEMA_REF = "#/components/schemas/{model}"
SCRAM = "saslScram"
TOKEN = "commandToken"
AGENCY = "agency"

Document = dict[str, Any]


@dataclass(frozen=True)
class Layout:
    """How the topics are laid out on the brokers the document describes."""

    partitions: int = 3
    replicas: int = 1
    names: TopicNames = field(default_factory=TopicNames)


@dataclass(frozen=True)
class Server:
    """A Kafka cluster clients connect to. ``tls`` means SASL_SSL (``kafka-secure``)."""

    name: str
    host: str
    tls: bool
    description: str
    sasl: bool = True


PRODUCTION = Server(
    "production",
    "kafka.ocop.hanoi.gov.vn:9093",
    tls=True,
    description="The city's brokers: SASL/SCRAM-SHA-512 over TLS (SASL_SSL) with the city's "
    "CA. Credentials per agency from the operator (`ocop agency add NAME`).",
)
LOCAL = Server(
    "local",
    "127.0.0.1:9092",
    tls=False,
    description="The local stack (`make up`): SASL/SCRAM-SHA-512 over plain TCP "
    "(SASL_PLAINTEXT), development passwords.",
)
LOCAL_TLS = Server(
    "local-tls",
    "127.0.0.1:9092",
    tls=True,
    description="The local stack started with `OCOP_KAFKA_TLS=1 make up`: SASL_SSL, CA "
    "certificate in `.ocop/kafka/tls/ca.pem`.",
)
SERVERS = (PRODUCTION, LOCAL, LOCAL_TLS)

SYSTEM_DESCRIPTION = """\
The events, commands and replies of Hanoi's OCOP programme (Chương trình Mỗi xã một sản \
phẩm) on Apache Kafka, for other agencies' systems.

**Records.** Every record is a CloudEvent 1.0 in Kafka binary mode: the attributes travel as \
headers (`ce_id`, `ce_type`, `ce_source`, `ce_time`, `ce_subject`, `ce_specversion`, \
`content-type`, W3C `traceparent`), the value is the message as JSON. `ce_type` names the \
message and its major version; route on it, never on anything else. The Kafka key is the \
aggregate id (also `ce_subject`), so one aggregate's records stay in order on one partition.

**Delivery** is at least once: keep `ce_id` to make your effect idempotent, commit offsets \
after your effect. Messages are read tolerantly: a `v1` only gains optional fields; anything \
else is a `v2` on a new topic.

**Access.** Brokers take SASL/SCRAM-SHA-512 (over TLS in production). An agency's principal \
reads the public event topics with consumer groups `agency.<name>.*`. Commands need a grant \
(`ocop agency add NAME --commands SERVICE`) and an access token of the city's identity \
provider in the record header `authorization`; the answer goes to the agency's own \
`ocop.<service>.replies.<name>.v1`, keyed like the command.

The Python package `ocop-contracts` holds these models (pydantic), the topic names and the \
envelope."""


def contracts_version() -> str:
    try:
        return version("ocop-contracts")
    except PackageNotFoundError:
        return "1.0.0"


def system_document(layout: Layout | None = None, servers: Sequence[Server] = SERVERS) -> Document:
    """The whole system: every catalogued topic, message and service operation."""
    from ocop_runtime.services import discover

    layout = layout or Layout()
    builder = _Builder(layout)
    all_types = list(event_types().values())
    commands = {topics.commands(s) for s in topics.COMMAND_SERVICES}
    for topic in sorted({t.TOPIC for t in all_types} | set(topics.EVENT_TOPICS)):
        builder.channel(topic)
    for service in sorted({t.SERVICE for t in all_types}):
        for topic in sorted({t.TOPIC for t in all_types if service == t.SERVICE}):
            if topic not in commands:  # other systems send commands; the service receives them
                builder.send(service, topic)
    for entry in discover():
        for topic in entry.consumes:
            builder.receive(entry.name, topic)
    return builder.document(
        title="ocop: Hanoi OCOP event backbone",
        description=SYSTEM_DESCRIPTION,
        servers=servers,
    )


def service_document(
    name: str,
    description: str,
    consumes: Iterable[str],
    publishes: Iterable[type[Event]],
    layout: Layout | None = None,
    servers: Sequence[Server] = SERVERS,
) -> Document:
    """One service: the topics it ``consumes`` (catalogue names) and those its ``publishes``
    event types travel on, with its replies channels when it takes commands."""
    builder = _Builder(layout or Layout())
    published = sorted({t.TOPIC for t in publishes})
    for topic in published:
        builder.send(name, topic)
    for topic in sorted(set(consumes)):
        builder.receive(name, topic)
    return builder.document(
        title=f"ocop {name}",
        description=f"{description}\n\n{SYSTEM_DESCRIPTION}",
        servers=servers,
    )


def for_service(
    settings: ServiceSettings,
    name: str,
    description: str,
    consumes: Iterable[str],
    publishes: Iterable[type[Event]],
) -> Document:
    """A running service's document (``GET /asyncapi.json``): its topics under its prefix, its
    partitions and replicas, and the brokers its settings name."""
    return service_document(
        name,
        description,
        consumes,
        publishes,
        Layout(
            settings.topic_partitions,
            settings.topic_replication_factor,
            TopicNames(settings.topic_prefix),
        ),
        servers=[server_for(settings.kafka_bootstrap_servers, settings.kafka_security_protocol)],
    )


def server_for(bootstrap: str, security_protocol: str) -> Server:
    """The server a running service connects to, as its settings say."""
    return Server(
        "kafka",
        bootstrap.split(",")[0].strip(),
        tls=security_protocol.endswith("SSL"),
        sasl=security_protocol.startswith("SASL"),
        description=f"Bootstrap servers {bootstrap} ({security_protocol}).",
    )


# -- building ---------------------------------------------------------------------------------


def _service_of(topic: str) -> str:
    return topic.split(".")[1]


class _Builder:
    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.by_topic: dict[str, list[type[Event]]] = defaultdict(list)
        for cls in sorted(event_types().values(), key=lambda c: c.CE_TYPE):
            self.by_topic[cls.TOPIC].append(cls)
        self.channels: dict[str, Any] = {}
        self.operations: dict[str, Any] = {}
        self.used: dict[str, type[Event]] = {}

    # channels

    def channel(self, topic: str) -> str:
        """Declare the channel of catalogue topic ``topic`` (once); its id."""
        if topic in self.channels:
            return topic
        types = self.by_topic.get(topic, [])
        address = self.layout.names.physical(topic)
        kind = kind_of(types[0]) if types else "event"
        summary = {
            "command": f"Commands {_service_of(topic)} accepts from other systems.",
            "reply": f"{_service_of(topic)}'s answers to commands of senders that are no agency.",
            "event": f"Events {_service_of(topic)} publishes.",
        }[kind]
        self.channels[topic] = {
            "address": address,
            "title": topic,
            "description": _channel_description(topic, kind, summary),
            "messages": {message_id(t): self._message_ref(t) for t in types},
            "bindings": {"kafka": self._topic_binding(address, topic)},
        }
        return topic

    def agency_replies(self, service: str) -> str:
        """The parameterised channel of every agency's replies topic of ``service``."""
        shared = topics.replies(service)
        channel_id = f"{topics.replies_prefix(service)}{AGENCY}.v1"
        if channel_id not in self.channels:
            address = self.layout.names.physical(f"{topics.replies_prefix(service)}{{{AGENCY}}}.v1")
            self.channels[channel_id] = {
                "address": address,
                "title": f"{topics.replies_prefix(service)}<agency>.v1",
                "description": (
                    f"{service}'s answers to the commands of one agency's machine client (a "
                    "token whose `ocop_agency` claim names the agency), keyed like the command. "
                    "Only that agency's principal may read it; it exists once the agency was "
                    f"granted the commands (`ocop agency add NAME --commands {service}`)."
                ),
                "parameters": {
                    AGENCY: {
                        "description": "The agency's name as in `ocop agency add NAME` and its "
                        "token's `ocop_agency` claim (2-41 lower-case letters, digits or '-').",
                        "examples": ["so-cong-thuong", "so-y-te"],
                    }
                },
                "messages": {
                    message_id(t): self._message_ref(t) for t in self.by_topic.get(shared, [])
                },
                "bindings": {"kafka": self._topic_binding(None, shared)},
            }
        return channel_id

    def _topic_binding(self, address: str | None, topic: str) -> dict[str, Any]:
        binding: dict[str, Any] = {
            "partitions": self.layout.partitions,
            "replicas": self.layout.replicas,
            "bindingVersion": KAFKA_BINDING_VERSION,
        }
        if address is not None:
            binding["topic"] = address
        config: dict[str, Any] = {}
        for key, value in topic_config(topic).items():
            config[key] = value.split(",") if key == "cleanup.policy" else int(value)
        if config:
            binding["topicConfiguration"] = config
        return binding

    def _message_ref(self, cls: type[Event]) -> dict[str, str]:
        self.used[message_id(cls)] = cls
        return {"$ref": f"#/components/messages/{message_id(cls)}"}

    # operations

    def send(self, service: str, topic: str) -> None:
        channel = self.channel(topic)
        types = self.by_topic.get(topic, [])
        verb = "answers commands on" if types and kind_of(types[0]) == "reply" else "publishes"
        self.operations[f"{service}.send.{topic}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel}"},
            "title": f"{service} {verb} {topic}",
            "summary": f"{service} {verb} {self.layout.names.physical(topic)}.",
            "messages": self._op_messages(channel),
            "tags": [{"name": service}],
        }
        if types and kind_of(types[0]) == "reply":
            agency = self.agency_replies(service)
            self.operations[f"{service}.send.{agency}"] = {
                "action": "send",
                "channel": {"$ref": f"#/channels/{agency}"},
                "title": f"{service} answers each agency's commands on its own replies topic",
                "messages": self._op_messages(agency),
                "tags": [{"name": service}],
            }

    def receive(self, service: str, topic: str) -> None:
        channel = self.channel(topic)
        operation: dict[str, Any] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{channel}"},
            "title": f"{service} consumes {topic}",
            "summary": f"{service} consumes {self.layout.names.physical(topic)} with consumer "
            f"group ocop.{service}; a record it cannot read goes to "
            f"{self.layout.names.physical(topics.dlq(service))}.",
            "messages": self._op_messages(channel),
            "tags": [{"name": service}],
        }
        types = self.by_topic.get(topic, [])
        if types and kind_of(types[0]) == "command":
            shared = topics.replies(service)
            self.channel(shared)
            agency = self.agency_replies(service)
            operation["summary"] += (
                " Each command needs the header `authorization: Bearer <access token>`; the "
                "token's roles decide what it may do (docs/SECURITY.md)."
            )
            operation["security"] = [{"$ref": f"#/components/securitySchemes/{TOKEN}"}]
            operation["reply"] = {
                "channel": {"$ref": f"#/channels/{agency}"},
                "messages": self._op_messages(agency),
            }
            operation["description"] = (
                f"The answer (`CommandAccepted` or `CommandRejected`, with the command's `ce_id` "
                f"as `command_id`) goes to the sender agency's own "
                f"`{topics.replies_prefix(service)}<agency>.v1`, keyed like the command; a "
                f"sender whose token names no agency (or did not verify) is answered on "
                f"`{self.layout.names.physical(shared)}`, which no agency reads."
            )
        self.operations[f"{service}.receive.{topic}"] = operation

    def _op_messages(self, channel: str) -> list[dict[str, str]]:
        return [
            {"$ref": f"#/channels/{channel}/messages/{key}"}
            for key in self.channels[channel]["messages"]
        ]

    # components

    def document(self, *, title: str, description: str, servers: Sequence[Server]) -> Document:
        used = sorted(self.used.values(), key=message_id)
        refs, top = models_json_schema(
            [(cls, "validation") for cls in used], ref_template=SCHEMA_REF
        )
        schemas = top.get("$defs", {})
        messages = {message_id(cls): message(cls, refs[(cls, "validation")]) for cls in used}
        services = sorted({_service_of(t) for t in self.channels})
        return {
            "asyncapi": ASYNCAPI_VERSION,
            "id": "urn:vn:hanoi:ocop",
            "info": {
                "title": title,
                "version": contracts_version(),
                "description": description,
                "license": {"name": "Proprietary: City of Hanoi"},
                "tags": [{"name": s, "description": f"The {s} service."} for s in services],
            },
            "defaultContentType": envelope.CONTENT_TYPE,
            "servers": {s.name: _server(s) for s in servers},
            "channels": self.channels,
            "operations": self.operations,
            "components": {
                "messages": messages,
                "schemas": schemas,
                "securitySchemes": _security_schemes(),
            },
        }


def _channel_description(topic: str, kind: str, summary: str) -> str:
    config = topic_config(topic)
    notes = [summary, "Key: the aggregate id (also the `ce_subject` header)."]
    if "retention.ms" in config:
        days = int(config["retention.ms"]) // (24 * 3600 * 1000)
        notes.append(f"Records are kept {days} days.")
    if "compact" in config.get("cleanup.policy", ""):
        notes.append("Log-compacted: the latest record of each key is kept.")
    if kind == "event":
        notes.append("Agencies read it with consumer groups `agency.<name>.*`.")
    return " ".join(notes)


def _server(server: Server) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "host": server.host,
        "protocol": "kafka-secure" if server.tls else "kafka",
        "description": server.description,
    }
    if server.sasl:
        spec["security"] = [{"$ref": f"#/components/securitySchemes/{SCRAM}"}]
    return spec


def _security_schemes() -> dict[str, Any]:
    return {
        SCRAM: {
            "type": "scramSha512",
            "description": "SASL/SCRAM-SHA-512 with the principal `ocop agency add NAME` made "
            "(user `agency-NAME`); over TLS (SASL_SSL) on `kafka-secure` servers. Every request "
            "is authorised by ACLs: public event topics read-only, command topics only when "
            "granted, the agency's own replies topics.",
        },
        TOKEN: {
            "type": "oauth2",
            "description": "Each command carries an access token of the city's identity provider "
            "(OpenID Connect, client credentials) in the record header `authorization`; the "
            "service verifies it like an HTTP request (docs/SECURITY.md).",
            "flows": {
                "clientCredentials": {
                    "tokenUrl": "https://id.ocop.hanoi.gov.vn/realms/ocop/protocol/"
                    "openid-connect/token",
                    "availableScopes": {},
                }
            },
            "scopes": [],
        },
    }
