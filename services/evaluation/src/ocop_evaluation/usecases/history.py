"""The history import: certificates decided before the system, from a CSV of the city's
records, in one transaction.

Every row is checked on its own, its product found in evaluation's copy of registry's
products, and the rows of each product applied in decision order by the certificate rules a
round follows. A refused row writes nothing, and neither do the later rows of its product
(each refused with the line it depends on); every other row is recorded and publishes what a
round's decision would have published, with the original dates: ``ProductCertified``,
``CertificateReevaluated``, ``CertificateUpgraded``, ``CertificateRevoked``, and
``CertificateExpired`` for every certificate whose 36 months ended before today. A row already
loaded (same product and decision number, same values) is reported ``unchanged``.

The work is a fixed number of statements whatever the size of the file: one read of the
products, one of the rows already loaded, one of the certificates (locked), one of the
nominations, one reservation of certificate numbers per year, then one batch each of
certificates, rows, nominations and events.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Literal
from uuid import UUID, uuid4

import asyncpg

from ocop_contracts import Event
from ocop_evaluation import domain, publishing, store
from ocop_evaluation.domain import history
from ocop_evaluation.domain.rulebooks import load_rulebooks
from ocop_evaluation.store import history as history_store
from ocop_evaluation.usecases.common import HANOI, UseCases

MAX_ROWS = 5000
NUMBER_FORMAT = "{sequence:05d}/{year}/GCN-OCOP-HN"


class ImportRefused(ValueError):
    """The file as a whole cannot be read (not CSV, missing columns, too many rows)."""


@dataclass(frozen=True, slots=True)
class RowError:
    row: int
    field: str
    reason: str


@dataclass(frozen=True, slots=True)
class RowResult:
    row: int
    status: Literal["created", "unchanged", "rejected"]
    product_id: UUID | None = None
    certificate_id: UUID | None = None
    certificate_number: str | None = None


@dataclass
class HistoryReport:
    rows: int = 0
    created: int = 0
    unchanged: int = 0
    rejected: int = 0
    certificates: int = 0
    events: int = 0
    dry_run: bool = False
    errors: list[RowError] = field(default_factory=list)
    results: list[RowResult] = field(default_factory=list)


def parse_csv(text: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = sorted(history.REQUIRED - set(header))
    if missing:
        raise ImportRefused(
            f"missing column(s): {', '.join(missing)}; expected a header with "
            + ", ".join(history.COLUMNS)
        )
    reader.fieldnames = header
    rows: list[dict[str, str]] = []
    for raw in reader:
        if len(rows) >= MAX_ROWS:
            raise ImportRefused(f"at most {MAX_ROWS} rows per request; split the file")
        rows.append({k: (v or "").strip() for k, v in raw.items() if k is not None})
    return rows


def _issued_at(day: date, offset: int) -> datetime:
    """When a historical certificate counts as issued: its decision day in Hanoi, a
    microsecond apart per row so that one day's decisions keep their order."""
    return datetime.combine(day, time(), HANOI) + timedelta(microseconds=offset)


@dataclass
class _Found:
    """The rows of one product, found and checked, before they are applied."""

    product_id: UUID
    rows: list[history.HistoryRow] = field(default_factory=list)


