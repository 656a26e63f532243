"""Registry and evaluation together on the real broker and database: a submitted application
is scored by a three-member council, certified, and the public lookup shows it; the evaluation
clock moves 35 months (expiring) and 36 (expired); inspection's recommendation leads to a
revocation."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from ocop_contracts import topics
from ocop_contracts.events import RevocationRecommended
from ocop_evaluation import domain
from ocop_runtime.auth import Role
from ocop_runtime.testing import bearer, running, wait_until
from tests.flow import evaluation_app, records_on, registry_app, send_event
from tests.test_registry import FIRST_TIME_FOOD, evidence, lookup, producer, product

MEMBERS = ["hoi-dong-1", "hoi-dong-2", "hoi-dong-3"]


def sheet_points(product_set: str, day: date, share: Decimal) -> dict[str, str]:
    sheet = domain.score_sheet(product_set, day)
    return {c.id: str(c.max_points * share) for c in sheet.criteria}


async def only_ours(evaluation: Any, round_id: str, app_id: str) -> None:
    """The round holds this test's application alone: the test's services have topics of their
    own, so no other test's application can join it."""
    entries = (await evaluation.get(f"/rounds/{round_id}/entries")).json()["items"]
    assert [e["application_id"] for e in entries] == [app_id]


async def submit(registry: Any, product_id: str, self_assessment: int) -> str:
    """A complete first-time food dossier, drafted and submitted; its application id."""
    app_id = str(
        (
            await registry.post(
                "/applications",
                json={
                    "product_id": product_id,
                    "kind": "first_time",
                    "self_assessment_score": self_assessment,
                    "documents": [evidence(k) for k in FIRST_TIME_FOOD],
                },
            )
        ).json()["id"]
    )
    submitted = await registry.post(f"/applications/{app_id}/submission")
    assert submitted.status_code == 200, submitted.text
    return app_id


async def entered(evaluation: Any, round_id: str, app_id: str) -> None:
    async def in_round() -> bool:
        rows = (await evaluation.get(f"/rounds/{round_id}/entries")).json()["items"]
        return any(r["application_id"] == app_id for r in rows)

    await wait_until(in_round, timeout_seconds=60, what=f"application {app_id} in the round")


async def council(evaluation: Any, round_id: str, units: dict[str, str] | None = None) -> None:
    """The three MEMBERS, the first one chairing, from unit 00008 unless ``units`` says."""
    members = [
        {
            "member_id": m,
            "name": m,
            "role": "chair" if i == 0 else "member",
            "unit_code": (units or {}).get(m, "00008"),
        }
        for i, m in enumerate(MEMBERS)
    ]
    named = await evaluation.put(f"/rounds/{round_id}/council", json={"members": members})
    assert named.status_code == 200, named.text


