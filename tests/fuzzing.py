"""Fuzz one running service with schemathesis: ``python -m tests.fuzzing URL TOKEN EXAMPLES``
prints a JSON report (requests tried, 5xx answers). Run as its own process by
``tests/test_fuzz.py`` so that schemathesis and Hypothesis work apart from pytest's own
machinery (assertion rewriting, the Hypothesis pytest plugin)."""

from __future__ import annotations

import itertools
import json
import sys
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.core.result import Ok


def fuzz(
    document: dict[str, Any], url: str, headers: dict[str, str], examples: int
) -> tuple[int, list[str]]:
    """Call every operation with generated cases; return the count and the 5xx answers."""
    schema = schemathesis.openapi.from_dict(document)
    tried = 0
    failures: list[str] = []
    results = list(schema.get_all_operations())
    operations = [r.ok() for r in results if isinstance(r, Ok)]
    assert len(operations) == len(results), "schemathesis could not read some operations"
    for operation, mode in itertools.product(operations, schemathesis.GenerationMode):

        @settings(
            max_examples=examples,
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


def main() -> None:
    url, token, examples = sys.argv[1], sys.argv[2], int(sys.argv[3])
    document = httpx.get(f"{url}/openapi.json", timeout=30).json()
    tried, failures = fuzz(document, url, {"Authorization": f"Bearer {token}"}, examples)
    operations = sum(len(ops) for ops in document["paths"].values())
    json.dump({"tried": tried, "operations": operations, "failures": failures}, sys.stdout)


if __name__ == "__main__":
    main()
