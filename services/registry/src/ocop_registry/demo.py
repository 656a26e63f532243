"""The demonstration scenario: Hanoi-like producers and products, and the certificates their
councils decided since 2019, reproducible from a seed value.

Products follow the programme's shape (the statistics timeline of the domain notes): mostly
processed food and handicrafts, cooperatives and household businesses with one to six products,
spread over the rural districts with Đan Phượng and Hoài Đức first (``data/demo/districts.csv``:
the two leaders' weights come from the 2020 plan, the others are modelled), registered from May
2018. A product is named after its goods and its place (``data/demo/goods.csv``: goods that fit
each product set; never a person's name). Certificates come from a modelled calendar of
decisions (city rounds each December, district 3★ decisions under 148 from 2023, the city only
from July 2025), with re-evaluations before the 36 months end, some lapses, a few revocations and
nominations for 5★.

Every product draws from its own random stream (seed, producer, product), so the same seed gives
the same products and histories on any day; a later day only adds the decisions dated up to it.

``python -m ocop_registry.demo --rows 2000 > products.csv`` writes a product list; ``ocop seed``
loads products through the registry's import and certificates through evaluation's.
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import sys
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from pathlib import Path

from ocop_registry import units
from ocop_registry.domain import classification
from ocop_registry.imports import COLUMNS

DATA = Path(__file__).resolve().parents[2] / "data" / "demo"
START = classification.PROGRAMME_FROM
LAST_REGISTRATION = date(2026, 6, 30)
# Person-like words: a place named after a person (Lê Lợi, Quang Trung, ...) is not put in a
# product's name; the district's name is used instead.
_PERSON = {"Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ"}
_PERSON |= {"Ngô", "Dương", "Lý", "Tô", "Quang Trung", "Trần Phú", "Nguyễn Trãi", "Chu Văn An"}
_FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô"]
_GIVEN = ["Văn An", "Thị Bình", "Văn Cường", "Thị Dung", "Văn Hùng", "Thị Lan", "Văn Minh"]
_SECTORS = {"food": 62, "handicrafts": 30, "drinks": 3, "herbal": 2, "ornamentals": 2, "tourism": 1}
_FORMS = [("HTX", 38), ("HKD", 38), ("DN", 20), ("THT", 4)]
_YEARS = {2018: 6, 2019: 12, 2020: 24, 2021: 15, 2022: 12, 2023: 12, 2024: 10, 2025: 7, 2026: 2}
_BRANDS = ["Xanh", "Việt", "Hà Thành", "Sông Hồng", "An Phát", "Phúc Lộc", "Tâm An", "Hưng Thịnh"]
_VARIANTS = ["", "loại đặc biệt", "hộp quà", "loại thượng hạng"]
HISTORY_COLUMNS = (
    "public_code",
    "action",
    "decision_number",
    "decision_date",
    "level",
    "star",
    "rulebook",
    "score",
    "grounds",
)
"""The columns of evaluation's history import that the scenario fills."""
GROUNDS = [
    "food_safety_breach",
    "quality_mismatch",
    "operation_suspended",
    "process_not_followed",
]


@dataclass(frozen=True, slots=True)
class Round:
    """A modelled decision of the city (and, under 148, the districts' 3★ decisions before it)."""

    day: date
    rulebook: str
    number: int


ROUNDS = tuple(
    Round(date.fromisoformat(day), rulebook, 3100 + 97 * i)
    for i, (day, rulebook) in enumerate(
        [
            ("2019-12-20", "1048"),
            ("2020-10-15", "1048"),
            ("2020-12-28", "1048"),
            ("2021-12-20", "1048"),
            ("2022-12-15", "1048"),
            ("2023-12-15", "148"),
            ("2024-12-10", "148"),
            ("2025-06-20", "148"),
            ("2025-12-15", "1489"),
            ("2026-06-15", "1489"),
            ("2026-12-15", "1489"),
        ]
    )
)


@dataclass
class DemoProduct:
    row: dict[str, str]  # the registry import's columns
    history: list[dict[str, str]] = field(default_factory=list)  # evaluation's, less the code


@cache
def _goods() -> dict[str, tuple[list[str], str]]:
    with (DATA / "goods.csv").open(encoding="utf-8", newline="") as f:
        return {
            r["product_set"]: (r["goods"].split("|"), r["producer_trade"])
            for r in csv.DictReader(f)
        }


@cache
def _districts() -> tuple[list[str], list[int], dict[str, str]]:
    with (DATA / "districts.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return (
        [r["district_code"] for r in rows],
        [int(r["weight"]) for r in rows],
        {r["district_code"]: r["name"] for r in rows},
    )


