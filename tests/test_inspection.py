"""The inspection service on the real broker and database, fed the certified population as
registry and evaluation publish it: a campaign plans, draws its sample by rule and by risk
(reproducibly), visits record findings, a remediation goes overdue on the injected clock, due
process runs to a revocation recommendation; commands over Kafka are answered; bad input is
refused with the field and the reason."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from ocop_contracts import Event, topics
from ocop_contracts.commands import inspection as cmd
from ocop_contracts.events import (
    FindingCategory,
    FindingOutcome,
    LegalForm,
    Level,
    ProducerRegistered,
    ProductCertified,
    ProductRegistered,
    Severity,
)
from ocop_inspection.app import create_app
from ocop_inspection.settings import InspectionSettings
from ocop_inspection.usecases import Inspection
from ocop_runtime.auth import Role
from ocop_runtime.testing import bearer, own_topics, running, wait_until
from tests.commands import send_command
from tests.flow import envelope_headers, header, records_on, send_events, send_raw

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")


# ---------------------------------------------------------------- the certified population


def producer_event(producer_id: UUID, district: str) -> ProducerRegistered:
    return ProducerRegistered(
        producer_id=producer_id,
        legal_form=LegalForm.COOPERATIVE,
        name=f"HTX {str(producer_id)[:8]}",
        commune_code="10" + district,
        district_code=district,
        registered_at=datetime.now(UTC),
    )


def product_event(product_id: UUID, producer_id: UUID, district: str, n: int) -> ProductRegistered:
    return ProductRegistered(
        product_id=product_id,
        producer_id=producer_id,
        producer_legal_form=LegalForm.COOPERATIVE,
        producer_name="HTX",
        name=f"Sản phẩm {n}",
        public_code=f"01-10{district}-{n:04d}-2019",
        lookup_url=f"https://ocop.example/p/{n}",
        classification="1048",
        product_set="1.1.1",
        sector="food",
        statistics_sector="food",
        commune_code="10" + district,
        district_code=district,
        registered_on=date(2018, 1, 2),
        registered_at=datetime.now(UTC),
    )


def certified_event(product_id: UUID, decided: date, star: int = 3) -> ProductCertified:
    return ProductCertified(
        certificate_id=uuid4(),
        certificate_number=f"GCN-{str(product_id)[:6]}",
        product_id=product_id,
        star=star,
        level=Level.CITY,
        decision_number="1/QĐ-UBND",
        decision_date=decided,
        valid_from=decided,
        valid_until=date(decided.year + 3, decided.month, decided.day) - timedelta(days=1),
        rulebook="1048",
        issued_at=datetime.now(UTC),
    )


class Population:
    """Producers with products in districts, certified on given days (or not at all)."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.products: dict[UUID, dict[str, Any]] = {}
        self.producers: dict[UUID, str] = {}

    def producer(self, district: str) -> UUID:
        pid = uuid4()
        self.producers[pid] = district
        self.events.append(producer_event(pid, district))
        return pid

    def product(self, producer_id: UUID, certified: date | None, star: int = 3) -> UUID:
        district = self.producers[producer_id]
        product_id = uuid4()
        n = len(self.products) + 1
        self.events.append(product_event(product_id, producer_id, district, n))
        certificate = None
        if certified is not None:
            event = certified_event(product_id, certified, star)
            self.events.append(event)
            certificate = event.certificate_id
        self.products[product_id] = {
            "producer_id": producer_id,
            "district": district,
            "certified": certified,
            "certificate_id": certificate,
        }
        return product_id

    def certified_in(self, first: int, last: int) -> set[UUID]:
        return {
            p
            for p, v in self.products.items()
            if v["certified"] and first <= v["certified"].year <= last
        }

    async def publish(self, bootstrap: str) -> None:
        """Producers first, then products, then certificates, as the services publish them."""
        order: dict[type[Event], int] = {
            ProducerRegistered: 0,
            ProductRegistered: 1,
            ProductCertified: 2,
        }
        await send_events(bootstrap, sorted(self.events, key=lambda e: order[type(e)]))


