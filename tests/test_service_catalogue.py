"""The service catalogue (``ocop_runtime.services``) is the one list of services: every place
that cannot read it (settings defaults, compose, deploy scripts, docs, per-service tables of
other tests, the workspace) is held to it here."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from ocop_contracts import topics
from ocop_runtime.auth import Role
from ocop_runtime.cli import add_runtime_commands, build_app
from ocop_runtime.services import ENTRY_POINT_GROUP, ServiceEntry, reserved
from tests.catalogue import BY_NAME, SPECS, settings_class

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = sorted(p.parent.name for p in (ROOT / "services").glob("*/pyproject.toml"))

each_spec = pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])


@pytest.fixture
def no_ocop_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings read the process environment too; defaults only."""
    for key in list(os.environ):
        if key.startswith("OCOP_"):
            monkeypatch.delenv(key)


def _toml(path: Path) -> dict[str, Any]:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def test_every_service_folder_has_exactly_one_catalogue_entry() -> None:
    assert FOLDERS, "no services/*/pyproject.toml"
    for folder in FOLDERS:
        project = _toml(ROOT / "services" / folder / "pyproject.toml")["project"]
        entries = project.get("entry-points", {}).get(ENTRY_POINT_GROUP, {})
        assert entries == {folder: f"ocop_{folder}.service:SPEC"}, (
            f"services/{folder}/pyproject.toml: [project.entry-points.{ENTRY_POINT_GROUP!r}]"
        )
    # What is installed is what the folders declare (run `uv sync` after adding a service).
    assert sorted(BY_NAME) == FOLDERS
    assert len(SPECS) == len(BY_NAME)
    for spec in SPECS:
        assert importlib.import_module(f"{spec.package}.service").SPEC is spec


def test_ports_are_unique_and_the_catalogue_is_in_port_order() -> None:
    ports = [s.http_port for s in SPECS]
    assert len(set(ports)) == len(ports), f"two services share a port: {ports}"
    assert ports == sorted(ports)