class HistoryImport(UseCases):
    async def import_history(
        self, conn: asyncpg.Connection, text: str, *, dry_run: bool = False
    ) -> HistoryReport:
        # One history import at a time: two files naming the same product must not both
        # grant it a first certificate.
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('evaluation.history_import'))")
        now = await self.now(conn)
        today = now.date()
        books = load_rulebooks()
        raw_rows = parse_csv(text)
        report = HistoryReport(rows=len(raw_rows), dry_run=dry_run)
        errors: list[RowError] = []
        results: list[RowResult] = []
        parsed: list[history.HistoryRow] = []
        for line, raw in enumerate(raw_rows, start=2):
            try:
                parsed.append(history.parse_row(line, raw, books, today))
            except domain.RuleViolation as exc:
                errors.append(RowError(line, exc.field, exc.reason))

        known = await history_store.products_named(
            conn,
            sorted({r.product.public_code for r in parsed if r.product.public_code}),
            sorted(
                {r.product.registration_number for r in parsed if r.product.registration_number}
            ),
        )
        by_code = {p.public_code: p.product_id for p in known}
        by_name: dict[tuple[str, str], list[UUID]] = defaultdict(list)
        for p in known:
            if p.registration_number:
                by_name[(p.registration_number, p.name_key)].append(p.product_id)
        products: dict[UUID, _Found] = {}
        for row in parsed:
            ref = row.product
            if ref.public_code:
                pid = by_code.get(ref.public_code)
                if pid is None:
                    errors.append(
                        RowError(
                            row.line,
                            "public_code",
                            f"no product {ref.public_code} is known to evaluation (yet)",
                        )
                    )
                    continue
            else:
                named = by_name.get(
                    (ref.registration_number or "", history.name_key(ref.product_name or "")), []
                )
                if len(named) != 1:
                    errors.append(
                        RowError(
                            row.line,
                            "product_name",
                            f"{'no' if not named else 'more than one'} product of producer "
                            f"{ref.registration_number} is named {ref.product_name!r}",
                        )
                    )
                    continue
                pid = named[0]
            products.setdefault(pid, _Found(pid)).rows.append(row)

        ids = list(products)
        loaded = await history_store.loaded_rows(conn, ids)
        by_rounds = await history_store.decided_by_rounds(conn, ids)
        records = await store.certificates_of_products(conn, ids)
        nominations = await history_store.nominations_of(conn, ids)
        given = [
            r.certificate_number for f in products.values() for r in f.rows if r.certificate_number
        ]
        taken = await history_store.existing_numbers(conn, given) if given else set()

        numbers = {r.certificate.id: r.number for rs in records.values() for r in rs}
        existing = set(numbers)
        events: list[domain.CertificateEvent] = []
        saved: list[domain.CertificateRecord] = []
        new_rows: list[tuple[UUID, str, str, object, str, UUID | None]] = []
        changed_nominations: list[tuple[UUID, history.Nomination]] = []
        numbering: dict[int, list[UUID]] = defaultdict(list)  # generated numbers, by year
        issued: dict[UUID, datetime] = {}
        for pid, found in products.items():
            mine = {r.certificate.id: r for r in records.get(pid, [])}
            state = history.ProductHistory(
                domain.ProductCertificates(pid, tuple(r.certificate for r in mine.values())),
                tuple(nominations.get(pid, [])),
            )
            failed: int | None = None
            seen: dict[str, int] = {}
            for row in history.in_order(found.rows):
                refusal = _refusal(row, pid, seen, loaded, by_rounds, failed, taken)
                seen.setdefault(row.decision_number, row.line)
                if refusal == "unchanged":
                    results.append(RowResult(row.line, "unchanged", pid))
                    continue
                if refusal is not None:
                    errors.append(refusal)
                    if refusal.field == "certificate_number":
                        failed = row.line
                    continue
                certificate_id = uuid4()
                try:
                    state, changes = history.apply_row(state, row, certificate_id)
                except domain.RuleViolation as exc:
                    errors.append(RowError(row.line, exc.field, exc.reason))
                    failed = row.line
                    continue
                events += changes
                granted = row.action in history.GRANTS
                if granted:
                    if row.certificate_number:
                        numbers[certificate_id] = row.certificate_number
                        taken.add(row.certificate_number)
                    else:
                        numbering[row.decision_date.year].append(certificate_id)
                    issued[certificate_id] = _issued_at(row.decision_date, len(issued))
                target = certificate_id if granted else _ended(changes, state)
                new_rows.append(
                    (
                        pid,
                        row.decision_number,
                        row.action.value,
                        row.decision_date,
                        row.fingerprint,
                        target,
                    )
                )
                results.append(
                    RowResult(row.line, "created", pid, certificate_id if granted else None)
                )
            after, expired = domain.expire(state.certificates, today)
            events += expired
            for c in after.certificates:
                old = mine.get(c.id)
                if old is None:
                    saved.append(domain.CertificateRecord(c, "", None, (), issued[c.id]))
                elif old.certificate != c:
                    saved.append(replace(old, certificate=c))
            before = {n.decision_number: n for n in nominations.get(pid, [])}
            changed_nominations += [
                (pid, n) for n in state.nominations if before.get(n.decision_number) != n
            ]

        results += [RowResult(e.row, "rejected") for e in errors]
        results.sort(key=lambda r: r.row)
        errors.sort(key=lambda e: e.row)
        report.errors = errors
        report.created = sum(r.status == "created" for r in results)
        report.unchanged = sum(r.status == "unchanged" for r in results)
        report.rejected = sum(r.status == "rejected" for r in results)
        report.certificates = sum(r.certificate.id not in existing for r in saved)
        if dry_run:
            report.results = results
            return report
        # Generated numbers: consecutive within the decision's year, one reservation a year.
        for year, cids in sorted(numbering.items()):
            first = await store.reserve_certificate_numbers(conn, year, len(cids))
            for i, cid in enumerate(cids):
                numbers[cid] = NUMBER_FORMAT.format(sequence=first + i, year=year)
        saved = [replace(r, number=numbers[r.certificate.id]) for r in saved]
        report.results = [
            replace(r, certificate_number=numbers[r.certificate_id]) if r.certificate_id else r
            for r in results
        ]
        contracts: list[Event] = [
            publishing.certificate_contract(e, numbers=numbers, application_id=None, at=now)
            for e in events
        ]
        await store.save_certificates(conn, saved)
        await history_store.insert_rows(conn, new_rows, now)
        await history_store.save_nominations(conn, changed_nominations)
        await self._publish(conn, contracts)
        report.events = len(contracts)
        return report


def _ended(changes: list[domain.CertificateEvent], state: history.ProductHistory) -> UUID | None:
    """The certificate a row that grants nothing is about: the one it revoked, or the live
    one a nomination carries."""
    for change in changes:
        if isinstance(change, domain.CertificateRevoked):
            return change.certificate_id
    live = state.certificates.live
    return live.id if live else None


def _refusal(
    row: history.HistoryRow,
    pid: UUID,
    seen: dict[str, int],
    loaded: dict[tuple[UUID, str], history_store.LoadedRow],
    by_rounds: set[tuple[UUID, str]],
    failed: int | None,
    taken: set[str],
) -> RowError | Literal["unchanged"] | None:
    """Why ``row`` is not applied (or that it was loaded before), before the rules see it."""
    number = row.decision_number
    if number in seen:
        return RowError(
            row.line,
            "decision_number",
            f"line {seen[number]} already holds decision {number} for this product",
        )
    previous = loaded.get((pid, number))
    if previous is not None:
        if previous.fingerprint == row.fingerprint:
            return "unchanged"
        return RowError(
            row.line,
            "decision_number",
            f"decision {number} was loaded for this product before, with other values",
        )
    if (pid, number) in by_rounds:
        return RowError(
            row.line,
            "decision_number",
            f"decision {number} for this product was recorded by an evaluation round",
        )
    if failed is not None:
        return RowError(
            row.line, "product", f"line {failed}, an earlier decision of this product, was refused"
        )
    if row.certificate_number and row.certificate_number in taken:
        return RowError(
            row.line,
            "certificate_number",
            f"{row.certificate_number} is already another certificate's number",
        )
    return None
