"""Keyset paging: cursors are opaque, bound to their sort and refused with a 400 when tampered
with; the keyset condition follows the sort's direction; pages never skip or repeat a row."""

from __future__ import annotations

import base64
import json
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, ValidationError

from ocop_runtime.paging import (
    InvalidCursor,
    Keyset,
    ListPage,
    Page,
    Query,
    Sort,
    UnknownSort,
    decode_cursor,
    encode_cursor,
    fetch_page,
    refused_on_query,
)

SORTS = {
    "created_at": Sort("t.created_at", "timestamptz"),
    "-created_at": Sort("t.created_at", "timestamptz", descending=True),
    "rank": Sort("t.rank", "integer"),
    "-rank": Sort("t.rank", "integer", descending=True),
}


def _raw(value: Any) -> str:
    """A cursor-shaped string holding any JSON, as someone forging one would make it."""
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


def test_a_cursor_gives_back_the_position_it_was_made_from() -> None:
    position = ("2025-08-01 10:00:00.123456+00", uuid4())

    cursor = encode_cursor("created_at", position)

    assert decode_cursor(cursor, "created_at") == position
    assert position[0] not in cursor, "a cursor is opaque"


def test_no_cursor_means_the_first_page() -> None:
    assert decode_cursor(None, "created_at") is None
    assert decode_cursor("", "created_at") is None


def test_a_cursor_is_refused_for_a_sort_it_was_not_returned_for() -> None:
    cursor = encode_cursor("rank", ("3", uuid4()))

    with pytest.raises(InvalidCursor) as refused:
        decode_cursor(cursor, "-rank")

    assert refused.value.status == 400
    assert refused.value.field == "cursor"
    assert refused.value.reason == "was returned for sort=rank, not sort=-rank"


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        "%%%",
        encode_cursor("rank", ("3", uuid4()))[:-6],
        base64.urlsafe_b64encode(b"\xff\xfe\x00garbage").decode(),
        _raw(["rank", "3"]),
        _raw(["rank", "3", "not-a-uuid", "extra"]),
        _raw(["rank", "3", "not-a-uuid"]),
        _raw(["rank", 3, str(uuid4())]),
        _raw(["rank", "3", 17]),
        _raw(["rank", ["3"], str(uuid4())]),
        _raw({"rank": 1, "3": 2, str(uuid4()): 3}),
        _raw("abc"),
        _raw(5),
        _raw(None),
        _raw(["rank", "3\x00", str(uuid4())]),
        _raw(["rank", "\ud800", str(uuid4())]),
        _raw([[[[[[[["deep"]]]]]]]]),
        base64.urlsafe_b64encode(b"[" * 5000).decode(),
    ],
)
def test_a_tampered_cursor_is_refused_with_a_reason_not_an_error(cursor: str) -> None:
    with pytest.raises(InvalidCursor) as refused:
        decode_cursor(cursor, "rank")

    assert (refused.value.status, refused.value.field) == (400, "cursor")
    assert refused.value.reason == "is not one this API returned"


def test_the_keyset_condition_follows_an_ascending_sort() -> None:
    q = Query()
    q.add("t.kind = {}", "jam")
    ident = uuid4()

    order = SORTS["created_at"].page(q, ("2025-08-01 10:00:00+00", ident), "t.id")

    assert q.where[-1] == "(t.created_at, t.id) > ($2::text::timestamptz, $3)"
    assert q.args == ["jam", "2025-08-01 10:00:00+00", ident]
    assert order == " ORDER BY t.created_at ASC, t.id ASC"
    assert q.sql == (" WHERE t.kind = $1 AND (t.created_at, t.id) > ($2::text::timestamptz, $3)")


def test_the_keyset_condition_follows_a_descending_sort() -> None:
    q = Query()
    ident = uuid4()

    order = SORTS["-rank"].page(q, ("4", ident), "t.id")

    assert q.sql == " WHERE (t.rank, t.id) < ($1::text::integer, $2)"
    assert q.args == ["4", ident]
    assert order == " ORDER BY t.rank DESC, t.id DESC"


def test_the_first_page_has_no_keyset_condition() -> None:
    q = Query()

    order = SORTS["-created_at"].page(q, None, "t.id")

    assert q.sql == "" and q.args == []
    assert order == " ORDER BY t.created_at DESC, t.id DESC"


