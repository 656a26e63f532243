"""Evaluation on the real broker and database, on the evaluation clock of 2024 and 2025:
a 148 dossier a district forwarded and the city scored 50-69 keeps the district's 3★ (a
setting); a district council of district officials raises no conflict flag while a member tied
to the producer does; and the end of the district tier on 1 July 2025 strands no dossier."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from ocop_contracts import topics
from ocop_contracts.events import registry as registry_events
from ocop_evaluation.app import service_spec
from ocop_evaluation.settings import EvaluationSettings
from ocop_evaluation.usecases import HANOI, Evaluation
from ocop_runtime.app import create_service_app, token_verifier_for
from ocop_runtime.auth import Role
from ocop_runtime.testing import bearer, running, wait_until
from tests.flow import records_on, send_event
from tests.test_evaluation_flow import MEMBERS, sheet_points

HONEY = "food.honey_other"


def evaluation_on(make_settings: Callable[..., Any], day: datetime, **overrides: Any) -> Any:
    """The evaluation service whose clock starts on ``day`` (moved on by ``POST /clock``)."""
    settings = make_settings(EvaluationSettings, **overrides)
    evaluation = Evaluation(real_clock=lambda: day, rules=settings.rule_choices())
    verifier = token_verifier_for(settings)
    app = create_service_app(
        settings,
        service_spec(evaluation, settings.scheduler_seconds, verifier),
        token_verifier=verifier,
    )
    app.state.evaluation = evaluation
    return app


def submitted(regime: str, on: date, year: int) -> registry_events.ApplicationSubmitted:
    return registry_events.ApplicationSubmitted(
        application_id=uuid4(),
        product_id=uuid4(),
        producer_id=uuid4(),
        producer_legal_form=registry_events.LegalForm.COOPERATIVE,
        producer_name="HTX Ong mật Ba Vì",
        product_name="Mật ong hoa nhãn",
        public_code=f"HN-{uuid4().hex[:8]}",
        kind=registry_events.ApplicationKind.FIRST_TIME,
        regime=regime,
        classification="148",
        product_set=HONEY,
        sector="food",
        statistics_sector="food",
        commune_code="00004",
        district_code="001",
        round_year=year,
        self_assessment_score=72,
        documents=[],
        submitted_at=datetime(on.year, on.month, on.day, 9, tzinfo=HANOI),
    )


async def council(evaluation: Any, round_id: str, unit: str, ties: dict[str, list[str]]) -> None:
    members = [
        {
            "member_id": m,
            "name": m,
            "role": "chair" if i == 0 else "member",
            "unit_code": unit,
            "ties": ties.get(m, []),
        }
        for i, m in enumerate(MEMBERS)
    ]
    named = await evaluation.put(f"/rounds/{round_id}/council", json={"members": members})
    assert named.status_code == 200, named.text


async def open_round(evaluation: Any, year: int, level: str) -> str:
    opened = await evaluation.post(
        "/rounds", json={"year": year, "level": level, "name": f"{level} {year}"}
    )
    assert opened.status_code == 201, opened.text
    return str(opened.json()["id"])


async def in_round(evaluation: Any, round_id: str, app_ids: list[str]) -> list[dict[str, Any]]:
    async def probe() -> list[dict[str, Any]] | None:
        rows = (await evaluation.get(f"/rounds/{round_id}/entries")).json()["items"]
        return rows if {r["application_id"] for r in rows} == set(app_ids) else None

    return await wait_until(probe, timeout_seconds=60, what=f"{app_ids} in round {round_id}")


async def sheets(evaluation: Any, round_id: str, app_id: str, day: date, share: str) -> None:
    points = sheet_points(HONEY, day, Decimal(share))
    for member in MEMBERS:
        handed = await evaluation.put(
            f"/rounds/{round_id}/sheets/{app_id}",
            json={"points": points},
            headers=bearer(Role.COUNCIL_MEMBER, subject=member),
        )
        assert handed.status_code == 200, handed.text


async def certified(bootstrap: str, product_ids: set[str]) -> dict[str, dict[str, Any]]:
    async def probe() -> dict[str, dict[str, Any]] | None:
        found = {
            json.loads(r.value)["product_id"]: json.loads(r.value)
            for r in await records_on(
                bootstrap,
                topics.EVALUATION_CERTIFICATES,
                lambda r: r.key.decode() in product_ids,
            )
            if dict(r.headers).get("ce_type", b"").endswith(b".ProductCertified.v1")
        }
        return found if set(found) == product_ids else None

    return await wait_until(probe, timeout_seconds=60, what=f"certificates of {product_ids}")


async def test_a_148_dossier_forwarded_and_scored_3_stars_at_city_keeps_the_district_3_stars(
    make_settings: Any, kafka_bootstrap: str
) -> None:
    day = datetime(2024, 10, 1, 9, tzinfo=HANOI)
    async with running(evaluation_on(make_settings, day)) as evaluation:
        dossier = submitted("148", date(2024, 9, 20), 2024)
        await send_event(kafka_bootstrap, dossier)
        app_id, producer_id = str(dossier.application_id), str(dossier.producer_id)
        district = await open_round(evaluation, 2024, "district")
        # The district council: district officials, like the producer's own district (001).
        await council(evaluation, district, "001", {})
        await in_round(evaluation, district, [app_id])
        await sheets(evaluation, district, app_id, day.date(), "0.75")
        district_review = (await evaluation.get(f"/rounds/{district}/review")).json()
        closed = await evaluation.post(f"/rounds/{district}/closure", json={})
        assert closed.status_code == 200, closed.text

        city = await open_round(evaluation, 2024, "city")
        await council(evaluation, city, "00008", {MEMBERS[2]: [producer_id]})
        await in_round(evaluation, city, [app_id])
        await sheets(evaluation, city, app_id, day.date(), "0.6")
        city_review = (await evaluation.get(f"/rounds/{city}/review")).json()
        held = await evaluation.post(f"/rounds/{city}/closure", json={})
        closed = await evaluation.post(
            f"/rounds/{city}/closure",
            json={"override_reason": "The member stood aside during the vote."},
        )
        assert closed.status_code == 200, closed.text
        [entry] = (await evaluation.get(f"/rounds/{city}/entries")).json()["items"]
        decided = await evaluation.post(
            f"/rounds/{city}/decision",
            json={"decision_number": "88/QĐ-UBND", "decision_date": "2024-12-20"},
        )
        assert decided.status_code == 200, decided.text
        issued = await certified(kafka_bootstrap, {str(dossier.product_id)})

    assert district_review["flags"] == []
    assert [(f["kind"], f["member_id"]) for f in city_review["flags"]] == [
        ("conflict_of_interest", MEMBERS[2])
    ]
    assert held.status_code == 409
    assert (entry["result"]["outcome"], entry["result"]["outcome_star"]) == ("certify", 3)
    assert entry["result"]["certify_level"] == "district"
    certificate = issued[str(dossier.product_id)]
    assert (certificate["star"], certificate["level"]) == (3, "district")


async def test_a_setting_can_leave_such_a_dossier_not_recognised(
    make_settings: Any, kafka_bootstrap: str
) -> None:
    day = datetime(2024, 10, 1, 9, tzinfo=HANOI)
    app = evaluation_on(make_settings, day, forwarded_short_of_city="not_recognised")
    async with running(app) as evaluation:
        dossier = submitted("148", date(2024, 9, 20), 2024)
        await send_event(kafka_bootstrap, dossier)
        app_id = str(dossier.application_id)
        district = await open_round(evaluation, 2024, "district")
        await council(evaluation, district, "001", {})
        await in_round(evaluation, district, [app_id])
        await sheets(evaluation, district, app_id, day.date(), "0.75")
        assert (await evaluation.post(f"/rounds/{district}/closure", json={})).status_code == 200
        city = await open_round(evaluation, 2024, "city")
        await council(evaluation, city, "00008", {})
        await in_round(evaluation, city, [app_id])
        await sheets(evaluation, city, app_id, day.date(), "0.6")
        assert (await evaluation.post(f"/rounds/{city}/closure", json={})).status_code == 200
        [entry] = (await evaluation.get(f"/rounds/{city}/entries")).json()["items"]

    assert (entry["status"], entry["result"]["outcome"]) == ("not_recognised", "not_recognised")


async def test_the_end_of_the_district_tier_moves_waiting_148_dossiers_to_the_city(
    make_settings: Any, kafka_bootstrap: str
) -> None:
    day = datetime(2025, 6, 20, 9, tzinfo=HANOI)
    async with running(evaluation_on(make_settings, day)) as evaluation:
        waiting = submitted("148", date(2025, 6, 15), 2025)
        await send_event(kafka_bootstrap, waiting)

        async def history(product_id: UUID, count: int) -> list[dict[str, Any]] | None:
            found = (await evaluation.get(f"/products/{product_id}/history")).json()
            return found["applications"] if len(found["applications"]) >= count else None

        [at_district] = await wait_until(
            lambda: history(waiting.product_id, 1), timeout_seconds=60, what="the district entry"
        )
        moved = await evaluation.post("/clock", json={"advance_days": 13})  # 3 July 2025
        assert moved.json()["now"][:10] == "2025-07-03"
        no_district = await evaluation.post(
            "/rounds", json={"year": 2025, "level": "district", "name": "Huyện 2025"}
        )
        # The scheduler's sweep moves it on without waiting for a city round to open.
        assert (await evaluation.post("/scheduler/run")).status_code == 200
        swept = await history(waiting.product_id, 2)
        late = submitted("148", date(2025, 7, 2), 2025)
        await send_event(kafka_bootstrap, late)
        [late_entry] = await wait_until(
            lambda: history(late.product_id, 1), timeout_seconds=60, what="the late entry"
        )
        await evaluation.post("/clock", json={"advance_days": 7})  # 10 July, under 1489
        city = await open_round(evaluation, 2025, "city")
        await council(evaluation, city, "00008", {})
        apps = [str(waiting.application_id), str(late.application_id)]
        await in_round(evaluation, city, apps)
        for app_id in apps:
            await sheets(evaluation, city, app_id, date(2025, 7, 10), "0.6")
        assert (await evaluation.post(f"/rounds/{city}/closure", json={})).status_code == 200
        decided = await evaluation.post(
            f"/rounds/{city}/decision",
            json={"decision_number": "4210/QĐ-UBND", "decision_date": "2025-08-15"},
        )
        assert decided.status_code == 200, decided.text
        issued = await certified(kafka_bootstrap, {str(waiting.product_id), str(late.product_id)})
        trail = (await evaluation.get(f"/products/{waiting.product_id}/history")).json()

    assert (at_district["level"], at_district["status"]) == ("district", "waiting")
    assert no_district.status_code == 422 and "districts" in no_district.text
    assert swept is not None
    assert [(a["level"], a["status"]) for a in swept] == [
        ("district", "rerouted"),
        ("city", "waiting"),
    ]
    assert late_entry["level"] == "city"
    assert [(a["level"], a["status"]) for a in trail["applications"]] == [
        ("district", "rerouted"),
        ("city", "certified"),
    ]
    assert trail["applications"][0]["result"]["rerouted_to"] == "city"
    for certificate in issued.values():
        assert (certificate["star"], certificate["level"], certificate["rulebook"]) == (
            3,
            "city",
            "148",
        )
