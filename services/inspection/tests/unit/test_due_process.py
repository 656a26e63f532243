"""Due process: notice, reply period, then (only then) a recommendation."""

from __future__ import annotations

from datetime import date
from uuid import UUID

import pytest

from ocop_inspection import domain
from ocop_inspection.domain import NoticeStatus as S
from ocop_runtime.refusals import RuleViolation

DAY = date(2021, 12, 1)


def notice(**kw: object) -> domain.Notice:
    args: dict[str, object] = {
        "id": UUID(int=1),
        "producer_id": UUID(int=2),
        "product_id": UUID(int=3),
        "finding_ids": (UUID(int=4),),
        "proposed": domain.Proposed.REVOCATION,
        "grounds": ("food_safety_breach",),
        "today": DAY,
        "reply_days": 15,
    }
    args.update(kw)
    return domain.notify(**args)  # type: ignore[arg-type]


def test_the_notice_sets_the_reply_period() -> None:
    n = notice()
    assert n.reply_by == date(2021, 12, 16) and n.status is S.OPEN


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"grounds": ()}, "grounds"),
        ({"grounds": ("smells_bad",)}, "grounds"),
        ({"finding_ids": ()}, "finding_ids"),
        ({"reply_days": 2}, "reply_days"),
        ({"reply_days": 400}, "reply_days"),
    ],
)
def test_a_notice_refuses(change: dict[str, object], field: str) -> None:
    with pytest.raises(RuleViolation) as refused:
        notice(**change)
    assert refused.value.field == field


def test_a_reevaluation_notice_needs_no_ground() -> None:
    assert notice(proposed=domain.Proposed.REEVALUATION, grounds=()).grounds == ()


def test_no_recommendation_before_the_reply_period_ends_even_after_a_reply() -> None:
    n = notice()
    with pytest.raises(RuleViolation) as early:
        domain.recommend(n, UUID(int=9), date(2021, 12, 16))
    assert early.value.field == "notice_id"
    assert "2021-12-16" in early.value.reason and "2021-12-17" in early.value.reason
    replied = domain.record_reply(n, "Chúng tôi đã khắc phục", date(2021, 12, 10))
    assert replied.status is S.REPLIED and replied.replied_on == date(2021, 12, 10)
    with pytest.raises(RuleViolation):
        domain.recommend(replied, UUID(int=9), date(2021, 12, 12))
    done = domain.recommend(replied, UUID(int=9), date(2021, 12, 17))
    assert done.status is S.RECOMMENDED and done.recommendation_id == UUID(int=9)
    assert done.reply == "Chúng tôi đã khắc phục"


def test_one_reply_and_one_recommendation() -> None:
    replied = domain.record_reply(notice(), "trả lời", date(2021, 12, 2))
    with pytest.raises(RuleViolation):
        domain.record_reply(replied, "lần hai", date(2021, 12, 3))
    done = domain.recommend(replied, UUID(int=9), date(2021, 12, 30))
    with pytest.raises(RuleViolation):
        domain.recommend(done, UUID(int=10), date(2021, 12, 31))
    with pytest.raises(RuleViolation):
        domain.withdraw(done)
    with pytest.raises(RuleViolation) as blank:
        domain.record_reply(notice(), "  ", date(2021, 12, 2))
    assert blank.value.field == "reply"


def test_a_withdrawn_notice_leads_to_nothing() -> None:
    gone = domain.withdraw(notice())
    with pytest.raises(RuleViolation):
        domain.recommend(gone, UUID(int=9), date(2022, 1, 30))
