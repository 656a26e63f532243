"""Keyset paging for list routes: filters as numbered parameters, named sort orders, opaque
cursors bound to the sort they were issued for, and one page of rows with the filtered total.

This module knows no table: a service declares its sorts (SQL expressions over its own
columns) and builds its filters with :class:`Query`. A cursor holds a position, the sort value
as PostgreSQL prints it and the row's id, so the next page starts strictly after the last row
even when sort values repeat. A cursor this API did not give (tampered, truncated, issued for
another sort, or holding a value the sort's type cannot take) is refused with a 400 naming the
``cursor`` query parameter, never answered with a 500.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeAlias, TypeVar
from uuid import UUID

import asyncpg
from pydantic import BaseModel, Field

from ocop_runtime.audit import http_problem
from ocop_runtime.refusals import Refusal, RuleViolation

Conn: TypeAlias = asyncpg.Connection | asyncpg.Pool
Position: TypeAlias = tuple[str, UUID]
"""Where a row stands in a sort: its sort value as text and its id (the tie-breaker)."""


class Query:
    """WHERE clauses with numbered parameters, built from the filters that were given."""

    def __init__(self) -> None:
        self.where: list[str] = []
        self.args: list[Any] = []

    def arg(self, value: Any) -> str:
        self.args.append(value)
        return f"${len(self.args)}"

    def add(self, clause: str, *values: Any) -> None:
        """``clause`` uses ``{}`` for each value, in order."""
        self.where.append(clause.format(*(self.arg(v) for v in values)))

    @property
    def sql(self) -> str:
        return " WHERE " + " AND ".join(self.where) if self.where else ""


@dataclass(frozen=True)
class Sort:
    """A keyset order: a SQL expression that is never NULL, the type its cursor value is cast
    back to, and the direction. The row's id breaks ties, in the same direction."""

    expression: str
    sql_type: str
    descending: bool = False

    def page(self, q: Query, after: Position | None, id_column: str) -> str:
        """Adds "after this position" to ``q`` (when there is one); returns the ORDER BY."""
        if after is not None:
            op = "<" if self.descending else ">"
            q.add(
                f"({self.expression}, {id_column}) {op} ({{}}::text::{self.sql_type}, {{}})",
                after[0],
                after[1],
            )
        direction = "DESC" if self.descending else "ASC"
        return f" ORDER BY {self.expression} {direction}, {id_column} {direction}"


class InvalidCursor(Refusal):
    """A cursor this API did not give, or gave for another sort (400)."""

    status = 400
    kind = "invalid_cursor"

    def __init__(self, reason: str = "is not one this API returned") -> None:
        super().__init__("cursor", reason)


class UnknownSort(RuleViolation):
    """A sort the list does not offer (422)."""

    def __init__(self, name: str, offered: Mapping[str, Sort]) -> None:
        super().__init__("sort", f"{name!r} is not one of {', '.join(offered)}")


def encode_cursor(sort: str, position: Position) -> str:
    """An opaque cursor for ``position``, valid only with the sort named ``sort``."""
    raw = json.dumps([sort, position[0], str(position[1])])
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(cursor: str | None, sort: str) -> Position | None:
    """The position in ``cursor`` (None without one); :class:`InvalidCursor` unless this API
    gave it for ``sort``."""
    if not cursor:
        return None
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if not (
            isinstance(decoded, list)
            and len(decoded) == 3
            and all(isinstance(part, str) for part in decoded)
        ):
            raise ValueError("not a cursor")
        made_for, value, ident = decoded
        # PostgreSQL text takes neither NUL nor lone surrogates (encode() refuses those).
        if "\x00" in value:
            raise ValueError("NUL in the sort value")
        value.encode()
        position = value, UUID(ident)
    # RecursionError: deeply nested JSON, which no cursor of this API holds.
    except (ValueError, TypeError, binascii.Error, RecursionError) as exc:
        raise InvalidCursor() from exc
    if made_for != sort:
        raise InvalidCursor(f"was returned for sort={made_for}, not sort={sort}")
    return position


