"""The official AsyncAPI tools, run with Node.js: the parser validates a document, the generator
renders it as a static HTML site.

They are installed from the npm registry by ``deploy/bootstrap.sh`` (``deploy/asyncapi/``,
versions pinned by its ``package-lock.json``) into ``.ocop/asyncapi-tools/`` of the checkout, or
``OCOP_ASYNCAPI_TOOLS``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SEVERITIES = ("error", "warning", "info", "hint")


class ToolsMissing(RuntimeError):
    """Node.js or the AsyncAPI packages are not installed."""


@dataclass(frozen=True)
class Diagnostic:
    severity: str
    code: str
    message: str
    path: tuple[str | int, ...]

    def __str__(self) -> str:
        where = "/".join(str(p) for p in self.path) or "(document)"
        return f"{self.severity} {self.code} at {where}: {self.message}"


@dataclass(frozen=True)
class Validation:
    """What the parser said about a document, and what it read from it (``None`` when the
    document did not parse)."""

    diagnostics: tuple[Diagnostic, ...]
    channels: tuple[str, ...] | None
    operations: tuple[str, ...] | None
    messages: tuple[str, ...] | None

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "warning"]


def root() -> Path:
    """The checkout (the folder holding ``deploy/asyncapi``)."""
    return Path(__file__).resolve().parents[3]


def scripts_dir() -> Path:
    return root() / "deploy" / "asyncapi"


def tools_dir() -> Path:
    return Path(os.environ.get("OCOP_ASYNCAPI_TOOLS") or root() / ".ocop" / "asyncapi-tools")


def _node(script: str, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    tools = tools_dir()
    if node is None:
        raise ToolsMissing("node is not installed: run deploy/bootstrap.sh")
    if not (tools / "node_modules" / "@asyncapi" / "parser").is_dir():
        raise ToolsMissing(f"the AsyncAPI tools are not in {tools}: run deploy/bootstrap.sh")
    return subprocess.run(
        [node, str(scripts_dir() / script), *args],
        env={**os.environ, "OCOP_ASYNCAPI_TOOLS": str(tools)},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def validate(document: dict[str, Any]) -> Validation:
    """Parse ``document`` with ``@asyncapi/parser`` and return its diagnostics."""
    return validate_many([document])[0]


def validate_many(documents: list[dict[str, Any]]) -> list[Validation]:
    """:func:`validate` for several documents in one run of the parser."""
    with tempfile.TemporaryDirectory(prefix="ocop-asyncapi-") as folder:
        paths = []
        for number, document in enumerate(documents):
            path = Path(folder) / f"asyncapi-{number}.json"
            path.write_text(json.dumps(document, ensure_ascii=False))
            paths.append(str(path))
        done = _node("validate.cjs", *paths, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"the AsyncAPI parser failed: {done.stderr.strip()[-2000:]}")
    return [_validation(answer) for answer in json.loads(done.stdout)]


def _validation(answer: dict[str, Any]) -> Validation:
    read = answer["document"]
    return Validation(
        diagnostics=tuple(
            Diagnostic(
                severity=SEVERITIES[d["severity"]] if 0 <= d["severity"] < 4 else "error",
                code=d["code"],
                message=d["message"],
                path=tuple(d.get("path") or ()),
            )
            for d in answer["diagnostics"]
        ),
        channels=tuple(read["channels"]) if read else None,
        operations=tuple(read["operations"]) if read else None,
        messages=tuple(read["messages"]) if read else None,
    )


def render_html(document: dict[str, Any], output: Path) -> Path:
    """Render ``document`` with ``@asyncapi/generator`` and ``@asyncapi/html-template`` into
    ``output`` (one self-contained ``index.html``); returns its path."""
    output.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ocop-asyncapi-") as folder:
        path = Path(folder) / "asyncapi.json"
        path.write_text(json.dumps(document, ensure_ascii=False))
        done = _node("html.cjs", str(path), str(output), timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"the AsyncAPI generator failed: {done.stderr.strip()[-2000:]}")
    return output / "index.html"
