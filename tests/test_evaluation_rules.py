"""Evaluation's refusals over Kafka (commands answered on the replies topic) and HTTP
(integrity flags hold a round open until resolved or overridden with a reason)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import uuid4

from ocop_contracts import topics
from ocop_contracts.commands import evaluation as cmd
from ocop_contracts.events.evaluation import Level
from ocop_runtime.auth import Role
from ocop_runtime.testing import bearer, running, wait_until
from tests.commands import send_command
from tests.flow import evaluation_app, records_on, registry_app
from tests.test_evaluation_flow import (
    MEMBERS,
    council,
    entered,
    only_ours,
    sheet_points,
    submit,
)
from tests.test_registry import producer, product


async def test_round_commands_are_answered_and_a_resent_one_has_no_second_effect(
    make_settings: Any, kafka_bootstrap: str
) -> None:
    round_id = uuid4()
    # Every evaluation under test reads the whole command topic: a year of its own keeps other
    # tests' (and earlier runs') OpenRound commands from having opened this one already.
    year = 2030 + round_id.int % 70
    async with running(evaluation_app(make_settings)) as evaluation:
        opening = cmd.OpenRound(
            round_id=round_id, year=year, level=Level.CENTRAL, name="Trung ương"
        )
        first = await send_command(kafka_bootstrap, opening)
        again = await send_command(kafka_bootstrap, opening)
        stranger = await send_command(
            kafka_bootstrap,
            cmd.SubmitScoreSheet(
                round_id=round_id, application_id=uuid4(), member_id="nobody", points={"A1.1": 1}
            ),
            role=Role.COUNCIL_MEMBER,
            subject="nobody",
        )
        unknown = await send_command(kafka_bootstrap, cmd.CloseRound(round_id=uuid4()))

        async def replies() -> dict[str, Any] | None:
            found = await records_on(
                kafka_bootstrap,
                topics.replies("evaluation"),
                lambda r: json.loads(r.value)["command_id"] in (first, again, stranger, unknown),
            )
            by_id = {json.loads(r.value)["command_id"]: json.loads(r.value) for r in found}
            return by_id if len(by_id) == 4 else None

        answers = await wait_until(replies, timeout_seconds=60, what="four replies")
        rounds = (
            await evaluation.get("/rounds", params={"level": "central", "year": year})
        ).json()["items"]

    assert answers[first]["duplicate"] is False and answers[again]["duplicate"] is True
    assert answers[stranger]["errors"][0]["field"] == "member"
    assert answers[unknown]["errors"][0]["field"] == "round_id"
    assert [r["id"] for r in rounds if r["id"] == str(round_id)] == [str(round_id)]


async def test_a_member_from_the_producers_own_unit_holds_the_round_until_overridden(
    make_settings: Any,
) -> None:
    async with (
        running(registry_app(make_settings)) as registry,
        running(evaluation_app(make_settings)) as evaluation,
    ):
        owner = await producer(registry)
        item = await product(registry, owner["id"])
        today = (await evaluation.get("/clock")).json()["now"][:10]
        round_id = (
            await evaluation.post(
                "/rounds", json={"year": int(today[:4]), "level": "city", "name": "Thành phố"}
            )
        ).json()["id"]
        await council(evaluation, round_id, units={MEMBERS[1]: "00004"})
        app_id = await submit(registry, item["id"], 75)
        await entered(evaluation, round_id, app_id)
        await only_ours(evaluation, round_id, app_id)
        points = sheet_points(item["product_set"], date.fromisoformat(today), Decimal("0.75"))
        for member in MEMBERS:
            handed = await evaluation.put(
                f"/rounds/{round_id}/sheets/{app_id}",
                json={"points": points},
                headers=bearer(Role.COUNCIL_MEMBER, subject=member),
            )
            assert handed.status_code == 200, handed.text
        not_in_round = await evaluation.put(
            f"/rounds/{round_id}/sheets/{uuid4()}",
            json={"points": points},
            headers=bearer(Role.COUNCIL_MEMBER, subject=MEMBERS[0]),
        )
        review = (await evaluation.get(f"/rounds/{round_id}/review")).json()
        held = await evaluation.post(f"/rounds/{round_id}/closure", json={})
        closed = await evaluation.post(
            f"/rounds/{round_id}/closure",
            json={"override_reason": "The member left the commune's committee in 2024."},
        )

    assert not_in_round.status_code == 422
    assert [(f["kind"], f["member_id"]) for f in review["flags"]] == [
        ("conflict_of_interest", MEMBERS[1])
    ]
    assert held.status_code == 409 and "conflict_of_interest" in held.text
    assert closed.status_code == 200 and closed.json()["status"] == "closed"


async def test_rounds_are_listed_newest_first_page_by_page(make_settings: Any) -> None:
    year = 2030 + uuid4().int % 70
    async with running(evaluation_app(make_settings)) as evaluation:
        opened = [
            (
                await evaluation.post(
                    "/rounds", json={"year": year, "level": level, "name": f"{level} {year}"}
                )
            ).json()["id"]
            for level in ("city", "central")
        ]
        seen: list[str] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"year": year, "limit": 1}
            if cursor:
                params["cursor"] = cursor
            page = (await evaluation.get("/rounds", params=params)).json()
            assert page["total"] == len(opened)
            seen += [r["id"] for r in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        first = (await evaluation.get("/rounds", params={"year": year, "limit": 1})).json()
        bad = await evaluation.get("/rounds", params={"cursor": "yesterday"})
        other_sort = await evaluation.get(
            "/rounds", params={"cursor": first["next_cursor"], "sort": "opened_at"}
        )
        oldest_first = (
            await evaluation.get("/rounds", params={"year": year, "sort": "opened_at"})
        ).json()

    assert seen == list(reversed(opened))
    assert [r["id"] for r in oldest_first["items"]] == opened
    for refused in (bad, other_sort):
        assert refused.status_code == 400
        assert refused.json()["detail"][0]["loc"] == ["query", "cursor"]
