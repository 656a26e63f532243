"""Certificates: listing them, the expiry radar, revocation, a product's history, and
inspection's recommendations to revoke."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter
from fastapi import Query as Q
from pydantic import BaseModel, ConfigDict, Field

from ocop_evaluation import domain, store
from ocop_evaluation.api.common import Council, Ctx, Cursor, Ev, LevelName, Office, use_case
from ocop_evaluation.api.rounds import EntryOut
from ocop_evaluation.store import counts
from ocop_runtime.app import ServiceContext
from ocop_runtime.paging import ListPage, Sort, page_of

certificates_router = APIRouter(tags=["certificates"])


class CertificateOut(BaseModel):
    id: UUID
    number: str
    product_id: UUID
    application_id: UUID | None
    star: int
    level: str
    score: Decimal | None
    decision_number: str
    decision_date: date
    valid_until: date
    rulebook: str
    rulebook_version: int
    state: str
    ended_on: date | None
    replaces: UUID | None
    replaced_by: UUID | None
    revocation: dict[str, Any] | None
    notices_sent: list[int]

    @classmethod
    def of(cls, r: domain.CertificateRecord) -> CertificateOut:
        c = r.certificate
        return cls(
            id=c.id,
            number=r.number,
            product_id=c.product_id,
            application_id=r.application_id,
            star=c.star,
            level=c.level.value,
            score=c.score,
            decision_number=c.decision_number,
            decision_date=c.decision_date,
            valid_until=c.valid_until,
            rulebook=c.rulebook.id,
            rulebook_version=c.rulebook.version,
            state=c.state.value,
            ended_on=c.ended_on,
            replaces=c.replaces,
            replaced_by=c.replaced_by,
            revocation=store.revocation_document(c.revocation) if c.revocation else None,
            notices_sent=list(r.notices_sent),
        )


class CertificatePage(ListPage[CertificateOut]):
    """Certificates matching the filters, a page at a time."""

    as_of: date | None = Field(
        default=None, description="The day ``as_of`` asked about (valid on it, or ever by it)."
    )


async def _certificates(
    ctx: ServiceContext,
    filters: store.CertificateFilter,
    sorts: Mapping[str, Sort],
    sort: str,
    cursor: str | None,
    limit: int,
) -> CertificatePage:
    records, total, next_cursor = await page_of(
        sorts, sort, cursor, limit, lambda k: store.list_certificates(ctx.pool, filters, k)
    )
    return CertificatePage(
        items=[CertificateOut.of(r) for r in records], total=total, next_cursor=next_cursor
    )


@certificates_router.get("/certificates", response_model=CertificatePage)
async def list_certificates(
    ctx: Ctx,
    who: Council,
    product_id: UUID | None = None,
    star: Annotated[int | None, Q(ge=3, le=5)] = None,
    state: Literal["live", "expired", "revoked", "replaced"] | None = None,
    level: LevelName | None = None,
    product_set: Annotated[str | None, Q(max_length=80)] = None,
    unit: Annotated[
        str | None, Q(pattern=r"^[0-9]{3,5}$", description="Commune or pre-2025 district")
    ] = None,
    round_id: UUID | None = None,
    as_of: Annotated[
        date | None,
        Q(
            description="Only the certificates valid on this day (``count=valid``), or the "
            "latest certificate of each product recognised up to it (``count=ever``)"
        ),
    ] = None,
    count: Annotated[
        Literal["valid", "ever"], Q(description="With ``as_of``: valid on it, or ever by it")
    ] = "valid",
    limit: Annotated[int, Q(ge=1, le=500)] = 50,
    cursor: Cursor = None,
    sort: Annotated[str, Q(description=", ".join(store.CERTIFICATE_SORTS))] = "valid_until",
) -> CertificatePage:
    """Certificates, soonest ending first unless ``sort`` says otherwise; ``total`` counts
    them all. With ``as_of``, the certificates valid on that day by their dates (whatever
    their state today), or with ``count=ever`` one certificate per product recognised up to
    that day (its latest), so that ``total`` is the number of products ever recognised."""
    page = await _certificates(
        ctx,
        store.CertificateFilter(
            product_id=product_id,
            star=star,
            state=domain.CertificateState(state) if state else None,
            level=domain.Level(level) if level else None,
            product_set=product_set,
            unit=unit,
            round_id=round_id,
            valid_on=as_of if as_of is not None and count == "valid" else None,
            recognised_by=as_of if as_of is not None and count == "ever" else None,
        ),
        store.CERTIFICATE_SORTS,
        sort,
        cursor,
        limit,
    )
    page.as_of = as_of
    return page


class TallyOut(BaseModel):
    total: int
    stars: dict[str, int] = Field(description="Products by star: 3, 4, 5")
    potential_5: int = Field(description="4★ products waiting for the central council's 5★")


class CountsOut(BaseModel):
    as_of: date
    ever_recognised: TallyOut = Field(
        description="Products recognised on or before the day, each once at its latest star"
    )
    valid: TallyOut = Field(description="Products holding a certificate valid on the day")


def _tally(t: counts.Tally) -> TallyOut:
    return TallyOut(
        total=t.total, stars={str(k): v for k, v in t.stars.items()}, potential_5=t.potential_5
    )


@certificates_router.get("/certificates/counts", response_model=CountsOut)
async def certificate_counts(
    ctx: Ctx,
    who: Council,
    ev: Ev,
    as_of: Annotated[date | None, Q(description="The day (default today)")] = None,
    product_set: Annotated[str | None, Q(max_length=80)] = None,
    unit: Annotated[
        str | None, Q(pattern=r"^[0-9]{3,5}$", description="Commune or pre-2025 district")
    ] = None,
) -> CountsOut:
    """How many products were ever recognised up to ``as_of`` and how many held a valid
    certificate on it (Hanoi, end of 2022: 2,167 against 1,871), by star."""
    day = as_of or (await ev.now(ctx.pool)).date()
    found = await counts.certificate_counts(ctx.pool, day, unit=unit, product_set=product_set)
    return CountsOut(as_of=day, ever_recognised=_tally(found.ever), valid=_tally(found.valid))


@certificates_router.get("/certificates/expiring", response_model=CertificatePage)
async def expiring_certificates(
    ctx: Ctx,
    who: Council,
    ev: Ev,
    within_days: Annotated[int, Q(ge=0, le=3650)] = 90,
    limit: Annotated[int, Q(ge=1, le=500)] = 50,
    cursor: Cursor = None,
) -> CertificatePage:
    """The expiry radar: live certificates ending within ``within_days`` of today (the
    evaluation clock), soonest first."""
    today = (await ev.now(ctx.pool)).date()
    return await _certificates(
        ctx,
        store.CertificateFilter(
            state=domain.CertificateState.LIVE, ending_by=today + timedelta(days=within_days)
        ),
        store.EXPIRING_SORTS,
        "expiring",
        cursor,
        limit,
    )


class RevocationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    grounds: list[domain.RevocationGround] = Field(
        min_length=1, max_length=len(domain.RevocationGround)
    )
    decision_number: str = Field(min_length=1, max_length=60)
    decision_date: date
    revoked_on: date | None = None


@certificates_router.post(
    "/certificates/{certificate_id}/revocation", response_model=CertificateOut
)
async def revoke_certificate(
    certificate_id: UUID, body: RevocationIn, ctx: Ctx, who: Office, ev: Ev
) -> CertificateOut:
    """Revoke a live certificate by the committee's decision, on at least one ground."""
    async with use_case(ctx, "revoke_certificate", who, certificate_id) as (conn, _):
        await ev.revoke(
            conn,
            certificate_id,
            [g.value for g in body.grounds],
            body.decision_number,
            body.decision_date,
            body.revoked_on,
        )
        record = await store.get_certificate(conn, certificate_id)
    assert record is not None
    return CertificateOut.of(record)


