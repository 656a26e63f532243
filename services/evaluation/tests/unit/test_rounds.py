"""Rounds and entries: who may sit on a council, where an entry goes, what a decision certifies."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import uuid4

import pytest

from ocop_evaluation.domain import (
    CouncilRole,
    CouncilSeat,
    Entry,
    EntryKind,
    EntryStatus,
    Level,
    OutcomeKind,
    Round,
    RoundStatus,
    RuleViolation,
    check_council,
    outcome_at,
)

UNDER_1048 = date(2021, 5, 1)
UNDER_148 = date(2024, 5, 1)
AT = datetime(2024, 6, 1, tzinfo=UTC)


def _entry(**fields: object) -> Entry:
    values: dict[str, object] = {
        "application_id": uuid4(),
        "product_id": uuid4(),
        "producer_id": uuid4(),
        "kind": EntryKind.FIRST_TIME,
        "regime": "148",
        "product_set": "1.1.1",
        "commune_code": "00004",
        "district_code": "001",
        "round_year": 2024,
        "level": Level.DISTRICT,
        "submitted_on": UNDER_148,
        "round_id": None,
        "status": EntryStatus.WAITING,
        "created_at": AT,
    }
    return Entry(**{**values, **fields})  # type: ignore[arg-type]


def _seats(*roles: CouncilRole) -> list[CouncilSeat]:
    return [CouncilSeat(f"m{i}", f"Member {i}", role) for i, role in enumerate(roles)]


def test_a_council_of_three_with_one_chair_is_accepted() -> None:
    check_council(_seats(CouncilRole.CHAIR, CouncilRole.MEMBER, CouncilRole.MEMBER))


@pytest.mark.parametrize(
    ("seats", "reason"),
    [
        (_seats(CouncilRole.CHAIR, CouncilRole.MEMBER), "at least 3"),
        (_seats(CouncilRole.MEMBER, CouncilRole.MEMBER, CouncilRole.MEMBER), "one chair"),
        (_seats(CouncilRole.CHAIR, CouncilRole.CHAIR, CouncilRole.MEMBER), "one chair"),
        ([*_seats(CouncilRole.CHAIR, CouncilRole.MEMBER), CouncilSeat("m1", "Again")], "twice"),
    ],
)
def test_a_council_without_three_distinct_members_and_one_chair_is_refused(
    seats: list[CouncilSeat], reason: str
) -> None:
    with pytest.raises(RuleViolation, match=reason) as refused:
        check_council(seats)
    assert refused.value.field == "members"


def test_an_entry_waits_without_an_open_round_and_enters_one_that_is_open() -> None:
    round_id = uuid4()
    assert _entry().in_round(None).status is EntryStatus.WAITING
    entered = _entry().in_round(round_id)
    assert (entered.status, entered.round_id) == (EntryStatus.ENTERED, round_id)


def test_a_forwarded_entry_goes_to_the_next_level_and_a_nominated_one_as_an_upgrade() -> None:
    forwarded = outcome_at(Level.DISTRICT, UNDER_1048, 75)
    nominated = outcome_at(Level.CITY, UNDER_148, 92)
    assert (forwarded.kind, nominated.kind) == (OutcomeKind.FORWARD, OutcomeKind.NOMINATE)
    scored = _entry(status=EntryStatus.FORWARDED, round_id=uuid4(), result={"score": "75"})

    onward = scored.onward(forwarded, AT)
    upgrade = _entry(level=Level.CITY).onward(nominated, AT)

    assert (onward.level, onward.kind, onward.round_id, onward.result) == (
        Level.CITY,
        EntryKind.FIRST_TIME,
        None,
        None,
    )
    assert (upgrade.level, upgrade.kind) == (Level.CENTRAL, EntryKind.UPGRADE)


def test_only_a_scored_entry_with_an_outcome_star_is_certified() -> None:
    summary = {"outcome_star": 4}
    assert _entry(status=EntryStatus.SCORED, result=summary).star_to_certify == 4
    assert _entry(status=EntryStatus.SCORED, result={"outcome_star": None}).star_to_certify is None
    assert _entry(status=EntryStatus.FORWARDED, result=summary).star_to_certify is None
    assert _entry(status=EntryStatus.SCORED).star_to_certify is None


def test_a_round_opened_again_under_its_id_is_the_same_only_for_its_year_and_level() -> None:
    opened = Round(uuid4(), 2024, Level.CITY, "Thành phố 2024", RoundStatus.OPEN, AT)
    assert opened.same_opening(2024, Level.CITY)
    assert not opened.same_opening(2025, Level.CITY)
    assert not opened.same_opening(2024, Level.CENTRAL)


def test_a_decision_grants_the_scored_star_under_the_rulebook_the_round_scored_on() -> None:
    summary = {"outcome_star": 4, "rulebook": "148", "rulebook_version": 1, "score": "78.5"}
    scored = _entry(status=EntryStatus.SCORED, result=summary)
    certificate_id = uuid4()

    grant = scored.grant(certificate_id, Level.CITY, "1147/QĐ-UBND", date(2024, 9, 1))

    assert (grant.certificate_id, grant.star, grant.level) == (certificate_id, 4, Level.CITY)
    assert (grant.rulebook.id, grant.rulebook.version, grant.score) == ("148", 1, Decimal("78.5"))
    with pytest.raises(RuleViolation):
        _entry(status=EntryStatus.NOT_RECOGNISED).grant(
            uuid4(), Level.CITY, "1147/QĐ-UBND", date(2024, 9, 1)
        )
