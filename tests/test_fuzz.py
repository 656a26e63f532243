"""schemathesis against every service's OpenAPI, with a valid token of every role in turn: no
input the schema allows, and none it forbids (negative cases), makes a service answer 500 or
answer with a body or content type its schema does not document. Bounded examples per
operation and mode so that the suite stays fast; ``OCOP_FUZZ_EXAMPLES`` raises the bound."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from ocop_evaluation.app import create_app as create_evaluation
from ocop_evaluation.settings import EvaluationSettings
from ocop_insights.app import create_app as create_insights
from ocop_insights.settings import InsightsSettings
from ocop_inspection.app import create_app as create_inspection
from ocop_inspection.settings import InspectionSettings
from ocop_registry.app import create_app as create_registry
from ocop_registry.settings import RegistrySettings
from ocop_runtime.auth import Role
from ocop_runtime.settings import ServiceSettings
from ocop_runtime.testing import serving, token
from ocop_trade.app import create_app as create_trade
from ocop_trade.settings import TradeSettings

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = int(os.environ.get("OCOP_FUZZ_EXAMPLES", "20"))
APPS: dict[str, tuple[Callable[..., FastAPI], type[ServiceSettings]]] = {
    "registry": (create_registry, RegistrySettings),
    "evaluation": (create_evaluation, EvaluationSettings),
    "trade": (create_trade, TradeSettings),
    "inspection": (create_inspection, InspectionSettings),
    "insights": (create_insights, InsightsSettings),
}


@pytest.mark.parametrize("service", list(APPS))
async def test_no_generated_request_makes_a_service_answer_500(
    service: str, make_settings: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    create, settings_type = APPS[service]
    app = create(make_settings(settings_type, rate_limit_burst=1_000_000))
    async with serving(app) as url:
        fuzzer = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.fuzzing",
            url,
            str(EXAMPLES),
            *(f"{role}={token(role, units=['00004'])}" for role in Role),
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(fuzzer.communicate(), timeout=600)
    assert fuzzer.returncode == 0, err.decode()[-2000:]
    report: dict[str, Any] = json.loads(out)
    failures: list[str] = report["failures"]
    with capsys.disabled():
        print(
            f"\n[fuzz] {service}: {report['tried']} requests over {report['operations']} "
            f"operations, {len(failures)} failures"
        )
    assert not failures, "\n".join(failures[:10])
    assert report["tried"] >= report["operations"]
    assert set(report["per_role"]) == {str(r) for r in Role}
    assert all(count > 0 for count in report["per_role"].values()), report["per_role"]
