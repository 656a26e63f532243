"""docker-compose.yml running for real, checked as an operator would (``make compose-test``).

deploy/compose.sh brings the stack up with the local images (deploy/compose.local.yml) and runs
this module with ``OCOP_COMPOSE_STACK=1``; elsewhere it is skipped. The checks go through what an
operator has: the services' HTTP ports on the loopback, Prometheus, ``docker`` and ``psql`` in
the postgres container. Tokens are signed with the key of the issuer that stands in for
Keycloak (``OCOP_COMPOSE_DIR/idp``).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest

from ocop_runtime.auth import Role
from ocop_runtime.devidp import issue_token
from ocop_runtime.testing import wait_until
from tests.catalogue import SPECS

pytestmark = [
    pytest.mark.skipif(
        os.environ.get("OCOP_COMPOSE_STACK") != "1",
        reason="needs the compose stack: make compose-test",
    ),
    pytest.mark.timeout(600),
]

PROJECT = "ocop"
ROOT = Path(__file__).resolve().parents[1]
STATE = Path(os.environ.get("OCOP_COMPOSE_DIR", ROOT / ".ocop" / "compose"))
ISSUER = "http://localhost:8080/realms/ocop"
PORTS = {s.name: s.http_port for s in SPECS}
COMMUNE = "00004"
# Every process of the stack and the port it must listen on, on the loopback only.
LISTENERS = {**PORTS, "kafka": 9092, "postgres": 5432, "prometheus": 9090, "keycloak": 8080}


def docker(*args: str) -> str:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"docker {' '.join(args)}: {done.stderr}"
    return done.stdout


def containers() -> dict[str, dict[str, Any]]:
    """The stack's containers by compose service name, as ``docker inspect`` tells."""
    ids = docker("ps", "-aq", "--filter", f"label=com.docker.compose.project={PROJECT}").split()
    assert ids, "no container of the compose project is there"
    found = json.loads(docker("inspect", *ids))
    return {c["Config"]["Labels"]["com.docker.compose.service"]: c for c in found}


def container(service: str) -> dict[str, Any]:
    return containers()[service]


def token(*roles: Role) -> str:
    return issue_token(STATE / "idp", roles=[r.value for r in roles], issuer=ISSUER)


def dotenv() -> dict[str, str]:
    pairs = (
        line.split("=", 1) for line in (STATE / ".env").read_text().splitlines() if "=" in line
    )
    return {k: v for k, v in pairs}


def psql(sql: str) -> str:
    """A query as the superuser, in the postgres container (its socket: no password needed)."""
    return docker(
        "exec", container("postgres")["Id"], "psql", "-U", "postgres", "-d", "ocop", "-XAtqc", sql
    ).strip()


@pytest.fixture
def registry() -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {token(Role.CITY_OFFICE)}"}
    with httpx.Client(base_url=f"http://127.0.0.1:{PORTS['registry']}", headers=headers) as c:
        yield c


@pytest.fixture
def evaluation() -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {token(Role.COUNCIL_MEMBER)}"}
    with httpx.Client(base_url=f"http://127.0.0.1:{PORTS['evaluation']}", headers=headers) as c:
        yield c


def register(registry: httpx.Client, name: str) -> str:
    created = registry.post(
        "/producers",
        json={
            "name": name,
            "legal_form": "cooperative",
            "registration_number": f"{random.randrange(10**9, 10**10)}",
            "commune_code": COMMUNE,
        },
    )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def in_evaluation(evaluation: httpx.Client, producer_id: str, name: str) -> None:
    """Wait until evaluation's copy of the producer is there, exactly as registered once."""

    async def probe() -> dict[str, Any] | None:
        try:
            found = await asyncio.to_thread(evaluation.get, f"/producers/{producer_id}")
        except httpx.TransportError:
            return None  # the service is (re)starting
        return found.json() if found.status_code == 200 else None

    copy = await wait_until(probe, timeout_seconds=180, interval=1, what=f"{name} in evaluation")
    assert copy["name"] == name
    assert copy["version"] == 1, "the registration was applied more than once"


async def healthy_after_restart(service: str, restarts_before: int) -> None:
    async def probe() -> bool:
        c = await asyncio.to_thread(container, service)
        return c["RestartCount"] > restarts_before and c["State"]["Health"]["Status"] == "healthy"

    await wait_until(probe, timeout_seconds=240, interval=2, what=f"docker to restart {service}")


def kill_main_process(service: str) -> int:
    """SIGKILL the container's main process from the host, as a crash would: Docker's restart
    policy (not an operator's `docker start`) must bring it back. Returns the restart count."""
    c = container(service)
    assert c["State"]["Running"], f"{service} is not running"
    assert c["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    os.kill(c["State"]["Pid"], signal.SIGKILL)
    return int(c["RestartCount"])


def test_every_container_is_healthy_and_on_the_hosts_network() -> None:
    found = containers()
    assert set(PORTS) <= set(found), f"services without a container: {set(PORTS) - set(found)}"
    for name, c in found.items():
        state = c["State"]
        assert c["HostConfig"]["NetworkMode"] == "host", f"{name} is not on the host's network"
        if c["HostConfig"]["RestartPolicy"]["Name"] == "no":  # one-shot: kafka-topics
            assert state["Status"] == "exited" and state["ExitCode"] == 0, f"{name}: {state}"
            continue
        assert state["Status"] == "running", f"{name}: {state['Status']}"
        if name in (*PORTS, "kafka", "postgres", "prometheus", "keycloak"):
            assert state["Health"]["Status"] == "healthy", f"{name}: {state['Health']}"
    networks = docker(
        "network", "ls", "-q", "--filter", f"label=com.docker.compose.project={PROJECT}"
    )
    assert not networks.split(), "compose created a network of its own"


def _listeners() -> dict[int, set[str]]:
    """Listening TCP sockets of this host (the containers share its network): port -> addresses."""
    found: dict[int, set[str]] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] != "0A":  # LISTEN
                continue
            address, port = fields[1].split(":")
            found.setdefault(int(port, 16), set()).add(address)
    return found


