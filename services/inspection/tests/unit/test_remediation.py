"""The remediation state machine and its deadlines."""

from __future__ import annotations

from datetime import date
from uuid import UUID

import pytest

from ocop_inspection import domain
from ocop_inspection.domain import RemediationStatus as S
from ocop_runtime.refusals import RuleViolation

VISIT = date(2021, 10, 12)


def asked(deadline: date = date(2021, 11, 12)) -> domain.Remediation:
    return domain.require_remediation(
        UUID(int=1), UUID(int=2), UUID(int=3), UUID(int=4), None, VISIT, deadline
    )


def test_a_deadline_must_fall_after_the_visit() -> None:
    for bad in (VISIT, date(2021, 10, 1)):
        with pytest.raises(RuleViolation) as refused:
            asked(bad)
        assert refused.value.field == "deadline"


def test_open_goes_overdue_only_after_the_deadline_day() -> None:
    r = asked()
    assert not domain.is_overdue(r, date(2021, 11, 12))
    with pytest.raises(RuleViolation):
        domain.mark_overdue(r, date(2021, 11, 12))
    late = domain.mark_overdue(r, date(2021, 11, 13))
    assert late.status is S.OVERDUE and late.overdue_on == date(2021, 11, 13)
    assert not domain.is_overdue(late, date(2021, 12, 1))  # once is enough


def test_completion_on_time_and_late() -> None:
    on_time = domain.complete(asked(), date(2021, 11, 1), today=date(2021, 11, 2))
    assert on_time.status is S.COMPLETED and not on_time.late
    overdue = domain.mark_overdue(asked(), date(2021, 11, 20))
    late = domain.complete(overdue, date(2021, 11, 21), today=date(2021, 11, 21))
    assert late.status is S.COMPLETED and late.late
    with pytest.raises(RuleViolation) as twice:
        domain.complete(late, date(2021, 11, 22), today=date(2021, 11, 22))
    assert twice.value.field == "status"
    with pytest.raises(RuleViolation) as future:
        domain.complete(asked(), date(2021, 11, 5), today=date(2021, 11, 1))
    assert future.value.field == "completed_on"
    with pytest.raises(RuleViolation) as before:
        domain.complete(asked(), date(2021, 10, 1), today=date(2021, 11, 1))
    assert before.value.field == "completed_on"


def test_extension_reopens_an_overdue_remediation_with_a_later_deadline() -> None:
    overdue = domain.mark_overdue(asked(), date(2021, 11, 20))
    with pytest.raises(RuleViolation):
        domain.extend(overdue, date(2021, 11, 10), today=date(2021, 11, 20))
    extended = domain.extend(overdue, date(2021, 12, 20), today=date(2021, 11, 20))
    assert extended.status is S.OPEN and extended.deadline == date(2021, 12, 20)
    assert extended.overdue_on is None


def test_only_an_overdue_remediation_is_escalated() -> None:
    with pytest.raises(RuleViolation):
        domain.escalate(asked())
    escalated = domain.escalate(domain.mark_overdue(asked(), date(2021, 11, 13)))
    assert escalated.status is S.ESCALATED
    with pytest.raises(RuleViolation):
        domain.complete(escalated, date(2021, 11, 14), today=date(2021, 11, 14))
