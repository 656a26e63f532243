"""Remediation asked of a producer by a deadline.

    open --complete--> completed
    open --(clock passes the deadline)--> overdue --complete--> completed (late)
    open | overdue --extend(later deadline)--> open
    overdue --notice sent (due process)--> escalated

The deadline is the last day to remediate; it is overdue from the day after.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from uuid import UUID

from ocop_inspection.domain.common import require
from ocop_runtime.refusals import RuleViolation


class RemediationStatus(StrEnum):
    OPEN = "open"
    OVERDUE = "overdue"
    COMPLETED = "completed"
    ESCALATED = "escalated"


@dataclass(frozen=True)
class Remediation:
    id: UUID
    finding_id: UUID
    producer_id: UUID
    product_id: UUID
    campaign_id: UUID | None
    required_on: date
    deadline: date
    status: RemediationStatus = RemediationStatus.OPEN
    completed_on: date | None = None
    late: bool = False
    overdue_on: date | None = None


def require_remediation(
    id: UUID,
    finding_id: UUID,
    producer_id: UUID,
    product_id: UUID,
    campaign_id: UUID | None,
    visited_on: date,
    deadline: date,
) -> Remediation:
    require(deadline > visited_on, "deadline", f"must be after the visit on {visited_on}")
    return Remediation(id, finding_id, producer_id, product_id, campaign_id, visited_on, deadline)


def is_overdue(r: Remediation, today: date) -> bool:
    return r.status is RemediationStatus.OPEN and today > r.deadline


def mark_overdue(r: Remediation, today: date) -> Remediation:
    if not is_overdue(r, today):
        raise RuleViolation("status", f"remediation {r.id} is not overdue on {today}")
    return replace(r, status=RemediationStatus.OVERDUE, overdue_on=today)


def complete(r: Remediation, on: date, today: date) -> Remediation:
    if r.status not in (RemediationStatus.OPEN, RemediationStatus.OVERDUE):
        raise RuleViolation("status", f"remediation {r.id} is {r.status}")
    require(on >= r.required_on, "completed_on", f"is before the visit on {r.required_on}")
    require(on <= today, "completed_on", f"is after today ({today})")
    return replace(r, status=RemediationStatus.COMPLETED, completed_on=on, late=on > r.deadline)


def extend(r: Remediation, deadline: date, today: date) -> Remediation:
    if r.status not in (RemediationStatus.OPEN, RemediationStatus.OVERDUE):
        raise RuleViolation("status", f"remediation {r.id} is {r.status}")
    require(deadline > r.deadline, "deadline", f"must be after the current one, {r.deadline}")
    require(deadline >= today, "deadline", f"is already past ({today})")
    return replace(r, status=RemediationStatus.OPEN, deadline=deadline, overdue_on=None)


def escalate(r: Remediation) -> Remediation:
    """A notice of due process was sent for the overdue remediation."""
    if r.status is not RemediationStatus.OVERDUE:
        raise RuleViolation("remediation_id", f"remediation {r.id} is {r.status}, not overdue")
    return replace(r, status=RemediationStatus.ESCALATED)
