"""Due process before a recommendation to evaluation: the producer is notified of what may be
recommended and why, has a reply period, and may reply (the reply is recorded). A
recommendation is sent only once the reply period has ended.

    open --reply--> replied --(period ended) recommend--> recommended
    open --(period ended) recommend--> recommended
    open | replied --withdraw--> withdrawn

The reply period runs to ``reply_by`` inclusive; a recommendation is possible from the next day.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from enum import StrEnum
from uuid import UUID

from ocop_inspection.domain.common import REVOCATION_GROUNDS, require
from ocop_runtime.refusals import RuleViolation

MIN_REPLY_DAYS = 5
MAX_REPLY_DAYS = 90
DEFAULT_REPLY_DAYS = 15


class Proposed(StrEnum):
    REVOCATION = "revocation"
    REEVALUATION = "reevaluation"


class NoticeStatus(StrEnum):
    OPEN = "open"
    REPLIED = "replied"
    RECOMMENDED = "recommended"
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True)
class Notice:
    id: UUID
    producer_id: UUID
    product_id: UUID
    finding_ids: tuple[UUID, ...]
    proposed: Proposed
    grounds: tuple[str, ...]
    notified_on: date
    reply_by: date
    status: NoticeStatus = NoticeStatus.OPEN
    reply: str | None = None
    replied_on: date | None = None
    recommendation_id: UUID | None = None


def notify(
    id: UUID,
    producer_id: UUID,
    product_id: UUID,
    finding_ids: tuple[UUID, ...],
    proposed: Proposed,
    grounds: tuple[str, ...],
    today: date,
    reply_days: int = DEFAULT_REPLY_DAYS,
) -> Notice:
    require(bool(finding_ids), "finding_ids", "name the findings the notice rests on")
    require(
        MIN_REPLY_DAYS <= reply_days <= MAX_REPLY_DAYS,
        "reply_days",
        f"must be between {MIN_REPLY_DAYS} and {MAX_REPLY_DAYS}",
    )
    if proposed is Proposed.REVOCATION:
        require(bool(grounds), "grounds", "a revocation needs at least one ground")
    unknown = [g for g in grounds if g not in REVOCATION_GROUNDS]
    require(not unknown, "grounds", f"not a revocation ground: {', '.join(unknown)}")
    return Notice(
        id,
        producer_id,
        product_id,
        finding_ids,
        proposed,
        grounds,
        notified_on=today,
        reply_by=today + timedelta(days=reply_days),
    )


def record_reply(n: Notice, text: str, on: date) -> Notice:
    if n.status is not NoticeStatus.OPEN:
        raise RuleViolation("notice_id", f"notice {n.id} is {n.status}: no reply can be recorded")
    require(bool(text.strip()), "reply", "must not be blank")
    require(on >= n.notified_on, "replied_on", f"is before the notice of {n.notified_on}")
    return replace(n, status=NoticeStatus.REPLIED, reply=text, replied_on=on)


def period_ended(n: Notice, today: date) -> bool:
    return today > n.reply_by


def recommend(n: Notice, recommendation_id: UUID, today: date) -> Notice:
    """The recommendation after due process: refused before the reply period ends."""
    if n.status not in (NoticeStatus.OPEN, NoticeStatus.REPLIED):
        raise RuleViolation("notice_id", f"notice {n.id} is {n.status}")
    if not period_ended(n, today):
        raise RuleViolation(
            "notice_id",
            f"the producer's reply period runs until {n.reply_by}: a recommendation can be sent"
            f" from {n.reply_by + timedelta(days=1)}",
        )
    return replace(n, status=NoticeStatus.RECOMMENDED, recommendation_id=recommendation_id)


def withdraw(n: Notice) -> Notice:
    if n.status not in (NoticeStatus.OPEN, NoticeStatus.REPLIED):
        raise RuleViolation("notice_id", f"notice {n.id} is {n.status}")
    return replace(n, status=NoticeStatus.WITHDRAWN)
