"""Reading rulebooks from their TOML files, checked: parts summing to the regime's split,
mandatory marks pointing at real criteria, level rules pointing at real levels."""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from typing import Any

from ocop_evaluation.domain.common import CERTIFIED_STARS, STARS, Level, Part
from ocop_evaluation.domain.rulebook_model import (
    CRITERION_ID,
    Criterion,
    Group,
    LevelRule,
    Requirements,
    Rulebook,
    RulebookRef,
    Rulebooks,
    ScoreSheet,
)

RULEBOOK_ID = re.compile(r"[0-9a-z][0-9a-z._-]*")

_FILE_KEYS = frozenset(
    {
        "id",
        "version",
        "title",
        "in_force_from",
        "classification",
        "criteria_from",
        "split",
        "groups",
        "sectors",
        "set_sheets",
        "sheets",
        "mandatory",
        "modelled",
        "levels",
    }
)
# What a rulebook that reuses another's criteria must not redefine: only mandatory marks and
# level rules can differ, which is what an amendment like 781 or 1489 changed.
_CRITERIA_KEYS = frozenset({"classification", "split", "groups", "sectors", "set_sheets", "sheets"})
_LEVEL_KEYS = frozenset(
    {
        "certifies",
        "forwards_to",
        "forwards_from_star",
        "nominates_to",
        "nominates_from_star",
        "failure_keeps_lower_star",
    }
)


def read_rulebooks(directory: Path) -> Rulebooks:
    """Every rulebook in ``directory``, checked.

    A malformed file is a packaging bug, not a user error: it fails loudly with ``ValueError``
    naming the file, instead of a ``RuleViolation`` that would be reported back to a user.
    """
    raws: dict[tuple[str, int], tuple[str, dict[str, Any]]] = {}
    for path in sorted(directory.glob("*.toml")):
        with path.open("rb") as f:
            raw = _nfc(tomllib.load(f, parse_float=Decimal))
        where = path.name
        _only(raw, _FILE_KEYS, where)
        key = (_text(raw, "id", where), _integer(raw, "version", where))
        if not RULEBOOK_ID.fullmatch(key[0]) or key[1] < 1:
            raise ValueError(f"{where}: bad rulebook id {key[0]!r} or version {key[1]}")
        if key in raws:
            raise ValueError(f"{where}: rulebook {key[0]} v{key[1]} is also in {raws[key][0]}")
        raws[key] = (where, raw)
    if not raws:
        raise ValueError(f"no rulebook (*.toml) in {directory}")

    definitions: dict[tuple[str, int], _Definition] = {}

    def define(key: tuple[str, int], seen: tuple[tuple[str, int], ...]) -> _Definition:
        if key in definitions:
            return definitions[key]
        where, raw = raws[key]
        base: _Definition | None = None
        if "criteria_from" in raw:
            source = raw["criteria_from"]
            if not isinstance(source, dict):
                raise ValueError(f"{where}: criteria_from must be a table with id and version")
            base_key = (_text(source, "id", where), _integer(source, "version", where))
            if base_key not in raws or base_key in seen:
                raise ValueError(f"{where}: criteria_from names a missing or circular rulebook")
            base = define(base_key, (*seen, key))
        definitions[key] = _define(where, raw, base)
        return definitions[key]

    books = [_build(define(key, ()), raws[key][1], raws[key][0]) for key in raws]
    # A correction is the same rulebook with a higher version from the same day: it supersedes
    # the version it corrects for new results, while results scored on the old one can still
    # read it. Two different rulebooks starting on one day would leave the choice to chance.
    books.sort(key=lambda r: (r.in_force_from, r.version))
    for earlier, later in pairwise(books):
        if earlier.in_force_from == later.in_force_from and earlier.id != later.id:
            raise ValueError(
                f"rulebooks {earlier.ref} and {later.ref} both come into force on "
                f"{later.in_force_from.isoformat()}; the one in force on a day must be unique"
            )
    return Rulebooks(directory, tuple(books))


