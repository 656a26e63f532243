"""A district's CSV list is written with one statement per table, however many rows it has:
the producers and the products each in one ``COPY`` (which asyncpg does not pass to query
loggers, so no ``INSERT`` for them may show), their outbox rows in one
``INSERT ... SELECT FROM unnest``. The outbox rows keep their order (the producers' events,
then the products' in file order) and their content; importing the same file again writes
nothing but the audit row."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from ocop_registry import demo
from ocop_runtime.personal import PHONE_MASK
from ocop_runtime.testing import running
from tests.flow import registry_app
from tests.statements import statements_sent

TODAY = datetime.now(UTC).date()
CSV = {"content-type": "text/csv"}


def _kinds(ran: list[str]) -> list[str]:
    return [" ".join(q.split()[:3]) if q.startswith(("INSERT", "SELECT")) else q for q in ran]


async def test_an_import_writes_each_table_in_one_statement_and_stages_its_events_in_order(
    make_settings: Any,
) -> None:
    rows = demo.rows(120, seed=41, today=TODAY)
    rows[0] = {**rows[0], "product_name": rows[0]["product_name"] + " (ĐT 0912 345 678)"}
    text = demo.to_csv(rows)
    app = registry_app(make_settings)
    async with running(app) as client:
        pool = app.state.ctx.pool
        # A first file loads the communes and the connection's types.
        warm = demo.to_csv(demo.rows(5, seed=40, today=TODAY))
        warmed = await client.post("/imports/products", content=warm.encode(), headers=CSV)
        assert warmed.status_code == 200, warmed.text
        last = await pool.fetchval("SELECT coalesce(max(id), 0) FROM outbox")
        with statements_sent(pool) as sent:
            response = await client.post("/imports/products", content=text.encode(), headers=CSV)
        assert response.status_code == 200, response.text
        report = response.json()
        [ran] = [qs for qs in sent.values() if any("INTO product_code_sequences" in q for q in qs)]
        assert _kinds(ran) == [
            "BEGIN",
            "SELECT p.id, p.name,",  # producers by registration number
            "SELECT p.id, p.name,",  # cooperative groups by name
            "SELECT p.id, p.producer_id,",  # products by business key
            "INSERT INTO product_code_sequences",
            "INSERT INTO outbox",
            "INSERT INTO audit_log",
            "COMMIT",
        ], ran
        assert "unnest" in next(q for q in ran if q.startswith("INSERT INTO outbox"))
        created_ids = [r["product_id"] for r in report["results"] if r["status"] == "created"]
        stored = await pool.fetch(
            "SELECT p.id::text, p.public_code, p.producer_id::text"
            " FROM products p JOIN producers pr ON pr.id = p.producer_id"
            " WHERE p.id = ANY($1::uuid[])",
            created_ids,
        )
        assert {(r["id"], r["public_code"], r["producer_id"]) for r in stored} == {
            (r["product_id"], r["public_code"], r["producer_id"])
            for r in report["results"]
            if r["status"] == "created"
        }
        staged = await pool.fetch(
            "SELECT event_id, key, ce_type, ce_source, ce_time, payload, traceparent"
            " FROM outbox WHERE id > $1 ORDER BY id",
            last,
        )

        with statements_sent(pool) as sent_again:
            again = await client.post("/imports/products", content=text.encode(), headers=CSV)
        assert again.status_code == 200, again.text
        [ran_again] = [qs for qs in sent_again.values() if any("FROM producers" in q for q in qs)]
        assert not [q for q in ran_again if q.startswith("INSERT") and "audit_log" not in q]
        assert again.json()["unchanged"] == report["created_products"] == 120

    created = [r for r in report["results"] if r["status"] == "created"]
    producers = {r["producer_id"] for r in created}
    assert report["created_producers"] == len(producers)
    assert len(staged) == len(producers) + len(created)
    kinds = [r["ce_type"].split(".")[-2] for r in staged]
    assert kinds == ["ProducerRegistered"] * len(producers) + ["ProductRegistered"] * len(created)
    assert {r["key"] for r in staged[: len(producers)]} == producers
    assert len({r["event_id"] for r in staged}) == len(staged)
    assert {(r["ce_source"], r["ce_time"]) for r in staged} == {
        (staged[0]["ce_source"], staged[0]["ce_time"])
    }
    assert all(r["traceparent"] for r in staged)
    for result, row in zip(created, staged[len(producers) :], strict=True):
        payload = json.loads(row["payload"])
        assert row["key"] == payload["product_id"] == result["product_id"]
        assert payload["public_code"] == result["public_code"]
        assert payload["producer_id"] == result["producer_id"]
    first = json.loads(staged[len(producers)]["payload"])
    assert first["name"].endswith(f"(ĐT {PHONE_MASK})") and "0912" not in first["name"]
    second = json.loads(staged[len(producers) + 1]["payload"])
    assert second["name"] == rows[1]["product_name"]
