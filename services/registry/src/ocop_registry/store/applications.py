"""Applications (dossiers): documents kept by reference as JSON, one in progress a product."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from ocop_registry.domain.applications import Application, ApplicationStatus
from ocop_registry.domain.classification import Regime
from ocop_registry.domain.commune import CommuneAssessment
from ocop_registry.domain.dossier import ApplicationKind, DocumentType, EvidenceFile
from ocop_registry.store.scope import Scope, scope_clause, unit_clause
from ocop_runtime.paging import Conn, Keyset, Page, Query, Sort, fetch_page

_APPLICATION = (
    "a.id, a.product_id, a.producer_id, a.kind, a.round_year, a.status, a.documents,"
    " a.self_assessment_score, a.regime, a.submitted_at, a.reasons, a.version, a.created_at,"
    " a.updated_at, a.commune_assessment"
)


def _application(r: asyncpg.Record) -> Application:
    return Application(
        id=r["id"],
        product_id=r["product_id"],
        producer_id=r["producer_id"],
        kind=ApplicationKind(r["kind"]),
        round_year=r["round_year"],
        status=ApplicationStatus(r["status"]),
        documents=tuple(
            EvidenceFile(
                document_type=DocumentType(d["document_type"]),
                name=d["name"],
                media_type=d["media_type"],
                size_bytes=d["size_bytes"],
                sha256=d["sha256"],
                storage_url=d["storage_url"],
            )
            for d in json.loads(r["documents"])
        ),
        version=r["version"],
        created_at=r["created_at"],
        updated_at=r["updated_at"],
        self_assessment_score=r["self_assessment_score"],
        regime=Regime(r["regime"]) if r["regime"] else None,
        submitted_at=r["submitted_at"],
        reasons=tuple(r["reasons"]),
        commune_assessment=_assessment(r["commune_assessment"]),
    )


def _assessment(document: str | None) -> CommuneAssessment | None:
    if not document:
        return None
    d = json.loads(document)
    report = d["report"]
    return CommuneAssessment(
        local_points=d["local_points"],
        report=EvidenceFile(
            document_type=DocumentType(report["document_type"]),
            name=report["name"],
            media_type=report["media_type"],
            size_bytes=report["size_bytes"],
            sha256=report["sha256"],
            storage_url=report["storage_url"],
        ),
        request_to_city=d["request_to_city"],
        reasons=tuple(d["reasons"]),
        assessed_by=d["assessed_by"],
        assessed_at=datetime.fromisoformat(d["assessed_at"]) if d["assessed_at"] else None,
    )


def _assessment_json(a: Application) -> str | None:
    c = a.commune_assessment
    if c is None:
        return None
    r = c.report
    return json.dumps(
        {
            "local_points": dict(c.local_points),
            "report": {
                "document_type": r.document_type.value,
                "name": r.name,
                "media_type": r.media_type,
                "size_bytes": r.size_bytes,
                "sha256": r.sha256,
                "storage_url": r.storage_url,
            },
            "request_to_city": c.request_to_city,
            "reasons": list(c.reasons),
            "assessed_by": c.assessed_by,
            "assessed_at": c.assessed_at.isoformat() if c.assessed_at else None,
        },
        ensure_ascii=False,
    )


def _documents_json(a: Application) -> str:
    return json.dumps(
        [
            {
                "document_type": d.document_type.value,
                "name": d.name,
                "media_type": d.media_type,
                "size_bytes": d.size_bytes,
                "sha256": d.sha256,
                "storage_url": d.storage_url,
            }
            for d in a.documents
        ],
        ensure_ascii=False,
    )


async def insert_application(conn: asyncpg.Connection, a: Application) -> None:
    await conn.execute(
        "INSERT INTO applications (id, product_id, producer_id, kind, round_year, status,"
        " documents, self_assessment_score, regime, submitted_at, reasons, version,"
        " created_at, updated_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10, $11, $12, $13, $14)",
        a.id,
        a.product_id,
        a.producer_id,
        a.kind.value,
        a.round_year,
        a.status.value,
        _documents_json(a),
        a.self_assessment_score,
        a.regime.value if a.regime else None,
        a.submitted_at,
        list(a.reasons),
        a.version,
        a.created_at,
        a.updated_at,
    )


async def save_application(conn: asyncpg.Connection, a: Application) -> None:
    await conn.execute(
        "UPDATE applications SET kind = $2, round_year = $3, status = $4, documents = $5::jsonb,"
        " self_assessment_score = $6, regime = $7, submitted_at = $8, reasons = $9,"
        " version = $10, updated_at = $11, commune_assessment = $12::jsonb WHERE id = $1",
        a.id,
        a.kind.value,
        a.round_year,
        a.status.value,
        _documents_json(a),
        a.self_assessment_score,
        a.regime.value if a.regime else None,
        a.submitted_at,
        list(a.reasons),
        a.version,
        a.updated_at,
        _assessment_json(a),
    )


async def get_application(
    conn: Conn, application_id: UUID, *, for_update: bool = False, scope: Scope | None = None
) -> Application | None:
    q = Query()
    q.add("a.id = {}", application_id)
    scope_clause(q, scope, "p", "a.producer_id")
    lock = " FOR UPDATE OF a" if for_update else ""
    row = await conn.fetchrow(
        f"SELECT {_APPLICATION} FROM applications a JOIN products p ON p.id = a.product_id"
        f"{q.sql}{lock}",
        *q.args,
    )
    return _application(row) if row else None


async def open_application_of(conn: Conn, product_id: UUID) -> UUID | None:
    value = await conn.fetchval(
        "SELECT id FROM applications WHERE product_id = $1"
        " AND status IN ('draft', 'submitted', 'commune_assessed', 'returned', 'accepted')",
        product_id,
    )
    return value if isinstance(value, UUID) else None


APPLICATION_SORTS = {
    "created_at": Sort("a.created_at", "timestamptz"),
    "-created_at": Sort("a.created_at", "timestamptz", descending=True),
    "submitted_at": Sort("coalesce(a.submitted_at, a.created_at)", "timestamptz"),
    "-submitted_at": Sort("coalesce(a.submitted_at, a.created_at)", "timestamptz", True),
}


@dataclass(frozen=True)
class ApplicationFilter:
    product_id: UUID | None = None
    producer_id: UUID | None = None
    status: ApplicationStatus | None = None
    kind: ApplicationKind | None = None
    year: int | None = None
    commune: str | None = None
    district: str | None = None
    product_set: str | None = None


async def list_applications(
    conn: Conn, f: ApplicationFilter, keyset: Keyset, *, scope: Scope | None = None
) -> tuple[list[Application], Page]:
    q = Query()
    scope_clause(q, scope, "p", "a.producer_id")
    if f.product_id is not None:
        q.add("a.product_id = {}", f.product_id)
    if f.producer_id is not None:
        q.add("a.producer_id = {}", f.producer_id)
    if f.status is not None:
        q.add("a.status = {}", f.status.value)
    if f.kind is not None:
        q.add("a.kind = {}", f.kind.value)
    if f.year is not None:
        q.add("a.round_year = {}", f.year)
    if f.product_set is not None:
        q.add("p.product_set = {}", f.product_set)
    unit_clause(q, f.commune, f.district, "p")
    page = await fetch_page(
        conn,
        f"SELECT {_APPLICATION}",
        q,
        keyset,
        id_column="a.id",
        count_from="FROM applications a JOIN products p ON p.id = a.product_id",
    )
    return [_application(r) for r in page.rows], page
