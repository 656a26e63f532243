"""docker-compose.yml and the Dockerfile agree with the services they run.

No container engine is needed: the files are read and checked against the service catalogue
(``ocop_runtime.services.discover``) and the services' settings classes, which are the one place
the ``OCOP_*`` names are defined.
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from ocop_runtime.services import reserved
from ocop_runtime.settings import DEV_PASSWORD_PREFIX, ServiceSettings
from tests.catalogue import SPECS, settings_class

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
POSTGRES_INIT = ROOT / "deploy" / "postgres" / "init.sh"

# From the service catalogue (ocop_runtime.services.discover): compose must run each service.
SERVICES: dict[str, tuple[type[ServiceSettings], int]] = {
    s.name: (settings_class(s), s.http_port) for s in SPECS
}
PRODUCTION_REQUIRED = (
    "OCOP_DATABASE_URL",
    "OCOP_MIGRATION_DATABASE_URL",
    "OCOP_KAFKA_BOOTSTRAP_SERVERS",
    "OCOP_HTTP_PORT",
    "OCOP_ENV",
)

# What an operator's .env would provide; compose refuses to start without these.
OPERATOR_ENV = {
    "OCOP_PG_SUPERUSER_PASSWORD": "s3cret-superuser",
    **{f"OCOP_{name.upper()}_DB_PASSWORD": f"s3cret-{name}" for name in SERVICES},
    **{f"OCOP_{name.upper()}_OWNER_DB_PASSWORD": f"s3cret-{name}-owner" for name in SERVICES},
}

_INTERPOLATION = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}")

service_names = pytest.mark.parametrize("name", list(SERVICES))


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(document, dict), "docker-compose.yml is not a mapping"
    assert isinstance(document.get("services"), dict), "docker-compose.yml has no services"
    return document


@pytest.fixture
def no_ocop_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings read the process environment too; keep only what a test passes in."""
    for key in list(os.environ):
        if key.startswith("OCOP_"):
            monkeypatch.delenv(key)


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's variable substitution (``${X}``, ``${X:-d}``, ``${X:?err}``, ``$$``)."""

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group(1), match.group(2), match.group(3) or ""
        value = env.get(name)
        unset = value is None or (op is not None and op.startswith(":") and value == "")
        if op is None:
            return value or ""
        if op.endswith("-"):
            return arg if unset else str(value)
        if op.endswith("?"):
            if unset:
                raise AssertionError(f"compose requires {name}: {arg}")
            return str(value)
        return "" if unset else arg  # ":+" / "+"

    return _INTERPOLATION.sub(substitute, value)


def environment(service: dict[str, Any]) -> dict[str, str]:
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        pairs = (item.split("=", 1) if "=" in item else (item, "") for item in raw)
        return {k: v for k, v in pairs}
    return {k: "" if v is None else str(v) for k, v in raw.items()}


def command(service: dict[str, Any]) -> list[str]:
    raw = service.get("command")
    return shlex.split(raw) if isinstance(raw, str) else list(raw or [])


def published_ports(service: dict[str, Any]) -> set[tuple[int, int]]:
    """(published, target) pairs of a service's ``ports``, short or long syntax."""
    pairs = set()
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            pairs.add((int(entry["published"]), int(entry["target"])))
            continue
        parts = str(entry).split("/", 1)[0].split(":")
        target = int(parts[-1])
        published = int(parts[-2]) if len(parts) >= 2 else target
        pairs.add((published, target))
    return pairs


def env_name(field: str) -> str:
    return "OCOP_" + field.upper()


