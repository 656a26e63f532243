"""Which OCOP rules apply on a day, and how products are classified under them.

Three Prime Minister's decisions have governed OCOP evaluation:

- 1048/QĐ-TTg of 21 August 2019: the first criteria and its own classification;
- 148/QĐ-TTg of 24 February 2023, effective on signing: new criteria and a new classification
  into 6 sectors, 17 groups and 26 product sets;
- 1489/QĐ-TTg of 6 July 2025, effective on signing: rewrote the procedure of 148 (Annex II)
  but kept its criteria and classification.

A product's scoring sheet is chosen by its product set, so every stored product set is qualified
by the classification scheme it belongs to. The lists are versioned data in
``data/classification/`` (see ``SOURCES.md`` there for provenance and what is uncertain); they are
read on first use and cached, never at import.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import cache
from pathlib import Path

from ocop_registry.domain.common import RuleViolation

DATA = Path(__file__).resolve().parents[3] / "data" / "classification"


class Regime(StrEnum):
    """The decision whose rules govern an application, named by its number."""

    R1048 = "1048"
    R148 = "148"
    R1489 = "1489"


class Scheme(StrEnum):
    """A classification of products into sectors, groups and sets, named by its decision."""

    S1048 = "1048"
    S148 = "148"


DECISION_TITLES: dict[str, str] = {
    "1048": "1048/QĐ-TTg",
    "148": "148/QĐ-TTg",
    "1489": "1489/QĐ-TTg",
}

# 490/QĐ-TTg (7 May 2018) approved the programme; products were registered from then on, before
# any OCOP classification existed.
PROGRAMME_FROM = date(2018, 5, 7)
R1048_FROM = date(2019, 8, 21)
R148_FROM = date(2023, 2, 24)
R1489_FROM = date(2025, 7, 6)

# Both schemes' codes share one namespace (1048 codes carry a "1048." prefix), so a code seen
# out of context still names exactly one set.
CODE = re.compile(r"[a-z0-9]+(?:\.[a-z0-9_]+)+")


def regime_on(day: date) -> Regime:
    """The regime in force on ``day``; each decision took effect on the day it was signed."""
    if day < R1048_FROM:
        raise RuleViolation(
            "submitted_on",
            f"{day.isoformat()} is before 21 August 2019, when decision 1048/QĐ-TTg introduced "
            "OCOP evaluation; no OCOP rules apply to that date",
        )
    if day < R148_FROM:
        return Regime.R1048
    if day < R1489_FROM:
        return Regime.R148
    return Regime.R1489


_SCHEME_OF: dict[Regime, Scheme] = {
    Regime.R1048: Scheme.S1048,
    Regime.R148: Scheme.S148,
    # 1489 replaced only the procedure annex of 148.
    Regime.R1489: Scheme.S148,
}


def scheme_of(regime: Regime) -> Scheme:
    return _SCHEME_OF[regime]


@dataclass(frozen=True, slots=True)
class Sector:
    """A ngành: the top level of a scheme."""

    scheme: Scheme
    code: str
    name_vi: str
    name_en: str


@dataclass(frozen=True, slots=True)
class ProductSet:
    """A bộ sản phẩm: the unit that has its own scoring sheet.

    ``samples_required`` is False only for tourism services and sites, which are visited
    rather than sampled.
    """

    scheme: Scheme
    code: str
    name_vi: str
    name_en: str
    sector_code: str
    group_code: str
    group_name_vi: str
    group_name_en: str
    samples_required: bool


@dataclass(frozen=True, slots=True)
class _Catalogue:
    sectors: tuple[Sector, ...]
    sets: tuple[ProductSet, ...]
    by_code: dict[str, ProductSet]


def _rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as f:
        return [
            {k: unicodedata.normalize("NFC", v.strip()) for k, v in row.items()}
            for row in csv.DictReader(f)
        ]


def _flag(value: str, where: str) -> bool:
    if value not in ("true", "false"):
        raise ValueError(f"{where}: samples_required must be true or false, not {value!r}")
    return value == "true"


@cache
def _catalogue(scheme: Scheme) -> _Catalogue:
    # A malformed shipped file is a packaging bug, not a user error: fail loudly, not as a
    # RuleViolation that would be reported back to whoever asked.
    sectors = tuple(
        Sector(scheme, r["code"], r["name_vi"], r["name_en"])
        for r in _rows(f"sectors_{scheme}.csv")
    )
    sector_codes = {s.code for s in sectors}
    file = f"product_sets_{scheme}.csv"
    sets = tuple(
        ProductSet(
            scheme=scheme,
            code=r["code"],
            name_vi=r["name_vi"],
            name_en=r["name_en"],
            sector_code=r["sector_code"],
            group_code=r["group_code"],
            group_name_vi=r["group_name_vi"],
            group_name_en=r["group_name_en"],
            samples_required=_flag(r["samples_required"], f"{file} {r['code']}"),
        )
        for r in _rows(file)
    )
    by_code = {s.code: s for s in sets}
    if len(by_code) != len(sets) or len(sector_codes) != len(sectors):
        raise ValueError(f"duplicate codes in the {scheme} classification files")
    for s in sets:
        if not CODE.fullmatch(s.code) or s.sector_code not in sector_codes:
            raise ValueError(f"{file}: bad code {s.code!r} or unknown sector {s.sector_code!r}")
    return _Catalogue(sectors, sets, by_code)


@cache
def _statistics_sectors() -> dict[str, str]:
    mapping = {
        r["set_code_1048"]: r["sector_code_148"] for r in _rows("statistics_1048_to_148.csv")
    }
    targets = {s.code for s in sectors(Scheme.S148)}
    unmapped = set(_catalogue(Scheme.S1048).by_code) - set(mapping)
    if unmapped or not set(mapping.values()) <= targets:
        raise ValueError(f"statistics_1048_to_148.csv is incomplete or wrong: {sorted(unmapped)}")
    return mapping


def sectors(scheme: Scheme) -> tuple[Sector, ...]:
    return _catalogue(scheme).sectors


def product_sets(scheme: Scheme) -> tuple[ProductSet, ...]:
    """The scheme's sets in the order of the shipped file (the annex order)."""
    return _catalogue(scheme).sets


