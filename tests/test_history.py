"""The history import on the real broker and database: certificates decided before the system
enter evaluation from a CSV, publish what a round would with their original dates, and the
registry's public lookup shows the true history on any day."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import typer
from typer.testing import CliRunner

from ocop_contracts import topics
from ocop_evaluation import cli as evaluation_cli
from ocop_evaluation import domain
from ocop_evaluation.domain.history import COLUMNS
from ocop_registry import cli as registry_cli
from ocop_runtime.auth import Role
from ocop_runtime.testing import running, serving, token, wait_until
from tests.flow import evaluation_app, records_on, registry_app
from tests.test_registry import lookup, producer, product

FOOD_1048 = "1048.food.grain"


def history_csv(rows: list[dict[str, str]]) -> str:
    lines = [",".join(COLUMNS)]
    lines += [",".join(r.get(c, "") for c in COLUMNS) for r in rows]
    return "\n".join(lines) + "\n"


async def post_history(evaluation: Any, text: str, **params: str) -> dict[str, Any]:
    response = await evaluation.post(
        "/imports/certificates",
        content=text.encode(),
        params=params,
        headers={"content-type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def known_to_evaluation(
    evaluation: Any, codes: list[str], named: tuple[tuple[str, str], ...] = ()
) -> None:
    """Wait until evaluation's copies of registry's products and producers hold ``codes`` and
    the (registration number, product name) pairs ``named`` (products and producers come on
    topics of their own, so either may arrive first)."""
    probe = {"action": "revoke", "decision_date": "2020-01-01", "grounds": "quality_mismatch"}
    probe_csv = history_csv(
        [{**probe, "public_code": c, "decision_number": "probe"} for c in codes]
        + [
            {**probe, "registration_number": n, "product_name": name, "decision_number": "probe"}
            for n, name in named
        ]
    )

    async def known() -> bool:
        report = await post_history(evaluation, probe_csv, dry_run="true")
        return not any(e["field"] in ("public_code", "product_name") for e in report["errors"])

    await wait_until(known, timeout_seconds=60, what="evaluation to know the products")


async def test_history_rows_become_certificates_the_lookup_shows_on_their_own_dates(
    make_settings: Any, kafka_bootstrap: str
) -> None:
    async with (
        running(registry_app(make_settings)) as registry,
        running(evaluation_app(make_settings)) as evaluation,
    ):
        owner = await producer(registry)
        first, second, third = [
            await product(registry, owner["id"], registered_on="2019-10-01", product_set=FOOD_1048)
            for _ in range(3)
        ]
        await known_to_evaluation(
            evaluation,
            [p["public_code"] for p in (first, second, third)],
            ((owner["registration_number"], second["name"]),),
        )
        today = date.fromisoformat((await evaluation.get("/clock")).json()["now"][:10])
        recent = today - timedelta(days=100)
        rows = [
            # A city 4★, nominated, and 5★ from the central council; it ended in 2023.
            {
                "public_code": first["public_code"],
                "action": "certify",
                "level": "city",
                "star": "4",
                "rulebook": "1048",
                "score": "91.5",
                "decision_number": "1147/QĐ-UBND",
                "decision_date": "2020-03-20",
            },
            {
                "public_code": first["public_code"],
                "action": "nominate",
                "level": "central",
                "decision_number": "N-5/2020",
                "decision_date": "2020-03-20",
            },
            {
                "public_code": first["public_code"],
                "action": "upgrade",
                "level": "central",
                "star": "5",
                "rulebook": "1048",
                "decision_number": "3500/QĐ-BNN",
                "decision_date": "2020-11-02",
            },
            # Found by its producer's number and its name; revoked in 2022.
            {
                "registration_number": owner["registration_number"],
                "product_name": second["name"].upper(),
                "action": "certify",
                "level": "city",
                "star": "3",
                "rulebook": "1048",
                "decision_number": "2200/QĐ-UBND",
                "decision_date": "2021-06-01",
            },
            {
                "public_code": second["public_code"],
                "action": "revoke",
                "grounds": "food_safety_breach",
                "decision_number": "R-12/2022",
                "decision_date": "2022-01-10",
            },
            # Live today.
            {
                "public_code": third["public_code"],
                "action": "certify",
                "level": "city",
                "star": "4",
                "rulebook": domain.rulebook_on(recent).ref.id,
                "decision_number": "900/QĐ-UBND",
                "decision_date": recent.isoformat(),
            },
            # Refused: a city does not certify 5★; an unknown product.
            {
                "public_code": third["public_code"],
                "action": "certify",
                "level": "city",
                "star": "5",
                "rulebook": "1048",
                "decision_number": "X/1",
                "decision_date": "2020-05-05",
            },
            {
                "public_code": "01-99999-0001-2019",
                "action": "certify",
                "level": "city",
                "star": "4",
                "rulebook": "1048",
                "decision_number": "X/2",
                "decision_date": "2020-05-05",
            },
        ]
        text = history_csv(rows)

        report = await post_history(evaluation, text)
        again = await post_history(evaluation, text)
        overlap = await post_history(
            evaluation,
            history_csv(
                [
                    {
                        **rows[5],
                        "decision_number": "901/QĐ-UBND",
                        "decision_date": (recent + timedelta(days=1)).isoformat(),
                    }
                ]
            ),
        )

        async def shown(
            code: str, day: date, status: str, number: str | None = None
        ) -> dict[str, Any] | None:
            found = await lookup(registry, code, day)
            if number is not None and found["certificate_number"] != number:
                return None
            return found if found["status"] == status else None

        numbers = {r["row"]: r["certificate_number"] for r in report["results"]}
        # The 4★ alone looks expired today too: wait for the 5★ (line 4) to be projected.
        ended = await wait_until(
            lambda: shown(first["public_code"], today, "expired", numbers[4]),
            timeout_seconds=60,
            what="the 5★, ended",
        )
        upgraded = await lookup(registry, first["public_code"], date(2021, 1, 1))
        before = await lookup(registry, first["public_code"], date(2020, 6, 1))
        revoked = await wait_until(
            lambda: shown(second["public_code"], today, "revoked"),
            timeout_seconds=60,
            what="the revocation",
        )
        valid_2021 = await lookup(registry, second["public_code"], date(2021, 12, 1))
        live = await wait_until(
            lambda: shown(third["public_code"], today, "valid"),
            timeout_seconds=60,
            what="the live 4★",
        )
        certified = await records_on(
            kafka_bootstrap,
            topics.EVALUATION_CERTIFICATES,
            lambda r: first["id"].encode() == r.key,
        )

    assert (report["created"], report["rejected"], report["unchanged"]) == (6, 2, 0)
    assert report["certificates"] == 4
    errors = {(e["row"], e["field"]) for e in report["errors"]}
    assert errors == {(8, "star"), (9, "public_code")}
    assert (again["created"], again["unchanged"], again["rejected"], again["events"]) == (
        0,
        6,
        2,
        0,
    )
    assert overlap["rejected"] == 1 and overlap["errors"][0]["field"] == "action"
    assert before["star"] == 4 and upgraded["star"] == 5 and upgraded["status"] == "valid"
    assert ended["star"] == 5 and ended["valid_until"] == "2023-11-01"
    assert valid_2021["star"] == 3 and valid_2021["status"] == "valid" and revoked["star"] == 3
    assert live["star"] == 4
    # Certified, upgraded, expired: three events for the first product, each sent once.
    assert len(certified) == 3


async def test_ocop_import_certificates_reports_each_bad_line_and_the_products_import_still_works(
    make_settings: Any, tmp_path: Path
) -> None:
    async with (
        running(registry_app(make_settings)) as registry,
        serving(evaluation_app(make_settings)) as url,
    ):
        owner = await producer(registry)
        item = await product(
            registry, owner["id"], registered_on="2019-10-01", product_set=FOOD_1048
        )
        path = tmp_path / "history.csv"
        good = {
            "public_code": item["public_code"],
            "action": "certify",
            "level": "city",
            "star": "4",
            "rulebook": "1048",
            "decision_number": "77/QĐ-UBND",
            "decision_date": "2020-04-01",
        }
        bad = {**good, "decision_number": "78/QĐ-UBND", "decision_date": "not a day"}
        path.write_text(history_csv([good, bad]), encoding="utf-8")
        args = [
            "import",
            "certificates",
            str(path),
            "--evaluation",
            url,
            "--token",
            token(Role.CITY_OFFICE),
        ]

        # The ``ocop`` command as the two services' catalogue hooks build it.
        app = typer.Typer()
        registry_cli.register(app)
        evaluation_cli.register(app)

        async def loaded() -> Any:
            result = await asyncio.to_thread(CliRunner().invoke, app, args)
            return result if "public_code" not in result.output else None

        result = await wait_until(loaded, timeout_seconds=60, what="the products in evaluation")

    assert result.exit_code == 1, result.output
    assert "line 3: decision_date" in result.output
    assert "1 recorded (1 certificates)" in result.output


async def test_counts_tell_products_ever_recognised_from_those_valid_on_a_day(
    make_settings: Any, kafka_bootstrap: str
) -> None:
    async with (
        running(registry_app(make_settings)) as registry,
        running(evaluation_app(make_settings)) as evaluation,
    ):
        owner = await producer(registry)
        items = [
            await product(registry, owner["id"], registered_on="2019-10-01", product_set=FOOD_1048)
            for _ in range(5)
        ]
        codes = [p["public_code"] for p in items]
        await known_to_evaluation(evaluation, codes)

        def grant(code: str, number: str, day: str, star: str, **more: str) -> dict[str, str]:
            rulebook = "148" if day >= "2023-02-24" else "1048"
            return {
                "public_code": code,
                "action": "certify",
                "level": "city",
                "star": star,
                "rulebook": rulebook,
                "decision_number": number,
                "decision_date": day,
                **more,
            }

        report = await post_history(
            evaluation,
            history_csv(
                [
                    grant(codes[0], "A/2020", "2020-03-20", "4"),  # valid at the end of 2022
                    grant(codes[1], "B/2019", "2019-11-01", "3"),  # ended 31 Oct 2022
                    grant(codes[2], "C/2021", "2021-06-01", "3"),
                    {
                        "public_code": codes[2],
                        "action": "revoke",
                        "grounds": "quality_mismatch",
                        "decision_number": "C/R",
                        "decision_date": "2022-01-10",
                    },
                    grant(codes[3], "D/2021", "2021-02-01", "4", score="92"),
                    {
                        "public_code": codes[3],
                        "action": "nominate",
                        "level": "central",
                        "decision_number": "D/N",
                        "decision_date": "2021-02-01",
                    },
                    grant(codes[4], "E/2023", "2023-05-01", "3", level="district"),
                ]
            ),
        )
        end_2022 = await evaluation.get("/certificates/counts", params={"as_of": "2022-12-31"})
        end_2021 = await evaluation.get("/certificates/counts", params={"as_of": "2021-12-31"})
        ever = await evaluation.get(
            "/certificates", params={"as_of": "2022-12-31", "count": "ever"}
        )
        valid = await evaluation.get("/certificates", params={"as_of": "2022-12-31"})
        everything = await evaluation.get("/certificates")

    assert report["rejected"] == 0, report["errors"]
    counted = end_2022.json()
    assert counted["ever_recognised"] == {
        "total": 4,
        "stars": {"3": 2, "4": 2, "5": 0},
        "potential_5": 1,
    }
    assert counted["valid"] == {"total": 2, "stars": {"3": 0, "4": 2, "5": 0}, "potential_5": 1}
    # At the end of 2021 all four held one: the revocation and the end came in 2022.
    assert end_2021.json()["valid"]["total"] == 4
    assert ever.json()["total"] == 4 and ever.json()["as_of"] == "2022-12-31"
    assert sorted(c["decision_number"] for c in valid.json()["items"]) == ["A/2020", "D/2021"]
    assert everything.json()["total"] == 5


async def test_a_product_of_2018_in_a_commune_merged_in_2024_takes_its_1048_certificate(
    make_settings: Any, kafka_bootstrap: str
) -> None:
    async with (
        running(registry_app(make_settings)) as registry,
        running(evaluation_app(make_settings)) as evaluation,
    ):
        # Nguyễn Trung Trực (00010) was a ward of Ba Đình until the end of 2024.
        owner = await producer(registry, commune_code="00004")
        item = await product(
            registry,
            owner["id"],
            registered_on="2018-06-01",
            product_set=FOOD_1048,
            commune_code="00010",
        )
        too_late = await registry.post(
            "/products",
            json={
                "producer_id": owner["id"],
                "name": "Miến dong Ba Đình",
                "product_set": "food.processed_grain",
                "commune_code": "00010",
                "registered_on": "2025-02-01",
            },
        )
        # A producer first registered through a list of the programme's past years keeps its
        # real date: its earliest product's.
        listed = await registry.post(
            "/imports/products",
            content=(
                "commune_code,producer_name,legal_form,registration_number,product_name,"
                "product_set,registered_on\n"
                "09790,HTX Nông nghiệp Thọ An,HTX,0109876543,Gạo nếp cái hoa vàng Thọ An,"
                "1048.food.grain,2019-03-02\n"
                "09790,HTX Nông nghiệp Thọ An,HTX,0109876543,Miến dong Thọ An,"
                "1048.food.processed_grain,2018-07-01\n"
            ).encode(),
            headers={"content-type": "text/csv"},
        )
        listed_producer = (
            await registry.get(f"/producers/{listed.json()['results'][0]['producer_id']}")
        ).json()
        await known_to_evaluation(evaluation, [item["public_code"]])
        report = await post_history(
            evaluation,
            history_csv(
                [
                    {
                        "public_code": item["public_code"],
                        "action": "certify",
                        "level": "city",
                        "star": "4",
                        "rulebook": "1048",
                        "decision_number": "6180/QĐ-UBND",
                        "decision_date": "2019-12-20",
                        "score": "75",
                    },
                ]
            ),
        )

        async def shown() -> dict[str, Any] | None:
            found = await lookup(registry, item["public_code"], date(2020, 1, 1))
            return found if found["star"] else None

        view = await wait_until(shown, timeout_seconds=60, what="the 2019 certificate")

    assert listed.status_code == 200 and listed.json()["created_products"] == 2, listed.text
    registered_at = datetime.fromisoformat(listed_producer["registered_at"].replace("Z", "+00:00"))
    assert registered_at.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).date() == date(2018, 7, 1)
    assert item["classification"] == "1048" and item["registered_on"] == "2018-06-01"
    assert item["public_code"].endswith("-2018")
    assert too_late.status_code == 422
    assert "00010" in too_late.text and "00004" in too_late.text
    assert report["created"] == 1, report["errors"]
    assert view["star"] == 4 and view["status"] == "valid"
    assert view["commune_name"] == "Nguyễn Trung Trực"


def test_the_cli_keeps_each_products_rows_in_one_request_and_knows_their_lines() -> None:
    rows = [
        {
            "public_code": f"01-00004-{i % 7:04d}-2020",
            "action": "certify",
            "decision_number": f"{i}/QĐ",
            "decision_date": "2020-01-01",
        }
        for i in range(40)
    ]

    chunks = evaluation_cli.product_chunks(history_csv(rows), 10)

    lines = [line for chunk_lines, _ in chunks for line in chunk_lines]
    assert sorted(lines) == list(range(2, 42))
    for chunk_lines, text in chunks:
        codes_here = {rows[line - 2]["public_code"] for line in chunk_lines}
        others = {
            rows[line - 2]["public_code"]
            for other, _ in chunks
            if other is not chunk_lines
            for line in other
        }
        assert not codes_here & others
        assert text.count("\n") == len(chunk_lines) + 1
