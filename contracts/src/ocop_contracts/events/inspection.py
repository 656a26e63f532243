"""Events published by the inspection service.

``ocop.inspection.campaigns.v1`` (keyed by campaign id): a campaign planned, its sample drawn,
closed and reported. ``ocop.inspection.findings.v1`` (keyed by product id, or by producer id for
a visit): what a visit found, the remediation it asked for, due process and the
recommendations sent to evaluation. No free text that could name a person travels here: the
minutes of a visit and a producer's reply stay in the inspection service.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from ocop_contracts.base import Event
from ocop_contracts.topics import INSPECTION_CAMPAIGNS, INSPECTION_FINDINGS


class FindingCategory(StrEnum):
    """The checklist of an inspection visit."""

    PACKAGING = "packaging"
    LABEL = "label"  # label and OCOP stamp
    IP_CERTIFICATE = "ip_certificate"  # IP / trademark protection certificate
    ENVIRONMENT = "environment"
    FOOD_SAFETY = "food_safety"
    TRACEABILITY = "traceability"
    DOSSIER = "dossier"
    PROCESS_NOT_FOLLOWED = "process_not_followed"
    QUALITY_MISMATCH = "quality_mismatch"  # no longer matches the certified product
    OTHER = "other"


class Severity(StrEnum):
    MINOR = "minor"
    MAJOR = "major"
    CRITICAL = "critical"


class FindingOutcome(StrEnum):
    """What the inspectors decided for a finding (the outcome ladder)."""

    COMPLIANT = "compliant"  # checked, nothing to correct
    ADVICE = "advice"
    REMEDIATION = "remediation"  # remediation required by a deadline
    REVISIT = "revisit"
    REFERRAL = "referral"  # referred to a sectoral authority (fine)
    REEVALUATION = "reevaluation"  # recommend re-evaluation
    REVOCATION = "revocation"  # recommend revocation, after due process


class LabResult(StrEnum):
    PENDING = "pending"
    PASS = "pass"
    FAIL = "fail"


class SampleMethod(StrEnum):
    RULE = "rule"
    RISK = "risk"
    MANUAL = "manual"


class CampaignStatus(StrEnum):
    PLANNED = "planned"
    RUNNING = "running"
    CLOSED = "closed"
    REPORTED = "reported"


class LabSample(BaseModel):
    """A sample taken for laboratory analysis and its result when known."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    sample_code: str
    analysis: str = Field(description="What the laboratory tests, e.g. 'microbiology'.")
    result: LabResult = LabResult.PENDING
    laboratory: str | None = None


# ---------------------------------------------------------------- ocop.inspection.campaigns.v1


class CampaignPlanned(
    Event,
    service="inspection",
    topic=INSPECTION_CAMPAIGNS,
    name="CampaignPlanned",
    key="campaign_id",
):
    """An inspection campaign was planned: who leads it, what it checks, where and how many."""

    campaign_id: UUID
    name: str
    year: int
    lead_agency: str
    departments: list[str] = Field(default_factory=list)
    scope: list[FindingCategory] = Field(default_factory=list)
    units: list[str] = Field(default_factory=list, description="District or commune codes.")
    target_producers: int = Field(ge=0)
    target_products: int = Field(ge=0)
    starts_on: date
    ends_on: date
    planned_at: datetime


class SampleDrawn(
    Event,
    service="inspection",
    topic=INSPECTION_CAMPAIGNS,
    name="SampleDrawn",
    key="campaign_id",
):
    """Products (and so producers) were drawn for a campaign; ``seed`` reproduces a risk draw."""

    campaign_id: UUID
    method: SampleMethod
    seed: int | None = None
    product_ids: list[UUID]
    producer_ids: list[UUID]
    population: int = Field(ge=0, description="Certified products the draw chose from.")
    drawn_at: datetime


class CampaignClosed(
    Event,
    service="inspection",
    topic=INSPECTION_CAMPAIGNS,
    name="CampaignClosed",
    key="campaign_id",
):
    campaign_id: UUID
    producers_inspected: int = Field(ge=0)
    products_inspected: int = Field(ge=0)
    closed_at: datetime


class CampaignReported(
    Event,
    service="inspection",
    topic=INSPECTION_CAMPAIGNS,
    name="CampaignReported",
    key="campaign_id",
):
    """The campaign's report: planned against inspected, units covered, findings, outcomes."""

    campaign_id: UUID
    producers_planned: int = Field(ge=0)
    products_planned: int = Field(ge=0)
    producers_inspected: int = Field(ge=0)
    products_inspected: int = Field(ge=0)
    units_covered: list[str]
    findings_by_category: dict[str, int]
    findings_by_severity: dict[str, int]
    outcomes: dict[str, int]
    reported_at: datetime


