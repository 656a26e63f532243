"""The live dashboard in a real browser (Debian's Chromium, driven by Playwright): it shows the
statistics with Hanoi's thousands separator and Vietnamese labels, and a certification changes
its count without a reload. A screenshot is kept in .ocop/artefacts/."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from ocop_insights.app import create_app
from ocop_insights.settings import InsightsSettings
from ocop_runtime.testing import serving, wait_until
from tests.flow import send_events
from tests.insights_events import certified, producer, product

CHROMIUM = Path("/usr/bin/chromium")
ARTEFACTS = Path(__file__).resolve().parents[1] / ".ocop" / "artefacts"
DECIDED = date.today() - timedelta(days=200)

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists() or shutil.which("chromium") is None,
    reason="Debian's chromium is not installed (deploy/bootstrap.sh installs it)",
)


async def test_the_dashboard_shows_a_new_certification_live_without_a_reload(
    make_settings: Any, kafka_bootstrap: str
) -> None:
    from playwright.async_api import async_playwright

    makers = [producer() for _ in range(40)]
    products = [
        product(
            producer_id=makers[i % 40].producer_id,
            sector=("1048.food", "1048.souvenir", "1048.drinks")[i % 3],
            on=date(2020, 5, 1),
        )
        for i in range(1050)
    ]
    certificates = [
        certified(p.product_id, 4 if i % 4 == 0 else 3, DECIDED - timedelta(days=i % 300))
        for i, p in enumerate(products)
    ]
    settings = make_settings(InsightsSettings, publish_seconds=0.5)
    async with serving(create_app(settings)) as url:
        await send_events(kafka_bootstrap, [*makers, *products, *certificates[:-1]])
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=["--no-sandbox"]
            )
            try:
                page = await browser.new_page(viewport={"width": 1400, "height": 1100})
                await page.goto(f"{url}/dashboard")
                total = page.locator("#total-products")

                async def shows(text: str) -> bool:
                    return (await total.inner_text()) == text

                await wait_until(
                    lambda: shows("1.049"), timeout_seconds=60, what="1.049 on the dashboard"
                )
                # A mark on the page: gone if the page were reloaded.
                await page.evaluate("window.__stayed = true")
                assert await page.inner_text("#status") == "Trực tiếp"

                await send_events(kafka_bootstrap, [certificates[-1]])
                await wait_until(
                    lambda: shows("1.050"), timeout_seconds=30, what="1.050 without a reload"
                )
                assert await page.evaluate("window.__stayed === true")
                units = await page.inner_text("#table-unit")
                assert "Ba Đình" in units and "1.050" in units
                expiring = await page.inner_text("#table-expiring")
                assert "Trong 30 ngày" in expiring
                ARTEFACTS.mkdir(parents=True, exist_ok=True)
                shot = ARTEFACTS / "insights-dashboard.png"
                await page.screenshot(path=str(shot), full_page=True)
                assert shot.stat().st_size > 10_000
            finally:
                await browser.close()