async def test_an_application_is_scored_certified_expires_on_the_clock_and_is_revoked(
    make_settings: Any, kafka_bootstrap: str
) -> None:
    async with (
        running(registry_app(make_settings)) as registry,
        running(evaluation_app(make_settings)) as evaluation,
    ):
        owner = await producer(registry)
        item = await product(registry, owner["id"])
        today = (await evaluation.get("/clock")).json()["now"][:10]
        year = int(today[:4])
        opened = await evaluation.post(
            "/rounds", json={"year": year, "level": "city", "name": f"Thành phố {year}"}
        )
        assert opened.status_code == 201, opened.text
        round_id = opened.json()["id"]
        await council(evaluation, round_id)

        app_id = await submit(registry, item["id"], 82)

        async def accepted() -> bool:
            a = (await registry.get(f"/applications/{app_id}")).json()
            return bool(a["status"] == "accepted")

        await wait_until(accepted, timeout_seconds=60, what="evaluation to accept the application")

        await only_ours(evaluation, round_id, app_id)
        points = sheet_points(item["product_set"], date.fromisoformat(today), Decimal("0.8"))
        over = {**points, next(iter(points)): "999"}
        refused = await evaluation.put(
            f"/rounds/{round_id}/sheets/{app_id}",
            json={"points": over},
            headers=bearer(Role.COUNCIL_MEMBER, subject=MEMBERS[0]),
        )
        assert refused.status_code == 422 and "maximum" in refused.text
        stranger = await evaluation.put(
            f"/rounds/{round_id}/sheets/{app_id}",
            json={"points": points},
            headers=bearer(Role.COUNCIL_MEMBER, subject="not-on-the-council"),
        )
        assert stranger.status_code == 403
        early = await evaluation.post(f"/rounds/{round_id}/closure", json={})
        assert early.status_code == 422 and "lack sheets" in early.text
        for member in MEMBERS:
            handed = await evaluation.put(
                f"/rounds/{round_id}/sheets/{app_id}",
                json={"points": points},
                headers=bearer(Role.COUNCIL_MEMBER, subject=member),
            )
            assert handed.status_code == 200, handed.text
        review = (await evaluation.get(f"/rounds/{round_id}/review")).json()
        assert review == {"flags": [], "missing": []}
        closed = await evaluation.post(f"/rounds/{round_id}/closure", json={})
        assert closed.status_code == 200, closed.text
        [entry] = (await evaluation.get(f"/rounds/{round_id}/entries")).json()["items"]
        assert entry["result"]["outcome"] == "certify" and entry["result"]["star"] == 4
        decided = await evaluation.post(
            f"/rounds/{round_id}/decision",
            json={"decision_number": "1147/QĐ-UBND", "decision_date": today},
        )
        assert decided.status_code == 200, decided.text

        async def certified() -> dict[str, Any] | None:
            shown = await lookup(registry, item["public_code"])
            return shown if shown["star"] == 4 else None

        shown = await wait_until(certified, timeout_seconds=60, what="the 4★ in the lookup")
        assert shown["status"] == "valid"
        [certificate] = (
            await evaluation.get("/certificates", params={"product_id": item["id"]})
        ).json()["items"]
        assert shown["certificate_number"] == certificate["number"]
        filters = {"product_set": item["product_set"], "round_id": round_id, "star": 4}
        here = (await evaluation.get("/certificates", params={**filters, "unit": "00004"})).json()
        there = (await evaluation.get("/certificates", params={**filters, "unit": "00008"})).json()
        assert [c["id"] for c in here["items"]] == [certificate["id"]] and not there["items"]
        assert (await registry.get(f"/applications/{app_id}")).json()["status"] == "certified"

        moved = await evaluation.post("/clock", json={"advance_days": 35 * 30 + 10})
        day = date.fromisoformat(moved.json()["now"][:10])
        sweep = (await evaluation.post("/scheduler/run")).json()
        assert sweep["notices"] >= 1 and sweep["expired"] == 0
        assert (await evaluation.post("/scheduler/run")).json() == {"notices": 0, "expired": 0}
        radar = (await evaluation.get("/certificates/expiring", params={"within_days": 90})).json()
        assert certificate["id"] in [c["id"] for c in radar["items"]]
        assert (await lookup(registry, item["public_code"], day))["status"] == "expiring"

        moved = await evaluation.post("/clock", json={"advance_days": 40})
        day = date.fromisoformat(moved.json()["now"][:10])
        assert (await evaluation.post("/scheduler/run")).json()["expired"] == 1

        async def expired() -> dict[str, Any] | None:
            now = await lookup(registry, item["public_code"], day)
            return now if now["status"] == "expired" else None

        await wait_until(expired, timeout_seconds=60, what="the expiry in the lookup")


