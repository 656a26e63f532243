"""Registry, evaluation and inspection together on the real broker and database: a certified
product is sampled by a campaign, a visit records a food-safety finding, the remediation goes
overdue on the inspection clock, due process runs its reply period, inspection recommends the
revocation, evaluation's committee revokes, registry's public lookup shows ``revoked`` and
trade suspends the product's listing at a point of sale."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

from ocop_contracts import topics
from ocop_runtime.auth import Role
from ocop_runtime.testing import bearer, running, wait_until
from tests.flow import evaluation_app, registry_app
from tests.test_evaluation_flow import (
    MEMBERS,
    council,
    entered,
    only_ours,
    sheet_points,
    submit,
)
from tests.test_inspection import inspection_app, problem, published
from tests.test_registry import lookup, producer, product
from tests.test_trade import open_outlet, trade_app


async def test_an_inspection_finding_leads_through_due_process_to_a_revocation_in_the_lookup(
    make_settings: Any, kafka_bootstrap: str
) -> None:
    async with (
        running(registry_app(make_settings)) as registry,
        running(evaluation_app(make_settings)) as evaluation,
        running(inspection_app(make_settings)) as inspection,
        running(trade_app(make_settings), role=Role.TRADE_OFFICER) as trade,
    ):
        # A product certified 3★ by the city council.
        owner = await producer(registry)
        item = await product(registry, owner["id"])
        today = (await evaluation.get("/clock")).json()["now"][:10]
        year = int(today[:4])
        round_id = (
            await evaluation.post("/rounds", json={"year": year, "level": "city", "name": "TP"})
        ).json()["id"]
        await council(evaluation, round_id)
        app_id = await submit(registry, item["id"], 60)
        await entered(evaluation, round_id, app_id)
        await only_ours(evaluation, round_id, app_id)
        points = sheet_points(item["product_set"], date.fromisoformat(today), Decimal("0.6"))
        for member in MEMBERS:
            handed = await evaluation.put(
                f"/rounds/{round_id}/sheets/{app_id}",
                json={"points": points},
                headers=bearer(Role.COUNCIL_MEMBER, subject=member),
            )
            assert handed.status_code == 200, handed.text
        assert (await evaluation.post(f"/rounds/{round_id}/closure", json={})).status_code == 200
        decided = await evaluation.post(
            f"/rounds/{round_id}/decision",
            json={"decision_number": "99/QĐ-UBND", "decision_date": today},
        )
        assert decided.status_code == 200, decided.text

        # Inspection holds the certified product, from registry's and evaluation's events.
        async def copied() -> dict[str, Any] | None:
            got = await inspection.get(f"/products/{item['id']}")
            body = got.json() if got.status_code == 200 else None
            return body if body and body["certificates"] else None

        copy = await wait_until(copied, timeout_seconds=60, what="inspection's copy")

        # Trade lists it at a point of sale once it holds the certificate.
        outlet = await open_outlet(trade, opened_on=today)

        async def listed() -> dict[str, Any] | None:
            r = await trade.post(
                f"/outlets/{outlet['id']}/listings",
                json={"basis": "ocop", "product_id": item["id"]},
            )
            return dict(r.json()) if r.status_code == 201 else None

        listing = await wait_until(listed, timeout_seconds=60, what="trade to list the product")
        [certificate] = copy["certificates"]
        assert certificate["star"] == 3 and certificate["state"] == "live"

        # A campaign this year samples it by risk.
        campaign = await inspection.post(
            "/campaigns",
            json={
                "name": f"Hậu kiểm OCOP {year}",
                "year": year,
                "lead_agency": "Sở Nông nghiệp và Môi trường",
                "departments": ["health", "industry_and_trade"],
                "scope": ["food_safety", "label"],
                "target_producers": 1,
                "target_products": 1,
                "starts_on": f"{year}-01-01",
                "ends_on": f"{year}-12-31",
            },
        )
        assert campaign.status_code == 201, campaign.text
        cid = campaign.json()["id"]
        drawn = await inspection.post(
            f"/campaigns/{cid}/sample",
            json={"method": "risk", "size": 5, "seed": 7, "as_of": today},
        )
        assert drawn.status_code == 200, drawn.text
        [sampled] = drawn.json()["items"]
        assert sampled["product_id"] == item["id"]
        assert (
            "never inspected" in sampled["reasons"] and "3★, the lowest star" in sampled["reasons"]
        )

        # The visit finds a food-safety breach; remediation within 30 days.
        visit = await inspection.post(
            "/visits",
            json={
                "campaign_id": cid,
                "producer_id": owner["id"],
                "visited_on": today,
                "product_ids": [item["id"]],
                "minutes": "Lấy mẫu kiểm nghiệm; điều kiện bảo quản không đạt.",
            },
            headers=bearer(Role.INSPECTOR, subject="thanh-tra-ha-noi"),
        )
        assert visit.status_code == 201, visit.text
        deadline = date.fromisoformat(today) + timedelta(days=30)
        finding_id = str(uuid4())
        recorded = await inspection.post(
            f"/visits/{visit.json()['id']}/findings",
            json={
                "findings": [
                    {
                        "id": finding_id,
                        "product_id": item["id"],
                        "category": "food_safety",
                        "severity": "critical",
                        "outcome": "remediation",
                        "criterion": "An toàn thực phẩm",
                        "evidence": ["phiếu-kết-quả-M01"],
                        "lab_sample": {
                            "sample_code": "M01",
                            "analysis": "vi sinh",
                            "result": "fail",
                        },
                        "remediation_deadline": deadline.isoformat(),
                    }
                ]
            },
            headers=bearer(Role.INSPECTOR, subject="thanh-tra-ha-noi"),
        )
        assert recorded.status_code == 200, recorded.text

        # Past the deadline on the inspection clock, the scheduler marks it overdue.
        await inspection.post("/clock", json={"advance_days": 31})
        assert (await inspection.post("/scheduler/run")).json() == {"overdue": 1}
        [overdue] = (await inspection.get("/remediations", params={"status": "overdue"})).json()[
            "items"
        ]
        assert overdue["product_id"] == item["id"]

        # Due process: the notice, a reply period of 15 days, then the recommendation.
        notice = await inspection.post(
            "/notices",
            json={
                "finding_ids": [finding_id],
                "proposed": "revocation",
                "grounds": ["food_safety_breach"],
                "reply_days": 15,
            },
        )
        assert notice.status_code == 201, notice.text
        nid = notice.json()["id"]
        early = await inspection.post(f"/notices/{nid}/recommendation")
        assert early.status_code == 422 and problem(early)[0] == "notice_id"
        await inspection.post("/clock", json={"advance_days": 16})
        sent = await inspection.post(f"/notices/{nid}/recommendation")
        assert sent.status_code == 200, sent.text
        recommendation = sent.json()
        assert recommendation["certificate_id"] == certificate["certificate_id"]
        await published(
            kafka_bootstrap,
            topics.INSPECTION_FINDINGS,
            "RevocationRecommended",
            recommendation_id=recommendation["id"],
        )

        # Evaluation holds it for the committee, which revokes.
        async def pending() -> list[Any] | None:
            found = (await evaluation.get("/revocation-recommendations")).json()["items"]
            return [r for r in found if r["id"] == recommendation["id"]] or None

        [held] = await wait_until(pending, timeout_seconds=60, what="evaluation to hold it")
        assert held["grounds"] == ["food_safety_breach"]
        assert "food_safety (critical)" in held["findings"][0]
        revoked = await evaluation.post(
            f"/revocation-recommendations/{recommendation['id']}/decision",
            json={"revoke": True, "decision_number": "120/QĐ-UBND", "decision_date": today},
        )
        assert revoked.status_code == 200, revoked.text

        async def shown_revoked() -> bool:
            return bool((await lookup(registry, item["public_code"]))["status"] == "revoked")

        await wait_until(shown_revoked, timeout_seconds=60, what="the revocation in the lookup")

        async def suspended() -> dict[str, Any] | None:
            shown = (await trade.get(f"/listings/{listing['id']}")).json()
            return dict(shown) if shown["status"] == "suspended" else None

        off_sale = await wait_until(suspended, timeout_seconds=60, what="the listing suspended")
        assert off_sale["suspension_reason"] == "certificate_revoked"

        async def inspection_knows() -> bool:
            certs = (await inspection.get(f"/products/{item['id']}")).json()["certificates"]
            return bool(certs[0]["state"] == "revoked")

        await wait_until(inspection_knows, timeout_seconds=60, what="inspection's copy revoked")
        report = (await inspection.get(f"/campaigns/{cid}/report")).json()
        assert report["producers_inspected"] == 1 and report["outcomes"] == {"remediation": 1}