async def population_is(client: Any, as_of: date, expected: int) -> None:
    async def probe() -> bool:
        got = (await client.get("/population", params={"as_of": as_of.isoformat()})).json()
        return bool(got["certified_products"] == expected)

    await wait_until(probe, timeout_seconds=60, what=f"{expected} certified products copied")


def fixed_clock(day: date) -> Inspection:
    """Use cases whose real clock stands still at 09:00 in Hanoi on ``day``."""
    at = datetime(day.year, day.month, day.day, 9, 0, tzinfo=HANOI)
    return Inspection(real_clock=lambda: at)


def inspection_app(make_settings: Any, clock_day: date | None = None, **overrides: Any) -> Any:
    settings = make_settings(InspectionSettings, **overrides)
    return create_app(settings, inspection=fixed_clock(clock_day) if clock_day else None)


def campaign_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Kiểm tra sản phẩm OCOP sau công nhận, quý IV/2021",
        "year": 2021,
        "lead_agency": "Văn phòng Điều phối NTM thành phố",
        "departments": ["agriculture", "health", "industry_and_trade"],
        "scope": ["label", "environment", "food_safety", "dossier"],
        "units": [],
        "target_producers": 5,
        "target_products": 10,
        "starts_on": "2021-10-01",
        "ends_on": "2021-12-31",
    }
    body.update(changes)
    return body


def problem(response: Any) -> tuple[str, str]:
    """The field and the reason of a 4xx."""
    [detail] = response.json()["detail"]
    return str(detail["loc"][-1]), str(detail["msg"])


async def on_topic(bootstrap: str, topic: str, type_name: str, where: dict[str, str]) -> list[Any]:
    """Values of this test's ``type_name`` events on ``topic`` whose fields match ``where``."""

    def keep(r: Any) -> bool:
        if not (header(r, "ce_type") or "").endswith(f".{type_name}.v1"):
            return False
        value = json.loads(r.value)
        return all(str(value.get(k)) == v for k, v in where.items())

    return [json.loads(r.value) for r in await records_on(bootstrap, topic, keep)]


async def published(bootstrap: str, topic: str, type_name: str, **where: str) -> list[Any]:
    async def probe() -> list[Any] | None:
        return await on_topic(bootstrap, topic, type_name, where) or None

    return await wait_until(probe, timeout_seconds=60, what=f"{type_name} on {topic}")


# ---------------------------------------------------------------- the tests


