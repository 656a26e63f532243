"""The messages of the AsyncAPI documents (:mod:`ocop_runtime.asyncapi`): one per contract, with
its docstring, CloudEvents headers, Kafka key and, for commands and replies, their correlation."""

from __future__ import annotations

import inspect
from typing import Any

from pydantic import BaseModel

from ocop_contracts import Event, envelope

KAFKA_BINDING_VERSION = "0.5.0"


def _doc(cls: type) -> str:
    """The contract's docstring, or its nearest contract base's (replies inherit theirs)."""
    for klass in cls.__mro__:
        if klass in (Event, BaseModel, object):
            break
        if klass.__doc__:
            return inspect.cleandoc(klass.__doc__)
    return ""


def kind_of(cls: type[Event]) -> str:
    if cls.TOPIC.endswith(".commands.v1"):
        return "command"
    if ".replies." in cls.TOPIC:
        return "reply"
    return "event"


def message_id(cls: type[Event]) -> str:
    """The message's key under ``components.messages``: ``<service>.<Name>.v<major>``."""
    return f"{cls.SERVICE}.{cls.EVENT_NAME}.v{cls.VERSION}"


def message(cls: type[Event], payload_ref: dict[str, Any]) -> dict[str, Any]:
    kind = kind_of(cls)
    doc = _doc(cls)
    verb = {"command": "accepts", "reply": "answers with", "event": "publishes"}[kind]
    summary = (
        doc.split("\n\n")[0].replace("\n", " ")
        if doc
        else f"{cls.EVENT_NAME}: a {kind} {cls.SERVICE} {verb}."
    )
    # Without a docstring of its own, the contract module's says what its messages share.
    module = inspect.getmodule(cls)
    context = doc or inspect.cleandoc(module.__doc__ or "") if module else doc
    message: dict[str, Any] = {
        "name": cls.EVENT_NAME,
        "title": f"{cls.EVENT_NAME} v{cls.VERSION}",
        "summary": summary,
        "description": (f"{context}\n\n" if context else "")
        + f"A {kind} of type `{cls.CE_TYPE}`, keyed by `{cls.KEY_FIELD}`.",
        "contentType": envelope.CONTENT_TYPE,
        "headers": _headers(cls, kind),
        "payload": payload_ref,
        "bindings": {
            "kafka": {
                "key": {
                    "type": "string",
                    "description": f"The aggregate id: the payload's `{cls.KEY_FIELD}`.",
                },
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
        "tags": [{"name": cls.SERVICE}, {"name": kind}],
    }
    if kind == "command":
        message["correlationId"] = {
            "description": "The command's `ce_id`: its answer carries it as `command_id`.",
            "location": f"$message.header#/{envelope.H_ID}",
        }
    elif kind == "reply":
        message["correlationId"] = {
            "description": "The answered command's `ce_id`.",
            "location": "$message.payload#/command_id",
        }
    return message


def _headers(cls: type[Event], kind: str) -> dict[str, Any]:
    source: dict[str, Any] = {"type": "string"}
    if kind == "command":
        source["description"] = (
            "Who the sender says it is, e.g. `/agency/so-cong-thuong` (informative only: the "
            "access token in `authorization` says who sent it)."
        )
    else:
        source["const"] = envelope.source(cls.SERVICE)
        source["description"] = "The publishing service."
    properties: dict[str, Any] = {
        envelope.H_SPECVERSION: {"type": "string", "const": envelope.SPECVERSION},
        envelope.H_ID: {
            "type": "string",
            "description": "Unique per record; a redelivered record keeps it: deduplicate by it.",
        },
        envelope.H_TYPE: {
            "type": "string",
            "const": cls.CE_TYPE,
            "description": "The message type and major version; route on it.",
        },
        envelope.H_SOURCE: source,
        envelope.H_TIME: {
            "type": "string",
            "format": "date-time",
            "description": "When it happened (RFC 3339).",
        },
        envelope.H_SUBJECT: {
            "type": "string",
            "description": f"The aggregate id: the payload's `{cls.KEY_FIELD}`, also the key.",
        },
        envelope.H_CONTENT_TYPE: {"type": "string", "const": envelope.CONTENT_TYPE},
        envelope.H_TRACEPARENT: {
            "type": "string",
            "pattern": "^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$",
            "description": "W3C trace context of the trace the record belongs to.",
        },
        envelope.H_TRACESTATE: {"type": "string", "description": "W3C trace state."},
    }
    required = [
        envelope.H_SPECVERSION,
        envelope.H_ID,
        envelope.H_TYPE,
        envelope.H_SOURCE,
        envelope.H_TIME,
        envelope.H_SUBJECT,
        envelope.H_CONTENT_TYPE,
    ]
    if kind == "command":
        properties["authorization"] = {
            "type": "string",
            "pattern": "^Bearer .+$",
            "description": "`Bearer <access token>` of the city's identity provider; its roles "
            "(and `ocop_agency` claim) decide what the command may do and where it is answered.",
        }
        required.append("authorization")
    return {"type": "object", "required": required, "properties": properties}
