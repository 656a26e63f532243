"""Conventions every service keeps, checked on the source: a pure domain, topic names from
ocop_contracts, and acknowledgement only after the effect is committed."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

DOMAIN_MUST_NOT_IMPORT = frozenset(
    {
        "asyncpg",
        "faststream",
        "fastapi",
        "aiokafka",
        "opentelemetry",
        "ocop_contracts",
        "ocop_runtime",
    }
)
# The refusal vocabulary is standard library only: the domain raises its RuleViolation.
DOMAIN_MAY_IMPORT = frozenset({"ocop_runtime.refusals"})
TOPIC_LITERAL = re.compile(r"(?<![\w.])ocop\.[a-z_]+\.[a-z_]+\.v\d+(?![\w.])")
# ACK_FIRST is at-most-once; ACK and NACK_ON_ERROR commit or move on even after an exception.
FORBIDDEN_ACK_POLICIES = frozenset({"ACK_FIRST", "ACK", "NACK_ON_ERROR"})


def _python_files(*roots: Path) -> Iterator[Path]:
    for root in roots:
        yield from (p for p in sorted(root.rglob("*.py")) if ".venv" not in p.parts)


def _domain_files() -> list[Path]:
    files: set[Path] = set()
    for package in ROOT.glob("services/*/src/*"):
        files.update(p for p in package.glob("domain*.py") if p.is_file())
        for folder in package.glob("domain*/"):
            files.update(folder.rglob("*.py"))
    return sorted(files)


def _parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', '?')}"


def _imported_modules(tree: ast.Module) -> Iterator[tuple[ast.AST, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node, node.module


def _docstrings(tree: ast.Module) -> set[int]:
    nodes: list[ast.AST] = [tree]
    nodes += [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    ]
    ids = set()
    for node in nodes:
        body = getattr(node, "body", [])
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            ids.add(id(body[0].value))
    return ids


def _is_ack_policy(node: ast.expr) -> bool:
    return (isinstance(node, ast.Name) and node.id == "AckPolicy") or (
        isinstance(node, ast.Attribute) and node.attr == "AckPolicy"
    )


def test_there_are_domain_modules_to_check() -> None:
    assert (ROOT / "services/registry/src/ocop_registry/domain/producers.py") in _domain_files()


def test_domain_modules_import_no_io_framework_or_contracts() -> None:
    offences = [
        f"{_where(path, node)} imports {module}"
        for path in _domain_files()
        for node, module in _imported_modules(_parse(path))
        if module.split(".")[0] in DOMAIN_MUST_NOT_IMPORT and module not in DOMAIN_MAY_IMPORT
    ]

    assert not offences, "the domain must stay pure:\n" + "\n".join(offences)


def test_topic_names_are_never_spelled_out_in_service_or_runtime_code() -> None:
    roots = [*ROOT.glob("services/*/src"), ROOT / "runtime/src"]
    offences = []
    for path in _python_files(*roots):
        tree = _parse(path)
        docstrings = _docstrings(tree)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docstrings
                and TOPIC_LITERAL.search(node.value)
            ):
                offences.append(f"{_where(path, node)}: {node.value!r}")

    assert not offences, "use the names in ocop_contracts.topics:\n" + "\n".join(offences)


def test_no_consumer_uses_an_ack_policy_that_commits_before_or_despite_failure() -> None:
    offences = [
        f"{_where(path, node)}: AckPolicy.{node.attr}"
        for path in _python_files(ROOT / "services", ROOT / "runtime/src")
        for node in ast.walk(_parse(path))
        if isinstance(node, ast.Attribute)
        and node.attr in FORBIDDEN_ACK_POLICIES
        and _is_ack_policy(node.value)
    ]

    assert not offences, "commit offsets only after the effect:\n" + "\n".join(offences)


def test_every_subscriber_states_its_ack_policy() -> None:
    # Without one, FastStream's Kafka subscriber falls back to ACK_FIRST (at-most-once).
    offences = [
        _where(path, node)
        for path in _python_files(ROOT / "services", ROOT / "runtime/src")
        for node in ast.walk(_parse(path))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "subscriber"
        and not any(k.arg in ("ack_policy", None) for k in node.keywords)
    ]

    assert not offences, "subscriber without ack_policy:\n" + "\n".join(offences)
