"""CloudEvents 1.0 in Kafka binary mode: attributes travel as ``ce_*`` headers, the value is JSON.

See https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/bindings/kafka-protocol-binding.md
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

SPECVERSION: Final = "1.0"
CONTENT_TYPE: Final = "application/json"

H_ID: Final = "ce_id"
H_TYPE: Final = "ce_type"
H_SOURCE: Final = "ce_source"
H_TIME: Final = "ce_time"
H_SPECVERSION: Final = "ce_specversion"
H_SUBJECT: Final = "ce_subject"
H_CONTENT_TYPE: Final = "content-type"
H_TRACEPARENT: Final = "traceparent"
H_TRACESTATE: Final = "tracestate"

TYPE_PREFIX: Final = "vn.hanoi.ocop."

Headers = list[tuple[str, bytes]]
_BYTES = (bytes, bytearray)


def _rfc3339(time: datetime) -> str:
    return (time if time.tzinfo else time.replace(tzinfo=UTC)).isoformat()


class EnvelopeError(ValueError):
    """A record whose headers are not a valid ocop CloudEvent."""


def ce_type(service: str, event_name: str, major: int = 1) -> str:
    """``vn.hanoi.ocop.<service>.<EventName>.v<major>``."""
    return f"{TYPE_PREFIX}{service}.{event_name}.v{major}"


def source(service: str) -> str:
    """The ``ce_source`` of events published by ``service``."""
    return f"/ocop/{service}"


@dataclass(frozen=True, slots=True)
class Envelope:
    """The CloudEvents attributes of one record."""

    id: str
    type: str
    source: str
    time: datetime
    subject: str
    specversion: str = SPECVERSION
    traceparent: str | None = None
    tracestate: str | None = None

    def to_headers(self) -> Headers:
        headers: Headers = [
            (H_SPECVERSION, self.specversion.encode()),
            (H_ID, self.id.encode()),
            (H_TYPE, self.type.encode()),
            (H_SOURCE, self.source.encode()),
            (H_TIME, _rfc3339(self.time).encode()),
            (H_SUBJECT, self.subject.encode()),
            (H_CONTENT_TYPE, CONTENT_TYPE.encode()),
        ]
        if self.traceparent:
            headers.append((H_TRACEPARENT, self.traceparent.encode()))
        if self.tracestate:
            headers.append((H_TRACESTATE, self.tracestate.encode()))
        return headers

    @classmethod
    def from_headers(
        cls, headers: Iterable[tuple[str, bytes | None]] | Mapping[str, bytes | None]
    ) -> Envelope:
        """Read the attributes; raise :class:`EnvelopeError` naming what is missing or wrong."""
        # Read for every record consumed: plain loops and checks, the common case first.
        items = headers.items() if isinstance(headers, Mapping) else headers
        h: dict[str, str] = {}
        for key, value in items:
            if key in h and key.startswith("ce_"):
                # Which of two ids or types would be the real one is anybody's guess.
                raise EnvelopeError(f"header {key} appears more than once")
            if value is None:
                raise EnvelopeError(f"header {key} has no value (null)")
            try:
                h[key] = value.decode() if isinstance(value, _BYTES) else str(value)
            except UnicodeDecodeError as exc:
                raise EnvelopeError(f"header {key} is not UTF-8") from exc
        if not (h.get(H_ID) and h.get(H_TYPE) and h.get(H_SOURCE) and h.get(H_SPECVERSION)):
            missing = [k for k in (H_ID, H_TYPE, H_SOURCE, H_SPECVERSION) if not h.get(k)]
            raise EnvelopeError(f"missing CloudEvents header(s): {', '.join(missing)}")
        if h[H_SPECVERSION] != SPECVERSION:
            raise EnvelopeError(f"unsupported ce_specversion {h[H_SPECVERSION]!r}")
        content_type = h.get(H_CONTENT_TYPE, CONTENT_TYPE)
        if content_type != CONTENT_TYPE and (
            content_type.split(";", 1)[0].strip().lower() != CONTENT_TYPE
        ):
            raise EnvelopeError(f"unsupported content-type {content_type!r}")
        try:
            time = (
                datetime.fromisoformat(h[H_TIME])
                if h.get(H_TIME)
                else datetime.min.replace(tzinfo=UTC)
            )
        except ValueError as exc:
            raise EnvelopeError(f"ce_time {h[H_TIME]!r} is not an RFC 3339 timestamp") from exc
        return cls(
            id=h[H_ID],
            type=h[H_TYPE],
            source=h[H_SOURCE],
            time=time,
            subject=h.get(H_SUBJECT, ""),
            specversion=h[H_SPECVERSION],
            traceparent=h.get(H_TRACEPARENT),
            tracestate=h.get(H_TRACESTATE),
        )
