"""What an erasure of a person's data changes beyond the producer row: the free-text reasons of
its products and applications, a household's evidence file names and storage URLs, and the
details of the audit rows about all of them."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from ocop_registry.domain.producers import ERASED_TEXT as ERASED


async def erase_records_of(conn: asyncpg.Connection, producer_id: UUID, *, household: bool) -> int:
    """Blank what the producer's products, applications and audit rows may hold about a
    person; return the number of audit details blanked."""
    products = await conn.fetch(
        "UPDATE products SET deregistration_reason = CASE WHEN deregistration_reason IS NULL"
        " THEN NULL ELSE $2 END WHERE producer_id = $1 RETURNING id",
        producer_id,
        ERASED,
    )
    # A household's file names and the URLs holding them may carry its person's name: the
    # name becomes the document type, the URL the file's hash (as published).
    documents = (
        "(SELECT coalesce(jsonb_agg(d || jsonb_build_object('name', d->>'document_type',"
        " 'storage_url', 'urn:sha256:' || (d->>'sha256')) ORDER BY n), '[]'::jsonb)"
        " FROM jsonb_array_elements(documents) WITH ORDINALITY AS e(d, n))"
        if household
        else "documents"
    )
    # The commune's assessment keeps a copy of its reasons and its report's name and address.
    assessment = (
        "CASE WHEN commune_assessment IS NULL THEN NULL ELSE commune_assessment"
        " || jsonb_build_object('reasons', (SELECT coalesce(jsonb_agg($2::text), '[]'::jsonb)"
        " FROM jsonb_array_elements(commune_assessment->'reasons')), 'report',"
        " (commune_assessment->'report') || jsonb_build_object('name', 'commune_report',"
        " 'storage_url', 'urn:sha256:' || (commune_assessment->'report'->>'sha256'))) END"
    )
    applications = await conn.fetch(
        f"UPDATE applications SET reasons = ARRAY(SELECT $2::text FROM unnest(reasons)),"
        f" documents = {documents}, commune_assessment = {assessment}"
        f" WHERE producer_id = $1 RETURNING id",
        producer_id,
        ERASED,
    )
    ids = [str(producer_id), *(str(r["id"]) for r in [*products, *applications])]
    erased: int = await conn.fetchval("SELECT erase_audit_details($1::text[])", ids)
    return erased
