"""The local stack's PostgreSQL starts wherever the checkout is, including inside a home folder of
mode 0700 as root (where the postgres user that runs the server cannot reach the checkout)."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("runuser") is None,
    reason="the 0700 case only arises as root, whose server runs as the postgres user",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def private_checkout(tmp_path: Path) -> Iterator[Path]:
    """A copy of the scripts in a folder only root may enter, with the project's environment."""
    home = tmp_path / "home"
    checkout = home / "ocop"
    checkout.mkdir(parents=True)
    home.chmod(0o700)
    shutil.copytree(ROOT / "deploy", checkout / "deploy")
    (checkout / ".venv").symlink_to(ROOT / ".venv")
    yield checkout


def _postgres(checkout: Path, action: str, port: int) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OCOP_STATE_DIR": str(checkout / ".ocop"), "OCOP_PG_PORT": str(port)}
    env.pop("OCOP_PG_DIR", None)
    return subprocess.run(
        [str(checkout / "deploy" / "postgres.sh"), action],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_postgres_starts_from_a_checkout_in_a_0700_home_folder(private_checkout: Path) -> None:
    port = _free_port()
    unreachable = subprocess.run(
        ["runuser", "-u", "postgres", "--", "test", "-x", str(private_checkout)], check=False
    )
    assert unreachable.returncode != 0, "the folder must be out of the postgres user's reach"
    data = private_checkout / ".ocop" / "postgres" / "data"
    try:
        started = _postgres(private_checkout, "start", port)
        assert started.returncode == 0, started.stderr

        async def login() -> str:
            conn = await asyncpg.connect(
                f"postgresql://ocop_registry:ocop-dev-registry@127.0.0.1:{port}/ocop"
            )
            try:
                return str(await conn.fetchval("SHOW search_path"))
            finally:
                await conn.close()

        assert asyncio.run(login()) == "registry"
        assert _postgres(private_checkout, "status", port).returncode == 0
        # The state folder still names the cluster, wherever it lives.
        assert (data / "PG_VERSION").is_file()
    finally:
        _postgres(private_checkout, "stop", port)
        if data.is_symlink():
            shutil.rmtree(data.resolve().parent, ignore_errors=True)
    assert _postgres(private_checkout, "status", port).returncode != 0