async def test_a_campaign_draws_by_rule_and_risk_reproducibly_and_lists_its_sample(
    make_settings: Any, kafka_bootstrap: str
) -> None:
    world = Population()
    for i, district in enumerate(["268", "269", "270", "271"] * 3):
        owner = world.producer(district)
        for k in range(3):
            world.product(owner, date(2018 + (i + k) % 3, 10 + k, 10), star=3 + (i + k) % 3)
    async with running(inspection_app(make_settings, date(2021, 9, 20))) as client:
        await world.publish(kafka_bootstrap)
        await population_is(client, date(2021, 10, 1), 36)
        planned = await client.post("/campaigns", json=campaign_body())
        assert planned.status_code == 201, planned.text
        campaign = planned.json()
        assert campaign["status"] == "planned"
        again = await client.post("/campaigns", json=campaign_body(id=campaign["id"]))
        assert again.status_code == 200
        clash = await client.post(
            "/campaigns",
            json=campaign_body(
                id=campaign["id"], year=2022, starts_on="2022-10-01", ends_on="2022-12-31"
            ),
        )
        assert clash.status_code == 409

        drawn = await client.post(
            f"/campaigns/{campaign['id']}/sample",
            json={"method": "rule", "certified_from_year": 2019, "certified_to_year": 2020},
        )
        assert drawn.status_code == 200, drawn.text
        expected = world.certified_in(2019, 2020)
        assert {UUID(i["product_id"]) for i in drawn.json()["items"]} == expected
        assert drawn.json()["population"] == 36
        assert all(i["reasons"][0].startswith("certified in 20") for i in drawn.json()["items"])

        # The sample, page by page, filtered by unit.
        seen: list[str] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 7, "unit": "269"}
            if cursor:
                params["cursor"] = cursor
            page = (await client.get(f"/campaigns/{campaign['id']}/sample", params=params)).json()
            seen += [i["product_id"] for i in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        in_269 = {str(p) for p in expected if world.products[p]["district"] == "269"}
        assert sorted(seen) == sorted(in_269) and page["total"] == len(in_269)

        # Two campaigns drawing by risk with the same seed draw the same products.
        risk_draws = []
        for name in ("A", "B"):
            other = (await client.post("/campaigns", json=campaign_body(name=name))).json()
            r = await client.post(
                f"/campaigns/{other['id']}/sample", json={"method": "risk", "size": 8, "seed": 2021}
            )
            assert r.status_code == 200, r.text
            risk_draws.append(
                [(i["product_id"], i["risk"], i["reasons"]) for i in r.json()["items"]]
            )
            record = (await client.get(f"/campaigns/{other['id']}/draws")).json()
            assert record[0]["seed"] == 2021 and record[0]["method"] == "risk"
        assert risk_draws[0] == risk_draws[1] and len(risk_draws[0]) == 8
        assert all(reasons[0] == f"risk {risk}" for _, risk, reasons in risk_draws[0])

        # A risk draw needs its size and seed; a rule draw takes neither.
        for body, field in (
            ({"method": "risk", "seed": 1}, "size"),
            ({"method": "rule", "seed": 1}, "seed"),
            (
                {"method": "rule", "certified_from_year": 2021, "certified_to_year": 2019},
                "certified_to_year",
            ),
            ({"method": "rule", "certified_from_year": 2030}, "sample"),
        ):
            refused = await client.post(f"/campaigns/{campaign['id']}/sample", json=body)
            assert refused.status_code == 422, (body, refused.text)
            assert problem(refused)[0] == field

        amended = await client.patch(f"/campaigns/{campaign['id']}", json={"target_products": 12})
        assert amended.status_code == 200 and amended.json()["target_products"] == 12
        backwards = await client.patch(
            f"/campaigns/{campaign['id']}", json={"ends_on": "2021-09-01"}
        )
        assert backwards.status_code == 422 and problem(backwards)[0] == "ends_on"
        sampled = await published(
            kafka_bootstrap, topics.INSPECTION_CAMPAIGNS, "SampleDrawn", campaign_id=campaign["id"]
        )
        assert {UUID(p) for p in sampled[0]["product_ids"]} == expected
        listed = (await client.get("/campaigns", params={"status": "planned", "year": 2021})).json()
        assert {c["id"] for c in listed["items"]} >= {campaign["id"]}


async def test_visits_findings_overdue_remediation_and_due_process_to_a_recommendation(
    make_settings: Any, kafka_bootstrap: str
) -> None:
    world = Population()
    sampled = world.producer("268")
    food, label = (world.product(sampled, date(2019, 5, 2)) for _ in range(2))
    late = world.product(sampled, date(2021, 11, 1))  # certified after the visit
    never = world.product(sampled, None)
    elsewhere = world.producer("270")
    elsewhere_product = world.product(elsewhere, date(2019, 6, 1))
    async with running(inspection_app(make_settings, date(2021, 10, 20))) as client:
        await world.publish(kafka_bootstrap)
        await population_is(client, date(2021, 10, 20), 3)
        campaign = (await client.post("/campaigns", json=campaign_body())).json()
        cid = campaign["id"]
        added = await client.post(
            f"/campaigns/{cid}/sample/producers",
            json={"producer_id": str(sampled), "reason": "Phản ánh của người tiêu dùng"},
        )
        assert added.status_code == 200, added.text
        assert {i["product_id"] for i in added.json()["items"]} == {str(food), str(label)}

        # A producer outside the sample needs a reason.
        outside = {
            "campaign_id": cid,
            "producer_id": str(elsewhere),
            "visited_on": "2021-10-15",
            "product_ids": [str(elsewhere_product)],
        }
        refused = await client.post("/visits", json=outside)
        assert refused.status_code == 422
        assert problem(refused)[0] == "reason_outside_sample"
        with_reason = await client.post(
            "/visits", json={**outside, "reason_outside_sample": "Cùng cụm sản xuất"}
        )
        assert with_reason.status_code == 201 and with_reason.json()["outside_sample"]

        visit_id = str(uuid4())
        visit = {
            "id": visit_id,
            "campaign_id": cid,
            "producer_id": str(sampled),
            "visited_on": "2021-10-18",
            "product_ids": [str(food), str(label), str(late), str(never)],
            "minutes": "Biên bản kiểm tra: cơ sở sản xuất, nhãn, hồ sơ.",
        }
        elsewhere_inspector = bearer(Role.INSPECTOR, units=["270"], subject="thanh-tra-270")
        other_unit = await client.post("/visits", json=visit, headers=elsewhere_inspector)
        assert other_unit.status_code == 403 and problem(other_unit)[0] == "producer_id"
        made = await client.post(
            "/visits", json=visit, headers=bearer(Role.INSPECTOR, units=["268"], subject="tt")
        )
        assert made.status_code == 201, made.text
        assert made.json()["unit"] == "268"
        assert (await client.post("/visits", json=visit)).status_code == 200  # resent

        finding = {
            "product_id": str(food),
            "category": "food_safety",
            "severity": "critical",
            "outcome": "remediation",
            "criterion": "A.2 an toàn thực phẩm",
            "evidence": ["ảnh-01.jpg", "biên-bản-lấy-mẫu-07"],
            "lab_sample": {"sample_code": "M-07", "analysis": "vi sinh", "result": "fail"},
            "remediation_deadline": "2021-11-18",
        }
        for change, field in (
            ({"remediation_deadline": "2021-10-10"}, "findings.0.remediation_deadline"),
            ({"product_id": str(late)}, "findings.0.product_id"),
            ({"product_id": str(never)}, "findings.0.product_id"),
        ):
            bad = await client.post(
                f"/visits/{visit_id}/findings", json={"findings": [{**finding, **change}]}
            )
            assert bad.status_code == 422, bad.text
            got_field, reason = problem(bad)
            assert got_field == field, bad.text
            if field.endswith("product_id"):
                assert "held no OCOP certificate on 2021-10-18" in reason
        fid = str(uuid4())
        recorded = await client.post(
            f"/visits/{visit_id}/findings",
            json={
                "findings": [
                    {**finding, "id": fid},
                    {
                        "product_id": str(label),
                        "category": "label",
                        "severity": "minor",
                        "outcome": "advice",
                    },
                ]
            },
        )
        assert recorded.status_code == 200, recorded.text
        assert recorded.json()["recorded"] == 2
        found = (
            await client.get("/findings", params={"category": "food_safety", "campaign_id": cid})
        ).json()
        assert [f["id"] for f in found["items"]] == [fid]
        assert found["items"][0]["lab_sample"]["result"] == "fail"

        [remediation] = (
            await client.get("/remediations", params={"product_id": str(food)})
        ).json()["items"]
        assert remediation["status"] == "open" and remediation["deadline"] == "2021-11-18"
        # An inspector of another unit neither sees nor acts on this producer's records: they
        # are answered as if they did not exist (404), and its lists leave them out; one of its
        # own unit sees them and may act (a resend records nothing).
        for path, body, field in (
            (f"/visits/{visit_id}/findings", {"findings": [finding]}, "visit_id"),
            (
                f"/remediations/{remediation['id']}/completion",
                {"completed_on": "2021-10-25"},
                "remediation_id",
            ),
            (
                f"/remediations/{remediation['id']}/extension",
                {"deadline": "2021-12-01"},
                "remediation_id",
            ),
        ):
            refused = await client.post(path, json=body, headers=elsewhere_inspector)
            assert refused.status_code == 404, refused.text
            assert problem(refused)[0] == field
        own_unit = bearer(Role.INSPECTOR, units=["268"], subject="tt")
        for path in (
            f"/visits/{visit_id}",
            f"/findings/{fid}",
            f"/remediations/{remediation['id']}",
        ):
            assert (await client.get(path, headers=elsewhere_inspector)).status_code == 404
            assert (await client.get(path, headers=own_unit)).status_code == 200
        for path, visible_elsewhere in (("/visits", 1), ("/findings", 0), ("/remediations", 0)):
            theirs = (await client.get(path, headers=elsewhere_inspector)).json()
            ours = (await client.get(path, headers=own_unit)).json()
            assert theirs["total"] == visible_elsewhere and ours["total"] >= 1, (path, theirs)
            assert {i["producer_id"] for i in ours["items"]} == {str(sampled)}, path
            assert {i["producer_id"] for i in theirs["items"]} <= {str(elsewhere)}, path
        sample = f"/campaigns/{cid}/sample"
        assert (await client.get(sample, headers=elsewhere_inspector)).json()["total"] == 0
        ours_sample = (await client.get(sample, headers=own_unit)).json()["items"]
        assert {i["producer_id"] for i in ours_sample} == {str(sampled)}
        # A campaign's figures are the campaign's; its minutes per producer only your units'.
        reports = [
            (await client.get(f"/campaigns/{cid}/report", headers=headers)).json()
            for headers in (elsewhere_inspector, own_unit, {})
        ]
        assert [{p["producer_id"] for p in r["producers"]} for r in reports] == [
            {str(elsewhere)},
            {str(sampled)},
            {str(elsewhere), str(sampled)},
        ]
        assert len({(r["findings"], r["producers_inspected"]) for r in reports}) == 1
        same_unit = await client.post(
            f"/visits/{visit_id}/findings",
            json={"findings": [{**finding, "id": fid}]},
            headers=own_unit,
        )
        assert same_unit.status_code == 200 and same_unit.json()["recorded"] == 0
        assert (await client.get(f"/remediations/{remediation['id']}")).json()["status"] == "open"
        assert (await client.post("/scheduler/run")).json() == {"overdue": 0}
        # On the deadline day it is still open; the day after, overdue.
        await client.post("/clock", json={"advance_days": 29})
        assert (await client.post("/scheduler/run")).json() == {"overdue": 0}
        await client.post("/clock", json={"advance_days": 1})
        assert (await client.post("/scheduler/run")).json() == {"overdue": 1}
        assert (await client.post("/scheduler/run")).json() == {"overdue": 0}
        now = (await client.get(f"/remediations/{remediation['id']}")).json()
        assert now["status"] == "overdue" and now["overdue_on"] == "2021-11-19"
        await published(
            kafka_bootstrap,
            topics.INSPECTION_FINDINGS,
            "RemediationOverdue",
            remediation_id=remediation["id"],
        )

        notice = await client.post(
            "/notices",
            json={
                "finding_ids": [fid],
                "proposed": "revocation",
                "grounds": ["food_safety_breach"],
                "reply_days": 15,
            },
        )
        assert notice.status_code == 201, notice.text
        nid = notice.json()["id"]
        assert notice.json()["reply_by"] == "2021-12-04"
        escalated = (await client.get(f"/remediations/{remediation['id']}")).json()
        assert escalated["status"] == "escalated"
        early = await client.post(f"/notices/{nid}/recommendation")
        assert early.status_code == 422
        assert problem(early)[0] == "notice_id" and "2021-12-04" in problem(early)[1]
        foreign_reply = await client.post(
            f"/notices/{nid}/reply", json={"reply": "x"}, headers=elsewhere_inspector
        )
        assert foreign_reply.status_code == 404 and problem(foreign_reply)[0] == "notice_id"
        assert (await client.get(f"/notices/{nid}", headers=elsewhere_inspector)).status_code == 404
        assert (await client.get("/notices", headers=elsewhere_inspector)).json()["total"] == 0
        reply = await client.post(f"/notices/{nid}/reply", json={"reply": "Đã thu hồi lô hàng"})
        assert reply.status_code == 200 and reply.json()["status"] == "replied"
        assert (await client.post(f"/notices/{nid}/recommendation")).status_code == 422
        await client.post("/clock", json={"advance_days": 15})  # the last day to reply
        assert (await client.post(f"/notices/{nid}/recommendation")).status_code == 422
        await client.post("/clock", json={"advance_days": 1})
        sent = await client.post(f"/notices/{nid}/recommendation")
        assert sent.status_code == 200, sent.text
        rec = sent.json()
        assert rec["certificate_id"] == str(world.products[food]["certificate_id"])
        assert (await client.post(f"/notices/{nid}/recommendation")).status_code == 422
        [event] = await published(
            kafka_bootstrap,
            topics.INSPECTION_FINDINGS,
            "RevocationRecommended",
            recommendation_id=rec["id"],
        )
        assert event["grounds"] == ["food_safety_breach"] and event["producer_replied"] is True
        assert "food_safety (critical)" in event["findings"][0]
        assert "Biên bản" not in json.dumps(event)  # the minutes stay in inspection

        label_finding = recorded.json()["findings"][1]["id"]
        second = await client.post(
            "/notices",
            json={"finding_ids": [label_finding], "proposed": "reevaluation", "reply_days": 5},
        )
        assert second.status_code == 201, second.text
        await client.post("/clock", json={"advance_days": 6})
        again_sent = await client.post(f"/notices/{second.json()['id']}/recommendation")
        assert again_sent.status_code == 200 and again_sent.json()["kind"] == "reevaluation"
        await published(
            kafka_bootstrap,
            topics.INSPECTION_FINDINGS,
            "ReevaluationRecommended",
            recommendation_id=again_sent.json()["id"],
        )
        visits = (await client.get("/visits", params={"campaign_id": cid, "limit": 1})).json()
        assert visits["total"] == 2 and visits["next_cursor"]
        notices = (await client.get("/notices", params={"producer_id": str(sampled)})).json()
        assert {n["status"] for n in notices["items"]} == {"recommended"}
        kinds = (await client.get("/recommendations", params={"product_id": str(label)})).json()
        assert [r["kind"] for r in kinds["items"]] == ["reevaluation"]

        report = (await client.get(f"/campaigns/{cid}/report")).json()
        assert (report["producers_inspected"], report["products_inspected"]) == (2, 5)
        assert report["findings_by_category"] == {"food_safety": 1, "label": 1}
        assert report["units_covered"] == ["268", "270"]
        minutes = {p["producer_id"]: p for p in report["producers"]}
        assert minutes[str(sampled)]["visits"][0]["minutes"] == visit["minutes"]
        assert (await client.post(f"/campaigns/{cid}/report")).status_code == 422  # not closed
        assert (await client.post(f"/campaigns/{cid}/closure")).json()["status"] == "closed"
        assert (await client.post(f"/campaigns/{cid}/report")).status_code == 200
        late_visit = await client.post("/visits", json={**visit, "id": str(uuid4())})
        assert late_visit.status_code == 422 and problem(late_visit)[0] == "campaign_id"


async def test_visits_and_findings_arrive_as_commands_and_bad_ones_are_rejected(
    make_settings: Any, kafka_bootstrap: str
) -> None:
    world = Population()
    owner = world.producer("271")
    item = world.product(owner, date(2020, 2, 2))
    async with running(inspection_app(make_settings, date(2021, 11, 1))) as client:
        await world.publish(kafka_bootstrap)
        await population_is(client, date(2021, 11, 1), 1)
        visit = cmd.RecordVisit(
            visit_id=uuid4(), producer_id=owner, visited_on=date(2021, 10, 30), product_ids=[item]
        )
        first = await send_command(
            kafka_bootstrap, visit, role=Role.INSPECTOR, subject="thanh-tra-1"
        )
        again = await send_command(
            kafka_bootstrap, visit, role=Role.INSPECTOR, subject="thanh-tra-1"
        )
        anonymous = await send_command(kafka_bootstrap, visit, role=None)
        findings = cmd.RecordFindings(
            visit_id=visit.visit_id,
            findings=[
                cmd.FindingInput(
                    finding_id=uuid4(),
                    product_id=item,
                    category=FindingCategory.PACKAGING,
                    severity=Severity.MINOR,
                    outcome=FindingOutcome.REMEDIATION,
                    remediation_deadline=date(2021, 10, 1),
                )
            ],
        )
        bad = await send_command(kafka_bootstrap, findings, role=Role.INSPECTOR)
        trader = await send_command(kafka_bootstrap, findings, role=Role.TRADE_OFFICER)
        elsewhere = await send_command(
            kafka_bootstrap, findings, role=Role.INSPECTOR, units=["268"], subject="thanh-tra-268"
        )

        async def answers() -> dict[str, Any] | None:
            by_command = {
                value["command_id"]: value
                for value in (
                    json.loads(r.value)
                    for r in await records_on(
                        kafka_bootstrap, topics.replies("inspection"), lambda r: True
                    )
                )
            }
            wanted = (first, again, anonymous, bad, trader, elsewhere)
            return by_command if all(w in by_command for w in wanted) else None

        replies = await wait_until(answers, timeout_seconds=60, what="the six answers")
        assert replies[first]["duplicate"] is False and "errors" not in replies[first]
        assert replies[again]["duplicate"] is True
        assert replies[anonymous]["errors"][0]["reason"].startswith("unauthenticated:")
        assert replies[bad]["errors"][0]["field"] == "findings.0.remediation_deadline"
        assert replies[trader]["errors"][0]["reason"].startswith("forbidden:")
        assert replies[elsewhere]["errors"][0]["field"] == "visit_id"
        assert "does not exist" in replies[elsewhere]["errors"][0]["reason"]
        stored = (await client.get(f"/visits/{visit.visit_id}")).json()
        assert stored["recorded_by"] == "thanh-tra-1"
        assert (await client.get("/findings", params={"visit_id": str(visit.visit_id)})).json()[
            "total"
        ] == 0


async def test_a_malformed_certificate_event_goes_to_the_dead_letter_topic_with_its_reason(
    make_settings: Any, kafka_bootstrap: str
) -> None:
    world = Population()
    owner = world.producer("268")
    good = world.product(owner, date(2020, 1, 5))
    broken = certified_event(uuid4(), date(2020, 1, 1))
    value = json.loads(broken.to_json())
    del value["valid_until"]
    value["star"] = 9
    backwards = certified_event(uuid4(), date(2020, 1, 1)).model_copy(
        update={"valid_until": date(2019, 1, 1)}
    )
    async with running(inspection_app(make_settings)) as client:
        await world.publish(kafka_bootstrap)
        await population_is(client, date(2021, 1, 1), 1)
        await send_raw(
            kafka_bootstrap,
            topics.EVALUATION_CERTIFICATES,
            key=broken.key().encode(),
            value=json.dumps(value).encode(),
            headers=envelope_headers(broken),
        )
        await send_events(kafka_bootstrap, [backwards])

        async def letters() -> Sequence[Any] | None:
            found = await records_on(
                kafka_bootstrap,
                topics.dlq("inspection"),
                lambda r: header(r, "ocop_dlq_consumer") == "inspection",
            )
            keys = {r.key for r in found}
            return found if {broken.key().encode(), backwards.key().encode()} <= keys else None

        dead = await wait_until(letters, timeout_seconds=60, what="the dead letters")
        by_key = {r.key: r for r in dead}
        reason = header(by_key[broken.key().encode()], "ocop_dlq_reason") or ""
        assert "valid_until" in reason and "star" in reason
        assert "valid_until" in (header(by_key[backwards.key().encode()], "ocop_dlq_reason") or "")
        assert header(by_key[broken.key().encode()], "ocop_dlq_topic") == own_topics().physical(
            topics.EVALUATION_CERTIFICATES
        )
        held = (await client.get(f"/products/{good}")).json()
        assert len(held["certificates"]) == 1
        assert (await client.get(f"/products/{broken.product_id}")).status_code == 404
