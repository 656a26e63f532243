"""``GET /statistics`` and ``GET /statistics/{name}``: every statistic, for any day, as JSON or
CSV. Public: they are the programme's published figures, counts without personal data."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi import Path as PathParam
from pydantic import BaseModel

from ocop_insights.domain.facts import local_date
from ocop_insights.domain.statistics import BY_NAME, DEFINITIONS, Statistic
from ocop_insights.publishing import to_json
from ocop_insights.store.statistics import compute
from ocop_runtime.app import ServiceContext, context_of
from ocop_runtime.audit import http_problem
from ocop_runtime.refusals import NotFound

router = APIRouter(tags=["statistics"])

EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 12, 31)


class StatisticInfo(BaseModel):
    name: str
    key: str
    title: str
    description: str
    measures: list[str]


class StatisticRowOut(BaseModel):
    key: str
    label: str | None
    values: dict[str, int]


class StatisticOut(BaseModel):
    statistic_key: str
    statistic: str
    scope: str
    as_of: date
    measures: list[str]
    rows: list[StatisticRowOut]
    totals: dict[str, int]


@router.get("/statistics", response_model=list[StatisticInfo], summary="The statistics offered")
async def list_statistics() -> list[StatisticInfo]:
    return [
        StatisticInfo(
            name=d.name,
            key=d.key,
            title=d.title,
            description=d.description,
            measures=list(d.measures),
        )
        for d in DEFINITIONS
    ]


def _csv(statistic: Statistic) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    measures = list(statistic.definition.measures)
    writer.writerow(["as_of", "key", "label", *measures])
    for row in statistic.rows:
        writer.writerow(
            [
                statistic.as_of.isoformat(),
                row.key,
                row.label or "",
                *(row.values[m] for m in measures),
            ]
        )
    writer.writerow(
        [
            statistic.as_of.isoformat(),
            "total",
            "Tổng",
            *(statistic.totals.get(m, 0) for m in measures),
        ]
    )
    return out.getvalue()


@router.get(
    "/statistics/{name}",
    response_model=StatisticOut,
    summary="One statistic on a day (today by default), as JSON or CSV",
    responses={200: {"content": {"text/csv": {}}}},
)
async def get_statistic(
    request: Request,
    name: Annotated[str, PathParam(max_length=60, pattern=r"^[a-z0-9_.]+$")],
    as_of: Annotated[
        date | None,
        Query(description="The day the statistic describes, from the facts dated up to it."),
    ] = None,
    format: Annotated[Literal["json", "csv"], Query(description="json or csv")] = "json",
) -> Any:
    if name not in BY_NAME:
        raise http_problem(NotFound("name", f"no statistic named {name!r}"), "path")
    day = as_of or local_date(datetime.now(UTC))
    if not EARLIEST <= day <= LATEST:
        raise HTTPException(
            422,
            detail=[
                {
                    "loc": ["query", "as_of"],
                    "msg": f"must be between {EARLIEST} and {LATEST}",
                    "type": "value_error",
                }
            ],
        )
    ctx: ServiceContext = context_of(request)
    statistic = await compute(ctx.pool, name, day)
    if format == "csv":
        return Response(
            _csv(statistic),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}-{day}.csv"'},
        )
    return to_json(statistic)
