"""Applications (dossiers): drafts, revisions, submission, withdrawal and the filtered list;
a draft says which documents submission would still ask for."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, HTTPException, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from ocop_registry import commune_step, domain, store
from ocop_registry.api.common import (
    COMMUNE,
    DISTRICT,
    Commune,
    Ctx,
    Limit,
    Owners,
    Reg,
    scope_of,
    use_case,
)
from ocop_registry.domain import applications as apps
from ocop_registry.domain import classification
from ocop_registry.domain.commune import CommuneAssessment
from ocop_registry.domain.dossier import (
    ApplicationKind,
    DocumentType,
    EvidenceFile,
    missing_documents,
)
from ocop_registry.usecases import Registry
from ocop_runtime.app import ServiceContext
from ocop_runtime.paging import ListPage, page_of
from ocop_runtime.refusals import Conflict

applications_router = APIRouter(prefix="/applications", tags=["applications"])


class EvidenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    document_type: DocumentType
    name: str = Field(min_length=1, max_length=255)
    media_type: str = Field(max_length=127, examples=["application/pdf"])
    size_bytes: int = Field(gt=0, le=2**53)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    storage_url: str = Field(max_length=2000, examples=["https://files.example.gov.vn/ocop/1.pdf"])

    def to_domain(self) -> EvidenceFile:
        return EvidenceFile(**self.model_dump())


class ApplicationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: UUID | None = None
    product_id: UUID
    kind: ApplicationKind
    round_year: int | None = Field(default=None, ge=2019, le=2100)
    self_assessment_score: float | None = Field(default=None, ge=0, le=100)
    documents: list[EvidenceIn] = Field(default_factory=list, max_length=100)


class ApplicationPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ApplicationKind | None = None
    round_year: int | None = Field(default=None, ge=2019, le=2100)
    self_assessment_score: float | None = Field(default=None, ge=0, le=100)
    documents: list[EvidenceIn] | None = Field(default=None, max_length=100)


class Withdrawal(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500)


class CommuneAssessmentOut(BaseModel):
    local_points: dict[str, float]
    report_sha256: str
    request_to_city: bool
    reasons: list[str]
    assessed_at: datetime | None

    @classmethod
    def of(cls, c: CommuneAssessment | None) -> CommuneAssessmentOut | None:
        if c is None:
            return None
        return cls(
            local_points=dict(c.local_points),
            report_sha256=c.report.sha256,
            request_to_city=c.request_to_city,
            reasons=list(c.reasons),
            assessed_at=c.assessed_at,
        )


class ApplicationOut(BaseModel):
    id: UUID
    product_id: UUID
    producer_id: UUID
    kind: ApplicationKind
    round_year: int
    status: apps.ApplicationStatus
    regime: str | None
    self_assessment_score: float | None
    documents: list[EvidenceIn]
    missing_documents: list[DocumentType] | None = Field(
        default=None, description="What submission would still ask for (drafts only)."
    )
    reasons: list[str]
    submitted_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int
    commune_assessment: CommuneAssessmentOut | None = Field(
        default=None, description="Under 1489: the commune's pre-assessment, once recorded."
    )

    @classmethod
    def of(cls, a: apps.Application, missing: list[DocumentType] | None = None) -> ApplicationOut:
        return cls(
            id=a.id,
            product_id=a.product_id,
            producer_id=a.producer_id,
            kind=a.kind,
            round_year=a.round_year,
            status=a.status,
            regime=a.regime.value if a.regime else None,
            self_assessment_score=a.self_assessment_score,
            documents=[
                EvidenceIn(
                    document_type=d.document_type,
                    name=d.name,
                    media_type=d.media_type,
                    size_bytes=d.size_bytes,
                    sha256=d.sha256,
                    storage_url=d.storage_url,
                )
                for d in a.documents
            ],
            missing_documents=missing,
            reasons=list(a.reasons),
            submitted_at=a.submitted_at,
            created_at=a.created_at,
            updated_at=a.updated_at,
            version=a.version,
            commune_assessment=CommuneAssessmentOut.of(a.commune_assessment),
        )


class ApplicationPage(ListPage[ApplicationOut]):
    """Applications matching the filters, a page at a time."""


async def _missing(
    ctx: ServiceContext, reg: Registry, a: apps.Application
) -> list[DocumentType] | None:
    if a.status not in apps.EDITABLE:
        return None
    product = await store.get_product(ctx.pool, a.product_id)
    if product is None:
        return None
    regime = classification.regime_on(reg.clock().date())
    try:
        product_set = classification.product_set(
            classification.Scheme(product.classification), product.product_set
        )
        return list(missing_documents(a.kind, product_set, regime, a.documents))
    except domain.RuleViolation:
        return None


@applications_router.post("", status_code=status.HTTP_201_CREATED, response_model=ApplicationOut)
async def draft_application(
    body: ApplicationIn, ctx: Ctx, who: Owners, reg: Reg, response: Response
) -> ApplicationOut:
    """Start an application (a draft); documents can be added until it is submitted."""
    async with use_case(ctx, "draft_application", who) as (conn, outcome):
        scope = scope_of(who)
        existing = None
        if body.id is not None:
            existing = await store.get_application(conn, body.id, scope=scope)
        if existing is not None:
            if existing.product_id != body.product_id:
                raise Conflict("id", f"application {body.id} belongs to another product")
            response.status_code = status.HTTP_200_OK
            app, outcome.result = existing, "repeat"
        else:
            app = await reg.draft_application(
                conn,
                apps.DraftApplication(
                    product_id=body.product_id,
                    kind=body.kind,
                    round_year=body.round_year,
                    self_assessment_score=body.self_assessment_score,
                    documents=tuple(d.to_domain() for d in body.documents),
                ),
                body.id,
                scope,
            )
        outcome.aggregate_id = app.id
    response.headers["Location"] = f"/applications/{app.id}"
    return ApplicationOut.of(app, await _missing(ctx, reg, app))


@applications_router.get("/{application_id}", response_model=ApplicationOut)
async def get_application(application_id: UUID, ctx: Ctx, who: Owners, reg: Reg) -> ApplicationOut:
    app = await store.get_application(ctx.pool, application_id, scope=scope_of(who))
    if app is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"application {application_id} does not exist"
        )
    return ApplicationOut.of(app, await _missing(ctx, reg, app))


@applications_router.patch("/{application_id}", response_model=ApplicationOut)
async def revise_application(
    application_id: UUID, body: ApplicationPatch, ctx: Ctx, who: Owners, reg: Reg
) -> ApplicationOut:
    async with use_case(ctx, "revise_application", who, application_id) as (conn, _):
        app = await reg.revise_application(
            conn,
            application_id,
            apps.ReviseApplication(
                kind=body.kind,
                round_year=body.round_year,
                self_assessment_score=body.self_assessment_score,
                documents=None
                if body.documents is None
                else tuple(d.to_domain() for d in body.documents),
            ),
            scope_of(who),
        )
    return ApplicationOut.of(app, await _missing(ctx, reg, app))


@applications_router.post("/{application_id}/submission", response_model=ApplicationOut)
async def submit_application(
    application_id: UUID, ctx: Ctx, who: Owners, reg: Reg
) -> ApplicationOut:
    """Submit: the dossier must be complete for the kind and product set under the regime in
    force today; publishes ``ApplicationSubmitted``. Submitting again answers the same."""
    async with use_case(ctx, "submit_application", who, application_id) as (conn, outcome):
        current = await store.get_application(conn, application_id, scope=scope_of(who))
        if current is not None and current.status in (
            apps.ApplicationStatus.SUBMITTED,
            apps.ApplicationStatus.COMMUNE_ASSESSED,
            apps.ApplicationStatus.ACCEPTED,
        ):
            outcome.result = "repeat"
            return ApplicationOut.of(current)
        app = await reg.submit_application(conn, application_id, scope_of(who))
    return ApplicationOut.of(app)


@applications_router.post("/{application_id}/withdrawal", response_model=ApplicationOut)
async def withdraw_application(
    application_id: UUID, body: Withdrawal, ctx: Ctx, who: Owners, reg: Reg
) -> ApplicationOut:
    async with use_case(ctx, "withdraw_application", who, application_id) as (conn, _):
        app = await reg.withdraw_application(conn, application_id, body.reason, scope_of(who))
    return ApplicationOut.of(app)


@applications_router.get("", response_model=ApplicationPage)
async def list_applications(
    ctx: Ctx,
    who: Owners,
    limit: Limit = 50,
    cursor: str | None = None,
    product_id: UUID | None = None,
    producer_id: UUID | None = None,
    status_: Annotated[apps.ApplicationStatus | None, Query(alias="status")] = None,
    kind: ApplicationKind | None = None,
    year: Annotated[int | None, Query(ge=2019, le=2100, description="Round year")] = None,
    commune: Annotated[str | None, Query(pattern=COMMUNE)] = None,
    district: Annotated[str | None, Query(pattern=DISTRICT)] = None,
    product_set: Annotated[str | None, Query(max_length=80)] = None,
    sort: Annotated[str, Query(description=", ".join(store.APPLICATION_SORTS))] = "created_at",
) -> ApplicationPage:
    filters = store.ApplicationFilter(
        product_id=product_id,
        producer_id=producer_id,
        status=status_,
        kind=kind,
        year=year,
        commune=commune,
        district=district,
        product_set=product_set,
    )
    items, total, next_cursor = await page_of(
        store.APPLICATION_SORTS,
        sort,
        cursor,
        limit,
        lambda k: store.list_applications(ctx.pool, filters, k, scope=scope_of(who)),
    )
    return ApplicationPage(
        items=[ApplicationOut.of(a) for a in items], total=total, next_cursor=next_cursor
    )


class CommuneAssessmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    local_points: dict[str, float] = Field(
        max_length=10,
        description="The commune's points on the local-content criteria: A1.1 raw materials "
        "(0-4), A1.2 local labour (0-2), A2.1 origin of the idea (0-2), B2.3 local identity "
        "(0-4).",
        examples=[{"A1.1": 3, "A1.2": 2, "A2.1": 1.5, "B2.3": 3}],
    )
    report: EvidenceIn = Field(description="The commune's report (document_type commune_report).")
    request_to_city: bool = Field(
        default=True, description="Ask the city to evaluate it; false returns the dossier."
    )
    reasons: list[str] = Field(default_factory=list, max_length=20)


@applications_router.post("/{application_id}/commune-assessment", response_model=ApplicationOut)
async def assess_at_commune(
    application_id: UUID, body: CommuneAssessmentIn, ctx: Ctx, who: Commune, reg: Reg
) -> ApplicationOut:
    """Under 1489 the commune pre-assesses a submitted dossier: its local-content points, its
    report (added to the dossier) and its request to the city, or the dossier returned with
    reasons; publishes ``CommuneAssessed``. The same report again answers the same."""
    async with use_case(ctx, "assess_at_commune", who, application_id) as (conn, outcome):
        app, recorded = await commune_step.assess_at_commune(
            reg,
            conn,
            application_id,
            CommuneAssessment(
                local_points=body.local_points,
                report=body.report.to_domain(),
                request_to_city=body.request_to_city,
                reasons=tuple(body.reasons),
                assessed_by=who.subject,
            ),
            scope_of(who),
        )
        if not recorded:
            outcome.result = "repeat"
    return ApplicationOut.of(app)
