"""The catalogue of event types: every contract module imported, looked up by ``ce_type``.

It sits on top of the package (base <- events, commands <- catalogue), so nothing below it
imports it back.
"""

from __future__ import annotations

from pydantic import ValidationError

from ocop_contracts import commands, events, replies  # noqa: F401  (importing registers them)
from ocop_contracts.base import Event, registered


class UnknownEventType(LookupError):
    """A ``ce_type`` that no contract in this package describes (unknown name or version)."""


def event_types() -> dict[str, type[Event]]:
    """Every published event and command type by ``ce_type``."""
    return registered()


def event_class(type_: str) -> type[Event]:
    try:
        return registered()[type_]
    except KeyError:
        raise UnknownEventType(f"unknown event type {type_!r}") from None


def decode_event(type_: str, value: bytes) -> Event:
    """Validate a record's value against the contract for ``type_``.

    Raises :class:`UnknownEventType` or :class:`pydantic.ValidationError`.
    """
    return event_class(type_).model_validate_json(value)


__all__ = [
    "Event",
    "UnknownEventType",
    "ValidationError",
    "decode_event",
    "event_class",
    "event_types",
]
