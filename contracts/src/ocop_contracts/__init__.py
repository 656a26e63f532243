"""ocop_contracts: the public events, topics and envelope of Hanoi's OCOP event backbone.

Depends on pydantic only, so that other agencies can install it on its own.
"""

from ocop_contracts import topics
from ocop_contracts.base import Event
from ocop_contracts.catalogue import UnknownEventType, decode_event, event_class, event_types
from ocop_contracts.envelope import Envelope, EnvelopeError

__all__ = [
    "Envelope",
    "EnvelopeError",
    "Event",
    "UnknownEventType",
    "decode_event",
    "event_class",
    "event_types",
    "topics",
]
