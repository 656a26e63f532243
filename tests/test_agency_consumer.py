"""The agency kit (examples/agency-consumer) works as another agency would run it: installed in an
environment of its own with only the ocop-contracts wheel and aiokafka, connected to the real
broker with the credentials ``ocop agency add`` prints, against the real registry."""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from typer.testing import CliRunner

from ocop_contracts import Envelope, topics
from ocop_runtime.auth import Role
from ocop_runtime.cli import app as cli
from ocop_runtime.kafka import admin_client, client_options, read_all, start_client
from ocop_runtime.testing import own_topics, running, token, wait_until
from tests.commands import grant_in_test_topics
from tests.flow import registry_app, tax_code

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "agency-consumer"
COMMUNE = "00004"


@pytest.fixture(scope="session")
def agency_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtual environment holding what an agency installs: the example project, whose only
    dependencies are the ocop-contracts wheel (built from contracts/) and aiokafka."""
    venv = tmp_path_factory.mktemp("agency-venv")
    uv = shutil.which("uv")
    if uv is None:
        pytest.fail("uv is not on PATH (deploy/bootstrap.sh installs it)", pytrace=False)
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    env.pop("VIRTUAL_ENV", None)
    subprocess.run(
        [uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True, env=env, timeout=120
    )
    python = venv / "bin" / "python"
    wheels = tmp_path_factory.mktemp("wheels")
    subprocess.run(
        [uv, "build", "-q", "--wheel", "-o", str(wheels), str(ROOT / "contracts")],
        check=True,
        env=env,
        timeout=600,
    )
    (wheel,) = wheels.glob("ocop_contracts-*.whl")
    subprocess.run(
        # The example's declared dependencies, the contracts coming from the wheel.
        [
            uv,
            "pip",
            "install",
            "-q",
            "--python",
            str(python),
            str(wheel),
            "-r",
            str(EXAMPLE / "pyproject.toml"),
        ],
        check=True,
        env=env,
        timeout=600,
    )
    return python


def _installed(python: Path) -> set[str]:
    listing = subprocess.run(
        [
            str(python),
            "-c",
            "import importlib.metadata as m; print('\\n'.join(d.metadata['Name'] for d in m.distributions()))",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return {line.strip().lower().replace("_", "-") for line in listing.splitlines() if line.strip()}


async def add_agency(bootstrap: str, name: str) -> dict[str, str]:
    """``ocop agency add NAME --commands registry``: what the city's operator runs."""
    result = await asyncio.to_thread(
        CliRunner().invoke,
        cli,
        ["agency", "add", name, "--bootstrap", bootstrap, "--commands", "registry"],
    )
    assert result.exit_code == 0, result.output
    return dict(line.split("=", 1) for line in result.output.strip().splitlines())


