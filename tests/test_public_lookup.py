"""The public lookup (what a label's QR code opens) reads the product, its producer, its commune
and its certificates' history in one statement, and answers from that history on any day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx

from ocop_registry import store
from ocop_registry.domain.certificates import Certificate
from ocop_runtime.testing import running
from tests.flow import registry_app
from tests.statements import statements_sent
from tests.test_registry import producer, product


def _certificate(product_id: str, star: int, valid_from: Any, **fields: Any) -> Certificate:
    return Certificate(
        id=uuid4(),
        number=f"{uuid4().hex[:6]}/GCN-OCOP",
        product_id=UUID(product_id),
        star=star,
        level="city",
        decision_number="1147/QĐ-UBND",
        decision_date=valid_from,
        valid_from=valid_from,
        valid_until=valid_from + timedelta(days=3 * 365 - 1),
        rulebook="148",
        score=78.5,
        **fields,
    )


async def test_the_lookup_is_one_statement_and_reads_the_whole_certificate_history(
    make_settings: Any,
) -> None:
    app = registry_app(make_settings)
    async with (
        running(app) as office,
        # What a label's QR code opens is asked without a token.
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://service"
        ) as anonymous,
    ):
        pool = app.state.ctx.pool
        day = app.state.registry.clock().date()
        owner = await producer(office)
        item = await product(office, owner["id"])
        bare = await product(office, owner["id"])
        first = _certificate(item["id"], 3, day - timedelta(days=1200))
        renewed = _certificate(
            item["id"], 4, first.valid_until - timedelta(days=30), replaces_id=first.id
        )
        async with pool.acquire() as conn:
            # Recorded newest first: the lookup orders the history itself.
            for certificate in (renewed, first):
                await store.record_certificate(conn, certificate, datetime.now(UTC))
            await store.set_current_certificate(conn, renewed.product_id, renewed)

        with statements_sent(pool) as sent:
            today = await anonymous.get(f"/public/products/{item['public_code']}")
        assert today.status_code == 200, today.text
        [ran] = [qs for qs in sent.values() if any("public_code" in q for q in qs)]
        assert len(ran) == 1, ran

        def on(as_of: Any) -> Any:
            return anonymous.get(
                f"/public/products/{item['public_code']}", params={"as_of": as_of.isoformat()}
            )

        before_renewal = (await on(renewed.valid_from - timedelta(days=1))).json()
        before_any = (await on(first.valid_from - timedelta(days=1))).json()
        uncertified = (await anonymous.get(f"/public/products/{bare['public_code']}")).json()
        unknown = await anonymous.get("/public/products/01-00004-9999-1999")

    shown = today.json()
    assert (shown["star"], shown["certificate_number"], shown["status"]) == (
        4,
        renewed.number,
        "valid",
    )
    assert shown["valid_until"] == renewed.valid_until.isoformat()
    assert (shown["producer"]["name"], shown["commune_code"]) == (owner["name"], "00004")
    assert shown["commune_name"] and shown["as_of"] == day.isoformat()
    assert (before_renewal["star"], before_renewal["certificate_number"]) == (3, first.number)
    assert (before_any["star"], before_any["status"]) == (None, "not_certified")
    assert (uncertified["star"], uncertified["status"]) == (None, "not_certified")
    assert uncertified["certificate_number"] is None and not uncertified["deregistered"]
    assert unknown.status_code == 404