def test_python_m_services_prints_the_catalogue_for_the_scripts() -> None:
    def lines(*args: str) -> list[str]:
        done = subprocess.run(
            [sys.executable, "-m", "ocop_runtime.services", *args],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        return done.stdout.splitlines()

    expected = [f"{s.name} {s.http_port} {s.schema}" for s in SPECS]
    assert lines() == expected
    assert lines("--all") == expected + [f"{name} - {name}" for name in reserved(SPECS)]


@each_spec
def test_the_settings_defaults_are_the_catalogue_entry(
    spec: ServiceEntry, no_ocop_env: None
) -> None:
    settings_type = settings_class(spec)
    assert settings_type.model_fields["service"].default == spec.name
    assert settings_type.model_fields["http_port"].default == spec.http_port
    settings = settings_type()
    assert (settings.service, settings.http_port, settings.db_schema) == (
        spec.name,
        spec.http_port,
        spec.schema,
    )
    assert settings.consumer_group == f"ocop.{spec.name}"
    # The login role deploy/postgres.sh and deploy/postgres/init.sh create: ocop_<name>.
    assert settings.dsn.startswith(f"postgresql://{spec.login_role}:")


@each_spec
def test_compose_publishes_the_catalogue_port(spec: ServiceEntry) -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    service = compose["services"][spec.name]
    assert service["environment"]["OCOP_HTTP_PORT"] == str(spec.http_port)
    assert f"{spec.http_port}:{spec.http_port}" in service["ports"]
    assert f"postgresql://{spec.login_role}:" in service["environment"]["OCOP_DATABASE_URL"]


@pytest.mark.parametrize("script", ["stack.sh", "postgres.sh", "kafka.sh"])
def test_the_local_stack_scripts_read_the_catalogue_instead_of_listing_services(
    script: str,
) -> None:
    text = (ROOT / "deploy" / script).read_text(encoding="utf-8")
    assert "ocop_services" in text, f"deploy/{script} does not read the catalogue"
    for name in [*BY_NAME, *reserved(SPECS)]:
        assert not re.search(rf"\b{name}\b", text), f"deploy/{script} names {name}"
    for spec in SPECS:
        assert str(spec.http_port) not in text, f"deploy/{script} names port {spec.http_port}"


@each_spec
def test_topics_are_in_the_contracts_catalogue(spec: ServiceEntry) -> None:
    assert spec.publishes, f"{spec.name} publishes nothing"
    assert set(spec.publishes) <= set(topics.EVENT_TOPICS)
    assert set(spec.publishes) <= set(topics.written_by(spec.name)), "another service's topic"
    assert set(spec.consumes) <= set(topics.all_topics())
    # Its Kafka ACLs let it read exactly the catalogue's subscriptions.
    assert set(spec.consumes) <= set(topics.SUBSCRIPTIONS[spec.name])


def test_consumed_topics_are_what_the_services_subscribe_to() -> None:
    from tests.test_services import SERVICES

    assert {s.name: set(s.subscribes) for s in SERVICES} == {s.name: set(s.consumes) for s in SPECS}


def test_every_role_named_is_in_the_role_table_and_every_role_is_named() -> None:
    known = {r.value for r in Role}
    for spec in SPECS:
        assert spec.roles, f"{spec.name} names no role"
        unknown = set(spec.roles) - known
        assert not unknown, f"{spec.name} names roles that ocop_runtime.auth.Role lacks: {unknown}"
    security = (ROOT / "docs" / "SECURITY.md").read_text(encoding="utf-8")
    for role in known:
        assert f"**{role}**" in security, f"docs/SECURITY.md does not describe {role}"
    assert known == {r for s in SPECS for r in s.roles}, "a role that no service serves"


def test_every_cli_hook_adds_its_own_commands_to_the_ocop_command() -> None:
    def names(app: typer.Typer) -> set[str]:
        return {c.name or c.callback.__name__ for c in app.registered_commands if c.callback} | {
            g.name for g in app.registered_groups if g.name
        }

    base = typer.Typer()
    add_runtime_commands(base)
    runtime = names(base)
    full = names(build_app())
    seen: set[str] = set()
    for spec in SPECS:
        if spec.cli is None:
            continue
        app = typer.Typer()
        spec.cli(app)
        added = names(app)
        assert added, f"{spec.name}'s cli hook adds no command"
        assert not added & runtime, f"{spec.name}'s commands clash with the runtime's"
        # ``ocop import KIND``: one command, each service adding its kinds (ocop_runtime.cli.imports).
        shared = {"import"}
        assert not (added - shared) & seen, f"{spec.name}'s commands clash with another service's"
        assert added <= full
        seen |= added
    assert {"import", "seed"} <= seen  # the registry's
    assert [c.name for c in build_app().registered_commands].count("import") == 1


def test_the_other_tests_per_service_tables_cover_the_catalogue() -> None:
    from tests import test_fuzz, test_roles, test_security, test_services

    names = set(BY_NAME)
    assert set(test_security.APPS) == names
    assert set(test_security.EXPECTED) == names
    assert set(test_fuzz.APPS) == names
    assert {s.name for s in test_services.SERVICES} == names
    assert set(test_roles.SERVICES) == names | set(reserved(SPECS))


def test_the_workspace_installs_type_checks_and_sorts_every_service() -> None:
    root = _toml(ROOT / "pyproject.toml")
    mypy = root["tool"]["mypy"]
    first_party = root["tool"]["ruff"]["lint"]["isort"]["known-first-party"]
    for spec in SPECS:
        distribution = f"ocop-{spec.name}"
        assert distribution in root["project"]["dependencies"]
        assert distribution in root["tool"]["uv"]["sources"]
        assert f"services/{spec.name}/src" in mypy["mypy_path"]
        assert f"services/{spec.name}/src" in mypy["files"]
        assert spec.package in first_party


def test_the_readme_table_gives_each_service_its_port() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| ([a-z]+) \| (\d+) \|", readme, re.MULTILINE))
    assert rows == {s.name: str(s.http_port) for s in SPECS}
