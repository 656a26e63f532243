"""Bulk import of the districts' product lists: CSV, one row a product.

Rows are checked in memory first (units and classification are reference data), existing
producers and products are found by business key in one query each, and what is new is
written with one statement per table plus one for the outbox, in one transaction (never one
per row: see docs/PERFORMANCE.md, "CSV import"). A row with any error writes nothing;
re-importing a file changes nothing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Annotated, Literal
from uuid import UUID, uuid4

import asyncpg
from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import BaseModel

from ocop_registry import domain, store
from ocop_registry.api.common import scope_of
from ocop_registry.domain import classification, products
from ocop_registry.publishing import DomainEvent, to_contract
from ocop_registry.usecases import SERVICE, Registry
from ocop_runtime import audit
from ocop_runtime.app import ServiceContext, get_context
from ocop_runtime.audit import Actor
from ocop_runtime.auth import Principal, Role, require
from ocop_runtime.db import transaction
from ocop_runtime.outbox import stage_events
from ocop_runtime.refusals import RuleViolation

COLUMNS = (
    "commune_code",
    "producer_name",
    "legal_form",
    "registration_number",
    "producer_address",
    "product_name",
    "product_set",
    "registered_on",
)
REQUIRED = frozenset({"commune_code", "producer_name", "legal_form", "product_name", "product_set"})
MAX_ROWS = 5000
# The abbreviations the districts' lists use for legal forms.
LEGAL_FORMS = {
    **{f.value: f for f in domain.LegalForm},
    "dn": domain.LegalForm.ENTERPRISE,
    "doanh nghiệp": domain.LegalForm.ENTERPRISE,
    "htx": domain.LegalForm.COOPERATIVE,
    "hợp tác xã": domain.LegalForm.COOPERATIVE,
    "tht": domain.LegalForm.COOPERATIVE_GROUP,
    "tổ hợp tác": domain.LegalForm.COOPERATIVE_GROUP,
    "hkd": domain.LegalForm.HOUSEHOLD_BUSINESS,
    "hộ kinh doanh": domain.LegalForm.HOUSEHOLD_BUSINESS,
    "hộ sản xuất": domain.LegalForm.HOUSEHOLD_BUSINESS,
}


class RowError(BaseModel):
    row: int
    field: str
    reason: str


class RowResult(BaseModel):
    row: int
    status: Literal["created", "unchanged", "rejected"]
    product_id: UUID | None = None
    public_code: str | None = None
    producer_id: UUID | None = None


class ImportReport(BaseModel):
    rows: int
    created_producers: int
    created_products: int
    unchanged: int
    rejected: int
    dry_run: bool
    errors: list[RowError]
    results: list[RowResult]


class ImportRefused(ValueError):
    """The file as a whole cannot be read (not CSV, missing columns, too many rows)."""


@dataclass
class _Row:
    number: int  # line in the file, header = 1
    producer: domain.RegisterProducer
    product_name: str
    product_set: classification.ProductSet
    unit: domain.UnitVersion
    registered_on: date
    key: tuple[domain.LegalForm, str]  # the producer's business key (_producer_key)
    name_key: str  # the product's, under its producer (store.key_of)


@dataclass
class _Plan:
    rows: list[_Row] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def parse(text: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = sorted(REQUIRED - set(header))
    if missing:
        raise ImportRefused(
            f"missing column(s): {', '.join(missing)}; expected a header with {', '.join(COLUMNS)}"
        )
    reader.fieldnames = header
    rows: list[dict[str, str]] = []
    for raw in reader:
        if len(rows) >= MAX_ROWS:
            raise ImportRefused(f"at most {MAX_ROWS} rows per request; split the file")
        rows.append({k: (v or "").strip() for k, v in raw.items() if k is not None})
    return rows


def _check_row(
    number: int, raw: dict[str, str], communes: dict[str, list[domain.UnitVersion]], today: date
) -> _Row:
    form = LEGAL_FORMS.get(raw.get("legal_form", "").casefold())
    if form is None:
        raise domain.RuleViolation(
            "legal_form",
            f"{raw.get('legal_form')!r} is not one of DN, HTX, THT, HKD or "
            + ", ".join(f.value for f in domain.LegalForm),
        )
    try:
        registered_on = (
            date.fromisoformat(raw["registered_on"]) if raw.get("registered_on") else None
        )
    except ValueError:
        raise domain.RuleViolation("registered_on", "must be a date like 2024-05-31") from None
    day = products.check_registered_on(registered_on, today)
    code = raw.get("commune_code", "")
    unit = domain.check_commune_valid_on(code, day, communes.get(code, []))
    producer = domain.RegisterProducer(
        name=domain.check_name(raw.get("producer_name", ""), "producer_name"),
        legal_form=form,
        commune_code=code,
        registration_number=domain.check_registration_number(form, raw.get("registration_number")),
        address=raw.get("producer_address") or None,
    )
    product_name = domain.check_name(raw.get("product_name", ""), "product_name")
    return _Row(
        number=number,
        producer=producer,
        product_name=product_name,
        product_set=classification.product_set_on(raw.get("product_set", ""), day),
        unit=unit,
        registered_on=day,
        key=_producer_key(producer),
        name_key=store.key_of(product_name),
    )


def plan(
    raw_rows: list[dict[str, str]], communes: dict[str, list[domain.UnitVersion]], today: date
) -> _Plan:
    out = _Plan()
    seen_products: set[tuple[object, str]] = set()
    producers_in_file: dict[tuple[domain.LegalForm, str], domain.RegisterProducer] = {}
    for i, raw in enumerate(raw_rows, start=2):
        try:
            row = _check_row(i, raw, communes, today)
            key = row.key
            first = producers_in_file.setdefault(key, row.producer)
            if (first.name, first.commune_code) != (row.producer.name, row.producer.commune_code):
                raise domain.RuleViolation(
                    "producer_name",
                    "this registration number appears earlier in the file with another name "
                    "or commune",
                )
            product_key = (key, row.name_key)
            if product_key in seen_products:
                raise domain.RuleViolation(
                    "product_name", "the same product of the same producer appears twice"
                )
            seen_products.add(product_key)
            out.rows.append(row)
        except domain.RuleViolation as exc:
            out.errors.append(RowError(row=i, field=exc.field, reason=exc.reason))
    return out


def _as_command(p: domain.Producer) -> domain.RegisterProducer:
    return domain.RegisterProducer(p.name, p.legal_form, p.commune_code, p.registration_number)


def _producer_key(p: domain.RegisterProducer) -> tuple[domain.LegalForm, str]:
    # A cooperative group without a registration number is known by its name and commune.
    return p.legal_form, p.registration_number or f"{store.key_of(p.name)}@{p.commune_code}"


async def import_products(
    conn: asyncpg.Connection,
    registry: Registry,
    text: str,
    *,
    dry_run: bool,
    scope: store.Scope | None = None,
) -> ImportReport:
    """Check every row of ``text``, then write what is new in one statement per table."""
    now = registry.clock()
    raw_rows = parse(text)
    checked = plan(raw_rows, await registry.communes(conn), now.date())
    errors = list(checked.errors)
    if scope is not None and scope.units is not None:
        allowed = []
        for row in checked.rows:
            if scope.allows_unit(row.unit.code, row.unit.district_code):
                allowed.append(row)
            else:
                errors.append(
                    RowError(
                        row=row.number,
                        field="commune_code",
                        reason=f"{row.unit.code} ({row.unit.name}) is outside your units",
                    )
                )
        checked.rows = allowed
    results: list[RowResult] = [RowResult(row=e.row, status="rejected") for e in errors]

    numbered = [r for r in checked.rows if r.producer.registration_number]
    existing_producers = dict(
        await store.producers_by_registration(conn, list({r.key for r in numbered}))
    )
    unnumbered = {r.producer.name for r in checked.rows if not r.producer.registration_number}
    for p in await store.unnumbered_producers(conn, sorted(unnumbered)):
        existing_producers[_producer_key(_as_command(p))] = p
    # Existing producers match only within the caller's units: one elsewhere is never named
    # nor reused, its row is refused as a clash with "another producer".
    visible = await store.producers_in_scope(
        conn, [p.id for p in existing_producers.values()], scope
    )
    elsewhere = {k for k, p in existing_producers.items() if p.id not in visible}
    new_producers: dict[tuple[domain.LegalForm, str], domain.Producer] = {}
    producer_events: list[DomainEvent] = []
    resolved: list[tuple[_Row, domain.Producer]] = []
    # A producer new to the registry is registered on its earliest product's date (a list of
    # the programme's past years registers producers with their real dates), never later
    # than now.
    first_day: dict[tuple[domain.LegalForm, str], date] = {}
    for row in checked.rows:
        key = row.key
        first_day[key] = min(first_day.get(key, row.registered_on), row.registered_on)
    for row in checked.rows:
        key = row.key
        if key in elsewhere:
            errors.append(
                RowError(
                    row=row.number,
                    field="registration_number",
                    reason=f"{row.producer.registration_number or row.producer.name} is already "
                    "registered to another producer",
                )
            )
            results.append(RowResult(row=row.number, status="rejected"))
            continue
        producer = existing_producers.get(key) or new_producers.get(key)
        if producer is None:
            since = datetime.combine(first_day[key], time(), now.tzinfo)
            producer, events = domain.register_producer(
                row.producer, producer_id=uuid4(), unit=row.unit, now=min(now, since)
            )
            new_producers[key] = producer
            producer_events += events
        elif not producer.active:
            errors.append(
                RowError(
                    row=row.number,
                    field="registration_number",
                    reason=f"{row.producer.registration_number or producer.name} belongs to "
                    f"producer {producer.id}, which was deregistered",
                )
            )
            results.append(RowResult(row=row.number, status="rejected"))
            continue
        elif (producer.name, producer.legal_form) != (row.producer.name, row.producer.legal_form):
            errors.append(
                RowError(
                    row=row.number,
                    field="registration_number",
                    reason=f"{row.producer.registration_number} is registered to another name",
                )
            )
            results.append(RowResult(row=row.number, status="rejected"))
            continue
        resolved.append((row, producer))

    existing_products = await store.products_by_key(conn, [(p.id, r.name_key) for r, p in resolved])
    to_create: list[tuple[_Row, domain.Producer]] = []
    for row, producer in resolved:
        found = existing_products.get((producer.id, row.name_key))
        if found is None:
            to_create.append((row, producer))
        elif found.product_set == row.product_set.code:
            results.append(
                RowResult(
                    row=row.number,
                    status="unchanged",
                    product_id=found.id,
                    public_code=found.public_code,
                    producer_id=producer.id,
                )
            )
        else:
            errors.append(
                RowError(
                    row=row.number,
                    field="product_set",
                    reason=f"{found.public_code} is registered as {found.product_set}; "
                    "reclassify it with PATCH /products/{id}",
                )
            )
            results.append(RowResult(row=row.number, status="rejected"))

    # Only producers some surviving row needs are created.
    needed = {p.id for _, p in to_create}
    created_producers = [p for p in new_producers.values() if p.id in needed]
    product_events: list[DomainEvent] = []
    created: list[products.Product] = []
    if not dry_run and to_create:
        sequences = await _reserve_sequences(conn, to_create)
        for row, producer in to_create:
            product, changes = products.register_product(
                products.RegisterProduct(
                    producer_id=producer.id,
                    name=row.product_name,
                    product_set=row.product_set.code,
                    commune_code=row.unit.code,
                    registered_on=row.registered_on,
                ),
                product_id=uuid4(),
                producer=producer,
                product_set=row.product_set,
                unit=row.unit,
                sequence=next(sequences[(row.unit.code, row.registered_on.year)]),
                registered_on=row.registered_on,
                now=now,
            )
            created.append(product)
            product_events += changes
            results.append(
                RowResult(
                    row=row.number,
                    status="created",
                    product_id=product.id,
                    public_code=product.public_code,
                    producer_id=producer.id,
                )
            )
        await store.insert_producers(conn, created_producers)
        await store.insert_products(conn, created)
        chosen = [e for e in producer_events if _producer_of(e) in needed] + product_events
        await stage_events(
            conn,
            [to_contract(e, base_url=registry.public_base_url) for e in chosen],
            service=SERVICE,
        )
    elif dry_run:
        results += [RowResult(row=r.number, status="created") for r, _ in to_create]
    results.sort(key=lambda r: r.row)
    errors.sort(key=lambda e: e.row)
    return ImportReport(
        rows=len(raw_rows),
        created_producers=len(created_producers),
        created_products=len(to_create),
        unchanged=sum(r.status == "unchanged" for r in results),
        rejected=sum(r.status == "rejected" for r in results),
        dry_run=dry_run,
        errors=errors,
        results=results,
    )


def _producer_of(event: DomainEvent) -> UUID | None:
    return event.producer.id if isinstance(event, domain.ProducerRegistered) else None


async def _reserve_sequences(
    conn: asyncpg.Connection, rows: list[tuple[_Row, domain.Producer]]
) -> dict[tuple[str, int], Iterator[int]]:
    """Reserve public-code numbers for each (commune, year) in one statement; each key's
    numbers in increasing order."""
    counts: dict[tuple[str, int], int] = {}
    for row, _ in rows:
        key = (row.unit.code, row.registered_on.year)
        counts[key] = counts.get(key, 0) + 1
    keys = sorted(counts)
    reserved = await conn.fetch(
        "INSERT INTO product_code_sequences AS s (commune_code, year, last_sequence)"
        " SELECT * FROM unnest($1::text[], $2::int[], $3::int[])"
        " ON CONFLICT (commune_code, year) DO UPDATE"
        " SET last_sequence = s.last_sequence + EXCLUDED.last_sequence"
        " RETURNING commune_code, year, last_sequence",
        [k[0] for k in keys],
        [k[1] for k in keys],
        [counts[k] for k in keys],
    )
    out: dict[tuple[str, int], Iterator[int]] = {}
    for r in reserved:
        key = (r["commune_code"], r["year"])
        last = r["last_sequence"]
        out[key] = iter(range(last - counts[key] + 1, last + 1))
    return out


router = APIRouter(prefix="/imports", tags=["bulk import"])

# The one route taking a large body (ServiceSpec.upload_paths); every other is capped small.
IMPORT_PATH = "/imports/products"
MAX_BYTES = 20 * 1024 * 1024


@router.post(
    "/products",
    response_model=ImportReport,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {
                    "schema": {"type": "string"},
                    "example": ",".join(COLUMNS)
                    + "\n00004,HTX Nông nghiệp Phúc Xá,HTX,0101234567,,Gạo nếp cái hoa vàng,"
                    "food.grain,2025-08-01\n",
                }
            },
        }
    },
)
async def import_products_csv(
    request: Request,
    ctx: Annotated[ServiceContext, Depends(get_context)],
    who: Annotated[Principal, Depends(require(Role.CITY_OFFICE, Role.COMMUNE_OFFICER))],
    dry_run: Annotated[bool, Query(description="Check every row, write nothing")] = False,
) -> ImportReport:
    """Import producers and products from a district's list (UTF-8 CSV, one row a product).
    Idempotent by business key (legal form + registration number; producer + product name):
    importing the same file again reports every row unchanged. A row with an error writes
    nothing; the report lists each row's outcome and every error with its field."""
    body = await request.body()
    if len(body) > MAX_BYTES:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"at most {MAX_BYTES} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, f"the file is not UTF-8 (byte {exc.start})"
        ) from exc
    registry: Registry = request.app.state.registry
    try:
        async with transaction(ctx.pool, "import_products") as conn:
            report = await import_products(
                conn, registry, text, dry_run=dry_run, scope=scope_of(who)
            )
            await audit.record(
                conn,
                Actor.of(who),
                "import_products",
                outcome="dry run" if dry_run else "accepted",
                detail=f"{report.rows} rows: {report.created_products} products created, "
                f"{report.unchanged} unchanged, {report.rejected} rejected",
            )
            return report
    except domain.RuleViolation as exc:
        raise audit.http_problem(exc) from exc
    except (ImportRefused, csv.Error) as exc:
        raise audit.http_problem(RuleViolation("file", str(exc))) from exc
    except asyncpg.UniqueViolationError as exc:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            "another import registered some of these rows at the same time; send the file again",
        ) from exc