async def test_inspections_recommendation_leads_to_a_revocation_shown_in_the_lookup(
    make_settings: Any, kafka_bootstrap: str
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
        await council(evaluation, round_id)
        app_id = await submit(registry, item["id"], 60)
        await entered(evaluation, round_id, app_id)
        await only_ours(evaluation, round_id, app_id)
        points = sheet_points(item["product_set"], date.fromisoformat(today), Decimal("0.6"))
        for member in MEMBERS:
            await evaluation.put(
                f"/rounds/{round_id}/sheets/{app_id}",
                json={"points": points},
                headers=bearer(Role.COUNCIL_MEMBER, subject=member),
            )
        assert (await evaluation.post(f"/rounds/{round_id}/closure", json={})).status_code == 200
        decided = await evaluation.post(
            f"/rounds/{round_id}/decision",
            json={"decision_number": "99/QĐ-UBND", "decision_date": today},
        )
        assert decided.status_code == 200, decided.text

        async def certified() -> bool:
            return bool((await lookup(registry, item["public_code"]))["star"] == 3)

        await wait_until(certified, timeout_seconds=60, what="the 3★ in the lookup")
        recommendation = RevocationRecommended(
            recommendation_id=uuid4(),
            product_id=UUID(item["id"]),
            grounds=["food_safety_breach"],
            findings=["Mẫu kiểm nghiệm vượt ngưỡng vi sinh"],
            recommended_at=datetime.now(UTC),
        )
        await send_event(kafka_bootstrap, recommendation)

        async def pending() -> list[Any] | None:
            found = (await evaluation.get("/revocation-recommendations")).json()["items"]
            return [r for r in found if r["id"] == str(recommendation.recommendation_id)] or None

        await wait_until(pending, timeout_seconds=60, what="the recommendation")
        revoked = await evaluation.post(
            f"/revocation-recommendations/{recommendation.recommendation_id}/decision",
            json={"revoke": True, "decision_number": "120/QĐ-UBND", "decision_date": today},
        )
        assert revoked.status_code == 200, revoked.text

        async def shown_revoked() -> bool:
            return bool((await lookup(registry, item["public_code"]))["status"] == "revoked")

        await wait_until(shown_revoked, timeout_seconds=60, what="the revocation in the lookup")
        again = await evaluation.post(
            f"/revocation-recommendations/{recommendation.recommendation_id}/decision",
            json={"revoke": True, "decision_number": "121/QĐ-UBND", "decision_date": today},
        )
        assert again.status_code == 409
        history = (await evaluation.get(f"/products/{item['id']}/history")).json()
        assert [c["state"] for c in history["certificates"]] == ["revoked"]
        assert history["applications"][0]["status"] == "certified"
        assert history["certificates"][0]["decision_date"] == today


async def _score_and_decide(
    evaluation: Any, round_id: str, app_id: str, points: dict[str, str], number: str, day: str
) -> dict[str, Any]:
    await only_ours(evaluation, round_id, app_id)
    for member in MEMBERS:
        handed = await evaluation.put(
            f"/rounds/{round_id}/sheets/{app_id}",
            json={"points": points},
            headers=bearer(Role.COUNCIL_MEMBER, subject=member),
        )
        assert handed.status_code == 200, handed.text
    closed = await evaluation.post(f"/rounds/{round_id}/closure", json={})
    assert closed.status_code == 200, closed.text
    [entry] = (await evaluation.get(f"/rounds/{round_id}/entries")).json()["items"]
    decided = await evaluation.post(
        f"/rounds/{round_id}/decision", json={"decision_number": number, "decision_date": day}
    )
    assert decided.status_code == 200, decided.text
    return dict(entry)


async def test_ninety_points_at_city_level_certify_4_stars_and_the_central_round_upgrades_to_5(
    make_settings: Any, kafka_bootstrap: str
) -> None:
    async with (
        running(registry_app(make_settings)) as registry,
        running(evaluation_app(make_settings)) as evaluation,
    ):
        owner = await producer(registry)
        item = await product(registry, owner["id"])
        today = (await evaluation.get("/clock")).json()["now"][:10]
        year = int(today[:4])
        city = (
            await evaluation.post("/rounds", json={"year": year, "level": "city", "name": "TP"})
        ).json()["id"]
        central = (
            await evaluation.post(
                "/rounds", json={"year": year, "level": "central", "name": "Trung ương"}
            )
        ).json()["id"]
        await council(evaluation, city)
        await council(evaluation, central)
        app_id = await submit(registry, item["id"], 93)
        await entered(evaluation, city, app_id)
        points = sheet_points(item["product_set"], date.fromisoformat(today), Decimal("0.95"))
        at_city = await _score_and_decide(evaluation, city, app_id, points, "1/QĐ-UBND", today)
        assert (at_city["result"]["outcome"], at_city["result"]["outcome_star"]) == ("nominate", 4)

        async def star(expected: int) -> bool:
            return bool((await lookup(registry, item["public_code"]))["star"] == expected)

        await wait_until(lambda: star(4), timeout_seconds=60, what="the provincial 4★")
        [nominated] = [
            json.loads(r.value)
            for r in await records_on(
                kafka_bootstrap, topics.EVALUATION_RESULTS, lambda r: r.key == item["id"].encode()
            )
            if dict(r.headers).get("ce_type", b"").endswith(b".ProductNominated.v1")
        ]
        assert (nominated["carried_star"], nominated["to_level"]) == (4, "central")
        await entered(evaluation, central, app_id)
        at_central = await _score_and_decide(
            evaluation, central, app_id, points, "2361/QĐ-BNNMT", today
        )
        assert at_central["kind"] == "upgrade" and at_central["result"]["outcome_star"] == 5
        await wait_until(lambda: star(5), timeout_seconds=60, what="the national 5★")
        history = (await evaluation.get(f"/products/{item['id']}/history")).json()
        assert [(c["star"], c["state"]) for c in history["certificates"]] == [
            (4, "replaced"),
            (5, "live"),
        ]
