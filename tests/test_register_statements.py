"""Registering a producer: a new one costs one transaction of three writes and no reads (the
communes are in memory, the insert is the duplicate check); the reasons for a refusal, and the
producer an identical repeat returns, are looked up only when the insert finds its key taken."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from ocop_runtime.testing import running
from tests.flow import registry_app, tax_code
from tests.statements import statements_sent


def _kinds(ran: list[str]) -> list[str]:
    out = []
    for q in ran:
        words = q.split()
        out.append(" ".join(words[:3]) if words[0] == "INSERT" else words[0])
    return out


async def test_a_new_producer_is_one_transaction_of_three_inserts_and_repeats_are_looked_up(
    make_settings: Any,
) -> None:
    app = registry_app(make_settings)
    async with running(app) as client:
        pool = app.state.ctx.pool
        body = {
            "name": f"HTX {uuid4().hex[:6]}",
            "legal_form": "cooperative",
            "registration_number": tax_code(),
            "commune_code": "00004",
        }
        warm = await client.post("/producers", json={**body, "registration_number": tax_code()})
        assert warm.status_code == 201, warm.text

        with statements_sent(pool) as sent:
            created = await client.post("/producers", json=body)
        assert created.status_code == 201, created.text
        [ran] = [qs for qs in sent.values() if any("INTO producers" in q for q in qs)]
        assert _kinds(ran) == [
            "BEGIN",
            "INSERT INTO producers",
            "INSERT INTO outbox",
            "INSERT INTO audit_log",
            "COMMIT",
        ], ran

        # The same registration again: 200 with the same producer, nothing new staged.
        repeat = await client.post("/producers", json=body)
        assert repeat.status_code == 200, repeat.text
        assert repeat.json()["id"] == created.json()["id"]
        # Its number with other data, or a taken id: 409 naming the field, nothing written.
        other = await client.post("/producers", json={**body, "name": "HTX khác"})
        assert other.status_code == 409, other.text
        assert "registration_number" in other.text and created.json()["id"] in other.text
        taken = await client.post(
            "/producers",
            json={**body, "id": created.json()["id"], "registration_number": tax_code()},
        )
        assert taken.status_code == 409, taken.text
        assert "id" in taken.text
        count = await pool.fetchval(
            "SELECT count(*) FROM outbox WHERE key = $1", created.json()["id"]
        )
        assert count == 1
        producers = await pool.fetchval(
            "SELECT count(*) FROM producers WHERE registration_number = $1",
            body["registration_number"],
        )
        assert producers == 1

        # A commune that does not exist is still refused by name, from memory.
        unknown = await client.post(
            "/producers", json={**body, "registration_number": tax_code(), "commune_code": "99999"}
        )
        assert unknown.status_code == 422, unknown.text
        assert "99999 is not a known Hanoi commune" in unknown.text
