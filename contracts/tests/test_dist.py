"""The contracts wheel as a release artefact: what ``make dist`` ships, and its version.

The version follows the contract: a change that would break a reader of the schemas the last
commit published (a field removed or retyped, a new required field, an event type gone) cannot
ship under the same major version. ``test_a_breaking_change_since_the_last_commit_bumps_the_major``
compares the working tree with ``HEAD`` (the schemas and the version committed there), so it
catches a snapshot rewritten by hand to hide a break; the compatibility test
(``test_compat.py``) catches a model that no longer matches its snapshot. The changelog names
every published type and the current version.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import tarfile
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest

from ocop_contracts import compat, event_types

CONTRACTS = Path(__file__).resolve().parents[1]
ROOT = CONTRACTS.parent
SNAPSHOTS = "contracts/src/ocop_contracts/jsonschema"

Schemas = dict[str, dict[str, Any]]


def _version() -> str:
    return str(tomllib.loads((CONTRACTS / "pyproject.toml").read_text())["project"]["version"])


def _major(version: str) -> int:
    match = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", version)
    if match is None:
        raise ValueError(f"version {version!r} is not MAJOR.MINOR.PATCH")
    return int(match.group(1))


def release_problems(old_version: str, old: Schemas, new_version: str, new: Schemas) -> list[str]:
    """Why ``new_version`` with the schemas ``new`` cannot follow ``old_version`` with ``old``."""
    breaks = []
    for type_, schema in sorted(old.items()):
        if type_ not in new:
            breaks.append(f"{type_}: event type removed")
            continue
        breaks += [f"{type_}: {p}" for p in compat.compatibility_problems(schema, new[type_])]
    old_major, new_major = _major(old_version), _major(new_version)
    if new_major < old_major:
        return [f"version {new_version} goes back from {old_version}"]
    if breaks and new_major == old_major:
        return [
            f"breaking change under major {new_major} (ship it as {new_major + 1}.0.0, or "
            f"publish a v2 event on a new topic instead): {b}"
            for b in breaks
        ]
    return []


# The rule itself, on small schemas ------------------------------------------------------------

_OLD = {
    "vn.hanoi.ocop.registry.ProductRegistered.v1": {
        "type": "object",
        "properties": {"product_id": {"type": "string"}, "sector": {"type": "string"}},
        "required": ["product_id", "sector"],
    }
}


def _without_sector() -> Schemas:
    new = json.loads(json.dumps(_OLD))
    schema = new["vn.hanoi.ocop.registry.ProductRegistered.v1"]
    del schema["properties"]["sector"]
    schema["required"] = ["product_id"]
    return new


def test_a_removed_field_cannot_ship_under_the_same_major() -> None:
    problems = release_problems("1.4.0", _OLD, "1.5.0", _without_sector())

    assert len(problems) == 1
    assert "sector: field removed" in problems[0]
    assert "2.0.0" in problems[0]


def test_a_removed_field_may_ship_under_the_next_major() -> None:
    assert release_problems("1.4.0", _OLD, "2.0.0", _without_sector()) == []


def test_a_removed_event_type_cannot_ship_under_the_same_major() -> None:
    problems = release_problems("1.0.0", _OLD, "1.0.1", {})

    assert problems and "event type removed" in problems[0]


def test_an_added_optional_field_ships_under_the_same_major() -> None:
    new = json.loads(json.dumps(_OLD))
    new["vn.hanoi.ocop.registry.ProductRegistered.v1"]["properties"]["district_code"] = {
        "type": "string"
    }

    assert release_problems("1.0.0", _OLD, "1.1.0", new) == []


def test_a_version_going_back_is_refused() -> None:
    assert release_problems("2.0.0", _OLD, "1.9.0", _OLD)


# The real contract --------------------------------------------------------------------------


def _committed(tmp_path: Path) -> tuple[str, Schemas] | None:
    """The version and schemas of ``HEAD``, or None outside a git checkout that has them."""
    git = shutil.which("git")
    if git is None:
        return None
    archive = subprocess.run(
        [git, "archive", "--format=tar", "HEAD", "contracts/pyproject.toml", SNAPSHOTS],
        cwd=ROOT,
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        return None
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(tmp_path, filter="data")
    pyproject = tomllib.loads((tmp_path / "contracts" / "pyproject.toml").read_text())
    return str(pyproject["project"]["version"]), compat.load_snapshots(tmp_path / SNAPSHOTS)


def test_a_breaking_change_since_the_last_commit_bumps_the_major(tmp_path: Path) -> None:
    committed = _committed(tmp_path)
    if committed is None:
        pytest.skip("not a git checkout with committed contracts")
    old_version, old = committed

    assert release_problems(old_version, old, _version(), compat.load_snapshots()) == []


def test_the_committed_schemas_with_a_field_removed_would_need_the_next_major(
    tmp_path: Path,
) -> None:
    committed = _committed(tmp_path)
    if committed is None:
        pytest.skip("not a git checkout with committed contracts")
    old_version, old = committed
    broken = json.loads(json.dumps(compat.load_snapshots()))
    del broken["vn.hanoi.ocop.registry.ProductRegistered.v1"]["properties"]["sector"]
    major = _major(old_version)

    assert release_problems(old_version, old, f"{major}.99.0", broken)
    assert release_problems(old_version, old, f"{major + 1}.0.0", broken) == []


def test_the_package_major_is_the_one_the_snapshots_were_checked_under() -> None:
    # The snapshots in the package are the baseline of its major: they must match the models.
    assert compat.check_all() == {}
    assert _major(_version()) >= 1


def test_the_changelog_names_the_current_version_first_and_every_published_type() -> None:
    changelog = (CONTRACTS / "CHANGELOG.md").read_text(encoding="utf-8")
    releases = re.findall(r"^## (\d+\.\d+\.\d+)", changelog, flags=re.MULTILINE)
    missing = sorted(t for t in event_types() if f"`{t}`" not in changelog)

    assert releases and releases[0] == _version(), (
        f"contracts/CHANGELOG.md must start with ## {_version()}"
    )
    assert not missing, f"add these types to contracts/CHANGELOG.md: {missing}"


# The wheel ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    uv = shutil.which("uv")
    if uv is None:
        pytest.fail("uv is not on PATH (deploy/bootstrap.sh installs it)", pytrace=False)
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [uv, "build", "-q", "--wheel", "-o", str(out), str(CONTRACTS)], check=True, timeout=300
    )
    (built,) = out.glob("ocop_contracts-*.whl")
    return built


def test_the_wheel_is_named_and_labelled_with_the_package_version(wheel: Path) -> None:
    version = _version()
    with zipfile.ZipFile(wheel) as z:
        metadata = z.read(f"ocop_contracts-{version}.dist-info/METADATA").decode()

    assert wheel.name == f"ocop_contracts-{version}-py3-none-any.whl"
    assert f"\nVersion: {version}\n" in metadata
    assert "Requires-Dist: pydantic" in metadata


def test_the_wheel_ships_every_schema_equal_to_the_models_and_the_filters(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        shipped = {
            Path(n).stem: json.loads(z.read(n))
            for n in names
            if n.startswith("ocop_contracts/jsonschema/") and n.endswith(".json")
        }

    assert shipped == compat.current_schemas()
    assert {"ocop_contracts/filters.py", "ocop_contracts/replay.py"} <= names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
