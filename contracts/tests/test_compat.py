"""Published schemas evolve additively only.

``test_no_published_schema_has_been_broken`` is the guard: it compares every current event model
with the JSON Schema snapshot committed under ``ocop_contracts/jsonschema/`` and fails as soon as a
change would break a reader of a published ``v1`` (a field removed or retyped, an enum value
dropped, a new required field). Such a change has to be published as a ``v2`` on a new topic.
The other tests prove that ``compatibility_problems`` sees each kind of breaking change, on small
models defined here.
"""

from __future__ import annotations

import copy
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel

from ocop_contracts import compat, event_types


def _problems(old: type[BaseModel], new: type[BaseModel]) -> list[str]:
    return compat.compatibility_problems(old.model_json_schema(), new.model_json_schema())


# The committed snapshots ---------------------------------------------------------------------


def test_every_current_event_type_has_a_committed_snapshot() -> None:
    missing = set(event_types()) - set(compat.load_snapshots())

    assert not missing, (
        f"no schema snapshot for {sorted(missing)}: run `python -m ocop_contracts.compat --write`"
    )


def test_no_published_schema_has_been_broken() -> None:
    report = compat.check_all()

    assert report == {}, (
        f"breaking changes to published events (publish a v2 on a new topic instead): {report}"
    )


def test_snapshots_are_refreshed_after_an_additive_change() -> None:
    # A stale snapshot would let a later change remove a field that readers already rely on.
    stale = sorted(
        type_
        for type_, schema in compat.current_schemas().items()
        if compat.load_snapshots().get(type_) != schema
    )

    assert not stale, f"refresh with `python -m ocop_contracts.compat --write`: {stale}"


def test_the_guard_reports_a_field_missing_from_the_current_model() -> None:
    snapshots = copy.deepcopy(compat.load_snapshots())
    type_ = "vn.hanoi.ocop.registry.ProducerRegistered.v1"
    snapshots[type_]["properties"]["phone"] = {"type": "string"}

    report = compat.check_all(snapshots)

    assert report == {type_: ["phone: field removed"]}


def test_the_guard_reports_a_published_event_type_that_no_longer_exists() -> None:
    report = compat.check_all({"vn.hanoi.ocop.registry.ProducerMerged.v1": {"type": "object"}})

    assert list(report) == ["vn.hanoi.ocop.registry.ProducerMerged.v1"]
    assert "removed" in report["vn.hanoi.ocop.registry.ProducerMerged.v1"][0]


def test_written_snapshots_read_back_equal_to_the_current_schemas(tmp_path: Path) -> None:
    written = compat.write_snapshots(tmp_path)

    assert sorted(p.name for p in written) == sorted(f"{t}.json" for t in event_types())
    assert sorted(tmp_path.iterdir()) == sorted(written)
    assert compat.load_snapshots(tmp_path) == compat.current_schemas()


def test_write_snapshots_creates_the_directory(tmp_path: Path) -> None:
    directory = tmp_path / "nested" / "jsonschema"

    compat.write_snapshots(directory)

    assert compat.load_snapshots(directory) == compat.current_schemas()


# compatibility_problems on small models -------------------------------------------------------


class Colour(StrEnum):
    RED = "red"
    GREEN = "green"


class ColourWithoutGreen(StrEnum):
    RED = "red"


class Old(BaseModel):
    product_id: str
    stars: int
    note: str | None = None


class OldPlusOptional(BaseModel):
    product_id: str
    stars: int
    note: str | None = None
    district: str | None = None


class OldWithoutNote(BaseModel):
    product_id: str
    stars: int


class OldWithStarsAsText(BaseModel):
    product_id: str
    stars: str
    note: str | None = None


class OldPlusRequired(BaseModel):
    product_id: str
    stars: int
    note: str | None = None
    district: str


class OldWithNoteRequired(BaseModel):
    product_id: str
    stars: int
    note: str


class Painted(BaseModel):
    colour: Colour


class PaintedWithFewerColours(BaseModel):
    colour: ColourWithoutGreen


class Address(BaseModel):
    street: str
    commune_code: str


class AddressWithoutCommune(BaseModel):
    street: str


class AddressPlusOptional(BaseModel):
    street: str
    commune_code: str
    ward: str | None = None


class Located(BaseModel):
    address: Address


class LocatedWithoutCommune(BaseModel):
    address: AddressWithoutCommune


class LocatedPlusOptional(BaseModel):
    address: AddressPlusOptional


def test_identical_schemas_have_no_problem() -> None:
    assert _problems(Old, Old) == []


def test_adding_an_optional_field_is_compatible() -> None:
    assert _problems(Old, OldPlusOptional) == []


def test_removing_a_field_is_reported() -> None:
    assert _problems(Old, OldWithoutNote) == ["note: field removed"]


def test_retyping_a_field_is_reported() -> None:
    problems = _problems(Old, OldWithStarsAsText)

    assert len(problems) == 1
    assert problems[0].startswith("stars: type changed")


def test_a_new_required_field_is_reported() -> None:
    assert _problems(Old, OldPlusRequired) == ["district: new required field"]


def test_an_optional_field_becoming_required_is_reported() -> None:
    problems = _problems(Old, OldWithNoteRequired)

    assert "note: optional field became required" in problems
    assert all(problem.startswith("note: ") for problem in problems)


def test_removing_an_enum_value_is_reported() -> None:
    problems = _problems(Painted, PaintedWithFewerColours)

    assert len(problems) == 1
    assert problems[0].startswith("colour: type changed")
    assert "green" in problems[0]


def test_removing_a_field_of_a_nested_model_is_reported_with_its_path() -> None:
    assert _problems(Located, LocatedWithoutCommune) == ["address.commune_code: field removed"]


def test_adding_an_optional_field_to_a_nested_model_is_compatible() -> None:
    assert _problems(Located, LocatedPlusOptional) == []


def test_changed_titles_and_descriptions_are_not_problems() -> None:
    old = Old.model_json_schema()
    new = copy.deepcopy(old)
    new["title"] = "Renamed"
    new["description"] = "Documented at last."
    new["properties"]["stars"]["title"] = "Star rating"

    assert compat.compatibility_problems(old, new) == []
