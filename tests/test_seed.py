"""`ocop seed` and `ocop import` against the registry and evaluation served over real HTTP."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import typer
from typer.testing import CliRunner

from ocop_evaluation import cli as evaluation_cli
from ocop_registry import cli as registry_cli
from ocop_registry import demo
from ocop_registry.cli import csv_chunks
from ocop_registry.domain import classification
from ocop_runtime.auth import Role
from ocop_runtime.testing import serving, token, wait_until
from tests.flow import evaluation_app, registry_app
from tests.test_registry import lookup


def ocop() -> typer.Typer:
    """The ``ocop`` command as the registry's and evaluation's catalogue hooks build it."""
    app = typer.Typer()
    registry_cli.register(app)
    evaluation_cli.register(app)
    return app


def test_a_csv_is_sent_in_chunks_that_each_repeat_the_header() -> None:
    text = "h1,h2\n" + "".join(f"{i},x\n" for i in range(5))

    chunks = csv_chunks(text, 2)

    assert [first for first, _ in chunks] == [2, 4, 6]
    assert all(chunk.startswith("h1,h2\n") for _, chunk in chunks)
    assert "".join(chunk.removeprefix("h1,h2\n") for _, chunk in chunks) == text.removeprefix(
        "h1,h2\n"
    )


def test_the_scenario_is_the_same_for_a_seed_and_names_products_after_their_goods() -> None:
    today = date(2026, 11, 30)
    first = demo.scenario(400, seed=9, today=today)
    again = demo.scenario(400, seed=9, today=today)
    later = demo.scenario(400, seed=9, today=date(2027, 3, 1))
    other = demo.scenario(400, seed=10, today=today)
    goods = demo._goods()

    assert [p.row for p in first] == [p.row for p in again]
    assert [p.history for p in first] == [p.history for p in again]
    assert [p.row for p in first] == [p.row for p in later]  # a later day adds decisions only
    assert [p.row for p in first] != [p.row for p in other]
    for p in first:
        name, the_set = p.row["product_name"], p.row["product_set"]
        assert any(name.startswith(g) for g in goods[the_set.removeprefix("1048.")][0]), name
        assert not any(f" {family} " in f" {name} " for family in demo._FAMILY), name
        day = date.fromisoformat(p.row["registered_on"])
        assert classification.product_set_on(the_set, day).code == the_set
    counties = {p.row["commune_code"] for p in first}
    assert len(counties) > 60
    actions = {h["action"] for p in first for h in p.history}
    assert {"certify", "reevaluate"} <= actions


async def test_seed_loads_products_and_certificates_once_and_the_lookup_shows_stars(
    make_settings: Any, kafka_bootstrap: str
) -> None:
    scenario = demo.scenario(150, seed=2021)
    decisions = sum(len(p.history) for p in scenario)
    runner = CliRunner()
    async with (
        serving(registry_app(make_settings)) as registry,
        serving(evaluation_app(make_settings)) as evaluation,
    ):
        args = [
            "seed",
            "--products",
            "150",
            "--registry",
            registry,
            "--evaluation",
            evaluation,
            "--json",
            "--token",
            token(Role.CITY_OFFICE),
        ]
        first = await asyncio.to_thread(runner.invoke, ocop(), args)
        second = await asyncio.to_thread(runner.invoke, ocop(), args)
        assert first.exit_code == 0, first.output
        loaded = json.loads(first.stdout)
        again = json.loads(second.stdout)
        office = {"Authorization": f"Bearer {token(Role.CITY_OFFICE)}"}
        async with (
            httpx.AsyncClient(base_url=evaluation, headers=office) as ev,
            httpx.AsyncClient(base_url=registry, headers=office) as reg,
        ):
            [certificate] = (
                await ev.get("/certificates", params={"state": "live", "limit": 1})
            ).json()["items"]
            item = (await reg.get(f"/products/{certificate['product_id']}")).json()

            async def shown() -> dict[str, Any] | None:
                found = await lookup(reg, item["public_code"])
                return found if found["certificate_number"] == certificate["number"] else None

            view = await wait_until(shown, timeout_seconds=120, what="the seeded certificate")

    assert loaded["created_products"] == 150 and loaded["rejected"] == 0
    assert loaded["certificates"]["created"] == decisions > 100
    assert loaded["certificates"]["rejected"] == 0, loaded["certificates"]["errors"][:5]
    assert second.exit_code == 0, second.output
    assert again["created_products"] == 0 and again["unchanged"] == 150
    assert again["certificates"]["unchanged"] == decisions
    assert view["star"] == certificate["star"]
    assert view["status"] in ("valid", "expiring")


async def test_import_reports_the_file_line_of_each_bad_row_and_exits_non_zero(
    make_settings: Any, tmp_path: Path
) -> None:
    lines = demo.to_csv(demo.rows(250, seed=3)).splitlines()
    bad = lines[230].split(",")
    bad[0] = "99999"
    lines[230] = ",".join(bad)
    path = tmp_path / "district.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    async with serving(registry_app(make_settings)) as url:
        result = await asyncio.to_thread(
            CliRunner().invoke,
            ocop(),
            ["import", str(path), "--registry", url, "--token", token(Role.CITY_OFFICE)],
        )

    assert result.exit_code == 1
    assert "line 231: commune_code" in result.output
    assert "249 products" in result.output


def test_import_dispatches_to_the_named_kind_or_the_default_one() -> None:
    from ocop_runtime.cli.imports import add_import_kind

    seen: list[tuple[str, str]] = []

    def products(path: str) -> None:
        """Products."""
        seen.append(("products", path))

    def certificates(path: str) -> None:
        """Certificates."""
        seen.append(("certificates", path))

    app = typer.Typer()
    app.command("status")(lambda: None)  # a root of one command would be that command
    add_import_kind(app, "certificates", certificates)
    add_import_kind(app, "products", products, default=True)
    runner = CliRunner()

    alone = runner.invoke(app, ["import", "a.csv"])
    named = runner.invoke(app, ["import", "products", "b.csv"])
    other = runner.invoke(app, ["import", "certificates", "c.csv"])
    overview = runner.invoke(app, ["import", "--help"])

    assert (alone.exit_code, named.exit_code, other.exit_code) == (0, 0, 0), alone.output
    assert seen == [("products", "a.csv"), ("products", "b.csv"), ("certificates", "c.csv")]
    assert "certificates: Certificates." in overview.output
    assert "products (default)" in overview.output
