"""Integrity flags on a council's work: conflicts of interest, outlying members, split criteria."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ocop_evaluation.domain import (
    CouncilMember,
    CouncilResult,
    FlagKind,
    MemberScores,
    conflicts_of_interest,
    deviating_members,
    divergent_criteria,
    integrity_flags,
    rulebook,
    score_council,
)

SHEET = rulebook("148").sheet("food.honey_other")


def _points(total: int, **overrides: Decimal) -> dict[str, Decimal]:
    """Every criterion at the same share of its maximum, adding up to ``total`` out of 100."""
    share = Decimal(total) / 100
    given = {c.id: c.max_points * share for c in SHEET.criteria if not c.bonus}
    given.update(overrides)
    return given


def _council(*totals: int) -> CouncilResult:
    return score_council(
        SHEET, [MemberScores(f"m{i}", _points(t)) for i, t in enumerate(totals, start=1)]
    )


def test_a_member_from_the_producers_own_unit_is_flagged() -> None:
    members = [
        CouncilMember("m1", "so-nn-mt"),
        CouncilMember("m2", "htx-mat-ong-ba-vi"),
        CouncilMember("m3", "ubnd-xa-ba-vi"),
    ]

    flags = conflicts_of_interest(members, {"htx-mat-ong-ba-vi", "ubnd-xa-ba-vi"})

    assert [(f.kind, f.member_id) for f in flags] == [
        (FlagKind.CONFLICT_OF_INTEREST, "m2"),
        (FlagKind.CONFLICT_OF_INTEREST, "m3"),
    ]


def test_members_from_other_units_raise_no_conflict() -> None:
    assert conflicts_of_interest([CouncilMember("m1", "so-ct")], {"htx-a"}) == ()


def test_a_member_more_than_15_points_from_the_others_median_is_flagged() -> None:
    result = _council(70, 72, 71, 50)

    flags = deviating_members(result)

    assert [(f.kind, f.member_id) for f in flags] == [(FlagKind.DEVIATING_MEMBER, "m4")]
    assert "21" in flags[0].detail


def test_a_member_exactly_15_points_from_the_others_median_is_not_flagged() -> None:
    assert deviating_members(_council(70, 70, 70, 55)) == ()


def test_the_deviation_margin_is_configurable() -> None:
    result = _council(70, 72, 71, 64)

    assert deviating_members(result) == ()
    assert [f.member_id for f in deviating_members(result, margin=5)] == ["m4"]


def test_a_council_of_one_has_nobody_to_deviate_from() -> None:
    assert deviating_members(_council(10)) == ()


def test_a_criterion_scored_over_more_than_half_its_maximum_apart_is_flagged() -> None:
    # C1.1 is out of 5: 1 and 4 are 3 apart (more than 2.5); A1.1 is out of 4: 1 and 3 are 2 apart.
    result = score_council(
        SHEET,
        [
            MemberScores("m1", _points(60, **{"C1.1": Decimal(1), "A1.1": Decimal(1)})),
            MemberScores("m2", _points(60, **{"C1.1": Decimal(4), "A1.1": Decimal(3)})),
        ],
    )

    flags = divergent_criteria(result)

    assert [(f.kind, f.criterion_id) for f in flags] == [(FlagKind.DIVERGENT_CRITERION, "C1.1")]
    assert [f.criterion_id for f in divergent_criteria(result, share=Decimal("0.4"))] == [
        "A1.1",
        "C1.1",
    ]


def test_a_council_that_agrees_raises_no_flag() -> None:
    result = _council(80, 80, 80)

    assert integrity_flags(result, [CouncilMember("m1", "so-nn-mt")], {"htx-a"}) == ()


def test_all_integrity_flags_are_gathered_in_one_call() -> None:
    result = _council(90, 90, 20)

    flags = integrity_flags(result, [CouncilMember("m3", "htx-a")], {"htx-a"})

    kinds = {f.kind for f in flags}
    assert kinds == {
        FlagKind.CONFLICT_OF_INTEREST,
        FlagKind.DEVIATING_MEMBER,
        FlagKind.DIVERGENT_CRITERION,
    }


def test_a_negative_margin_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="margin"):
        deviating_members(_council(70, 70), margin=-1)
