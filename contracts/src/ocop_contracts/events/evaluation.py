"""Events published by the evaluation service: results of applications and the life of
certificates. Keyed by product id, so one product's history stays in order."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

from pydantic import Field

from ocop_contracts.base import Event
from ocop_contracts.topics import EVALUATION_CERTIFICATES, EVALUATION_RESULTS


class Level(StrEnum):
    COMMUNE = "commune"  # pre-assessment under 1489/2025
    DISTRICT = "district"  # until 6 Jul 2025
    CITY = "city"
    CENTRAL = "central"


class ApplicationAccepted(
    Event,
    service="evaluation",
    topic=EVALUATION_RESULTS,
    name="ApplicationAccepted",
    key="product_id",
):
    """Evaluation took the application into a round."""

    application_id: UUID
    product_id: UUID
    round_id: UUID | None = None
    level: Level | None = None
    accepted_at: datetime


class ApplicationReturned(
    Event,
    service="evaluation",
    topic=EVALUATION_RESULTS,
    name="ApplicationReturned",
    key="product_id",
):
    """Evaluation sent the application back to the producer; ``reasons`` say what to fix."""

    application_id: UUID
    product_id: UUID
    reasons: list[str] = Field(min_length=1)
    returned_at: datetime


class ProductNotRecognised(
    Event,
    service="evaluation",
    topic=EVALUATION_RESULTS,
    name="ProductNotRecognised",
    key="product_id",
):
    """The council's result is below 3 stars (or a mandatory criterion failed): no certificate."""

    application_id: UUID
    product_id: UUID
    score: float | None = None
    reasons: list[str] = Field(default_factory=list)
    decided_at: datetime


class ProductScored(
    Event,
    service="evaluation",
    topic=EVALUATION_RESULTS,
    name="ProductScored",
    key="product_id",
):
    """A council's result for an application in a closed round, and what it means at that
    level (certify, forward, nominate for 5★, not recognised)."""

    application_id: UUID
    product_id: UUID
    round_id: UUID
    level: Level
    score: float = Field(ge=0, le=100)
    parts: dict[str, float] = Field(description="Average points per part: A, B, C.")
    band: int = Field(ge=1, le=5)
    star: int | None = Field(default=None, description="Star after the mandatory criteria.")
    outcome: str = Field(description="certify, forward, nominate, keep_lower_star, not_recognised")
    outcome_star: int | None = None
    forwarded_to: Level | None = None
    rulebook: str
    rulebook_version: int
    flags: list[str] = Field(default_factory=list, description="Integrity flags, resolved.")
    reasons: list[str] = Field(default_factory=list)
    scored_at: datetime


class ProductNominated(
    Event,
    service="evaluation",
    topic=EVALUATION_RESULTS,
    name="ProductNominated",
    key="product_id",
):
    """The city council's score reaches the 5★ band: the product is certified 4★ at the
    city level and nominated to the central council, whose result upgrades it to 5★ or leaves
    the 4★ in place."""

    application_id: UUID
    product_id: UUID
    round_id: UUID
    score: float = Field(ge=0, le=100)
    carried_star: int = Field(ge=3, le=5)
    to_level: Level
    nominated_at: datetime


class _CertificateIssued(Event):
    """A certificate granted by a recognition decision, valid 36 months from signing."""

    certificate_id: UUID
    certificate_number: str
    product_id: UUID
    application_id: UUID | None = None
    star: int = Field(ge=3, le=5)
    score: float | None = Field(default=None, ge=0, le=100)
    level: Level
    decision_number: str = Field(examples=["1147/QĐ-UBND"])
    decision_date: date
    valid_from: date
    valid_until: date = Field(description="Last day the certificate is valid.")
    rulebook: str = Field(description='Regime the product was scored under: "1048", "148", "1489".')
    issued_at: datetime


class ProductCertified(
    _CertificateIssued,
    service="evaluation",
    topic=EVALUATION_CERTIFICATES,
    name="ProductCertified",
    key="product_id",
):
    """A product's first certificate (or its first after the previous one ended)."""


class CertificateReevaluated(
    _CertificateIssued,
    service="evaluation",
    topic=EVALUATION_CERTIFICATES,
    name="CertificateReevaluated",
    key="product_id",
):
    """Re-evaluation replaced the live certificate; the star may be higher, equal or lower."""

    replaces_certificate_id: UUID


class CertificateUpgraded(
    _CertificateIssued,
    service="evaluation",
    topic=EVALUATION_CERTIFICATES,
    name="CertificateUpgraded",
    key="product_id",
):
    """An upgrade round (or the central council) replaced the live certificate by a higher star."""

    replaces_certificate_id: UUID


class CertificateExpiring(
    Event,
    service="evaluation",
    topic=EVALUATION_CERTIFICATES,
    name="CertificateExpiring",
    key="product_id",
):
    """Notice that a certificate ends within ``days_before`` days (sent at 180, 90 and 30)."""

    certificate_id: UUID
    product_id: UUID
    valid_until: date
    days_before: int = Field(ge=1)
    notified_at: datetime


class CertificateExpired(
    Event,
    service="evaluation",
    topic=EVALUATION_CERTIFICATES,
    name="CertificateExpired",
    key="product_id",
):
    """The certificate reached its end without being replaced: the label may no longer be used."""

    certificate_id: UUID
    product_id: UUID
    expired_on: date


class RevocationGround(StrEnum):
    NOT_REEVALUATED = "not_reevaluated"
    FAILED_MANDATORY_CRITERIA = "failed_mandatory_criteria"
    FOOD_SAFETY_BREACH = "food_safety_breach"
    PROCESS_NOT_FOLLOWED = "process_not_followed"
    QUALITY_MISMATCH = "quality_mismatch"
    OPERATION_SUSPENDED = "operation_suspended"


class CertificateRevoked(
    Event,
    service="evaluation",
    topic=EVALUATION_CERTIFICATES,
    name="CertificateRevoked",
    key="product_id",
):
    """The issuing committee revoked the certificate from ``revoked_on``: on inspection's
    recommendation, on its own motion, or because a re-evaluation failed (``application_id``
    names it)."""

    certificate_id: UUID
    product_id: UUID
    grounds: list[RevocationGround] = Field(
        min_length=1,
        description="The grounds in v1's list; a ground added later appears here as the v1 "
        "ground it falls under (see ground_codes).",
    )
    decision_number: str
    decision_date: date
    revoked_on: date
    ground_codes: list[str] = Field(
        default_factory=list,
        description="Every ground as evaluation records it, including those added after v1: "
        "no_quality_records (no quality or traceability records; under v1 "
        "failed_mandatory_criteria), failed_reevaluation (a re-evaluation below 3★ on points; "
        "under v1 quality_mismatch). Empty from publishers that predate it: read grounds.",
    )
    application_id: UUID | None = Field(
        default=None, description="The re-evaluation whose failure ended the certificate."
    )
