"""Dead letters: what a consumer could not apply, kept on ``ocop.<consumer>.dlq.v1``.

A dead letter keeps the original key, value and headers (so it can be replayed as it was) and adds
``ocop_dlq_*`` headers saying why, from where, and after how many attempts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

H_REASON: Final = "ocop_dlq_reason"
H_CONSUMER: Final = "ocop_dlq_consumer"
H_TOPIC: Final = "ocop_dlq_topic"
H_PARTITION: Final = "ocop_dlq_partition"
H_OFFSET: Final = "ocop_dlq_offset"
H_ATTEMPTS: Final = "ocop_dlq_attempts"
H_TIME: Final = "ocop_dlq_time"
DLQ_HEADERS: Final = frozenset(
    {H_REASON, H_CONSUMER, H_TOPIC, H_PARTITION, H_OFFSET, H_ATTEMPTS, H_TIME}
)

MAX_REASON = 2000


def dead_letter_headers(
    original: list[tuple[str, bytes]],
    *,
    reason: str,
    consumer: str,
    topic: str,
    partition: int,
    offset: int,
    attempts: int,
) -> list[tuple[str, bytes]]:
    kept = [(k, v) for k, v in original if k not in DLQ_HEADERS]
    return [
        *kept,
        (H_REASON, reason[:MAX_REASON].encode()),
        (H_CONSUMER, consumer.encode()),
        (H_TOPIC, topic.encode()),
        (H_PARTITION, str(partition).encode()),
        (H_OFFSET, str(offset).encode()),
        (H_ATTEMPTS, str(attempts).encode()),
        (H_TIME, datetime.now(UTC).isoformat().encode()),
    ]


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One record read back from a DLQ topic."""

    dlq_offset: int
    dlq_partition: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k == name:
                return v.decode(errors="replace")
        return None

    @property
    def reason(self) -> str:
        return self.header(H_REASON) or ""

    @property
    def original_topic(self) -> str:
        return self.header(H_TOPIC) or ""

    @property
    def original_headers(self) -> list[tuple[str, bytes]]:
        return [(k, v) for k, v in self.headers if k not in DLQ_HEADERS]

    def summary(self) -> dict[str, Any]:
        return {
            "dlq_partition": self.dlq_partition,
            "dlq_offset": self.dlq_offset,
            "ce_id": self.header("ce_id"),
            "ce_type": self.header("ce_type"),
            "topic": self.original_topic,
            "partition": self.header(H_PARTITION),
            "offset": self.header(H_OFFSET),
            "attempts": self.header(H_ATTEMPTS),
            "time": self.header(H_TIME),
            "reason": self.reason,
        }
