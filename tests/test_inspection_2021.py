"""Hanoi's 2021 post-recognition campaign, loaded through the APIs on the real stack.

The certified population enters as it would today: the registry imports 50 producers and 364
products (CSV), evaluation's history import loads their certificates decided 2018-2020, and
inspection copies both from the events. The city's interdisciplinary team plans Q4 2021 for
50 producers and more than 360 products certified 2018-2020, draws that sample by rule, and
visits 41 producers with 334 products in 18 districts, recording findings in packaging,
labels, IP certificates, environment and dossiers. The report gives those figures back."""

from __future__ import annotations

import csv
import itertools
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from ocop_contracts import topics
from ocop_evaluation.domain.history import COLUMNS
from ocop_runtime.testing import running, wait_until
from tests.flow import evaluation_app, registry_app, tax_code
from tests.test_inspection import inspection_app, population_is, published

ROOT = Path(__file__).resolve().parents[1]
CATEGORIES = ("packaging", "label", "ip_certificate", "environment", "dossier")


def communes_of_20_districts() -> list[tuple[str, str]]:
    """(commune, district): the first commune of each of 20 districts outside the inner city."""
    path = ROOT / "services/registry/data/admin_units/communes_pre2025.csv"
    seen: dict[str, str] = {}
    with path.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["district_code"] >= "016" and row["district_code"] not in seen:
                seen[row["district_code"]] = row["code"]
    return [(c, d) for d, c in sorted(seen.items())][:20]


def plan_population() -> list[dict[str, Any]]:
    """50 producers in 20 districts. Inspected: 41 producers in the first 18 districts (six
    with 9 products, 35 with 8: 334). Not inspected: 9 producers (three with 4 products, six
    with 3: 30), among them every producer of the last two districts. 364 products."""
    units = communes_of_20_districts()
    # Districts 1-10 hold three producers, 11-18 two, 19-20 two: 30 + 16 + 4 = 50.
    slots = [u for i, u in enumerate(units[:18]) for _ in range(3 if i < 10 else 2)]
    slots += [u for u in units[18:] for _ in range(2)]
    # Of the 46 producers in districts 1-18, the last one of districts 1-5 is not inspected.
    skipped = {2, 5, 8, 11, 14} | set(range(46, 50))
    inspected = [i for i in range(50) if i not in skipped]
    sizes = {i: (9 if k < 6 else 8) for k, i in enumerate(inspected)}
    sizes |= {i: (4 if k < 3 else 3) for k, i in enumerate(sorted(skipped))}
    return [
        {
            "commune": slots[i][0],
            "district": slots[i][1],
            "inspected": i in inspected,
            "products": sizes[i],
            "registration_number": tax_code(),
            "name": f"HTX Sản xuất OCOP {i:02d}",
        }
        for i in range(50)
    ]


def registry_csv(producers: list[dict[str, Any]]) -> str:
    lines = [
        "commune_code,producer_name,legal_form,registration_number,producer_address,"
        "product_name,product_set,registered_on"
    ]
    for p in producers:
        for k in range(p["products"]):
            lines.append(
                f"{p['commune']},{p['name']},HTX,{p['registration_number']},"
                f'"Thôn 1",Sản phẩm {k} của {p["name"]},1048.food.grain,2018-06-01'
            )
    return "\n".join(lines) + "\n"


def history_csv(products: list[dict[str, Any]]) -> str:
    """One certificate a product, decided from September 2019 to December 2020 (all held on
    1 October 2021). The evaluation rules start with 1048/QĐ-TTg (21 August 2019): what Hanoi
    certified in 2018 under the earlier regime cannot be loaded, so the 2018-2020 cohort is
    dated from then."""
    lines = [",".join(COLUMNS)]
    first = date(2019, 9, 2)
    for n, p in enumerate(products):
        decided = first + timedelta(days=(n * 7) % 480)
        row = {
            "public_code": p["public_code"],
            "action": "certify",
            "level": "city",
            "star": "3" if n % 3 else "4",
            "rulebook": "1048",
            "decision_number": f"{1000 + n}/QĐ-UBND",
            "decision_date": decided.isoformat(),
        }
        lines.append(",".join(row.get(c, "") for c in COLUMNS))
    return "\n".join(lines) + "\n"


async def post_csv(client: Any, path: str, text: str) -> dict[str, Any]:
    response = await client.post(path, content=text.encode(), headers={"content-type": "text/csv"})
    assert response.status_code == 200, response.text[:2000]
    return dict(response.json())


async def all_products(registry: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 500}
        if cursor:
            params["cursor"] = cursor
        page = (await registry.get("/products", params=params)).json()
        found += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return found