def test_compose_runs_kafka_and_postgres_from_their_official_images(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    assert str(services["kafka"]["image"]).startswith("apache/kafka:")
    assert str(services["postgres"]["image"]).startswith("postgres:")


def test_compose_runs_exactly_the_services_of_the_catalogue(compose: dict[str, Any]) -> None:
    runs = {
        name
        for name, service in compose["services"].items()
        if command(service)[:2] == ["python", "-m"]
    }
    assert runs == set(SERVICES), "docker-compose.yml and the service catalogue disagree"


def test_postgres_init_creates_a_role_and_schema_for_every_service(
    compose: dict[str, Any],
) -> None:
    """deploy/postgres/init.sh runs in the postgres image, without the catalogue: its list of
    services, and the passwords compose hands it, must be the catalogue's."""
    expected = [s.schema for s in SPECS] + reserved(SPECS)
    assert all(s.schema == s.name for s in SPECS), "init.sh names role and schema alike"
    script = POSTGRES_INIT.read_text(encoding="utf-8")
    [listed] = re.findall(r"^\s*for name in ([a-z_ ]+); do$", script, re.MULTILINE)
    assert listed.split() == expected, "deploy/postgres/init.sh lists other services"
    env = environment(compose["services"]["postgres"])
    for name in expected:
        assert f"OCOP_{name.upper()}_DB_PASSWORD" in env, f"postgres gets no password for {name}"
        assert f"OCOP_{name.upper()}_OWNER_DB_PASSWORD" in env, f"no owner password for {name}"
    assert 'CREATE SCHEMA :"schema" AUTHORIZATION :"owner";' in script


def test_dockerfile_exposes_the_port_of_every_service() -> None:
    exposed = {
        int(port.split("/")[0])
        for instruction, arguments in dockerfile_instructions()
        if instruction == "EXPOSE"
        for port in arguments.split()
    }
    assert exposed == {port for _, port in SERVICES.values()}


@service_names
def test_service_is_built_from_the_project_dockerfile_and_runs_its_module(
    compose: dict[str, Any], name: str
) -> None:
    service = compose["services"][name]
    build = service.get("build")
    assert build is not None, f"{name} has no build section"
    if isinstance(build, str):
        context, dockerfile = build, "Dockerfile"
    else:
        context, dockerfile = build.get("context"), build.get("dockerfile", "Dockerfile")
    assert context == ".", f"{name} builds from context {context!r}"
    assert (ROOT / context / dockerfile).resolve() == DOCKERFILE.resolve()
    assert command(service) == ["python", "-m", f"ocop_{name}"]


@service_names
def test_service_publishes_its_port_and_listens_on_it_on_all_interfaces(
    compose: dict[str, Any], name: str
) -> None:
    _, port = SERVICES[name]
    service = compose["services"][name]
    env = environment(service)
    assert (port, port) in published_ports(service), f"{name} does not publish {port}:{port}"
    assert env.get("OCOP_HTTP_PORT") == str(port)
    # The default 127.0.0.1 would be unreachable from outside the container.
    assert env.get("OCOP_HTTP_HOST") == "0.0.0.0"


def test_every_service_of_the_stack_has_a_healthcheck(compose: dict[str, Any]) -> None:
    for name in ("kafka", "postgres", *SERVICES):
        healthcheck = compose["services"][name].get("healthcheck") or {}
        assert healthcheck.get("test"), f"{name} has no healthcheck test"
        assert not healthcheck.get("disable"), f"{name} disables its healthcheck"


@service_names
def test_service_healthcheck_probes_its_own_port(compose: dict[str, Any], name: str) -> None:
    _, port = SERVICES[name]
    test = compose["services"][name]["healthcheck"]["test"]
    probe = " ".join(test) if isinstance(test, list) else str(test)
    assert f":{port}/healthz" in probe, probe


@service_names
def test_service_waits_for_healthy_kafka_and_postgres(compose: dict[str, Any], name: str) -> None:
    depends_on = compose["services"][name].get("depends_on")
    assert isinstance(depends_on, dict), f"{name}: depends_on without conditions waits for nothing"
    for dependency in ("kafka", "postgres"):
        assert (depends_on.get(dependency) or {}).get("condition") == "service_healthy", (
            f"{name} does not wait for a healthy {dependency}"
        )


@service_names
def test_every_ocop_variable_of_a_service_is_a_field_of_its_settings(
    compose: dict[str, Any], name: str
) -> None:
    settings_type, _ = SERVICES[name]
    known = {env_name(field) for field in settings_type.model_fields}
    env = environment(compose["services"][name])
    unknown = sorted(k for k in env if k.startswith("OCOP_") and k not in known)
    assert not unknown, f"{name} sets variables its settings ignore: {unknown}"
    missing = [k for k in PRODUCTION_REQUIRED if k not in env]
    assert not missing, f"{name} does not set {missing}"


@service_names
def test_service_runs_in_production_without_a_development_password(
    compose: dict[str, Any], name: str
) -> None:
    env = environment(compose["services"][name])
    assert env["OCOP_ENV"] == "production"
    url = env["OCOP_DATABASE_URL"]
    assert DEV_PASSWORD_PREFIX not in url
    parts = urlsplit(interpolate(url, OPERATOR_ENV))
    assert parts.username == f"ocop_{name}", "each service logs in with its own role"
    assert parts.password == OPERATOR_ENV[f"OCOP_{name.upper()}_DB_PASSWORD"]
    assert parts.hostname == "postgres"
    owner = urlsplit(interpolate(env["OCOP_MIGRATION_DATABASE_URL"], OPERATOR_ENV))
    assert owner.username == f"ocop_{name}_owner", "migrations run as the schema's owner"
    assert owner.password == OPERATOR_ENV[f"OCOP_{name.upper()}_OWNER_DB_PASSWORD"]
    hosts = {s.rsplit(":", 1)[0] for s in env["OCOP_KAFKA_BOOTSTRAP_SERVERS"].split(",")}
    assert hosts == {"kafka"}


@service_names
def test_compose_environment_is_accepted_by_the_service_settings(
    compose: dict[str, Any], name: str, no_ocop_env: None
) -> None:
    settings_type, port = SERVICES[name]
    env = environment(compose["services"][name])
    values: dict[str, Any] = {
        k.removeprefix("OCOP_").lower(): interpolate(v, OPERATOR_ENV)
        for k, v in env.items()
        if k.startswith("OCOP_")
    }
    settings = settings_type(**values)
    assert settings.env == "production"
    assert settings.service == name
    assert settings.http_port == port
    assert settings.db_schema == name
    assert settings.consumer_group == f"ocop.{name}"


@service_names
def test_compose_ports_agree_with_the_settings_defaults(
    compose: dict[str, Any], name: str, no_ocop_env: None
) -> None:
    settings_type, port = SERVICES[name]
    assert settings_type.model_fields["http_port"].default == port
    assert settings_type().http_port == port
    assert environment(compose["services"][name])["OCOP_HTTP_PORT"] == str(port)


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    assert DOCKERFILE.is_file(), "the Dockerfile is missing"
    logical, current = [], ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        logical.append(current + stripped)
        current = ""
    if current:
        logical.append(current)
    result = []
    for entry in logical:
        instruction, _, arguments = entry.partition(" ")
        result.append((instruction.upper(), arguments.strip()))
    return result


def test_dockerfile_builds_on_the_official_python_3_11_image() -> None:
    # A FROM naming a build argument builds on that argument's default (see the test below).
    defaults = dict(
        a.split("=", 1) for i, a in dockerfile_instructions() if i == "ARG" and "=" in a
    )
    instructions = [i for i in dockerfile_instructions() if i[0] != "ARG"]
    assert instructions and instructions[0][0] == "FROM", "the Dockerfile does not start with FROM"
    official = re.compile(r"^(?:docker\.io/)?(?:library/)?python:3\.11(?:[.-][\w.-]*)?(?:@\S+)?$")
    stages: set[str] = set()
    for instruction, arguments in instructions:
        if instruction != "FROM":
            continue
        words = [w for w in arguments.split() if not w.startswith("--")]
        image = re.sub(r"\$\{(\w+)\}", lambda m: defaults.get(m.group(1), m.group(0)), words[0])
        assert official.match(image) or image in stages, f"FROM {image} is not python:3.11"
        if len(words) >= 3 and words[1].upper() == "AS":
            stages.add(words[2])


def test_dockerfile_installs_exactly_the_locked_dependencies() -> None:
    instructions = dockerfile_instructions()
    syncs = [
        i
        for i, (instruction, arguments) in enumerate(instructions)
        if instruction == "RUN" and re.search(r"\buv sync\b[^;&|]*--frozen", arguments)
    ]
    assert syncs, "the Dockerfile does not run `uv sync --frozen`"
    copies_lock = [
        i
        for i, (instruction, arguments) in enumerate(instructions)
        if instruction in {"COPY", "ADD"}
        and {"uv.lock", "."} & {w for w in arguments.split()[:-1] if not w.startswith("--")}
    ]
    assert copies_lock and min(copies_lock) < syncs[0], "uv.lock is not copied before uv sync"


# deploy/compose.local.yml: the same stack with local images on the host's network
# (deploy/compose.sh, `make compose-test`, which runs it for real).
LOCAL_OVERRIDE = ROOT / "deploy" / "compose.local.yml"
PROMETHEUS_CONFIG = ROOT / "deploy" / "prometheus" / "prometheus.yml"
# Services with no local equivalent, left out by deploy/compose.sh (NO_LOCAL_IMAGE there).
NO_LOCAL_IMAGE = {"grafana"}
# What the override may change: where an image comes from and the networking.
OVERRIDABLE = {"image", "build", "network_mode", "extra_hosts", "environment", "command"}


@pytest.fixture(scope="module")
def local() -> dict[str, Any]:
    document = yaml.safe_load(LOCAL_OVERRIDE.read_text(encoding="utf-8"))
    assert isinstance(document, dict) and isinstance(document.get("services"), dict)
    return document


def test_dockerfile_takes_its_base_image_as_a_build_argument_defaulting_to_the_official_one(
    local: dict[str, Any],
) -> None:
    instructions = dockerfile_instructions()
    args = [a for i, a in instructions if i == "ARG"]
    assert "BASE_IMAGE=python:3.11-slim" in args
    assert [a for i, a in instructions if i == "FROM"] == ["${BASE_IMAGE}"]
    script = (ROOT / "deploy" / "compose.sh").read_text(encoding="utf-8")
    for name in SERVICES:
        build = local["services"][name]["build"]
        assert build["args"]["BASE_IMAGE"] == "ocop-local/python:3.11"
        assert build["network"] == "host", f"{name} builds off the host's network"
        assert 'build "$LOCAL/python:3.11"' in script, "compose.sh does not build the base"


def test_the_local_override_runs_every_service_on_the_loopback(
    compose: dict[str, Any], local: dict[str, Any]
) -> None:
    base = compose["services"]
    overridden = local["services"]
    assert set(overridden) == set(base) - NO_LOCAL_IMAGE, "services the override misses"
    # Every service that listens (a one-shot job such as kafka-topics does not).
    names = {n for n, service in base.items() if service.get("restart") != "no"}
    for name, service in overridden.items():
        assert set(service) - {"volumes", "healthcheck"} <= OVERRIDABLE, name
        assert service["network_mode"] == "host", f"{name} is not on the host's network"
        assert "ports" not in service and "networks" not in service
        hosts = dict(entry.split(":", 1) for entry in service["extra_hosts"])
        assert set(hosts) >= names - NO_LOCAL_IMAGE, f"{name} cannot resolve every service"
        assert set(hosts.values()) == {"127.0.0.1"}
        if name in SERVICES:
            assert environment(service) == {"OCOP_HTTP_HOST": "127.0.0.1"}
    # No bridge: the project's default network is the host's.
    assert local["networks"] == {"default": {"external": True, "name": "host"}}
    kafka = environment(overridden["kafka"])
    assert kafka == {"KAFKA_LISTENERS": "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093"}
    assert set(kafka) <= set(environment(base["kafka"])), "the override renames a variable"
    assert "listen_addresses=127.0.0.1" in command(overridden["postgres"])


def test_the_local_images_are_built_here_from_deploy_images(local: dict[str, Any]) -> None:
    script = (ROOT / "deploy" / "compose.sh").read_text(encoding="utf-8")
    for name, service in local["services"].items():
        image = service.get("image")
        if image is None:
            continue
        assert image.startswith("ocop-local/"), f"{name} pulls {image}"
        folder = image.removeprefix("ocop-local/").split(":")[0]
        assert (ROOT / "deploy" / "images" / folder / "Dockerfile").is_file(), image
        assert f'"$ctx/{folder}"' in script, f"deploy/compose.sh does not build {image}"


def test_kafka_and_postgres_stand_ins_keep_the_official_images_interface(
    compose: dict[str, Any],
) -> None:
    images = ROOT / "deploy" / "images"
    run = (images / "kafka" / "bin" / "run.sh").read_text(encoding="utf-8")
    assert "CLUSTER_ID" in run and "KAFKA_" in run
    kafka = compose["services"]["kafka"]
    assert "/opt/kafka/bin/kafka-broker-api-versions.sh" in " ".join(kafka["healthcheck"]["test"])
    assert (images / "kafka" / "bin" / "kafka-broker-api-versions.sh").is_file()
    assert "/var/lib/kafka/data" in (images / "kafka" / "Dockerfile").read_text()
    entrypoint = (images / "postgres" / "docker-entrypoint.sh").read_text(encoding="utf-8")
    for name in ("POSTGRES_PASSWORD", "POSTGRES_DB", "/docker-entrypoint-initdb.d"):
        assert name in entrypoint
    assert "PGDATA=/var/lib/postgresql/data" in (images / "postgres" / "Dockerfile").read_text()


def test_services_wait_for_the_topics_to_exist(compose: dict[str, Any]) -> None:
    topics_job = compose["services"]["kafka-topics"]
    assert topics_job["restart"] == "no"
    assert topics_job["depends_on"]["kafka"]["condition"] == "service_healthy"
    for name in SERVICES:
        depends_on = compose["services"][name]["depends_on"]
        assert depends_on["kafka-topics"]["condition"] == "service_completed_successfully"


def test_prometheus_scrapes_every_service_at_its_port(compose: dict[str, Any]) -> None:
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text(encoding="utf-8"))
    [job] = [j for j in config["scrape_configs"] if j["job_name"] == "ocop"]
    scraped = {
        sc["labels"]["service"]: target for sc in job["static_configs"] for target in sc["targets"]
    }
    assert scraped == {name: f"{name}:{port}" for name, (_, port) in SERVICES.items()}
    prometheus = compose["services"]["prometheus"]
    assert "./deploy/prometheus:/etc/prometheus:ro" in prometheus["volumes"]
    assert prometheus["healthcheck"]["test"]
