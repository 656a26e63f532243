"""A score sheet is one read and one statement that writes the sheet with its audit row, only
while the round is open; refusals are audited as every command's are."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from ocop_contracts.events import registry as registry_events
from ocop_evaluation import domain, store
from ocop_registry.domain.classification import Scheme, product_sets
from ocop_runtime.auth import Role
from ocop_runtime.testing import bearer, running
from tests.flow import evaluation_app
from tests.statements import statements_sent

MEMBERS = ["hd-sheet-1", "hd-sheet-2", "hd-sheet-3"]


def _application(year: int) -> registry_events.ApplicationSubmitted:
    product_set = product_sets(Scheme.S148)[0]
    return registry_events.ApplicationSubmitted(
        application_id=uuid4(),
        product_id=uuid4(),
        producer_id=uuid4(),
        producer_legal_form=registry_events.LegalForm.COOPERATIVE,
        producer_name="HTX chấm điểm",
        product_name="Chè búp khô",
        public_code=f"HN-{uuid4().hex[:6]}",
        kind=registry_events.ApplicationKind.FIRST_TIME,
        regime="1489",
        classification="148",
        product_set=product_set.code,
        sector=product_set.sector_code,
        statistics_sector=product_set.sector_code,
        commune_code="00004",
        district_code=None,
        round_year=year,
        self_assessment_score=70,
        documents=[],
        submitted_at=datetime.now(UTC),
    )


async def test_a_sheet_and_its_audit_row_are_one_statement_and_a_closed_round_refuses(
    make_settings: Any,
) -> None:
    app = evaluation_app(make_settings)
    async with running(app) as client:
        pool = app.state.ctx.pool
        evaluation = app.state.evaluation
        today = (await evaluation.now(pool)).date()
        opened = await client.post(
            "/rounds", json={"year": today.year, "level": "city", "name": "Vòng chấm thử"}
        )
        assert opened.status_code == 201, opened.text
        round_id = UUID(opened.json()["id"])
        council = await client.put(
            f"/rounds/{round_id}/council",
            json={
                "members": [
                    {
                        "member_id": m,
                        "name": m,
                        "role": "chair" if i == 0 else "member",
                        "unit_code": "01000",
                    }
                    for i, m in enumerate(MEMBERS)
                ]
            },
        )
        assert council.status_code == 200, council.text
        event = _application(today.year)
        async with pool.acquire() as conn, conn.transaction():
            await evaluation.enter_application(conn, event)
        aid = event.application_id
        sheet = domain.score_sheet(event.product_set, event.submitted_at.date())
        points = {c.id: str(c.max_points * Decimal("0.7")) for c in sheet.criteria}
        url = f"/rounds/{round_id}/sheets/{aid}"
        member = bearer(Role.COUNCIL_MEMBER, subject=MEMBERS[0])

        # What each pooled connection ran while the sheet was handed in (background tasks use
        # the pool too): the request's connection is the one that wrote the sheet.
        with statements_sent(pool) as sent:
            handed = await client.put(url, json={"points": points}, headers=member)
        assert handed.status_code == 200, handed.text
        [ran] = [qs for qs in sent.values() if any("score_sheets" in q for q in qs)]
        [write] = [k for k, q in enumerate(ran) if "score_sheets" in q]
        assert "audit_log" in ran[write], ran  # the sheet and its audit row: one statement
        assert write >= 1 and "council_members" in ran[write - 1], ran  # after the one read
        around = ran[max(0, write - 2) : write + 2]  # no transaction opened or closed around
        assert "BEGIN" not in around and "COMMIT" not in around, ran

        stored = await pool.fetchval(
            "SELECT points FROM score_sheets WHERE round_id = $1 AND application_id = $2"
            " AND member_id = $3",
            round_id,
            aid,
            MEMBERS[0],
        )
        assert stored is not None
        audited = await pool.fetch(
            "SELECT subject, outcome, trace_id, channel FROM audit_log"
            " WHERE command = 'submit_score_sheet' AND aggregate_id = $1 ORDER BY id",
            str(aid),
        )
        assert [(r["subject"], r["outcome"], r["channel"]) for r in audited] == [
            (MEMBERS[0], "accepted", "http")
        ]
        assert audited[0]["trace_id"]

        # Closed between the read and the write, or before: nothing is written, 409, audited.
        await pool.execute("UPDATE rounds SET status = 'closed' WHERE id = $1", round_id)
        lower = {k: str(Decimal(v) / 2) for k, v in points.items()}
        late = await client.put(url, json={"points": lower}, headers=member)
        assert late.status_code == 409, late.text
        again = await pool.fetchval(
            "SELECT points FROM score_sheets WHERE round_id = $1 AND application_id = $2"
            " AND member_id = $3",
            round_id,
            aid,
            MEMBERS[0],
        )
        assert again == stored
        outcomes = await pool.fetch(
            "SELECT outcome FROM audit_log WHERE command = 'submit_score_sheet'"
            " AND aggregate_id = $1 ORDER BY id",
            str(aid),
        )
        assert [r["outcome"] for r in outcomes] == ["accepted", "refused"]

        # The write itself re-checks the round: nothing while it is closed, the sheet once open.
        audit: tuple[Any, ...] = (
            "t",
            [],
            [],
            "submit_score_sheet",
            str(aid),
            None,
            "http",
            None,
            "accepted",
            None,
        )
        async with pool.acquire() as conn:
            written = await store.save_sheet(
                conn, round_id, aid, MEMBERS[1], {}, datetime.now(UTC), audit
            )
        assert written is False
        await pool.execute("UPDATE rounds SET status = 'open' WHERE id = $1", round_id)
        async with pool.acquire() as conn:
            written = await store.save_sheet(
                conn, round_id, aid, MEMBERS[1], {}, datetime.now(UTC), audit
            )
        assert written is True

        missing = await client.put(
            f"/rounds/{uuid4()}/sheets/{aid}", json={"points": points}, headers=member
        )
        assert missing.status_code == 404, missing.text
