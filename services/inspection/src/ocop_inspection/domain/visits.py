"""Visits and their checklist findings: what may be recorded, and when."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from ocop_inspection.domain.certified import CertificateCopy, certificate_on
from ocop_inspection.domain.common import Category, LabResult, Outcome, Severity, require
from ocop_runtime.refusals import RuleViolation

MAX_REMEDIATION_DAYS = 365


@dataclass(frozen=True)
class Visit:
    id: UUID
    campaign_id: UUID | None
    producer_id: UUID
    visited_on: date
    product_ids: tuple[UUID, ...]
    unit: str | None = None
    minutes: str | None = None
    reason_outside_sample: str | None = None
    recorded_by: str = ""
    recorded_at: datetime | None = None

    @property
    def outside_sample(self) -> bool:
        return self.reason_outside_sample is not None


@dataclass(frozen=True)
class LabSample:
    sample_code: str
    analysis: str
    result: LabResult = LabResult.PENDING
    laboratory: str | None = None


@dataclass(frozen=True)
class Finding:
    id: UUID
    visit_id: UUID
    campaign_id: UUID | None
    producer_id: UUID
    product_id: UUID
    category: Category
    severity: Severity
    outcome: Outcome
    visited_on: date
    criterion: str | None = None
    evidence: tuple[str, ...] = ()
    lab_sample: LabSample | None = None
    note: str | None = None
    remediation_deadline: date | None = None
    recorded_at: datetime | None = None


@dataclass(frozen=True)
class FindingDraft:
    """A finding as the inspectors write it down, before it is placed on its visit."""

    id: UUID
    product_id: UUID
    category: Category
    severity: Severity
    outcome: Outcome
    criterion: str | None = None
    evidence: tuple[str, ...] = ()
    lab_sample: LabSample | None = None
    note: str | None = None
    remediation_deadline: date | None = None

    def on(self, visit: Visit) -> Finding:
        return Finding(
            id=self.id,
            visit_id=visit.id,
            campaign_id=visit.campaign_id,
            producer_id=visit.producer_id,
            product_id=self.product_id,
            category=self.category,
            severity=self.severity,
            outcome=self.outcome,
            visited_on=visit.visited_on,
            criterion=self.criterion,
            evidence=self.evidence,
            lab_sample=self.lab_sample,
            note=self.note,
            remediation_deadline=self.remediation_deadline,
        )


def check_visit(
    visit: Visit,
    *,
    today: date,
    products_of_producer: set[UUID],
    in_sample: bool | None,
) -> Visit:
    """``in_sample`` is None for a visit outside any campaign. A visit to a producer outside the
    campaign's sample needs a reason; every product checked must be the producer's."""
    require(visit.visited_on <= today, "visited_on", f"is after today ({today})")
    require(
        len(set(visit.product_ids)) == len(visit.product_ids),
        "product_ids",
        "lists a product twice",
    )
    foreign = [p for p in visit.product_ids if p not in products_of_producer]
    if foreign:
        raise RuleViolation(
            "product_ids", f"not products of producer {visit.producer_id}: {foreign[0]}"
        )
    reason = (visit.reason_outside_sample or "").strip() or None
    if in_sample is False and reason is None:
        raise RuleViolation(
            "reason_outside_sample",
            f"producer {visit.producer_id} is not in the campaign's sample: give the reason for"
            " visiting it",
        )
    if in_sample is not False:
        reason = None
    return Visit(**{**visit.__dict__, "reason_outside_sample": reason})


def check_finding(
    visit: Visit, finding: Finding, certificates: Sequence[CertificateCopy]
) -> CertificateCopy:
    """The certificate the finding's product held on the day of the visit (refused when none,
    or when the finding does not fit the visit or its outcome)."""
    require(
        finding.product_id in visit.product_ids,
        "product_id",
        f"product {finding.product_id} was not checked at visit {visit.id}",
    )
    held = certificate_on(certificates, visit.visited_on)
    if held is None:
        raise RuleViolation(
            "product_id",
            f"product {finding.product_id} held no OCOP certificate on {visit.visited_on}",
        )
    deadline = finding.remediation_deadline
    if finding.outcome is Outcome.REMEDIATION:
        require(
            deadline is not None, "remediation_deadline", "is required when remediation is asked"
        )
        assert deadline is not None
        require(
            deadline > visit.visited_on,
            "remediation_deadline",
            f"must be after the visit on {visit.visited_on}",
        )
        require(
            (deadline - visit.visited_on).days <= MAX_REMEDIATION_DAYS,
            "remediation_deadline",
            f"must be within {MAX_REMEDIATION_DAYS} days of the visit",
        )
    else:
        require(
            deadline is None,
            "remediation_deadline",
            "is only given when the outcome is remediation",
        )
    require(
        finding.outcome is not Outcome.COMPLIANT or finding.severity is Severity.MINOR,
        "severity",
        "a compliant check is recorded as minor",
    )
    return held


def check_findings(
    visit: Visit,
    findings: Sequence[Finding],
    certificates: Mapping[UUID, Sequence[CertificateCopy]],
) -> dict[UUID, CertificateCopy]:
    """Every finding of a batch checked (ids unique); the certificate each product held."""
    require(len({f.id for f in findings}) == len(findings), "findings", "lists a finding id twice")
    held: dict[UUID, CertificateCopy] = {}
    for i, f in enumerate(findings):
        try:
            held[f.product_id] = check_finding(visit, f, certificates.get(f.product_id, ()))
        except RuleViolation as exc:
            raise RuleViolation(f"findings.{i}.{exc.field}", exc.reason) from None
    return held
