"""Services as separate OS processes, for fault tests that kill them for real.

``service_process(...)`` runs ``python -m ocop_<service>`` with its ``OCOP_*`` environment
pointing at the test stack (its own schema and consumer group, its own HTTP port), waits for
``/readyz``, and can SIGKILL and restart it; whatever is left running is killed at the end.
``broker(action)`` stops or starts the test broker without blocking the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from ocop_runtime.devidp import jwks_url
from ocop_runtime.testing import own_topics, session_idp, wait_until


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _env_name(setting: str) -> str:
    return "OCOP_" + setting.upper()


class ServiceProcess:
    """One service process; ``start``/``kill``/``restart`` it, ask it over HTTP."""

    def __init__(self, service: str, settings: Mapping[str, Any], log_path: Path) -> None:
        self.service = service
        self.settings = dict(settings)
        self.port = int(self.settings["http_port"])
        self.log_path = log_path
        self._process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    def _environment(self) -> dict[str, str]:
        # Nothing from the caller's own OCOP_* configuration leaks in: only what is set here.
        env = {k: v for k, v in os.environ.items() if not k.startswith("OCOP_")}
        env.update({_env_name(k): str(v) for k, v in self.settings.items()})
        return env

    async def start(self, *, ready: bool = True, **settings: Any) -> None:
        """Start the process (``settings`` override the ones it was made with, from now on)."""
        assert not self.running, f"{self.service} is already running"
        self.settings.update(settings)
        with self.log_path.open("ab") as log:
            log.write(
                f"--- starting {self.service} with {settings or 'the same settings'}\n".encode()
            )
            log.flush()
            self._process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                f"ocop_{self.service}",
                env=self._environment(),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
        if ready:
            await self.wait_ready()

    async def wait_ready(self, timeout_seconds: float = 90) -> None:
        async def ready() -> bool:
            self._check_alive()
            response = await self.get("/readyz")
            return response is not None and response.status_code == 200

        await wait_until(
            ready, timeout_seconds=timeout_seconds, interval=0.2, what=f"{self.service} /readyz"
        )

    def _check_alive(self) -> None:
        if self._process is not None and self._process.returncode is not None:
            raise AssertionError(
                f"{self.service} exited with {self._process.returncode}:\n{self.log_tail()}"
            )

    async def kill(self) -> None:
        """SIGKILL: no shutdown code runs, exactly as when the machine loses the process."""
        process = self._process
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGKILL)
        await process.wait()

    async def terminate(self, timeout_seconds: float = 20) -> None:
        process = self._process
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), timeout_seconds)
        except TimeoutError:
            await self.kill()

    async def restart(self, **settings: Any) -> None:
        await self.kill()
        await self.start(**settings)

    async def get(self, path: str, timeout_seconds: float = 5) -> httpx.Response | None:
        """GET ``path``; None if the process does not answer (not listening yet, or gone)."""
        try:
            async with httpx.AsyncClient(base_url=self.url, timeout=timeout_seconds) as client:
                return await client.get(path)
        except httpx.TransportError:
            return None

    async def json(self, path: str) -> Any:
        response = await self.get(path)
        assert response is not None, f"{self.service} does not answer {path}"
        return response.json()

    async def metric(self, name: str, labels: Mapping[str, str] | None = None) -> float:
        """The sum of the samples of ``name`` whose labels include ``labels`` (0 if none)."""
        response = await self.get("/metrics")
        assert response is not None, f"{self.service} does not answer /metrics"
        total = 0.0
        for family in text_string_to_metric_families(response.text):
            for sample in family.samples:
                if sample.name == name and all(
                    sample.labels.get(k) == v for k, v in (labels or {}).items()
                ):
                    total += sample.value
        return total

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


@contextlib.asynccontextmanager
async def service_process(
    service: str,
    *,
    database_url: str,
    kafka_bootstrap: str,
    schema: str,
    log_dir: Path,
    consumer_group: str | None = None,
    start: bool = True,
    **settings: Any,
) -> AsyncIterator[ServiceProcess]:
    """A ``service`` process on the test stack with its own port and ``schema``; extra keyword
    arguments are settings (``relay_batch_size=20`` → ``OCOP_RELAY_BATCH_SIZE=20``)."""
    values: dict[str, Any] = {
        "env": "test",
        "database_url": database_url,
        "db_schema": schema,
        "consumer_group": consumer_group or f"ocop.{service}.{schema}",
        "kafka_bootstrap_servers": kafka_bootstrap,
        "topic_prefix": own_topics().prefix,
        "http_port": free_port(),
        "oidc_jwks_url": jwks_url(session_idp()),
        "relay_poll_seconds": 0.5,
        "relay_retry_seconds": 0.3,
        **settings,
    }
    port = values["http_port"]
    process = ServiceProcess(service, values, log_dir / f"{service}-{schema}-{port}.log")
    try:
        if start:
            await process.start()
        yield process
    finally:
        await process.kill()


async def broker(action: str, timeout_seconds: float = 90) -> None:
    """Stop or start the test broker (``OCOP_TEST_KAFKA_CTL``, deploy/kafka.sh) in a child
    process, so the event loop (and the services' tests) keep running meanwhile. A failed start
    is tried once more: the tests after this one need the broker back."""
    try:
        await _kafka_ctl(action, timeout_seconds)
    except (AssertionError, TimeoutError):
        if action != "start":
            raise
        await asyncio.sleep(2)
        await _kafka_ctl(action, timeout_seconds)


async def _kafka_ctl(action: str, timeout_seconds: float) -> None:
    script = os.environ.get("OCOP_TEST_KAFKA_CTL")
    assert script, "OCOP_TEST_KAFKA_CTL is not set: run the suite with `make test`"
    process = await asyncio.create_subprocess_exec(
        script,
        action,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), timeout_seconds)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    if process.returncode != 0:
        raise AssertionError(f"{script} {action} failed:\n{output.decode(errors='replace')}")
