"""schemathesis against every service's OpenAPI, with a valid token: no input the schema
allows, and none it forbids (negative cases), makes a service answer 500. Bounded examples per operation so that the
suite stays fast; ``OCOP_FUZZ_EXAMPLES`` raises the bound for a longer run."""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.core.result import Ok

from ocop_evaluation.app import create_app as create_evaluation
from ocop_evaluation.settings import EvaluationSettings
from ocop_inspection.app import create_app as create_inspection
from ocop_inspection.settings import InspectionSettings
from ocop_registry.app import create_app as create_registry
from ocop_registry.settings import RegistrySettings
from ocop_runtime.auth import Role
from ocop_runtime.settings import ServiceSettings
from ocop_runtime.testing import bearer, serving
from ocop_trade.app import create_app as create_trade
from ocop_trade.settings import TradeSettings

EXAMPLES = int(os.environ.get("OCOP_FUZZ_EXAMPLES", "20"))
APPS: dict[str, tuple[Callable[..., FastAPI], type[ServiceSettings]]] = {
    "registry": (create_registry, RegistrySettings),
    "evaluation": (create_evaluation, EvaluationSettings),
    "trade": (create_trade, TradeSettings),
    "inspection": (create_inspection, InspectionSettings),
}


def fuzz(document: dict[str, Any], url: str, headers: dict[str, str]) -> tuple[int, list[str]]:
    """Call every operation with generated cases; return the count and the 5xx answers."""
    schema = schemathesis.openapi.from_dict(document)
    tried = 0
    failures: list[str] = []
    results = list(schema.get_all_operations())
    operations = [r.ok() for r in results if isinstance(r, Ok)]
    assert len(operations) == len(results), "schemathesis could not read some operations"
    for operation, mode in itertools.product(operations, schemathesis.GenerationMode):

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def call(case: schemathesis.Case) -> None:
            nonlocal tried
            response = case.call(base_url=url, headers={**dict(case.headers or {}), **headers})
            tried += 1
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} -> {response.status_code}: "
                    f"{response.text[:200]} (query={case.query}, body={str(case.body)[:200]})"
                )

        try:
            call()
        except Unsatisfiable:
            # Nothing to get wrong: an operation without parameters or body has no negative case.
            assert mode is schemathesis.GenerationMode.NEGATIVE, operation
    return tried, failures


@pytest.mark.parametrize("service", list(APPS))
async def test_no_generated_request_makes_a_service_answer_500(
    service: str, make_settings: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    create, settings_type = APPS[service]
    app = create(make_settings(settings_type, rate_limit_burst=1_000_000))
    async with serving(app) as url:
        async with httpx.AsyncClient() as client:
            document = (await client.get(f"{url}/openapi.json")).json()
        tried, failures = await asyncio.to_thread(fuzz, document, url, bearer(Role.CITY_OFFICE))
    operations = sum(len(ops) for ops in document["paths"].values())
    with capsys.disabled():
        print(
            f"\n[fuzz] {service}: {tried} requests over {operations} operations, {len(failures)} 5xx"
        )
    assert not failures, "\n".join(failures[:10])
    assert tried >= operations