# --- loading ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _SheetDef:
    extends: str | None
    criteria: tuple[Criterion, ...]
    remove: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Definition:
    """A rulebook's criteria side, before it is resolved per product set."""

    classification: str
    split: dict[Part, int]
    groups: dict[str, Group]
    sectors: dict[str, tuple[str, tuple[str, ...]]]  # sector -> (sheet, sets)
    set_sheets: dict[str, str]
    sheets: dict[str, _SheetDef]
    mandatory: dict[str, dict[str, Requirements]]  # sheet -> criterion -> () if not needed
    source: RulebookRef | None
    # sheet -> criteria whose mandatory mark was modelled without a source
    modelled: dict[str, frozenset[str]] = field(default_factory=dict)


def _nfc(value: Any) -> Any:
    # Vietnamese text typed on different systems mixes composed and decomposed accents.
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, dict):
        return {_nfc(k): _nfc(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nfc(v) for v in value]
    return value


def _only(table: dict[str, Any], allowed: frozenset[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ValueError(f"{where}: unknown keys {unknown}")


def _text(table: dict[str, Any], key: str, where: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: {key} must be a non-empty string")
    return value.strip()


def _integer(table: dict[str, Any], key: str, where: str) -> int:
    value = table.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{where}: {key} must be an integer")
    return value


def _table(table: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = table.get(key, {})
    if not isinstance(value, dict):
        raise ValueError(f"{where}: {key} must be a table")
    return value


def _define(where: str, raw: dict[str, Any], base: _Definition | None) -> _Definition:
    own_mandatory = _mandatory(raw, where)
    own_modelled = _modelled(raw, where)
    if base is not None:
        redefined = sorted(_CRITERIA_KEYS & set(raw))
        if redefined:
            raise ValueError(f"{where}: a rulebook with criteria_from cannot redefine {redefined}")
        unknown = sorted(set(own_mandatory) - set(base.sheets))
        if unknown:
            raise ValueError(f"{where}: mandatory marks for sheets {unknown} that do not exist")
        merged = {sheet: dict(marks) for sheet, marks in base.mandatory.items()}
        for sheet, marks in own_mandatory.items():
            merged.setdefault(sheet, {}).update(marks)
        modelled = dict(base.modelled)
        for sheet, ids in own_modelled.items():
            modelled[sheet] = modelled.get(sheet, frozenset()) | ids
        source = RulebookRef(
            _text(raw["criteria_from"], "id", where), raw["criteria_from"]["version"]
        )
        return _Definition(
            base.classification,
            base.split,
            base.groups,
            base.sectors,
            base.set_sheets,
            base.sheets,
            merged,
            source,
            modelled,
        )

    split_raw = _table(raw, "split", where)
    _only(split_raw, frozenset(p.value for p in Part), f"{where} split")
    split = {p: _integer(split_raw, p.value, f"{where} split") for p in Part}
    if any(v <= 0 for v in split.values()) or sum(split.values()) != 100:
        raise ValueError(f"{where}: the split {split_raw} must be positive and sum to 100")

    groups: dict[str, Group] = {}
    for code, names in _table(raw, "groups", where).items():
        if not re.fullmatch(r"[ABC][1-9][0-9]*", code) or not isinstance(names, dict):
            raise ValueError(f"{where}: bad group {code!r}")
        groups[code] = Group(code, _text(names, "vi", where), _text(names, "en", where))

    sectors: dict[str, tuple[str, tuple[str, ...]]] = {}
    seen_sets: set[str] = set()
    for code, sector in _table(raw, "sectors", where).items():
        if not isinstance(sector, dict):
            raise ValueError(f"{where}: sector {code!r} must be a table")
        sets = sector.get("sets")
        if not isinstance(sets, list) or not sets or not all(isinstance(s, str) for s in sets):
            raise ValueError(f"{where}: sector {code!r} needs a non-empty list of set codes")
        for s in sets:
            # The registry's codes are <sector>.<set>; a set filed under the wrong sector here
            # would get the wrong sheet without anyone noticing.
            if not s.startswith(code + ".") or s in seen_sets:
                raise ValueError(f"{where}: set {s!r} is repeated or not in sector {code!r}")
            seen_sets.add(s)
        sectors[code] = (_text(sector, "sheet", f"{where} sector {code}"), tuple(sets))
    if not sectors:
        raise ValueError(f"{where}: no sectors")

    set_sheets = _table(raw, "set_sheets", where)
    for s, sheet in set_sheets.items():
        if s not in seen_sets or not isinstance(sheet, str):
            raise ValueError(f"{where}: set_sheets names unknown set {s!r} or a bad sheet")

    sheets: dict[str, _SheetDef] = {}
    for name, body in _table(raw, "sheets", where).items():
        at = f"{where} sheet {name}"
        if not isinstance(body, dict):
            raise ValueError(f"{at}: must be a table")
        _only(body, frozenset({"extends", "criteria", "remove"}), at)
        extends = body.get("extends")
        remove = body.get("remove", [])
        items = body.get("criteria", [])
        if extends is not None and not isinstance(extends, str):
            raise ValueError(f"{at}: extends must name a sheet")
        if not isinstance(remove, list) or not isinstance(items, list):
            raise ValueError(f"{at}: criteria and remove must be lists")
        criteria = tuple(_criterion(item, groups, at) for item in items)
        if len({c.id for c in criteria}) != len(criteria):
            raise ValueError(f"{at}: a criterion id is repeated")
        sheets[name] = _SheetDef(extends, criteria, tuple(str(r) for r in remove))

    used = {sheet for sheet, _ in sectors.values()} | set(set_sheets.values())
    for name in sorted(
        used | {d.extends for d in sheets.values() if d.extends} | set(own_mandatory)
    ):
        if name not in sheets:
            raise ValueError(f"{where}: sheet {name!r} is used but not defined")

    classification = _text(raw, "classification", where)
    return _Definition(
        classification,
        split,
        groups,
        sectors,
        dict(set_sheets),
        sheets,
        own_mandatory,
        None,
        own_modelled,
    )


def _modelled(raw: dict[str, Any], where: str) -> dict[str, frozenset[str]]:
    """``[modelled] <sheet> = ["A3.4", ...]``: marks of that sheet modelled without a source."""
    found: dict[str, frozenset[str]] = {}
    for sheet, ids in _table(raw, "modelled", where).items():
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise ValueError(f"{where}: modelled.{sheet} must be a list of criterion ids")
        found[sheet] = frozenset(ids)
    return found


def _criterion(item: Any, groups: Mapping[str, Group], where: str) -> Criterion:
    if not isinstance(item, dict):
        raise ValueError(f"{where}: a criterion must be a table")
    _only(item, frozenset({"id", "max", "vi", "en", "bonus"}), where)
    cid = _text(item, "id", where)
    matched = CRITERION_ID.fullmatch(cid)
    if matched is None:
        raise ValueError(f"{where}: bad criterion id {cid!r} (expected like A1.2)")
    group = f"{matched.group(1)}{matched.group(2)}"
    if group not in groups:
        raise ValueError(f"{where}: criterion {cid} is in undeclared group {group}")
    bonus = item.get("bonus", False)
    maximum = item.get("max")
    if not isinstance(bonus, bool) or isinstance(maximum, bool):
        raise ValueError(f"{where}: criterion {cid} has a bad bonus flag or maximum")
    if not isinstance(maximum, int | Decimal) or maximum < 0 or (maximum == 0 and not bonus):
        raise ValueError(f"{where}: criterion {cid} needs a positive maximum (0 only for a bonus)")
    return Criterion(
        id=cid,
        part=Part(matched.group(1)),
        group=group,
        name_vi=_text(item, "vi", f"{where} {cid}"),
        name_en=_text(item, "en", f"{where} {cid}"),
        max_points=Decimal(maximum),
        bonus=bonus,
    )


def _requirements(value: Any, at: str) -> Requirements:
    """A mark: ``3`` (from 3★, any points), ``0`` (none) or ``{ 3 = 1, 4 = 2 }`` (minimums)."""
    stars = (0, *CERTIFIED_STARS)
    if isinstance(value, int) and not isinstance(value, bool) and value in stars:
        return ((value, Decimal(0)),) if value else ()
    if not isinstance(value, dict) or not value:
        raise ValueError(f"{at}: must be 3, 4 or 5 (0: not mandatory) or a table star = points")
    pairs = []
    for star, minimum in value.items():
        if not str(star).isdigit() or int(star) not in CERTIFIED_STARS:
            raise ValueError(f"{at}: {star!r} is not a star among 3, 4 and 5")
        if isinstance(minimum, bool) or not isinstance(minimum, int | Decimal) or minimum < 0:
            raise ValueError(f"{at}: the minimum for {star}★ must be a non-negative number")
        pairs.append((int(star), Decimal(minimum)))
    pairs.sort()
    # A higher star never asks for less than a lower one, so meeting a star means meeting every
    # star below it and the star can be lowered one step at a time.
    if any(later[1] < earlier[1] for earlier, later in pairwise(pairs)):
        raise ValueError(f"{at}: a higher star cannot need fewer points than a lower one")
    return tuple(pairs)


def _mandatory(raw: dict[str, Any], where: str) -> dict[str, dict[str, Requirements]]:
    marks: dict[str, dict[str, Requirements]] = {}
    for sheet, table in _table(raw, "mandatory", where).items():
        if not isinstance(table, dict):
            raise ValueError(f"{where}: mandatory.{sheet} must be a table")
        marks[sheet] = {
            cid: _requirements(value, f"{where} mandatory.{sheet}.{cid}")
            for cid, value in table.items()
        }
    return marks


def _chain(definition: _Definition, name: str, where: str) -> list[str]:
    """The sheet and its ancestors, root first."""
    chain = [name]
    while (parent := definition.sheets[chain[-1]].extends) is not None:
        if parent in chain:
            raise ValueError(f"{where}: sheets {chain} extend each other in a circle")
        chain.append(parent)
    return chain[::-1]


def _resolve_sheet(definition: _Definition, name: str, where: str) -> tuple[Criterion, ...]:
    chain = _chain(definition, name, where)
    criteria: dict[str, Criterion] = {}
    marks: dict[str, Requirements] = {}
    modelled: set[str] = set()
    for sheet in chain:
        modelled |= definition.modelled.get(sheet, frozenset())
        spec = definition.sheets[sheet]
        for cid in spec.remove:
            if criteria.pop(cid, None) is None:
                raise ValueError(f"{where}: sheet {sheet} removes unknown criterion {cid}")
        # A replacement keeps the position of the criterion it replaces, so sheets read in the
        # order of the official form.
        for c in spec.criteria:
            criteria[c.id] = c
        marks.update(definition.mandatory.get(sheet, {}))
    resolved = []
    for cid, c in criteria.items():
        needs = marks.pop(cid, ())
        if needs and c.bonus:
            raise ValueError(f"{where}: bonus criterion {cid} cannot be mandatory (sheet {name})")
        if any(minimum > c.max_points for _, minimum in needs):
            raise ValueError(f"{where}: sheet {name} asks more than {c.max_points} points of {cid}")
        if c.id in modelled and not needs:
            raise ValueError(f"{where}: sheet {name} labels {c.id} modelled but it has no mark")
        resolved.append(replace(c, requirements=needs, modelled=c.id in modelled))
    stray = sorted(cid for cid, needs in marks.items() if needs)
    if stray:
        raise ValueError(f"{where}: sheet {name} marks unknown criteria {stray} as mandatory")
    for part, total in definition.split.items():
        got = sum((c.max_points for c in resolved if c.part is part and not c.bonus), Decimal(0))
        if got != total:
            raise ValueError(
                f"{where}: part {part} of sheet {name} sums to {got} points, not {total}"
            )
    return tuple(resolved)


def _level_rules(raw: dict[str, Any], where: str) -> dict[Level, LevelRule]:
    table = _table(raw, "levels", where)
    rules: dict[Level, LevelRule] = {}
    for name, spec in table.items():
        at = f"{where} levels.{name}"
        try:
            level = Level(name)
        except ValueError:
            known = [v.value for v in Level]
            raise ValueError(f"{at}: unknown level (expected one of {known})") from None
        if not isinstance(spec, dict):
            raise ValueError(f"{at}: must be a table")
        _only(spec, _LEVEL_KEYS, at)
        certifies = spec.get("certifies")
        if not isinstance(certifies, list) or any(
            isinstance(s, bool) or s not in CERTIFIED_STARS for s in certifies
        ):
            raise ValueError(f"{at}: certifies must list stars among 3, 4 and 5")

        forwards_to, forwards_from = _target(spec, table, name, "forwards", at)
        nominates_to, nominates_from = _target(spec, table, name, "nominates", at)
        keeps = spec.get("failure_keeps_lower_star", False)
        if not isinstance(keeps, bool):
            raise ValueError(f"{at}: failure_keeps_lower_star must be true or false")
        rule = LevelRule(
            level,
            frozenset(certifies),
            forwards_to,
            forwards_from,
            nominates_to,
            nominates_from,
            keeps,
        )
        # A star this level certifies must not also send the dossier up, or the outcome would
        # depend on the order the rules are read in.
        for threshold in (forwards_from, nominates_from):
            if threshold is not None and any(s >= threshold for s in rule.certifies):
                raise ValueError(f"{at}: certifies a star it also forwards or nominates")
        if nominates_from is not None and rule.carried_star is None:
            raise ValueError(f"{at}: a nominating level must certify a star below the nomination")
        rules[level] = rule
    missing = [s for s in CERTIFIED_STARS if not any(s in r.certifies for r in rules.values())]
    if missing:
        raise ValueError(f"{where}: no level certifies {missing}")
    return rules


def _target(
    spec: dict[str, Any], levels: dict[str, Any], name: str, verb: str, at: str
) -> tuple[Level | None, int | None]:
    to, star = spec.get(f"{verb}_to"), spec.get(f"{verb}_from_star")
    if to is None and star is None:
        return None, None
    if to not in levels or to == name or isinstance(star, bool) or star not in STARS:
        raise ValueError(f"{at}: {verb}_to must name another level and {verb}_from_star a star")
    return Level(to), star


def _build(definition: _Definition, raw: dict[str, Any], where: str) -> Rulebook:
    in_force_from = raw.get("in_force_from")
    if not isinstance(in_force_from, date) or isinstance(in_force_from, datetime):
        raise ValueError(f"{where}: in_force_from must be a date like 2023-02-24")
    ref = RulebookRef(raw["id"], raw["version"])
    resolved = {name: _resolve_sheet(definition, name, where) for name in definition.sheets}
    sheets: dict[str, ScoreSheet] = {}
    for sector, (default_sheet, sets) in definition.sectors.items():
        for product_set in sets:
            name = definition.set_sheets.get(product_set, default_sheet)
            sheets[product_set] = ScoreSheet(ref, product_set, sector, name, resolved[name])
    return Rulebook(
        id=ref.id,
        version=ref.version,
        title=_text(raw, "title", where),
        in_force_from=in_force_from,
        classification=definition.classification,
        split=dict(definition.split),
        groups=dict(definition.groups),
        sectors={code: sets for code, (_, sets) in definition.sectors.items()},
        levels=_level_rules(raw, where),
        sheets=sheets,
        criteria_from=definition.source,
    )
