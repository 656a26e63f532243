"""Applications for an evaluation round: a dossier that is drafted, checked for completeness
at submission, and then moved on by evaluation's results."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING
from uuid import UUID

from ocop_registry.domain.certificates import Certificate, CertificateStatus
from ocop_registry.domain.classification import (
    ProductSet,
    Regime,
    regime_on,
    scheme_of,
)
from ocop_registry.domain.common import RuleViolation
from ocop_registry.domain.dossier import (
    ApplicationKind,
    EvidenceFile,
    check_complete,
    check_evidence,
)
from ocop_registry.domain.producers import Producer, check_name
from ocop_registry.domain.products import Product

if TYPE_CHECKING:
    from ocop_registry.domain.commune import CommuneAssessment


class ApplicationStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    COMMUNE_ASSESSED = "commune_assessed"  # 1489: the commune asked the city to evaluate it
    WITHDRAWN = "withdrawn"
    ACCEPTED = "accepted"  # taken into a round by evaluation
    RETURNED = "returned"  # sent back with reasons; can be corrected and submitted again
    NOT_RECOGNISED = "not_recognised"
    CERTIFIED = "certified"


S = ApplicationStatus
# Who moves an application: the producer (draft, submit, withdraw) or evaluation's results.
TRANSITIONS: dict[ApplicationStatus, frozenset[ApplicationStatus]] = {
    S.DRAFT: frozenset({S.SUBMITTED, S.WITHDRAWN}),
    S.SUBMITTED: frozenset(
        {S.WITHDRAWN, S.ACCEPTED, S.RETURNED, S.NOT_RECOGNISED, S.CERTIFIED, S.COMMUNE_ASSESSED}
    ),
    S.COMMUNE_ASSESSED: frozenset(
        {S.WITHDRAWN, S.ACCEPTED, S.RETURNED, S.NOT_RECOGNISED, S.CERTIFIED}
    ),
    S.RETURNED: frozenset({S.SUBMITTED, S.WITHDRAWN}),
    S.ACCEPTED: frozenset({S.RETURNED, S.NOT_RECOGNISED, S.CERTIFIED}),
    S.WITHDRAWN: frozenset(),
    S.NOT_RECOGNISED: frozenset(),
    S.CERTIFIED: frozenset(),
}
OPEN = frozenset({S.DRAFT, S.SUBMITTED, S.COMMUNE_ASSESSED, S.RETURNED, S.ACCEPTED})
EDITABLE = frozenset({S.DRAFT, S.RETURNED})


def check_transition(current: ApplicationStatus, target: ApplicationStatus) -> None:
    if target not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none (it is final)"
        raise RuleViolation(
            "status", f"an application that is {current} cannot become {target}; allowed: {allowed}"
        )


@dataclass(frozen=True, slots=True)
class Application:
    id: UUID
    product_id: UUID
    producer_id: UUID
    kind: ApplicationKind
    round_year: int
    status: ApplicationStatus
    documents: tuple[EvidenceFile, ...]
    version: int
    created_at: datetime
    updated_at: datetime
    self_assessment_score: float | None = None
    regime: Regime | None = None  # fixed at submission: the rules in force that day
    submitted_at: datetime | None = None
    reasons: tuple[str, ...] = ()
    commune_assessment: CommuneAssessment | None = None  # 1489: the commune's pre-assessment


@dataclass(frozen=True, slots=True)
class DraftApplication:
    product_id: UUID
    kind: ApplicationKind
    round_year: int | None = None
    self_assessment_score: float | None = None
    documents: tuple[EvidenceFile, ...] = ()


@dataclass(frozen=True, slots=True)
class ReviseApplication:
    kind: ApplicationKind | None = None
    round_year: int | None = None
    self_assessment_score: float | None = None
    documents: tuple[EvidenceFile, ...] | None = None


@dataclass(frozen=True, slots=True)
class ApplicationSubmitted:
    application: Application
    product: Product
    producer: Producer


@dataclass(frozen=True, slots=True)
class ApplicationWithdrawn:
    application: Application
    reason: str


DomainEvent = ApplicationSubmitted | ApplicationWithdrawn


def _check_year(year: int, today: date) -> int:
    if not 2019 <= year <= today.year + 1:
        raise RuleViolation("round_year", f"{year} is not between 2019 and {today.year + 1}")
    return year


def _check_score(score: float | None) -> float | None:
    if score is not None and not 0 <= score <= 100:
        raise RuleViolation("self_assessment_score", f"{score} is not between 0 and 100")
    return score


def _check_documents(files: tuple[EvidenceFile, ...]) -> tuple[EvidenceFile, ...]:
    if len(files) > 100:
        raise RuleViolation("documents", "at most 100 evidence files per application")
    return tuple(check_evidence(f) for f in files)


def draft_application(
    cmd: DraftApplication, *, application_id: UUID, product: Product, now: datetime
) -> Application:
    if not product.active:
        raise RuleViolation("product_id", f"product {product.public_code} was deregistered")
    return Application(
        id=application_id,
        product_id=product.id,
        producer_id=product.producer_id,
        kind=ApplicationKind(cmd.kind),
        round_year=_check_year(cmd.round_year or now.year, now.date()),
        status=S.DRAFT,
        documents=_check_documents(cmd.documents),
        version=1,
        created_at=now,
        updated_at=now,
        self_assessment_score=_check_score(cmd.self_assessment_score),
    )


def revise_application(app: Application, cmd: ReviseApplication, *, now: datetime) -> Application:
    if app.status not in EDITABLE:
        raise RuleViolation(
            "status", f"an application that is {app.status} can no longer be changed"
        )
    changes: dict[str, object] = {}
    if cmd.kind is not None:
        changes["kind"] = ApplicationKind(cmd.kind)
    if cmd.round_year is not None:
        changes["round_year"] = _check_year(cmd.round_year, now.date())
    if cmd.self_assessment_score is not None:
        changes["self_assessment_score"] = _check_score(cmd.self_assessment_score)
    if cmd.documents is not None:
        changes["documents"] = _check_documents(cmd.documents)
    return replace(app, **changes, version=app.version + 1, updated_at=now)  # type: ignore[arg-type]


def submit_application(
    app: Application,
    *,
    product: Product,
    producer: Producer,
    product_set: ProductSet,
    live: Certificate | None,
    now: datetime,
    latest: Certificate | None = None,
) -> tuple[Application, list[DomainEvent]]:
    """Completeness and eligibility are checked against the rules in force on submission.

    ``latest`` is the product's most recent certificate, live or not: a product whose
    certificate has expired may be re-evaluated (Hanoi's plans re-evaluate "products whose
    validity has ended"); one whose certificate was revoked applies first-time."""
    check_transition(app.status, S.SUBMITTED)
    if not product.active or not producer.active:
        raise RuleViolation("product_id", f"product {product.public_code} was deregistered")
    regime = regime_on(now.date())
    if product_set.scheme != scheme_of(regime):
        raise RuleViolation(
            "product_set",
            f"{product.public_code} is classified as {product.product_set} under decision "
            f"{product.classification}; set {product_set.code} does not exist under decision "
            f"{regime.value} in force on {now.date().isoformat()}: reclassify the product first",
        )
    if app.self_assessment_score is None:
        raise RuleViolation("self_assessment_score", "is required to submit")
    if app.kind is ApplicationKind.FIRST_TIME and live is not None:
        raise RuleViolation(
            "kind",
            f"the product already holds certificate {live.number} ({live.star}★); "
            "apply for re-evaluation or an upgrade",
        )
    expired = (
        latest is not None
        and live is None
        and latest.status_on(now.date()) is CertificateStatus.EXPIRED
    )
    if app.kind is ApplicationKind.RE_EVALUATION and live is None and not expired:
        raise RuleViolation(
            "kind",
            "a re_evaluation needs a certificate that is live or has expired (not revoked); "
            "apply first-time",
        )
    if app.kind is ApplicationKind.UPGRADE and live is None:
        raise RuleViolation("kind", f"a {app.kind} needs a live certificate; apply first-time")
    if app.kind is ApplicationKind.UPGRADE and live is not None and live.star >= 5:
        raise RuleViolation("kind", "a 5★ product cannot be upgraded")
    check_complete(app.kind, product_set, regime, app.documents)
    done = replace(
        app,
        status=S.SUBMITTED,
        regime=regime,
        submitted_at=now,
        reasons=(),
        version=app.version + 1,
        updated_at=now,
    )
    return done, [ApplicationSubmitted(done, product, producer)]


def withdraw_application(
    app: Application, reason: str, *, now: datetime
) -> tuple[Application, list[DomainEvent]]:
    check_transition(app.status, S.WITHDRAWN)
    reason = check_name(reason, "reason", 500)
    done = replace(
        app, status=S.WITHDRAWN, reasons=(reason,), version=app.version + 1, updated_at=now
    )
    # A draft was never public: nothing to tell evaluation.
    events: list[DomainEvent] = (
        [ApplicationWithdrawn(done, reason)] if app.status is not S.DRAFT else []
    )
    return done, events


def apply_result(
    app: Application, target: ApplicationStatus, reasons: tuple[str, ...], *, now: datetime
) -> Application:
    """Evaluation's decision is a fact: it moves the application unless it is already final
    (a result crossing a withdrawal), in which case the application keeps its state."""
    if app.status is target or target not in TRANSITIONS[app.status]:
        return app
    return replace(app, status=target, reasons=reasons, version=app.version + 1, updated_at=now)
