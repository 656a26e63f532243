"""Phone numbers, national ids and e-mail addresses are masked in published free text; the
rest of the text, and numbers that are none of those, are left as written."""

from __future__ import annotations

import random

import pytest

from ocop_runtime import personal
from ocop_runtime.personal import EMAIL_MASK, ID_MASK, PHONE_MASK, mask_personal_data


@pytest.mark.parametrize(
    "text, expected",
    [
        ("liên hệ 0912345678 để bổ sung", f"liên hệ {PHONE_MASK} để bổ sung"),
        ("SĐT: 0912 345 678.", f"SĐT: {PHONE_MASK}."),
        ("gọi 0912.345.678 hoặc 0387-654-321", f"gọi {PHONE_MASK} hoặc {PHONE_MASK}"),
        ("+84912345678", PHONE_MASK),
        ("(+84) 912 345 678, anh Nam", f"{PHONE_MASK}, anh Nam"),
        ("+84 98 765 4321", PHONE_MASK),
        ("máy bàn 024 3825 1234", f"máy bàn {PHONE_MASK}"),
        ("CCCD 001099012345 của chủ hộ", f"CCCD {ID_MASK} của chủ hộ"),
        ("CMND số 012345678;", f"CMND số {ID_MASK};"),
        ("gửi nam.nguyen@example.vn nhé", f"gửi {EMAIL_MASK} nhé"),
        ("hồ sơ: chi.tran+ocop@so-nn.hanoi.gov.vn", f"hồ sơ: {EMAIL_MASK}"),
        (
            "Chị Lan (0987654321, lan@gmail.com, CCCD 038190001234)",
            f"Chị Lan ({PHONE_MASK}, {EMAIL_MASK}, CCCD {ID_MASK})",
        ),
    ],
)
def test_personal_data_is_masked(text: str, expected: str) -> None:
    assert mask_personal_data(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Thiếu phiếu kiểm nghiệm chất lượng",
        "mã số thuế 0101234567",  # a tax code, not a phone number
        "doanh thu 150.000.000 đồng năm 2024",
        "quyết định 1147/QĐ-UBND ngày 12/05/2025",
        "điểm 72.5, hạng 4 sao",
        "hồ sơ 3f2c1a9e-5b7d-4c1e-8a2b-001099012345",  # an id, not a person's
        "09123456789",  # 11 digits: no Vietnamese number
        "lô 1234567890123",
    ],
)
def test_other_text_is_left_as_written(text: str) -> None:
    assert mask_personal_data(text) == text


def test_text_the_quick_check_passes_over_is_what_the_expressions_would_return() -> None:
    # mask_personal_data skips its three expressions when the text has neither an "@" nor nine
    # digits close together; on text built from the characters they look at, the result must
    # be what running them would give.
    def every_expression(text: str) -> str:
        text = personal._EMAIL.sub(EMAIL_MASK, text)
        text = personal._PHONE.sub(personal._phone, text)
        return personal._NATIONAL_ID.sub(ID_MASK, text)

    rng = random.Random(7)
    alphabet = "0123456789" * 3 + " .-+(),@_aZđ٣"
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 30)))
        assert mask_personal_data(text) == every_expression(text), text