def test_every_process_of_the_stack_listens_on_the_loopback_only() -> None:
    loopback = {"0100007F", "0000000000000000FFFF00000100007F", "00000000000000000000000001000000"}
    listening = _listeners()
    for name, port in LISTENERS.items():
        assert port in listening, f"{name} does not listen on {port}"
        assert listening[port] <= loopback, f"{name} listens beyond the loopback on {port}"


async def test_a_producer_registered_through_the_registry_appears_in_evaluation(
    registry: httpx.Client, evaluation: httpx.Client
) -> None:
    name = f"HTX compose {uuid4().hex[:8]}"
    producer_id = register(registry, name)
    await in_evaluation(evaluation, producer_id, name)
    # Without a token the same read is refused: the stand-in issuer is the only key source.
    anonymous = await asyncio.to_thread(httpx.get, f"{evaluation.base_url}/producers/{producer_id}")
    assert anonymous.status_code == 401


async def test_a_killed_consumer_is_restarted_by_docker_and_loses_nothing(
    registry: httpx.Client, evaluation: httpx.Client
) -> None:
    before = f"HTX before {uuid4().hex[:8]}"
    before_id = register(registry, before)
    await in_evaluation(evaluation, before_id, before)
    restarts = kill_main_process("evaluation")
    # Registered while evaluation is down or restarting: waiting on Kafka for it.
    during = {f"HTX during {uuid4().hex[:8]} {i}": "" for i in range(3)}
    for name in during:
        during[name] = register(registry, name)
    await healthy_after_restart("evaluation", restarts)
    for name, producer_id in during.items():
        await in_evaluation(evaluation, producer_id, name)
    await in_evaluation(evaluation, before_id, before)


async def test_a_killed_producer_is_restarted_by_docker_and_its_outbox_loses_nothing(
    registry: httpx.Client, evaluation: httpx.Client
) -> None:
    # Killed right after its answer: the outbox row is committed, maybe not yet published.
    name = f"HTX outbox {uuid4().hex[:8]}"
    producer_id = register(registry, name)
    restarts = kill_main_process("registry")
    await healthy_after_restart("registry", restarts)
    await in_evaluation(evaluation, producer_id, name)
    after = f"HTX after {uuid4().hex[:8]}"
    await in_evaluation(evaluation, register(registry, after), after)


async def test_restore_drill_dump_drop_restore_resumes_with_nothing_lost_or_applied_twice(
    registry: httpx.Client, evaluation: httpx.Client
) -> None:
    """docs/OPERATIONS.md's restore of one service's schema: stop the service, dump its schema,
    drop it, restore the dump, start the service. It resumes from its committed offsets: what
    was published while it was down arrives, what it had applied is not applied again."""
    first = f"HTX drill {uuid4().hex[:8]}"
    first_id = register(registry, first)
    await in_evaluation(evaluation, first_id, first)
    eval_id = container("evaluation")["Id"]
    pg_id = container("postgres")["Id"]
    docker("stop", "-t", "20", eval_id)
    missed = f"HTX drill missed {uuid4().hex[:8]}"
    missed_id = register(registry, missed)
    count = int(psql("SELECT count(*) FROM evaluation.producers"))
    inbox = int(psql("SELECT count(*) FROM evaluation.inbox"))
    dump = docker(
        "exec",
        pg_id,
        "sh",
        "-c",
        "pg_dump -U postgres -d ocop -n evaluation -Fc -f /tmp/drill.dump && echo ok",
    )
    assert dump.strip() == "ok"
    psql("DROP SCHEMA evaluation CASCADE")
    assert psql("SELECT count(*) FROM pg_namespace WHERE nspname = 'evaluation'") == "0"
    docker(
        "exec",
        pg_id,
        "pg_restore",
        "-U",
        "postgres",
        "-d",
        "ocop",
        "--exit-on-error",
        "/tmp/drill.dump",
    )
    docker("exec", pg_id, "rm", "-f", "/tmp/drill.dump")
    assert int(psql("SELECT count(*) FROM evaluation.producers")) == count
    assert int(psql("SELECT count(*) FROM evaluation.inbox")) == inbox
    docker("start", eval_id)
    await in_evaluation(evaluation, missed_id, missed)
    await in_evaluation(evaluation, first_id, first)
    assert int(psql("SELECT count(*) FROM evaluation.producers")) == count + 1


async def test_prometheus_scrapes_every_service_and_loads_the_rules() -> None:
    base = "http://127.0.0.1:9090/api/v1"

    async def all_up() -> dict[str, str] | None:
        targets = (await asyncio.to_thread(httpx.get, f"{base}/targets")).json()
        health = {
            t["labels"]["service"]: t["health"]
            for t in targets["data"]["activeTargets"]
            if t["labels"].get("job") == "ocop"
        }
        return health if set(health) == set(PORTS) and set(health.values()) == {"up"} else None

    await wait_until(all_up, timeout_seconds=90, interval=2, what="every service scraped and up")
    groups = (await asyncio.to_thread(httpx.get, f"{base}/rules")).json()["data"]["groups"]
    rules = {r["name"] for g in groups for r in g["rules"]}
    assert {"OcopServiceDown", "OcopDeadLetters", "OcopOutboxBacklogOld"} <= rules
    broken = [r["name"] for g in groups for r in g["rules"] if r.get("health") == "err"]
    assert not broken, f"rules failing to evaluate: {broken}"
