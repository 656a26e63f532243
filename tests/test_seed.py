"""`ocop seed` and `ocop import` against a registry served over real HTTP."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from ocop_registry.cli import DEMO_FILE, csv_chunks
from ocop_runtime.auth import Role
from ocop_runtime.cli import app
from ocop_runtime.testing import serving, token
from tests.flow import registry_app


def test_a_csv_is_sent_in_chunks_that_each_repeat_the_header() -> None:
    text = "h1,h2\n" + "".join(f"{i},x\n" for i in range(5))

    chunks = csv_chunks(text, 2)

    assert [first for first, _ in chunks] == [2, 4, 6]
    assert all(chunk.startswith("h1,h2\n") for _, chunk in chunks)
    assert "".join(chunk.removeprefix("h1,h2\n") for _, chunk in chunks) == text.removeprefix(
        "h1,h2\n"
    )


async def test_seed_loads_the_demonstration_set_once_and_a_second_run_changes_nothing(
    make_settings: Any,
) -> None:
    rows = len(DEMO_FILE.read_text(encoding="utf-8").splitlines()) - 1
    runner = CliRunner()
    async with serving(registry_app(make_settings)) as url:
        first = await asyncio.to_thread(
            runner.invoke,
            app,
            ["seed", "--registry", url, "--json", "--token", token(Role.CITY_OFFICE)],
        )
        second = await asyncio.to_thread(
            runner.invoke,
            app,
            ["seed", "--registry", url, "--json", "--token", token(Role.CITY_OFFICE)],
        )

    assert first.exit_code == 0, first.output
    assert f'"created_products": {rows}' in first.output
    assert second.exit_code == 0, second.output
    assert '"created_products": 0' in second.output
    assert f'"unchanged": {rows}' in second.output


async def test_import_reports_the_file_line_of_each_bad_row_and_exits_non_zero(
    make_settings: Any, tmp_path: Path
) -> None:
    lines = DEMO_FILE.read_text(encoding="utf-8").splitlines()[:251]
    bad = lines[230].split(",")
    bad[0] = "99999"
    lines[230] = ",".join(bad)
    path = tmp_path / "district.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    async with serving(registry_app(make_settings)) as url:
        result = await asyncio.to_thread(
            CliRunner().invoke,
            app,
            ["import", str(path), "--registry", url, "--token", token(Role.CITY_OFFICE)],
        )

    assert result.exit_code == 1
    assert "line 231: commune_code" in result.output
    assert "249 products" in result.output
