"""``POST /imports/certificates``: certificates decided before the system, from a CSV of the
city's records (columns in the service's README)."""

from __future__ import annotations

import csv
from typing import Annotated, Literal
from uuid import UUID

import asyncpg
from fastapi import APIRouter, HTTPException, Query, Request, status
from pydantic import BaseModel

from ocop_evaluation.api.common import Ctx, Ev, Office
from ocop_evaluation.domain.history import COLUMNS
from ocop_evaluation.usecases.history import HistoryReport, ImportRefused
from ocop_runtime import audit
from ocop_runtime.audit import Actor
from ocop_runtime.db import transaction
from ocop_runtime.refusals import RuleViolation

imports_router = APIRouter(prefix="/imports", tags=["history import"])

# The one route taking a large body (ServiceSpec.upload_paths); every other is capped small.
IMPORT_PATH = "/imports/certificates"
MAX_BYTES = 20 * 1024 * 1024


class RowErrorOut(BaseModel):
    row: int
    field: str
    reason: str


class RowResultOut(BaseModel):
    row: int
    status: Literal["created", "unchanged", "rejected"]
    product_id: UUID | None = None
    certificate_id: UUID | None = None
    certificate_number: str | None = None


class HistoryReportOut(BaseModel):
    rows: int
    created: int
    unchanged: int
    rejected: int
    certificates: int
    events: int
    dry_run: bool
    errors: list[RowErrorOut]
    results: list[RowResultOut]

    @classmethod
    def of(cls, r: HistoryReport) -> HistoryReportOut:
        return cls(
            rows=r.rows,
            created=r.created,
            unchanged=r.unchanged,
            rejected=r.rejected,
            certificates=r.certificates,
            events=r.events,
            dry_run=r.dry_run,
            errors=[RowErrorOut(row=e.row, field=e.field, reason=e.reason) for e in r.errors],
            results=[
                RowResultOut(
                    row=x.row,
                    status=x.status,
                    product_id=x.product_id,
                    certificate_id=x.certificate_id,
                    certificate_number=x.certificate_number,
                )
                for x in r.results
            ],
        )


_EXAMPLE = (
    ",".join(COLUMNS)
    + "\n01-00004-0001-2019,,,certify,1147/QĐ-UBND,2020-03-20,city,4,1048,,78.5,,,\n"
)


@imports_router.post(
    "/certificates",
    response_model=HistoryReportOut,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"text/csv": {"schema": {"type": "string"}, "example": _EXAMPLE}},
        }
    },
)
async def import_certificates(
    request: Request,
    ctx: Ctx,
    ev: Ev,
    who: Office,
    dry_run: Annotated[bool, Query(description="Check every row, write nothing")] = False,
) -> HistoryReportOut:
    """Load certificates decided before the system (UTF-8 CSV, one row a decision about a
    product). Idempotent by product and decision number: loading the same file again reports
    every row unchanged. A row with an error writes nothing (nor do the later rows of its
    product); the report lists each row's outcome and every error with its line and field."""
    body = await request.body()
    if len(body) > MAX_BYTES:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"at most {MAX_BYTES} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, f"the file is not UTF-8 (byte {exc.start})"
        ) from exc
    try:
        async with transaction(ctx.pool, "import_certificates") as conn:
            report = await ev.import_history(conn, text, dry_run=dry_run)
            await audit.record(
                conn,
                Actor.of(who),
                "import_certificates",
                outcome="dry run" if dry_run else "accepted",
                detail=f"{report.rows} rows: {report.created} recorded, "
                f"{report.unchanged} unchanged, {report.rejected} rejected",
            )
            return HistoryReportOut.of(report)
    except RuleViolation as exc:
        raise audit.http_problem(exc) from exc
    except (ImportRefused, csv.Error) as exc:
        raise audit.http_problem(RuleViolation("file", str(exc))) from exc
    except asyncpg.UniqueViolationError as exc:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            "a decision in this file was recorded at the same time; send the file again",
        ) from exc