@cache
def _units() -> tuple[dict[str, list[units.AdminUnit]], dict[str, list[units.AdminUnit]]]:
    """The communes of each pre-2025 district, and the communes that succeeded them."""
    unit_list, successions = units.load_dataset()
    communes = [u for u in unit_list if u.level == "commune"]
    before: dict[str, list[units.AdminUnit]] = {}
    for u in communes:
        if u.parent_code:
            before.setdefault(u.parent_code, []).append(u)
    after: dict[str, set[str]] = {}
    for s in successions:
        if s.new.valid_to is None and s.old.parent_code:
            after.setdefault(s.old.parent_code, set()).add(s.new.code)
    new = {u.code: u for u in communes if u.valid_to is None}
    return before, {d: [new[c] for c in sorted(codes)] for d, codes in after.items()}


@cache
def _sets(scheme: classification.Scheme, sector: str) -> list[classification.ProductSet]:
    known = [s for s in classification.product_sets(scheme) if _set_key(s.code) in _goods()]
    return [s for s in known if classification.statistics_sector(s) == sector] or known


def _set_key(code: str) -> str:
    return code.removeprefix("1048.")


def _place(unit: units.AdminUnit, district: str) -> str:
    name = unit.name
    if any(name == p or name.startswith(p + " ") for p in _PERSON) or any(
        ch.isdigit() for ch in name
    ):
        return _districts()[2][district]
    return name


def valid_until(day: date) -> date:
    """36 months from the decision, less a day (as evaluation counts them)."""
    month = day.month - 1 + 36
    year, month = day.year + month // 12, month % 12 + 1
    try:
        return date(year, month, day.day) - timedelta(days=1)
    except ValueError:  # 29 February three years on
        return date(year, month, 28)


def _producer(rng: random.Random, day: date) -> tuple[dict[str, str], str, str]:
    codes, weights, _ = _districts()
    district = rng.choices(codes, weights)[0]
    communes, successors = _units()
    if day >= units.REORGANISED:
        unit = rng.choice(successors[district])
    else:
        unit = rng.choice([u for u in communes[district] if u.valid_on(day)])
    place = _place(unit, district)
    form = rng.choices([f for f, _ in _FORMS], [w for _, w in _FORMS])[0]
    number = {
        "DN": f"01{rng.randrange(10**8):08d}",
        "HTX": f"01{rng.randrange(10**8):08d}",
        "HKD": f"01A{rng.randrange(10**7):07d}",
        "THT": "",
    }[form]
    producer = {
        "commune_code": unit.code,
        "legal_form": form,
        "registration_number": number,
        "producer_address": f"Thôn {rng.randint(1, 12)}, {unit.name}",
        "registered_on": day.isoformat(),
    }
    return producer, place, district


def _producer_name(form: str, trade: str, place: str, rng: random.Random, index: int) -> str:
    if form == "HKD":
        return f"Hộ kinh doanh {rng.choice(_FAMILY)} {rng.choice(_GIVEN)}"
    if form == "DN":
        kind = rng.choice(["Công ty TNHH", "Công ty Cổ phần"])
        return f"{kind} {trade} {rng.choice(_BRANDS)} {place}"
    if form == "THT":
        # Known by name and commune: the number keeps two groups of one commune apart.
        return f"Tổ hợp tác {trade} {place} số {index % 97 + 1}"
    return f"HTX {trade} {rng.choice(_BRANDS)} {place}"


def _registration_day(rng: random.Random, today: date) -> date:
    year = rng.choices(list(_YEARS), list(_YEARS.values()))[0]
    first = max(date(year, 1, 1), START)
    last = min(date(year, 12, 31), LAST_REGISTRATION)
    return first + timedelta(days=rng.randrange((last - first).days + 1))


def scenario(
    count: int, *, seed: int = 2021, today: date | None = None, histories: bool = True
) -> list[DemoProduct]:
    """``count`` products (those registered after ``today`` left out) and their histories
    (none with ``histories=False``: the same products, faster)."""
    today = today or date.today()
    out: list[DemoProduct] = []
    index = 0
    while len(out) < count:
        rng = random.Random(f"{seed}:producer:{index}")
        day = _registration_day(rng, today)
        producer, place, district = _producer(rng, day)
        scheme = classification.scheme_on(day)
        sector = rng.choices(list(_SECTORS), list(_SECTORS.values()))[0]
        sets = _sets(scheme, sector)
        main = rng.choice(sets)
        trade = _goods()[_set_key(main.code)][1]
        name = _producer_name(producer["legal_form"], trade, place, rng, index)
        names: set[str] = set()
        for n in range(rng.randint(1, 6)):
            if len(out) >= count:
                break
            the_set = main if n == 0 or rng.random() < 0.6 else rng.choice(sets)
            goods = rng.choice(_goods()[_set_key(the_set.code)][0])
            variant = rng.choice(_VARIANTS) if n else ""
            product_name = " ".join(p for p in (goods, place, variant) if p)
            if product_name in names:
                continue
            names.add(product_name)
            if day > today:
                continue
            row = {
                **producer,
                "producer_name": name,
                "product_name": product_name,
                "product_set": the_set.code,
            }
            made = []
            if histories:
                product_rng = random.Random(f"{seed}:product:{index}:{n}")
                made = certificates(product_rng, day, district, today)
            out.append(DemoProduct(row, made))
        index += 1
    return out