def agency_env(settings: dict[str, str], name: str, database: Path) -> dict[str, str]:
    """The example's settings, taken from what ``ocop agency add`` printed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCOP_")}
    env.update(
        OCOP_KAFKA_BOOTSTRAP_SERVERS=settings["bootstrap.servers"],
        OCOP_KAFKA_SECURITY_PROTOCOL=settings["security.protocol"],
        OCOP_KAFKA_USERNAME=settings["sasl.username"],
        OCOP_KAFKA_PASSWORD=settings["sasl.password"],
        OCOP_AGENCY=name,
        OCOP_TOPIC_PREFIX=own_topics().prefix,  # this test's own topics
        AGENCY_DATABASE=str(database),
        PYTHONUNBUFFERED="1",
    )
    return env


class Process:
    """The example's consumer as an OS process, its output collected line by line."""

    def __init__(self, python: Path, env: dict[str, str]) -> None:
        self.python, self.env = python, env
        self.lines: list[str] = []
        self.proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            str(self.python),
            "consume.py",
            cwd=EXAMPLE,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        self._reader = asyncio.create_task(self._read(self.proc))

    async def _read(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        async for line in proc.stdout:
            self.lines.append(line.decode(errors="replace").rstrip())

    async def kill(self) -> None:
        assert self.proc is not None and self._reader is not None
        if self.proc.returncode is None:
            self.proc.kill()  # SIGKILL: no clean shutdown, no last commit
        await self.proc.wait()
        await self._reader

    def alive(self) -> None:
        assert self.proc is not None
        if self.proc.returncode is not None:
            raise AssertionError("the consumer exited:\n" + "\n".join(self.lines[-30:]))


@contextlib.asynccontextmanager
async def consumer(python: Path, env: dict[str, str]) -> AsyncIterator[Process]:
    process = Process(python, env)
    await process.start()
    try:
        yield process
    finally:
        await process.kill()


def producers_in(database: Path, commune: str) -> int:
    if not database.exists():
        return 0
    with contextlib.closing(sqlite3.connect(database)) as db:
        try:
            row = db.execute(
                "SELECT producers FROM producers_by_commune WHERE commune_code = ?", (commune,)
            ).fetchone()
        except sqlite3.OperationalError:  # the consumer has not created its tables yet
            return 0
    return int(row[0]) if row else 0


async def counted(database: Path, process: Process, expected: int) -> None:
    async def probe() -> bool:
        process.alive()
        return producers_in(database, COMMUNE) == expected

    await wait_until(probe, timeout_seconds=60, what=f"{expected} producers counted")


async def run_command(python: Path, env: dict[str, str], *args: str) -> tuple[int, dict[str, Any]]:
    proc = await asyncio.create_subprocess_exec(
        str(python),
        "command.py",
        *args,
        cwd=EXAMPLE,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert out.strip(), err.decode()
    return proc.returncode or 0, json.loads(out.decode().strip().splitlines()[-1])


@contextlib.contextmanager
def token_endpoint(access_token: str) -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A client-credentials token endpoint on loopback, as the city's identity provider has."""
    requests: list[dict[str, str]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            form = dict(pair.split("=", 1) for pair in self.rfile.read(length).decode().split("&"))
            requests.append(form)
            body = json.dumps({"access_token": access_token, "token_type": "Bearer"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/token", requests
    finally:
        server.shutdown()
        server.server_close()


async def republish(bootstrap: str, topic: str, record: Any) -> str:
    """Put a record on the topic again, same ce_id and all: a redelivery."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **client_options(None))
    await start_client(producer)
    try:
        await producer.send_and_wait(
            topic, key=record.key, value=record.value, headers=list(record.headers)
        )
    finally:
        await producer.stop()
    return Envelope.from_headers(record.headers).id


@pytest.mark.timeout(600)
def test_the_example_project_installs_with_only_the_contracts_and_aiokafka(
    agency_python: Path,
) -> None:
    installed = _installed(agency_python)
    assert {"ocop-contracts", "aiokafka"} <= installed
    assert not {
        n
        for n in installed
        if n.startswith("ocop-") and n not in {"ocop-contracts", "ocop-agency-consumer"}
    }
    assert "ocop-runtime" not in installed and "faststream" not in installed


@pytest.mark.timeout(600)  # installs the kit first, then two processes against the stack
async def test_an_agency_counts_producers_once_through_a_restart_and_sends_a_command(
    make_settings: Any, kafka_bootstrap: str, unique: str, tmp_path: Path, agency_python: Path
) -> None:
    name = f"so-{unique}"
    settings = await add_agency(kafka_bootstrap, name)
    await grant_in_test_topics(kafka_bootstrap, name, ["registry"])
    database = tmp_path / "agency.sqlite3"
    env = agency_env(settings, name, database)
    producers_topic = own_topics().physical(topics.REGISTRY_PRODUCERS)
    group = f"agency.{name}.producers-by-commune"

    async def register_over_http(client: Any) -> None:
        created = await client.post(
            "/producers",
            json={
                "name": f"HTX {unique} {uuid4().hex[:6]}",
                "legal_form": "cooperative",
                "registration_number": tax_code(),
                "commune_code": COMMUNE,
            },
        )
        assert created.status_code == 201, created.text

    async with running(registry_app(make_settings)) as registry:
        for _ in range(2):
            await register_over_http(registry)
        async with consumer(agency_python, env) as first:
            await counted(database, first, 2)

            # A command with the agency machine client's token (commune officer of 00004):
            # accepted, answered on the agency's own replies topic, and its event counted.
            producer_id = uuid4()
            client_token = token(
                Role.AGENCY,
                Role.COMMUNE_OFFICER,
                units=[COMMUNE],
                subject=f"svc-{name}",
                agency=name,
            )
            code, answer = await run_command(
                agency_python,
                {**env, "OCOP_ACCESS_TOKEN": client_token},
                "register-producer",
                "--id",
                str(producer_id),
                "--name",
                f"HTX Đại Thắng {unique}",
                "--legal-form",
                "cooperative",
                "--registration-number",
                tax_code(),
                "--commune",
                COMMUNE,
            )
            assert code == 0, answer
            assert answer["type"] == "CommandAccepted"
            assert answer["command_key"] == str(producer_id)
            await counted(database, first, 3)

        # Killed (SIGKILL). Meanwhile a producer is registered and a record the first run
        # applied is redelivered: chosen now, while the topic holds only those three.
        (_, applied_record), *_ = await read_all(kafka_bootstrap, producers_topic)
        await register_over_http(registry)
        redelivered = await republish(kafka_bootstrap, producers_topic, applied_record)

        async with consumer(agency_python, env) as second:
            await counted(database, second, 4)

            async def recognised() -> bool:
                second.alive()
                return any(
                    line.startswith("duplicate") and redelivered in line for line in second.lines
                )

            await wait_until(recognised, what="the redelivered record seen as a duplicate")

            # Its offsets are committed after each effect: nothing left to read.
            async def caught_up() -> bool:
                async with admin_client(kafka_bootstrap) as admin:
                    committed = await admin.list_consumer_group_offsets(group)
                ends = await _end_offsets(kafka_bootstrap, producers_topic)
                return all(
                    committed.get(tp) and committed[tp].offset == end
                    for tp, end in ends.items()
                    if end
                )

            await wait_until(caught_up, what="the group's offsets to reach the topic's end")

        # Through the restart every event was applied once: 4 producers, one row per ce_id.
        records = await read_all(kafka_bootstrap, producers_topic)
        ids = {Envelope.from_headers(r.headers).id for _, r in records}
        assert len(records) == len(ids) + 1  # the redelivered copy
        with contextlib.closing(sqlite3.connect(database)) as db:
            assert {row[0] for row in db.execute("SELECT ce_id FROM seen")} == ids
        assert producers_in(database, COMMUNE) == 4
        assert not any(line.startswith("applied") and redelivered in line for line in second.lines)


async def _end_offsets(bootstrap: str, topic: str) -> dict[TopicPartition, int]:
    from aiokafka import AIOKafkaConsumer

    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, **client_options(None))
    await start_client(reader)
    try:
        await reader._client.force_metadata_update()  # as ocop_runtime.kafka.read_all does
        partitions = [TopicPartition(topic, p) for p in reader.partitions_for_topic(topic) or ()]
        assert partitions, f"no partitions of {topic}"
        return dict(await reader.end_offsets(partitions))
    finally:
        await reader.stop()


@pytest.mark.timeout(600)
async def test_a_refused_command_is_answered_on_the_agencys_own_replies_topic(
    make_settings: Any, kafka_bootstrap: str, unique: str, tmp_path: Path, agency_python: Path
) -> None:
    """The agency's read-only client (role agency) may send no command: the registry refuses it
    as forbidden, on the agency's own replies topic. The token comes from the identity
    provider's token endpoint (client credentials)."""
    name = f"so-{unique}"
    settings = await add_agency(kafka_bootstrap, name)
    await grant_in_test_topics(kafka_bootstrap, name, ["registry"])
    env = agency_env(settings, name, tmp_path / "agency.sqlite3")
    with token_endpoint(token(Role.AGENCY, subject=f"svc-{name}", agency=name)) as (url, asked):
        env.update(OCOP_TOKEN_URL=url, OCOP_CLIENT_ID=f"svc-{name}", OCOP_CLIENT_SECRET="s3cret")
        async with running(registry_app(make_settings)):
            code, answer = await run_command(
                agency_python,
                env,
                "register-producer",
                "--name",
                f"HTX {unique}",
                "--legal-form",
                "cooperative",
                "--registration-number",
                tax_code(),
                "--commune",
                COMMUNE,
            )
    assert asked == [
        {"grant_type": "client_credentials", "client_id": f"svc-{name}", "client_secret": "s3cret"}
    ]
    assert code == 1
    assert answer["type"] == "CommandRejected"
    (problem,) = answer["errors"]
    assert problem["field"] == "authorization" and problem["reason"].startswith("forbidden")


README_HEADING = "### Consuming an event from another agency"


def readme_block(text: str) -> str | None:
    """The first ```python block of the README's section on consuming an event."""
    at = text.find(README_HEADING)
    if at < 0:
        return None
    found = re.search(r"```python\n(.*?)```", text[at:], re.S)
    return found.group(1) if found else None


def test_the_readme_section_is_the_example_consumer_file() -> None:
    block = readme_block((ROOT / "README.md").read_text(encoding="utf-8"))
    assert block is not None, f"README.md has no python block under {README_HEADING!r}"
    assert block == (EXAMPLE / "consume.py").read_text(encoding="utf-8"), (
        "README.md's example differs from examples/agency-consumer/consume.py: paste the file"
    )


def test_the_example_imports_only_the_contracts_aiokafka_and_the_standard_library() -> None:
    import ast

    allowed = {"ocop_contracts", "aiokafka", "settings", "__future__", *sys.stdlib_module_names}
    offences = []
    for path in sorted(EXAMPLE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            offences += [f"{path.name}: {n}" for n in names if n.split(".")[0] not in allowed]
    assert not offences, offences
