"""Visits and findings: the sample, the products checked, the certificate on the visit date,
and the remediation deadline."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

import pytest

from ocop_inspection import domain
from ocop_inspection.domain import Category, Outcome, Severity
from ocop_runtime.refusals import RuleViolation

PRODUCER, P1, P2, OTHER = UUID(int=1), UUID(int=11), UUID(int=12), UUID(int=99)
DAY = date(2021, 10, 20)


def visit(**kw: object) -> domain.Visit:
    args: dict[str, object] = {
        "id": UUID(int=500),
        "campaign_id": UUID(int=600),
        "producer_id": PRODUCER,
        "visited_on": DAY,
        "product_ids": (P1, P2),
    }
    args.update(kw)
    return domain.Visit(**args)  # type: ignore[arg-type]


def finding(**kw: object) -> domain.Finding:
    args: dict[str, object] = {
        "id": UUID(int=700),
        "visit_id": UUID(int=500),
        "campaign_id": UUID(int=600),
        "producer_id": PRODUCER,
        "product_id": P1,
        "category": Category.FOOD_SAFETY,
        "severity": Severity.MAJOR,
        "outcome": Outcome.REMEDIATION,
        "visited_on": DAY,
        "remediation_deadline": date(2021, 11, 20),
    }
    args.update(kw)
    return domain.Finding(**args)  # type: ignore[arg-type]


def cert(product: UUID, start: date, ended: date | None = None) -> domain.CertificateCopy:
    return domain.CertificateCopy(
        certificate_id=UUID(int=product.int + 1000),
        product_id=product,
        star=3,
        decision_date=start,
        valid_from=start,
        valid_until=date(start.year + 3, start.month, start.day),
        state="live" if ended is None else "revoked",
        ended_on=ended,
    )


def check(v: domain.Visit, in_sample: bool | None = True) -> domain.Visit:
    return domain.check_visit(
        v, today=date(2021, 12, 31), products_of_producer={P1, P2}, in_sample=in_sample
    )


def test_a_visit_outside_the_sample_needs_a_reason() -> None:
    with pytest.raises(RuleViolation) as refused:
        check(visit(), in_sample=False)
    assert refused.value.field == "reason_outside_sample"
    with pytest.raises(RuleViolation):
        check(visit(reason_outside_sample="   "), in_sample=False)
    kept = check(visit(reason_outside_sample="Phản ánh của người tiêu dùng"), in_sample=False)
    assert kept.outside_sample
    assert not check(visit(reason_outside_sample="not needed")).outside_sample
    assert not check(visit(campaign_id=None), in_sample=None).outside_sample


def test_a_visit_checks_only_its_producers_products_once_and_not_in_the_future() -> None:
    with pytest.raises(RuleViolation) as foreign:
        check(visit(product_ids=(P1, OTHER)))
    assert foreign.value.field == "product_ids"
    with pytest.raises(RuleViolation) as twice:
        check(visit(product_ids=(P1, P1)))
    assert twice.value.field == "product_ids"
    with pytest.raises(RuleViolation) as future:
        check(visit(visited_on=date(2022, 1, 1)))
    assert future.value.field == "visited_on"


def test_a_finding_needs_a_certificate_held_on_the_visit_date() -> None:
    v = check(visit())
    held = domain.check_finding(v, finding(), [cert(P1, date(2019, 5, 1))])
    assert held.certificate_id == UUID(int=P1.int + 1000)
    for certificates in (
        [],
        [cert(P1, date(2021, 11, 1))],  # certified after the visit
        [cert(P1, date(2017, 5, 1))],  # ended before it
        [cert(P1, date(2019, 5, 1), ended=date(2021, 9, 1))],  # revoked before it
    ):
        with pytest.raises(RuleViolation) as refused:
            domain.check_finding(v, finding(), certificates)
        assert refused.value.field == "product_id"
        assert "held no OCOP certificate on 2021-10-20" in refused.value.reason


def test_a_finding_is_on_a_product_checked_at_the_visit() -> None:
    v = check(visit(product_ids=(P2,)))
    with pytest.raises(RuleViolation) as refused:
        domain.check_finding(v, finding(), [cert(P1, date(2019, 5, 1))])
    assert refused.value.field == "product_id"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"remediation_deadline": DAY}, "remediation_deadline"),
        ({"remediation_deadline": date(2021, 10, 1)}, "remediation_deadline"),
        ({"remediation_deadline": None}, "remediation_deadline"),
        ({"remediation_deadline": date(2023, 1, 1)}, "remediation_deadline"),
        ({"outcome": Outcome.ADVICE}, "remediation_deadline"),
        (
            {"outcome": Outcome.COMPLIANT, "remediation_deadline": None},
            "severity",
        ),
    ],
)
def test_a_finding_refuses(change: dict[str, object], field: str) -> None:
    with pytest.raises(RuleViolation) as refused:
        domain.check_finding(check(visit()), finding(**change), [cert(P1, date(2019, 5, 1))])
    assert refused.value.field == field


def test_a_batch_names_the_finding_at_fault() -> None:
    v = check(visit())
    certificates = {P1: [cert(P1, date(2019, 5, 1))], P2: []}
    good = finding()
    bad = finding(
        id=UUID(int=701), product_id=P2, outcome=Outcome.ADVICE, remediation_deadline=None
    )
    with pytest.raises(RuleViolation) as refused:
        domain.check_findings(v, [good, bad], certificates)
    assert refused.value.field == "findings.1.product_id"
    with pytest.raises(RuleViolation) as twice:
        domain.check_findings(v, [good, good], certificates)
    assert twice.value.field == "findings"


def test_campaign_life_and_visit_window() -> None:
    c = domain.plan(
        domain.Campaign(
            id=UUID(int=600),
            name="Kiểm tra sau công nhận 2021",
            year=2021,
            lead_agency="Văn phòng Điều phối NTM",
            departments=("agriculture", "health"),
            scope=(Category.LABEL, Category.FOOD_SAFETY),
            units=("268", "269"),
            target_producers=50,
            target_products=360,
            starts_on=date(2021, 10, 1),
            ends_on=date(2021, 12, 31),
        )
    )
    with pytest.raises(RuleViolation) as outside:
        domain.may_visit(c, date(2022, 1, 2))
    assert outside.value.field == "visited_on"
    running = domain.may_visit(c, DAY)
    assert running.status is domain.CampaignStatus.RUNNING
    with pytest.raises(RuleViolation):
        domain.mark_reported(running, datetime(2022, 1, 1))
    closed = domain.close(running, datetime(2022, 1, 1))
    with pytest.raises(RuleViolation):
        domain.may_visit(closed, DAY)
    with pytest.raises(RuleViolation):
        domain.may_sample(closed)
    assert (
        domain.mark_reported(closed, datetime(2022, 1, 2)).status is domain.CampaignStatus.REPORTED
    )


def test_a_plan_refuses_bad_dates_and_an_empty_scope() -> None:
    base = domain.Campaign(
        id=UUID(int=1),
        name="x",
        year=2021,
        lead_agency="y",
        departments=(),
        scope=(Category.LABEL,),
        units=(),
        target_producers=1,
        target_products=1,
        starts_on=date(2021, 10, 1),
        ends_on=date(2021, 12, 31),
    )
    for change, field in (
        ({"ends_on": date(2021, 9, 1)}, "ends_on"),
        ({"year": 2020}, "starts_on"),
        ({"scope": ()}, "scope"),
        ({"units": ("1", "1")}, "units"),
        ({"name": " "}, "name"),
    ):
        with pytest.raises(RuleViolation) as refused:
            domain.plan(domain.Campaign(**{**base.__dict__, **change}))
        assert refused.value.field == field


def test_the_report_counts_what_was_inspected_and_gives_each_producers_minutes() -> None:
    c = domain.Campaign(
        id=UUID(int=1),
        name="x",
        year=2021,
        lead_agency="y",
        departments=(),
        scope=(Category.LABEL,),
        units=(),
        target_producers=3,
        target_products=5,
        starts_on=date(2021, 10, 1),
        ends_on=date(2021, 12, 31),
    )
    a, b = UUID(int=100), UUID(int=200)
    visits = [
        domain.VisitFacts(UUID(int=1), a, "268", date(2021, 10, 2), (P1, P2), "Biên bản A"),
        domain.VisitFacts(UUID(int=2), a, "268", date(2021, 11, 2), (P1,), "Tái kiểm tra A"),
        domain.VisitFacts(UUID(int=3), b, "269", date(2021, 10, 3), (OTHER,), None),
    ]
    findings = [
        domain.FindingFacts(UUID(int=1), P1, "label", "minor", "advice"),
        domain.FindingFacts(UUID(int=1), P2, "packaging", "minor", "advice"),
        domain.FindingFacts(UUID(int=3), OTHER, "label", "major", "remediation"),
    ]
    r = domain.report(c, {a, b, UUID(int=300)}, {P1, P2, OTHER, UUID(int=42)}, visits, findings)
    assert (r.producers_planned, r.products_planned) == (3, 5)
    assert (r.producers_sampled, r.products_sampled) == (3, 4)
    assert (r.producers_inspected, r.products_inspected) == (2, 3)
    assert r.units_covered == ("268", "269")
    assert r.by_category == {"label": 2, "packaging": 1}
    assert r.by_severity == {"major": 1, "minor": 2}
    assert r.outcomes == {"advice": 2, "remediation": 1}
    first = r.producers[0]
    assert first.producer_id == a and first.products_checked == 2 and first.findings == 2
    assert [m for _, _, m in first.visits] == ["Biên bản A", "Tái kiểm tra A"]
