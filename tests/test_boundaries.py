"""The layers of the code base, checked on the source: contracts at the bottom (pydantic and the
standard library only, no import cycle), the runtime on top of them knowing no service, and each
service on top of both, never importing another service."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SERVICE_PACKAGES = sorted(p.name for p in ROOT.glob("services/*/src/ocop_*") if p.is_dir())
SERVICE_NAMES = sorted(name.removeprefix("ocop_") for name in SERVICE_PACKAGES)
MAX_MODULE_LINES = 500


def _python_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import in ``path``; relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = _module_name(path).split(".")
                if path.name != "__init__.py":
                    package.pop()
                base = ".".join(package[: len(package) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            for alias in node.names:
                # ``from pkg import sub`` imports the submodule when there is one.
                yield node.lineno, f"{module}.{alias.name}"


def _module_name(path: Path) -> str:
    src = next(parent for parent in path.parents if parent.name == "src")
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _top(module: str) -> str:
    return module.split(".")[0]


def test_the_boundary_checks_see_every_service() -> None:
    assert {"registry", "evaluation", "trade", "inspection"} <= set(SERVICE_NAMES)


@pytest.mark.parametrize("package", SERVICE_PACKAGES)
def test_a_service_imports_no_other_service(package: str) -> None:
    service = ROOT / "services" / package.removeprefix("ocop_")
    others = set(SERVICE_PACKAGES) - {package}
    offences = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in _python_files(service)
        for line, module in _imports(path)
        if _top(module) in others
    ]

    assert not offences, "services talk over Kafka, never by import:\n" + "\n".join(offences)


def test_the_runtime_imports_no_service() -> None:
    offences = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in _python_files(ROOT / "runtime/src")
        for line, module in _imports(path)
        if _top(module) in SERVICE_PACKAGES
    ]

    assert not offences, "the runtime serves every service and knows none:\n" + "\n".join(offences)


def test_the_runtime_names_no_service_package_or_folder() -> None:
    names = [*SERVICE_PACKAGES, *(f"services/{name}" for name in SERVICE_NAMES)]
    offences = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in _python_files(ROOT / "runtime/src")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if any(name in line for name in names)
    ]

    assert not offences, "services register themselves (ocop.services):\n" + "\n".join(offences)


def test_contracts_import_only_pydantic_the_standard_library_and_themselves() -> None:
    allowed = {"ocop_contracts", "pydantic", "__future__", *sys.stdlib_module_names}
    offences = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in _python_files(ROOT / "contracts/src")
        for line, module in _imports(path)
        if _top(module) not in allowed
    ]

    assert not offences, "other agencies install contracts alone:\n" + "\n".join(offences)


def _contract_graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in _python_files(ROOT / "contracts/src")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for _, module in _imports(path):
            # ``from a.b import c`` names a.b.c when it is a module, else something in a.b.
            target = module if module in modules else module.rsplit(".", 1)[0]
            if target in modules and target != name:
                graph[name].add(target)
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_cycle_check_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_contracts_have_no_import_cycle() -> None:
    graph = _contract_graph()
    assert graph["ocop_contracts.catalogue"] >= {"ocop_contracts.events", "ocop_contracts.base"}

    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_no_module_is_longer_than_one_sitting() -> None:
    roots = [ROOT / "contracts/src", ROOT / "runtime/src", *ROOT.glob("services/*/src")]
    offences = [
        f"{path.relative_to(ROOT)}: {count} lines"
        for root in roots
        for path in _python_files(root)
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    ]

    assert not offences, f"split modules over {MAX_MODULE_LINES} lines:\n" + "\n".join(offences)