# ---------------------------------------------------------------- ocop.inspection.findings.v1


class VisitCompleted(
    Event,
    service="inspection",
    topic=INSPECTION_FINDINGS,
    name="VisitCompleted",
    key="producer_id",
):
    """Inspectors visited a producer and checked the listed products."""

    visit_id: UUID
    campaign_id: UUID | None = None
    producer_id: UUID
    visited_on: date
    product_ids: list[UUID]
    unit: str | None = Field(default=None, description="District (or commune) of the producer.")
    outside_sample: bool = False
    completed_at: datetime


class FindingRecorded(
    Event,
    service="inspection",
    topic=INSPECTION_FINDINGS,
    name="FindingRecorded",
    key="product_id",
):
    """One checklist item found on a product at a visit, with its outcome."""

    finding_id: UUID
    visit_id: UUID
    campaign_id: UUID | None = None
    producer_id: UUID
    product_id: UUID
    category: FindingCategory
    severity: Severity
    criterion: str | None = Field(default=None, description="The OCOP criterion it affects.")
    evidence: list[str] = Field(default_factory=list, description="Evidence references.")
    lab_sample: LabSample | None = None
    outcome: FindingOutcome
    visited_on: date
    recorded_at: datetime


class RemediationRequired(
    Event,
    service="inspection",
    topic=INSPECTION_FINDINGS,
    name="RemediationRequired",
    key="product_id",
):
    remediation_id: UUID
    finding_id: UUID
    producer_id: UUID
    product_id: UUID
    deadline: date
    required_at: datetime


class RemediationCompleted(
    Event,
    service="inspection",
    topic=INSPECTION_FINDINGS,
    name="RemediationCompleted",
    key="product_id",
):
    remediation_id: UUID
    finding_id: UUID
    producer_id: UUID
    product_id: UUID
    completed_on: date
    late: bool = False
    completed_at: datetime


class RemediationOverdue(
    Event,
    service="inspection",
    topic=INSPECTION_FINDINGS,
    name="RemediationOverdue",
    key="product_id",
):
    """The deadline passed without the remediation being completed."""

    remediation_id: UUID
    finding_id: UUID
    producer_id: UUID
    product_id: UUID
    deadline: date
    detected_at: datetime


class ProducerNotified(
    Event,
    service="inspection",
    topic=INSPECTION_FINDINGS,
    name="ProducerNotified",
    key="product_id",
):
    """Due process: the producer was told what may be recommended and until when to reply."""

    notice_id: UUID
    producer_id: UUID
    product_id: UUID
    finding_ids: list[UUID] = Field(default_factory=list)
    proposed: FindingOutcome
    notified_on: date
    reply_by: date
    notified_at: datetime


class ProducerReplied(
    Event,
    service="inspection",
    topic=INSPECTION_FINDINGS,
    name="ProducerReplied",
    key="product_id",
):
    """The producer's reply to a notice was recorded (its text stays in inspection)."""

    notice_id: UUID
    producer_id: UUID
    product_id: UUID
    replied_on: date
    recorded_at: datetime


class RevocationRecommended(
    Event,
    service="inspection",
    topic=INSPECTION_FINDINGS,
    name="RevocationRecommended",
    key="product_id",
):
    """An inspection found grounds to revoke a product's certificate and asks the issuing
    committee to decide."""

    recommendation_id: UUID
    product_id: UUID
    certificate_id: UUID | None = None
    grounds: list[str] = Field(min_length=1, description="Revocation grounds (evaluation's list).")
    findings: list[str] = Field(default_factory=list, description="What was found, in words.")
    recommended_at: datetime
    producer_id: UUID | None = None
    notice_id: UUID | None = Field(default=None, description="The due-process notice before it.")
    finding_ids: list[UUID] = Field(default_factory=list)
    producer_replied: bool | None = None


class ReevaluationRecommended(
    Event,
    service="inspection",
    topic=INSPECTION_FINDINGS,
    name="ReevaluationRecommended",
    key="product_id",
):
    """An inspection asks evaluation to re-evaluate a certified product."""

    recommendation_id: UUID
    product_id: UUID
    producer_id: UUID
    certificate_id: UUID | None = None
    findings: list[str] = Field(default_factory=list, description="What was found, in words.")
    finding_ids: list[UUID] = Field(default_factory=list)
    notice_id: UUID | None = None
    recommended_at: datetime