def _shown(code: str) -> str:
    # The code comes from a request; keep an oversized one from bloating the reply.
    return repr(code if len(code) <= 60 else code[:60] + "…")


def _lookup(scheme: Scheme, code: str, regime: Regime | None) -> ProductSet:
    catalogue = _catalogue(scheme)
    found = catalogue.by_code.get(code)
    if found is not None:
        return found
    under = f"decision {DECISION_TITLES[scheme]}"
    if regime is not None and regime.value != scheme.value:
        under = (
            f"decision {DECISION_TITLES[regime]} (which kept the classification of "
            f"{DECISION_TITLES[scheme]})"
        )
    examples = ", ".join(s.code for s in catalogue.sets[:4])
    reason = (
        f"{_shown(code)} is not a product set under {under}; "
        f"it has {len(catalogue.sets)} sets, such as {examples}"
    )
    other = next(
        (o for o in Scheme if o != scheme and code in _catalogue(o).by_code),
        None,
    )
    if other is not None:
        reason += f" ({_shown(code)} belongs to the classification of {DECISION_TITLES[other]})"
    raise RuleViolation("product_set", reason)


def product_set(scheme: Scheme, code: str) -> ProductSet:
    return _lookup(scheme, code, None)


def registered_before_classification(day: date) -> bool:
    """Registered between the programme's start and 1048's first classification: such a
    product is filed under the 1048 sets, the first that applied to it."""
    return PROGRAMME_FROM <= day < R1048_FROM


def scheme_on(day: date) -> Scheme:
    """The classification a product registered on ``day`` is filed under."""
    if registered_before_classification(day):
        return Scheme.S1048
    return scheme_of(regime_on(day))


def product_set_on(code: str, day: date) -> ProductSet:
    """The set ``code`` in the scheme in force on ``day`` (the 1048 sets for a registration
    before 21 August 2019, from the programme's start)."""
    if registered_before_classification(day):
        return _lookup(Scheme.S1048, code, None)
    regime = regime_on(day)
    return _lookup(scheme_of(regime), code, regime)


def statistics_sector(product_set: ProductSet) -> str:
    """The 148 sector a set is counted under, so that series spanning 2023 stay comparable."""
    if product_set.scheme == Scheme.S148:
        return product_set.sector_code
    sector = _statistics_sectors().get(product_set.code)
    if sector is None:
        # Only a set built by hand rather than looked up can get here.
        raise LookupError(f"{product_set.code} is not a shipped 1048 product set")
    return sector