@pytest.mark.timeout(600)
async def test_the_2021_campaign_reports_41_producers_334_products_in_18_districts(
    make_settings: Any, kafka_bootstrap: str
) -> None:
    plan = plan_population()
    async with (
        running(registry_app(make_settings)) as registry,
        running(evaluation_app(make_settings)) as evaluation,
        running(inspection_app(make_settings)) as inspection,
    ):
        imported = await post_csv(registry, "/imports/products", registry_csv(plan))
        assert imported.get("errors") in ([], None), imported["errors"][:3]
        products = await all_products(registry)
        assert len(products) == 364

        history = history_csv(sorted(products, key=lambda p: p["public_code"]))

        last: list[Any] = []

        async def evaluation_knows_them() -> bool:
            report = await evaluation.post(
                "/imports/certificates",
                content=history.encode(),
                params={"dry_run": "true"},
                headers={"content-type": "text/csv"},
            )
            last[:] = report.json()["errors"][:3] if report.status_code == 200 else [report.text]
            return report.status_code == 200 and report.json()["rejected"] == 0

        try:
            await wait_until(evaluation_knows_them, timeout_seconds=120, what="evaluation's copies")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; last errors: {last}") from None
        loaded = await post_csv(evaluation, "/imports/certificates", history)
        assert loaded["created"] == 364 and loaded["rejected"] == 0

        await population_is(inspection, date(2021, 10, 1), 364)

        campaign = await inspection.post(
            "/campaigns",
            json={
                "name": "Kiểm tra, giám sát sản phẩm OCOP đã công nhận 2018-2020 (quý IV/2021)",
                "year": 2021,
                "lead_agency": "Văn phòng Điều phối Chương trình xây dựng nông thôn mới thành phố",
                "departments": ["agriculture", "health", "industry_and_trade"],
                "scope": ["label", "environment", "food_safety", "dossier", "packaging"],
                "units": sorted({p["district"] for p in plan}),
                "target_producers": 50,
                "target_products": 364,
                "starts_on": "2021-10-01",
                "ends_on": "2021-12-31",
            },
        )
        assert campaign.status_code == 201, campaign.text
        cid = campaign.json()["id"]
        drawn = await inspection.post(
            f"/campaigns/{cid}/sample",
            json={"method": "rule", "certified_from_year": 2018, "certified_to_year": 2020},
        )
        assert drawn.status_code == 200, drawn.text
        assert (drawn.json()["sample_producers"], drawn.json()["sample_products"]) == (50, 364)

        by_producer: dict[str, list[dict[str, Any]]] = {}
        for p in products:
            by_producer.setdefault(p["producer_id"], []).append(p)
        names = {p["producer_id"]: p["name"].split(" của ", 1)[1] for p in products}
        inspected_names = {p["name"] for p in plan if p["inspected"]}
        visited = sorted(
            (pid for pid, n in names.items() if n in inspected_names), key=lambda x: names[x] or ""
        )
        assert len(visited) == 41
        expected = Counter[str]()
        days = itertools.cycle(date(2021, 10, 5) + timedelta(days=d) for d in range(80))
        categories = itertools.cycle(CATEGORIES)
        for pid in visited:
            items = by_producer[pid]
            visit = await inspection.post(
                "/visits",
                json={
                    "campaign_id": cid,
                    "producer_id": pid,
                    "visited_on": next(days).isoformat(),
                    "product_ids": [p["id"] for p in items],
                    "minutes": f"Biên bản kiểm tra {names[pid]}",
                },
            )
            assert visit.status_code == 201, visit.text
            findings = []
            for p in items[:2]:
                category = next(categories)
                expected[category] += 1
                findings.append(
                    {
                        "product_id": p["id"],
                        "category": category,
                        "severity": "minor",
                        "outcome": "advice",
                        "evidence": [f"ảnh-{p['public_code']}"],
                    }
                )
            recorded = await inspection.post(
                f"/visits/{visit.json()['id']}/findings", json={"findings": findings}
            )
            assert recorded.status_code == 200, recorded.text

        assert (await inspection.post(f"/campaigns/{cid}/closure")).status_code == 200
        reported = await inspection.post(f"/campaigns/{cid}/report")
        assert reported.status_code == 200, reported.text
        report = reported.json()
        assert (report["producers_planned"], report["products_planned"]) == (50, 364)
        assert (report["producers_sampled"], report["products_sampled"]) == (50, 364)
        assert (report["producers_inspected"], report["products_inspected"]) == (41, 334)
        assert len(report["units_covered"]) == 18
        assert report["units_covered"] == sorted({p["district"] for p in plan if p["inspected"]})
        assert report["findings_by_category"] == dict(sorted(expected.items()))
        assert set(report["findings_by_category"]) == set(CATEGORIES)
        assert report["outcomes"] == {"advice": 82}
        assert len(report["producers"]) == 41
        assert all(p["visits"][0]["minutes"].startswith("Biên bản") for p in report["producers"])
        [event] = await published(
            kafka_bootstrap, topics.INSPECTION_CAMPAIGNS, "CampaignReported", campaign_id=cid
        )
        assert (event["producers_inspected"], event["products_inspected"]) == (41, 334)
        assert len(event["units_covered"]) == 18
