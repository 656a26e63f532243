"""JSON Schema snapshots of every event type and the check that ``v1`` only evolves additively.

A snapshot per ``ce_type`` is committed under ``ocop_contracts/jsonschema/``. The compatibility
test compares each current model with its snapshot; readers of a ``v1`` topic must keep working, so
removing a field, changing its type or enum values, or adding a required field is a breaking change
(make a ``v2`` on a new topic). Adding an optional field is fine: refresh the snapshot with
``python -m ocop_contracts.compat --write``.
"""

from __future__ import annotations

import argparse
import json
import sys
from importlib import resources
from pathlib import Path
from typing import Any

from ocop_contracts.catalogue import event_types

_NOISE = frozenset({"title", "description", "default", "examples"})

Schema = dict[str, Any]


def current_schemas() -> dict[str, Schema]:
    """The JSON Schema of every event type, by ``ce_type``."""
    return {t: cls.model_json_schema() for t, cls in sorted(event_types().items())}


def snapshot_dir() -> Path:
    return Path(str(resources.files("ocop_contracts") / "jsonschema"))


def load_snapshots(directory: Path | None = None) -> dict[str, Schema]:
    directory = directory or snapshot_dir()
    return {p.stem: json.loads(p.read_text()) for p in sorted(directory.glob("*.json"))}


def write_snapshots(directory: Path | None = None) -> list[Path]:
    directory = directory or snapshot_dir()
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for type_, schema in current_schemas().items():
        path = directory / f"{type_}.json"
        path.write_text(json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n")
        written.append(path)
    return written


def compatibility_problems(old: Schema, new: Schema) -> list[str]:
    """Every change from ``old`` to ``new`` that would break a reader of ``old``."""
    return _compare("", old, new, old.get("$defs", {}), new.get("$defs", {}))


def _resolve(schema: Schema, defs: Schema) -> Schema:
    while "$ref" in schema:
        schema = defs[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _shape(schema: Schema, defs: Schema) -> Any:
    """A canonical form of a schema for comparing types (docs and titles dropped)."""
    schema = _resolve(schema, defs)
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _NOISE or key == "$defs":
            continue
        if key in ("anyOf", "oneOf", "allOf"):
            out[key] = sorted(json.dumps(_shape(v, defs), sort_keys=True) for v in value)
        elif key == "items":
            out[key] = _shape(value, defs)
        elif key == "properties":
            out[key] = {k: _shape(v, defs) for k, v in value.items()}
        else:
            out[key] = value
    return out


def _compare(path: str, old: Schema, new: Schema, old_defs: Schema, new_defs: Schema) -> list[str]:
    old, new = _resolve(old, old_defs), _resolve(new, new_defs)
    where = path or "event"
    if _is_object(old) and _is_object(new):
        problems = []
        old_props, new_props = old.get("properties", {}), new.get("properties", {})
        old_req, new_req = set(old.get("required", [])), set(new.get("required", []))
        for name, old_prop in old_props.items():
            field = f"{path}.{name}" if path else name
            if name not in new_props:
                problems.append(f"{field}: field removed")
                continue
            problems += _compare(field, old_prop, new_props[name], old_defs, new_defs)
        for name in sorted(new_req - old_req):
            field = f"{path}.{name}" if path else name
            if name in old_props:
                problems.append(f"{field}: optional field became required")
            else:
                problems.append(f"{field}: new required field")
        return problems
    if "items" in old and "items" in new and old.get("type") == new.get("type") == "array":
        return _compare(f"{where}[]", old["items"], new["items"], old_defs, new_defs)
    if "anyOf" in old and "anyOf" in new:
        return _compare_variants(where, old["anyOf"], new["anyOf"], old_defs, new_defs)
    old_shape, new_shape = _shape(old, old_defs), _shape(new, new_defs)
    if old_shape != new_shape:
        return [f"{where}: type changed from {_short(old_shape)} to {_short(new_shape)}"]
    return []


def _is_object(schema: Schema) -> bool:
    return schema.get("type") == "object" and "properties" in schema


def _compare_variants(
    where: str, old: list[Schema], new: list[Schema], old_defs: Schema, new_defs: Schema
) -> list[str]:
    """``X | None`` and other unions: object variants are compared field by field (so an
    optional field added to a nested model is fine), the others must stay the same."""
    old_objects = [v for v in old if _is_object(_resolve(v, old_defs))]
    new_objects = [v for v in new if _is_object(_resolve(v, new_defs))]
    old_rest = sorted(
        json.dumps(_shape(v, old_defs), sort_keys=True) for v in old if v not in old_objects
    )
    new_rest = sorted(
        json.dumps(_shape(v, new_defs), sort_keys=True) for v in new if v not in new_objects
    )
    if old_rest != new_rest or len(old_objects) != len(new_objects):
        return [f"{where}: type changed (union variants differ)"]
    problems = []
    for o, n in zip(old_objects, new_objects, strict=True):
        problems += _compare(where, o, n, old_defs, new_defs)
    return problems


def _short(shape: Any) -> str:
    return json.dumps(shape, sort_keys=True, ensure_ascii=False)[:200]


def check_all(snapshots: dict[str, Schema] | None = None) -> dict[str, list[str]]:
    """Problems per ``ce_type``; a published type with no current model is a problem too."""
    snapshots = load_snapshots() if snapshots is None else snapshots
    current = current_schemas()
    report: dict[str, list[str]] = {}
    for type_, old in snapshots.items():
        if type_ not in current:
            report[type_] = ["event type removed (published types are never removed from v1)"]
            continue
        problems = compatibility_problems(old, current[type_])
        if problems:
            report[type_] = problems
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--write", action="store_true", help="refresh the snapshots")
    args = parser.parse_args(argv)
    report = check_all()
    for type_, problems in report.items():
        for problem in problems:
            print(f"{type_}: {problem}", file=sys.stderr)
    if report:
        print("breaking changes: publish them as a v2 event on a new topic", file=sys.stderr)
        return 1
    if args.write:
        for path in write_snapshots():
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