def test_a_keyset_refuses_an_unknown_sort_before_looking_at_the_cursor() -> None:
    with pytest.raises(UnknownSort) as refused:
        Keyset.of(SORTS, "price", "not-a-cursor", 10)

    assert (refused.value.status, refused.value.field) == (422, "sort")
    assert refused.value.reason == "'price' is not one of created_at, -created_at, rank, -rank"


def test_only_a_full_page_has_a_next_cursor_and_it_is_bound_to_the_same_sort() -> None:
    keyset = Keyset.of(SORTS, "-rank", None, 2)
    last = ("1", uuid4())

    full = Page(rows=[object(), object()], total=5, positions=[("2", uuid4()), last])
    short = Page(rows=[object()], total=5, positions=[last])

    following = keyset.next_cursor(full)
    assert following is not None
    assert Keyset.of(SORTS, "-rank", following, 2).after == last
    with pytest.raises(InvalidCursor):
        Keyset.of(SORTS, "rank", following, 2)
    assert keyset.next_cursor(short) is None


def test_a_list_route_answers_a_bad_cursor_400_and_a_bad_sort_422_on_the_query() -> None:
    with pytest.raises(HTTPException) as bad_cursor, refused_on_query():
        Keyset.of(SORTS, "rank", "not-a-cursor", 10)
    with pytest.raises(HTTPException) as bad_sort, refused_on_query():
        Keyset.of(SORTS, "price", None, 10)

    assert bad_cursor.value.status_code == 400
    assert bad_cursor.value.detail == [
        {
            "loc": ["query", "cursor"],
            "msg": "is not one this API returned",
            "type": "rule_violation",
        }
    ]
    assert bad_sort.value.status_code == 422
    assert bad_sort.value.detail == [
        {
            "loc": ["query", "sort"],
            "msg": "'price' is not one of created_at, -created_at, rank, -rank",
            "type": "rule_violation",
        }
    ]


# Ten rows whose ranks repeat (0, 1, 2, 0, ...), so that ties must be broken by the id.
ROWS = "FROM (SELECT md5(g::text)::uuid AS id, g % 3 AS rank FROM generate_series(1, 10) g) t"


async def _walk(conn: asyncpg.Connection, sort: str, limit: int) -> list[UUID]:
    seen: list[UUID] = []
    cursor = None
    while True:
        keyset = Keyset.of(SORTS, sort, cursor, limit)
        page = await fetch_page(
            conn, "SELECT t.id, t.rank", Query(), keyset, id_column="t.id", count_from=ROWS
        )
        assert page.total == 10
        seen += [r["id"] for r in page.rows]
        cursor = keyset.next_cursor(page)
        if cursor is None:
            return seen


async def test_pages_neither_skip_nor_repeat_a_row_when_sort_values_tie(
    database_url: str,
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        expected = [r["id"] for r in await conn.fetch(f"SELECT t.id {ROWS} ORDER BY t.rank, t.id")]
        assert await _walk(conn, "rank", 3) == expected
        assert await _walk(conn, "-rank", 4) == expected[::-1]
    finally:
        await conn.close()


async def test_a_forged_cursor_value_the_sort_type_refuses_is_an_invalid_cursor(
    database_url: str,
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        for value in ("three", "99999999999999999999"):
            forged = encode_cursor("rank", (value, uuid4()))
            keyset = Keyset.of(SORTS, "rank", forged, 3)
            with pytest.raises(InvalidCursor):
                await fetch_page(
                    conn, "SELECT t.id", Query(), keyset, id_column="t.id", count_from=ROWS
                )
        # The connection is still usable: the refusal left nothing behind.
        assert await conn.fetchval("SELECT 1") == 1
    finally:
        await conn.close()


class _Thing(BaseModel):
    name: str


class ThingPage(ListPage[_Thing]):
    """Things matching the filters, a page at a time."""


def test_a_route_page_keeps_its_own_name_and_the_shape_of_every_list() -> None:
    app = FastAPI()

    @app.get("/things", response_model=ThingPage)
    async def things() -> ThingPage:
        return ThingPage(items=[_Thing(name="a")], total=3, next_cursor="c")

    schemas = app.openapi()["components"]["schemas"]

    assert "ThingPage" in schemas and not any(k.startswith("ListPage") for k in schemas)
    page = schemas["ThingPage"]
    assert page["description"] == "Things matching the filters, a page at a time."
    assert page["required"] == ["items", "total", "next_cursor"]
    assert page["properties"]["items"]["items"] == {"$ref": "#/components/schemas/_Thing"}
    with pytest.raises(ValidationError):
        ThingPage.model_validate({"items": [{"name": 1}], "total": 1, "next_cursor": None})
