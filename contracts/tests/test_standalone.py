"""ocop_contracts installs and imports on its own, so other agencies can depend on it alone."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

CONTRACTS = Path(__file__).resolve().parents[1]

FORBIDDEN = {
    "faststream",
    "aiokafka",
    "asyncpg",
    "fastapi",
    "opentelemetry",
    "ocop_runtime",
    "ocop_registry",
}

PROBE = """
import json, sys
import ocop_contracts
types = ocop_contracts.event_types()
print(json.dumps({"types": sorted(types), "modules": sorted(sys.modules)}))
"""


def _requirement_name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;@]", requirement, maxsplit=1)[0].lower()


def test_contracts_depend_on_pydantic_only() -> None:
    project = tomllib.loads((CONTRACTS / "pyproject.toml").read_text())["project"]

    names = [_requirement_name(r) for r in project["dependencies"]]

    assert names == ["pydantic"]
    assert not project.get("optional-dependencies"), "extras would pull in more than pydantic"


def test_importing_contracts_loads_no_runtime_broker_database_or_service_code() -> None:
    result = subprocess.run(
        [sys.executable, "-I", "-c", PROBE],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=CONTRACTS,
        check=False,
    )
    assert result.returncode == 0, result.stderr

    probe = json.loads(result.stdout.strip().splitlines()[-1])

    assert "vn.hanoi.ocop.registry.ProducerRegistered.v1" in probe["types"]
    assert "ocop_contracts.events.registry" in probe["modules"]
    imported = sorted({m.split(".")[0] for m in probe["modules"]} & FORBIDDEN)
    assert imported == [], f"importing ocop_contracts also imported {imported}"
