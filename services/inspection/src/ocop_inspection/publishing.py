"""Domain facts to contract events, in one place. The minutes of a visit, a finding's note and
a producer's reply stay here: no free text that could name a person is published."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from ocop_contracts.events import inspection as ev
from ocop_inspection import domain


def campaign_planned(c: domain.Campaign, at: datetime) -> ev.CampaignPlanned:
    return ev.CampaignPlanned(
        campaign_id=c.id,
        name=c.name,
        year=c.year,
        lead_agency=c.lead_agency,
        departments=list(c.departments),
        scope=[ev.FindingCategory(s.value) for s in c.scope],
        units=list(c.units),
        target_producers=c.target_producers,
        target_products=c.target_products,
        starts_on=c.starts_on,
        ends_on=c.ends_on,
        planned_at=at,
    )


def sample_drawn(
    campaign_id: UUID,
    method: domain.Method,
    seed: int | None,
    items: Sequence[domain.Drawn],
    population: int,
    at: datetime,
) -> ev.SampleDrawn:
    return ev.SampleDrawn(
        campaign_id=campaign_id,
        method=ev.SampleMethod(method.value),
        seed=seed,
        product_ids=[i.product_id for i in items],
        producer_ids=list(dict.fromkeys(i.producer_id for i in items)),
        population=population,
        drawn_at=at,
    )


def campaign_closed(c: domain.Campaign, r: domain.Report, at: datetime) -> ev.CampaignClosed:
    return ev.CampaignClosed(
        campaign_id=c.id,
        producers_inspected=r.producers_inspected,
        products_inspected=r.products_inspected,
        closed_at=at,
    )


def campaign_reported(r: domain.Report, at: datetime) -> ev.CampaignReported:
    return ev.CampaignReported(
        campaign_id=r.campaign_id,
        producers_planned=r.producers_planned,
        products_planned=r.products_planned,
        producers_inspected=r.producers_inspected,
        products_inspected=r.products_inspected,
        units_covered=list(r.units_covered),
        findings_by_category=dict(r.by_category),
        findings_by_severity=dict(r.by_severity),
        outcomes=dict(r.outcomes),
        reported_at=at,
    )


def visit_completed(v: domain.Visit, at: datetime) -> ev.VisitCompleted:
    return ev.VisitCompleted(
        visit_id=v.id,
        campaign_id=v.campaign_id,
        producer_id=v.producer_id,
        visited_on=v.visited_on,
        product_ids=list(v.product_ids),
        unit=v.unit,
        outside_sample=v.outside_sample,
        completed_at=at,
    )


def finding_recorded(f: domain.Finding, at: datetime) -> ev.FindingRecorded:
    lab = f.lab_sample
    return ev.FindingRecorded(
        finding_id=f.id,
        visit_id=f.visit_id,
        campaign_id=f.campaign_id,
        producer_id=f.producer_id,
        product_id=f.product_id,
        category=ev.FindingCategory(f.category.value),
        severity=ev.Severity(f.severity.value),
        criterion=f.criterion,
        evidence=list(f.evidence),
        lab_sample=(
            ev.LabSample(
                sample_code=lab.sample_code,
                analysis=lab.analysis,
                result=ev.LabResult(lab.result.value),
                laboratory=lab.laboratory,
            )
            if lab
            else None
        ),
        outcome=ev.FindingOutcome(f.outcome.value),
        visited_on=f.visited_on,
        recorded_at=at,
    )


def remediation_required(r: domain.Remediation, at: datetime) -> ev.RemediationRequired:
    return ev.RemediationRequired(
        remediation_id=r.id,
        finding_id=r.finding_id,
        producer_id=r.producer_id,
        product_id=r.product_id,
        deadline=r.deadline,
        required_at=at,
    )


def remediation_completed(r: domain.Remediation, at: datetime) -> ev.RemediationCompleted:
    assert r.completed_on is not None
    return ev.RemediationCompleted(
        remediation_id=r.id,
        finding_id=r.finding_id,
        producer_id=r.producer_id,
        product_id=r.product_id,
        completed_on=r.completed_on,
        late=r.late,
        completed_at=at,
    )


def remediation_overdue(r: domain.Remediation, at: datetime) -> ev.RemediationOverdue:
    return ev.RemediationOverdue(
        remediation_id=r.id,
        finding_id=r.finding_id,
        producer_id=r.producer_id,
        product_id=r.product_id,
        deadline=r.deadline,
        detected_at=at,
    )


def producer_notified(n: domain.Notice, at: datetime) -> ev.ProducerNotified:
    return ev.ProducerNotified(
        notice_id=n.id,
        producer_id=n.producer_id,
        product_id=n.product_id,
        finding_ids=list(n.finding_ids),
        proposed=ev.FindingOutcome(n.proposed.value),
        notified_on=n.notified_on,
        reply_by=n.reply_by,
        notified_at=at,
    )


def producer_replied(n: domain.Notice, at: datetime) -> ev.ProducerReplied:
    assert n.replied_on is not None
    return ev.ProducerReplied(
        notice_id=n.id,
        producer_id=n.producer_id,
        product_id=n.product_id,
        replied_on=n.replied_on,
        recorded_at=at,
    )


def recommended(
    n: domain.Notice,
    recommendation_id: UUID,
    certificate_id: UUID | None,
    findings: Sequence[str],
    at: datetime,
) -> ev.RevocationRecommended | ev.ReevaluationRecommended:
    if n.proposed is domain.Proposed.REVOCATION:
        return ev.RevocationRecommended(
            recommendation_id=recommendation_id,
            product_id=n.product_id,
            certificate_id=certificate_id,
            grounds=list(n.grounds),
            findings=list(findings),
            recommended_at=at,
            producer_id=n.producer_id,
            notice_id=n.id,
            finding_ids=list(n.finding_ids),
            producer_replied=n.replied_on is not None,
        )
    return ev.ReevaluationRecommended(
        recommendation_id=recommendation_id,
        product_id=n.product_id,
        producer_id=n.producer_id,
        certificate_id=certificate_id,
        findings=list(findings),
        finding_ids=list(n.finding_ids),
        notice_id=n.id,
        recommended_at=at,
    )


def finding_summary(f: domain.Finding) -> str:
    """A finding in words for the committee (category, severity, criterion, evidence, lab)."""
    parts = [f"{f.category.value} ({f.severity.value})", f"visit {f.visited_on}"]
    if f.criterion:
        parts.append(f"criterion {f.criterion}")
    if f.evidence:
        parts.append("evidence " + ", ".join(f.evidence))
    if f.lab_sample:
        parts.append(f"lab sample {f.lab_sample.sample_code}: {f.lab_sample.result.value}")
    return "; ".join(parts)


PUBLISHED = (
    ev.CampaignPlanned,
    ev.SampleDrawn,
    ev.CampaignClosed,
    ev.CampaignReported,
    ev.VisitCompleted,
    ev.FindingRecorded,
    ev.RemediationRequired,
    ev.RemediationCompleted,
    ev.RemediationOverdue,
    ev.ProducerNotified,
    ev.ProducerReplied,
    ev.RevocationRecommended,
    ev.ReevaluationRecommended,
)