class HistoryOut(BaseModel):
    product_id: UUID
    applications: list[EntryOut]
    certificates: list[CertificateOut]


@certificates_router.get("/products/{product_id}/history", response_model=HistoryOut)
async def product_history(product_id: UUID, ctx: Ctx, who: Council) -> HistoryOut:
    """Every result and certificate of a product."""
    entries = await store.product_entries(ctx.pool, product_id)
    certificates = await store.product_certificates(ctx.pool, product_id)
    return HistoryOut(
        product_id=product_id,
        applications=[EntryOut.of(e) for e in entries],
        certificates=[CertificateOut.of(r) for r in certificates],
    )


class RecommendationOut(BaseModel):
    id: UUID
    product_id: UUID
    certificate_id: UUID | None
    grounds: list[str]
    findings: list[str]
    recommended_at: datetime
    decided: str | None

    @classmethod
    def of(cls, r: domain.Recommendation) -> RecommendationOut:
        return cls(
            id=r.id,
            product_id=r.product_id,
            certificate_id=r.certificate_id,
            grounds=list(r.grounds),
            findings=list(r.findings),
            recommended_at=r.recommended_at,
            decided=r.decided.value if r.decided else None,
        )


class RecommendationPage(ListPage[RecommendationOut]):
    """Recommendations matching the filters, a page at a time."""


@certificates_router.get("/revocation-recommendations", response_model=RecommendationPage)
async def list_recommendations(
    ctx: Ctx,
    who: Office,
    status_: Annotated[
        store.RecommendationStatus,
        Q(
            alias="status",
            description="Waiting for the committee (default), decided either way, revoked, "
            "rejected, or all",
        ),
    ] = "pending",
    product_id: UUID | None = None,
    limit: Annotated[int, Q(ge=1, le=500)] = 50,
    cursor: Cursor = None,
    sort: Annotated[str, Q(description=", ".join(store.RECOMMENDATION_SORTS))] = "recommended_at",
) -> RecommendationPage:
    """Inspection's revocation recommendations, by default those waiting for the committee,
    the oldest first; ``total`` counts them all."""
    filters = store.RecommendationFilter(status=status_, product_id=product_id)
    items, total, next_cursor = await page_of(
        store.RECOMMENDATION_SORTS,
        sort,
        cursor,
        limit,
        lambda k: store.list_recommendations(ctx.pool, filters, k),
    )
    return RecommendationPage(
        items=[RecommendationOut.of(r) for r in items], total=total, next_cursor=next_cursor
    )


class RecommendationDecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    revoke: bool
    decision_number: str = Field(min_length=1, max_length=60)
    decision_date: date


@certificates_router.post(
    "/revocation-recommendations/{recommendation_id}/decision", response_model=RecommendationOut
)
async def decide_recommendation(
    recommendation_id: UUID, body: RecommendationDecisionIn, ctx: Ctx, who: Office, ev: Ev
) -> RecommendationOut:
    async with use_case(ctx, "decide_revocation_recommendation", who, recommendation_id) as (
        conn,
        _,
    ):
        await ev.decide_recommendation(
            conn,
            recommendation_id,
            revoke=body.revoke,
            decision_number=body.decision_number,
            decision_date=body.decision_date,
        )
        recommendation = await store.get_recommendation(conn, recommendation_id)
    assert recommendation is not None
    return RecommendationOut.of(recommendation)
