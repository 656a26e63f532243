"""Fuzz one running service with schemathesis:
``python -m tests.fuzzing URL EXAMPLES ROLE=TOKEN [ROLE=TOKEN ...]`` prints a JSON report
(requests tried, per role, and failures: 5xx answers and answers that break the documented
schema). Cases take the roles in turn, so every role meets every operation. Run as its own process by
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
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

CHECKS = [response_schema_conformance, content_type_conformance]


def fuzz(
    document: dict[str, Any], url: str, tokens: dict[str, str], examples: int
) -> tuple[int, dict[str, int], list[str]]:
    """Call every operation with generated cases, the roles' tokens in turn; return the count,
    the count per role, and the failures (5xx, or a body or content type the schema does not
    document)."""
    schema = schemathesis.openapi.from_dict(document)
    tried = 0
    per_role = dict.fromkeys(tokens, 0)
    roles = itertools.cycle(sorted(tokens))
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
            role = next(roles)
            headers = {"Authorization": f"Bearer {tokens[role]}"}
            response = case.call(base_url=url, headers={**dict(case.headers or {}), **headers})
            tried += 1
            per_role[role] += 1
            where = (
                f"{case.method} {case.formatted_path} as {role} -> {response.status_code}: "
                f"{response.text[:200]} (query={case.query}, body={str(case.body)[:200]})"
            )
            if response.status_code >= 500:
                failures.append(where)
                return
            try:
                case.validate_response(response, checks=CHECKS)
            except FailureGroup as group:
                found = "; ".join(
                    f"{f.title}: {str(f.message).strip().splitlines()[0][:200]}"
                    for f in group.exceptions
                )
                failures.append(f"{where}: {found}")

        try:
            call()
        except Unsatisfiable:
            # Nothing to get wrong: an operation without parameters or body has no negative case.
            assert mode is schemathesis.GenerationMode.NEGATIVE, operation
    return tried, per_role, failures


def main() -> None:
    url, examples = sys.argv[1], int(sys.argv[2])
    tokens = dict(arg.split("=", 1) for arg in sys.argv[3:])
    document = httpx.get(f"{url}/openapi.json", timeout=30).json()
    tried, per_role, failures = fuzz(document, url, tokens, examples)
    operations = sum(len(ops) for ops in document["paths"].values())
    report = {"tried": tried, "per_role": per_role, "operations": operations, "failures": failures}
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    main()
