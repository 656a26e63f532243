"""A demonstration data set in the districts' CSV format: deterministic for a seed, shaped
like Hanoi's lists (rural communes, many food and handicraft products, cooperatives and
household businesses, several products per producer, registrations from 2020 to today).

``python -m ocop_registry.demo --rows 2000 > products.csv`` writes one; ``ocop seed`` loads
one through the registry's import endpoint.
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import sys
from datetime import date, timedelta

from ocop_registry import units
from ocop_registry.domain import classification
from ocop_registry.imports import COLUMNS

_FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô"]
_GIVEN = ["Văn An", "Thị Bình", "Văn Cường", "Thị Dung", "Văn Hùng", "Thị Lan", "Văn Minh"]
_GOODS = {
    "food": [
        "Gạo nếp cái hoa vàng",
        "Miến dong",
        "Chè búp",
        "Mật ong hoa nhãn",
        "Giò lụa",
        "Bánh chưng",
        "Nhãn chín sớm",
        "Bưởi Diễn",
        "Nước mắm",
        "Cà phê rang xay",
    ],
    "drinks": ["Rượu nếp", "Rượu làng Vân", "Nước uống đóng chai"],
    "herbal": ["Cao dược liệu", "Tinh dầu sả chanh", "Xà phòng thảo dược"],
    "handicrafts": ["Gốm men lam", "Mây tre đan", "Khăn lụa", "Nón lá", "Tranh thêu"],
    "ornamentals": ["Đào cảnh", "Quất cảnh", "Lan hồ điệp"],
    "tourism": ["Du lịch làng nghề", "Trải nghiệm nông trại"],
}
_WEIGHTS = {"food": 60, "drinks": 5, "herbal": 5, "handicrafts": 25, "ornamentals": 4, "tourism": 1}
_FORMS = [("HTX", 40), ("DN", 25), ("HKD", 30), ("THT", 5)]


def rows(count: int, *, seed: int = 2021, today: date | None = None) -> list[dict[str, str]]:
    today = today or date.today()
    rng = random.Random(seed)
    unit_list, _ = units.load_dataset()
    communes = [u for u in unit_list if u.level == "commune"]
    old = [u for u in communes if u.valid_to is not None and u.kind == "xa"]
    new = [u for u in communes if u.valid_to is None and u.kind == "xa"]
    start = date(2020, 1, 1)
    out: list[dict[str, str]] = []
    producer: dict[str, str] = {}
    left = 0
    for i in range(count):
        if left == 0:  # a new producer with 1-6 products
            left = rng.randint(1, 6)
            day = start + timedelta(days=rng.randrange((today - start).days + 1))
            pool = [u for u in (new if day >= units.REORGANISED else old) if u.valid_on(day)]
            unit = rng.choice(pool)
            form = rng.choices([f for f, _ in _FORMS], [w for _, w in _FORMS])[0]
            number = {
                "DN": f"01{rng.randrange(10**8):08d}",
                "HTX": f"01{rng.randrange(10**8):08d}",
                "HKD": f"01A{rng.randrange(10**7):07d}",
                "THT": "",
            }[form]
            name = {
                "DN": f"Công ty TNHH {unit.name} {i}",
                "HTX": f"HTX Nông nghiệp {unit.name} {i}",
                "HKD": f"{rng.choice(_FAMILY)} {rng.choice(_GIVEN)}",
                "THT": f"Tổ hợp tác {unit.name} {i}",
            }[form]
            producer = {
                "commune_code": unit.code,
                "producer_name": name,
                "legal_form": form,
                "registration_number": number,
                "producer_address": f"Thôn {rng.randint(1, 12)}, {unit.name}",
                "registered_on": day.isoformat(),
            }
        left -= 1
        day = date.fromisoformat(producer["registered_on"])
        scheme = classification.scheme_of(classification.regime_on(day))
        stats = rng.choices(list(_WEIGHTS), list(_WEIGHTS.values()))[0]
        sets = [
            s
            for s in classification.product_sets(scheme)
            if classification.statistics_sector(s) == stats
        ] or list(classification.product_sets(scheme))
        out.append(
            {
                **producer,
                "product_name": f"{rng.choice(_GOODS[stats])} {producer['producer_name'][:12]} {i}",
                "product_set": rng.choice(sets).code,
            }
        )
    return out


def to_csv(data: list[dict[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(COLUMNS), lineterminator="\n")
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