@dataclass
class Page:
    """One page of rows, the number of rows matching the filters, and each row's position."""

    rows: list[asyncpg.Record]
    total: int
    positions: list[Position] = field(default_factory=list)


@dataclass(frozen=True)
class Keyset:
    """What a list request asked for: a sort by name, the position to start after, a limit."""

    sort_name: str
    sort: Sort
    after: Position | None
    limit: int

    @classmethod
    def of(cls, sorts: Mapping[str, Sort], sort: str, cursor: str | None, limit: int) -> Keyset:
        """The request's keyset: :class:`UnknownSort` for a sort not in ``sorts``, then
        :class:`InvalidCursor` for a cursor not given for that sort."""
        try:
            chosen = sorts[sort]
        except KeyError:
            raise UnknownSort(sort, sorts) from None
        return cls(sort, chosen, decode_cursor(cursor, sort), limit)

    def next_cursor(self, page: Page) -> str | None:
        """The cursor of the following page, or None when this one was the last."""
        if len(page.rows) == self.limit and page.positions:
            return encode_cursor(self.sort_name, page.positions[-1])
        return None


async def fetch_page(
    conn: Conn,
    select: str,
    q: Query,
    keyset: Keyset,
    *,
    id_column: str,
    count_from: str,
    page_from: str | None = None,
) -> Page:
    """A keyset page and the filtered total. ``select`` is the ``SELECT`` list of the rows,
    ``count_from`` the ``FROM`` with only what the filters need (the count dominates a page's
    cost) and ``page_from`` adds what the rows show. Not for use inside a transaction: a cursor
    value the sort's type refuses fails the query, and is answered as :class:`InvalidCursor`."""
    total = await conn.fetchval(f"SELECT count(*) {count_from}{q.sql}", *q.args)
    order = keyset.sort.page(q, keyset.after, id_column)
    try:
        rows = await conn.fetch(
            f"{select}, ({keyset.sort.expression})::text AS page_sort_value,"
            f" {id_column} AS page_row_id {page_from or count_from}{q.sql}"
            f"{order} LIMIT {int(keyset.limit)}",
            *q.args,
        )
    except asyncpg.DataError as exc:
        # The filters already ran in the count, so only the cursor's value can be at fault.
        if keyset.after is None:
            raise
        raise InvalidCursor() from exc
    return Page(rows, total, [(r["page_sort_value"], r["page_row_id"]) for r in rows])


@contextlib.contextmanager
def refused_on_query() -> Iterator[None]:
    """Inside a list route: an unknown sort or a bad cursor answers 422 or 400 naming the query
    parameter, in the shape FastAPI gives its own validation errors."""
    try:
        yield
    except (InvalidCursor, UnknownSort) as exc:
        raise http_problem(exc, "query") from exc


T = TypeVar("T")


async def page_of(
    sorts: Mapping[str, Sort],
    sort: str,
    cursor: str | None,
    limit: int,
    fetch: Callable[[Keyset], Awaitable[tuple[list[T], Page]]],
) -> tuple[list[T], int, str | None]:
    """One page of a list route: its items, the filtered total and the next cursor; an unknown
    sort or a bad cursor is a 4xx naming the query parameter (:func:`refused_on_query`)."""
    with refused_on_query():
        keyset = Keyset.of(sorts, sort, cursor, limit)
        items, page = await fetch(keyset)
    return items, page.total, keyset.next_cursor(page)


ItemT = TypeVar("ItemT")


class ListPage(BaseModel, Generic[ItemT]):
    """The answer of a list route: one page of items, how many match the filters and the
    cursor of the next page. A route's page subclasses it with its item type, e.g.
    ``class RoundPage(ListPage[RoundOut])``, which keeps the page's own name in the OpenAPI
    document."""

    items: list[ItemT]
    total: int = Field(description="How many items match the filters: the same on every page.")
    next_cursor: str | None = Field(
        description="The ``cursor`` of the next page, with the same filters and sort; null on "
        "the last page."
    )