def _grant(
    action: str, r: Round, star: int, district: str, rng: random.Random, *, nominated: bool = False
) -> dict[str, str]:
    at_district = r.rulebook == "148" and star == 3
    day = r.day - timedelta(days=45) if at_district else r.day
    low, high = {3: (50, 69), 4: (70, 89), 5: (90, 97)}[5 if nominated else star]
    return {
        "action": action,
        "level": "district" if at_district else "city",
        "star": str(star),
        "rulebook": r.rulebook,
        "decision_number": f"{r.number + int(district) % 50 if at_district else r.number}/QĐ-UBND",
        "decision_date": day.isoformat(),
        "score": f"{rng.uniform(low, high):.1f}",
    }


def certificates(
    rng: random.Random, registered: date, district: str, today: date
) -> list[dict[str, str]]:
    """A modelled history of decisions for a product registered on ``registered``."""
    rounds = [r for r in ROUNDS if r.day >= registered + timedelta(days=90) and r.day <= today]
    if not rounds or rng.random() > 0.8:
        return []
    out: list[dict[str, str]] = []
    current = rounds[0] if rng.random() < 0.75 else rounds[min(1, len(rounds) - 1)]
    star = 4 if rng.random() < 0.6 else 3
    action = "certify"
    while True:
        nominated = action == "certify" and star == 4 and rng.random() < 0.03
        grant = _grant(action, current, star, district, rng, nominated=nominated)
        out.append(grant)
        decided = date.fromisoformat(grant["decision_date"])
        end = valid_until(decided)
        if nominated:
            out.append(
                {
                    "action": "nominate",
                    "level": "central",
                    "decision_number": f"{current.number}/TTr-UBND",
                    "decision_date": grant["decision_date"],
                }
            )
            outcome = decided + timedelta(days=180)
            roll = rng.random()
            if outcome <= today and roll < 0.35:
                upgrade = {
                    "action": "upgrade",
                    "level": "central",
                    "star": "5",
                    "rulebook": current.rulebook,
                    "decision_number": f"{700 + current.number % 300}/QĐ-BNN-VPĐP",
                    "decision_date": outcome.isoformat(),
                }
                out.append(upgrade)
                return out  # a 5★ runs its 36 months
            if outcome <= today and roll < 0.85:
                out.append(
                    {
                        "action": "not_upgraded",
                        "level": "central",
                        "decision_number": f"{700 + current.number % 300}/BNN-VPĐP",
                        "decision_date": outcome.isoformat(),
                    }
                )
        if rng.random() < 0.015:
            revoked = decided + timedelta(days=rng.randrange(100, 900))
            if revoked <= min(end, today):
                out.append(
                    {
                        "action": "revoke",
                        "decision_number": f"{rng.randrange(100, 999)}/QĐ-UBND-TH",
                        "decision_date": revoked.isoformat(),
                        "grounds": rng.choice(GROUNDS),
                    }
                )
                return out
        before_end = [
            r for r in ROUNDS if end - timedelta(days=240) < r.day <= end and r.day <= today
        ]
        if before_end and rng.random() < 0.55:
            current, action = before_end[-1], "reevaluate"
            star = {3: 4 if rng.random() < 0.2 else 3, 4: 3 if rng.random() < 0.1 else 4}[star]
            # Under 148 the district decides 45 days before the city: it must still be later.
            if current.rulebook == "148" and star == 3 and current.day - timedelta(45) <= decided:
                return out
            continue
        after_end = [r for r in ROUNDS if end < r.day - timedelta(days=45) and r.day <= today]
        if after_end and rng.random() < 0.25:
            current, action = after_end[0], "certify"
            continue
        return out


def rows(count: int, *, seed: int = 2021, today: date | None = None) -> list[dict[str, str]]:
    """The products of the scenario, in the districts' CSV columns."""
    return [p.row for p in scenario(count, seed=seed, today=today, histories=False)]


def to_csv(data: list[dict[str, str]], columns: tuple[str, ...] = COLUMNS) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(data)
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=2021)
    args = parser.parse_args()
    sys.stdout.write(to_csv(rows(args.rows, seed=args.seed)))


if __name__ == "__main__":
    main()
