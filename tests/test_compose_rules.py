"""The Prometheus rules and Grafana dashboards of the compose stack (deploy/prometheus,
deploy/grafana) load, fire when they should, and query metrics the services really export.

``promtool`` comes from Debian's ``prometheus`` package (deploy/bootstrap.sh installs it).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.registry import CollectorRegistry

from ocop_runtime.telemetry import Metrics

ROOT = Path(__file__).resolve().parents[1]
PROMETHEUS = ROOT / "deploy" / "prometheus"
RULES = PROMETHEUS / "rules" / "ocop.yml"
RULE_TESTS = PROMETHEUS / "tests" / "ocop.test.yml"
DASHBOARDS = sorted((ROOT / "deploy" / "grafana" / "dashboards").glob("*.json"))
RUNBOOK = ROOT / "docs" / "OPERATIONS.md"


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("promtool")
    assert tool, "promtool is missing: apt-get install prometheus (deploy/bootstrap.sh does)"
    return subprocess.run([tool, *args], capture_output=True, text=True, timeout=120)


def rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return [rule for group in document["groups"] for rule in group["rules"]]


def alerts() -> dict[str, dict[str, Any]]:
    return {r["alert"]: r for r in rules() if "alert" in r}


def dashboard_queries() -> list[tuple[str, str, str]]:
    """(dashboard, panel title, expression) of every query of every dashboard."""
    found = []
    for path in DASHBOARDS:
        board = json.loads(path.read_text(encoding="utf-8"))
        for panel in board["panels"]:
            for target in panel.get("targets", []):
                found.append((path.name, panel["title"], target["expr"]))
    return found


def exported_metrics() -> set[str]:
    """Every sample name a service's /metrics can carry (ocop_runtime.telemetry.Metrics)."""
    registry: CollectorRegistry = Metrics("any").registry
    names = set()
    for family in registry.collect():
        names.add(family.name)
        suffixes = {
            "counter": ("_total", "_created"),
            "histogram": ("_bucket", "_count", "_sum", "_created"),
            "gauge": ("",),
        }.get(family.type, ("",))
        names |= {family.name + s for s in suffixes}
    return names


def test_the_prometheus_configuration_and_rules_are_valid() -> None:
    checked = promtool("check", "config", str(PROMETHEUS / "prometheus.yml"))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS" in checked.stdout + checked.stderr


def test_the_rules_unit_tests_pass() -> None:
    tested = promtool("test", "rules", str(RULE_TESTS))
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_every_alert_is_unit_tested_and_has_a_runbook_entry() -> None:
    document = yaml.safe_load(RULE_TESTS.read_text(encoding="utf-8"))
    tested = {
        case["alertname"]
        for test in document["tests"]
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    runbook = RUNBOOK.read_text(encoding="utf-8")
    for name, rule in alerts().items():
        assert name in tested, f"no promtool test shows {name} firing"
        anchor = rule["annotations"]["runbook"]
        assert anchor == f"docs/OPERATIONS.md#{name.lower()}", anchor
        assert re.search(rf"^### {name}$", runbook, re.MULTILINE), f"runbook lacks ### {name}"
    expected = {
        "OcopServiceDown",
        "OcopOutboxBacklogOld",
        "OcopConsumerLagGrowing",
        "OcopDeadLetters",
        "OcopRelayFailing",
        "OcopHttp5xxRate",
        "OcopRateLimited",
    }
    assert expected <= set(alerts())


def test_rules_and_dashboards_query_only_metrics_the_services_export() -> None:
    exported = exported_metrics()
    recorded = {r["record"] for r in rules() if "record" in r}
    expressions = [r["expr"] for r in rules()] + [q[2] for q in dashboard_queries()]
    for expr in expressions:
        for name in re.findall(r"(?<![:\w])(ocop_[a-z_]+)(?![:\w])", expr):
            assert name in exported, f"{name} is not a metric of ocop_runtime.telemetry: {expr}"
        for name in re.findall(r"\b([a-z_]+:ocop_[a-z_0-9]+:[a-z0-9]+)\b", expr):
            assert name in recorded, f"{name} is not a recording rule: {expr}"


def test_every_dashboard_query_loads_in_promtool_as_a_rule(tmp_path: Path) -> None:
    queries = dashboard_queries()
    assert {"ocop-delivery.json", "ocop-programme.json"} <= {q[0] for q in queries}
    as_rules = {
        "groups": [
            {
                "name": "dashboards",
                "rules": [
                    # Grafana's template variable, as Grafana substitutes "All".
                    {"record": f"dashboard:query:{i}", "expr": expr.replace("$service", ".*")}
                    for i, (_, _, expr) in enumerate(queries)
                ],
            }
        ]
    }
    path = tmp_path / "dashboards.yml"
    path.write_text(yaml.safe_dump(as_rules), encoding="utf-8")
    checked = promtool("check", "rules", str(path))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"{len(queries)} rules found" in checked.stdout


def test_dashboards_use_the_provisioned_datasource() -> None:
    provisioned = yaml.safe_load(
        (ROOT / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text()
    )
    uids = {d["uid"] for d in provisioned["datasources"]}
    for path in DASHBOARDS:
        board = json.loads(path.read_text(encoding="utf-8"))
        used = {p["datasource"]["uid"] for p in board["panels"]}
        used |= {t["datasource"]["uid"] for p in board["panels"] for t in p.get("targets", [])}
        assert used <= uids, f"{path.name} uses datasources {used - uids}"


@pytest.mark.parametrize("path", DASHBOARDS, ids=[p.name for p in DASHBOARDS])
def test_dashboard_is_provisioned_read_only_with_a_unique_uid(path: Path) -> None:
    board = json.loads(path.read_text(encoding="utf-8"))
    assert board["uid"] == path.stem
    assert board["editable"] is False
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids)), f"{path.name} repeats panel ids"
