"""Under 1489 the commune pre-assesses, on the real broker and database: a submitted dossier
waits at the commune level until a commune officer records the local-content points, the
commune report and the request to the city (``CommuneAssessed``); then it enters the city
round. A commune that returns the dossier sends it back to the producer."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ocop_contracts import topics
from ocop_runtime.auth import Role
from ocop_runtime.testing import bearer, running, wait_until
from tests.flow import evaluation_app, records_on, registry_app
from tests.test_evaluation_flow import council, entered, submit
from tests.test_registry import producer, product

POINTS = {"A1.1": 3, "A1.2": 2, "A2.1": 1.5, "B2.3": 3}
OFFICER = bearer(Role.COMMUNE_OFFICER, units=["00004"], subject="xa-00004")


def report(text: str) -> dict[str, Any]:
    body = text.encode()
    return {
        "document_type": "commune_report",
        "name": "Báo cáo kết quả đánh giá cấp xã.pdf",
        "media_type": "application/pdf",
        "size_bytes": len(body),
        "sha256": hashlib.sha256(body).hexdigest(),
        "storage_url": "https://files.ocop.hanoi.gov.vn/xa/bao-cao.pdf",
    }


async def status_of(registry: Any, app_id: str, status: str) -> None:
    async def probe() -> bool:
        return bool((await registry.get(f"/applications/{app_id}")).json()["status"] == status)

    await wait_until(probe, timeout_seconds=60, what=f"application {app_id} {status}")


async def test_a_1489_dossier_waits_for_the_communes_request_then_enters_the_city_round(
    make_settings: Any, kafka_bootstrap: str
) -> None:
    async with (
        running(registry_app(make_settings)) as registry,
        running(evaluation_app(make_settings, commune_step="required")) as evaluation,
    ):
        owner = await producer(registry)
        item = await product(registry, owner["id"])
        today = (await evaluation.get("/clock")).json()["now"][:10]
        city = (
            await evaluation.post(
                "/rounds", json={"year": int(today[:4]), "level": "city", "name": "TP"}
            )
        ).json()["id"]
        await council(evaluation, city)
        app_id = await submit(registry, item["id"], 71)

        async def at_commune() -> list[dict[str, Any]] | None:
            found = (await evaluation.get(f"/products/{item['id']}/history")).json()
            return found["applications"] or None

        [waiting] = await wait_until(at_commune, timeout_seconds=60, what="the commune entry")
        in_city_before = (await evaluation.get(f"/rounds/{city}/entries")).json()["items"]
        by_producer = await registry.post(
            f"/applications/{app_id}/commune-assessment",
            json={"local_points": POINTS, "report": report("r1")},
            headers=bearer(Role.PRODUCER, producer_id=owner["id"]),
        )
        other_commune = await registry.post(
            f"/applications/{app_id}/commune-assessment",
            json={"local_points": POINTS, "report": report("r1")},
            headers=bearer(Role.COMMUNE_OFFICER, units=["00008"], subject="xa-00008"),
        )
        over = await registry.post(
            f"/applications/{app_id}/commune-assessment",
            json={"local_points": {**POINTS, "A1.2": 3}, "report": report("r1")},
            headers=OFFICER,
        )
        assessed = await registry.post(
            f"/applications/{app_id}/commune-assessment",
            json={"local_points": POINTS, "report": report("r1")},
            headers=OFFICER,
        )
        again = await registry.post(
            f"/applications/{app_id}/commune-assessment",
            json={"local_points": POINTS, "report": report("r1")},
            headers=OFFICER,
        )
        await entered(evaluation, city, app_id)
        await status_of(registry, app_id, "accepted")
        trail = (await evaluation.get(f"/products/{item['id']}/history")).json()
        events = [
            json.loads(r.value)
            for r in await records_on(
                kafka_bootstrap, topics.REGISTRY_APPLICATIONS, lambda r: r.key == app_id.encode()
            )
            if dict(r.headers).get("ce_type", b"").endswith(b".CommuneAssessed.v1")
        ]

    assert (waiting["level"], waiting["status"]) == ("commune", "waiting")
    assert in_city_before == []
    assert by_producer.status_code == 403
    assert other_commune.status_code == 404
    assert over.status_code == 422 and "A1.2" in over.text
    assert assessed.status_code == 200, assessed.text
    assert assessed.json()["status"] == "commune_assessed"
    assert "commune_report" in [d["document_type"] for d in assessed.json()["documents"]]
    assert again.status_code == 200 and again.json()["version"] == assessed.json()["version"]
    recorded = assessed.json()["commune_assessment"]
    assert recorded["local_points"] == POINTS and recorded["request_to_city"] is True
    assert recorded["report_sha256"] == report("r1")["sha256"]
    [event] = events
    assert event["request_to_city"] is True and event["local_points"] == POINTS
    assert [(a["level"], a["status"]) for a in trail["applications"]] == [
        ("commune", "forwarded"),
        ("city", "entered"),
    ]
    assert trail["applications"][0]["result"]["commune"]["local_points"] == POINTS


async def test_a_commune_returning_the_dossier_sends_it_back_and_a_resubmission_waits_again(
    make_settings: Any,
) -> None:
    async with (
        running(registry_app(make_settings)) as registry,
        running(evaluation_app(make_settings, commune_step="required")) as evaluation,
    ):
        owner = await producer(registry)
        item = await product(registry, owner["id"])
        app_id = await submit(registry, item["id"], 64)

        async def entries(status: str) -> list[dict[str, Any]] | None:
            found = (await evaluation.get(f"/products/{item['id']}/history")).json()
            rows = found["applications"]
            return rows if rows and rows[0]["status"] == status else None

        await wait_until(lambda: entries("waiting"), timeout_seconds=60, what="the commune entry")
        returned = await registry.post(
            f"/applications/{app_id}/commune-assessment",
            json={
                "local_points": POINTS,
                "report": report("r2"),
                "request_to_city": False,
                "reasons": ["Thiếu bản thuyết minh nguồn gốc nguyên liệu"],
            },
            headers=OFFICER,
        )
        [back] = await wait_until(
            lambda: entries("returned"), timeout_seconds=60, what="the commune's return"
        )
        resubmitted = await registry.post(f"/applications/{app_id}/submission")
        [again] = await wait_until(
            lambda: entries("waiting"), timeout_seconds=60, what="the resubmission at the commune"
        )

    assert returned.status_code == 200 and returned.json()["status"] == "returned"
    assert back["result"]["reasons"] == ["Thiếu bản thuyết minh nguồn gốc nguyên liệu"]
    assert resubmitted.status_code == 200, resubmitted.text
    assert again["level"] == "commune"
