"""Personal data in free text that services publish on public topics.

A reason typed by an officer ("trả lại: liên hệ anh Nam 0912 345 678"), a product's name or a
file's name may carry a person's phone number, national id or e-mail address. Every agency reads
the public topics, so each service's ``publishing`` module passes such free text through
:func:`mask_personal_data` before it leaves the service; the service's own records keep the
text as written.

Masked:

- Vietnamese phone numbers: mobiles ``0`` + 9 digits starting 3, 5, 7, 8 or 9, landlines
  ``02`` + 9 digits, either also written ``+84``/``(+84)`` instead of the ``0``, with spaces,
  dots or hyphens between the digits (``0912 345 678``, ``+84.912.345.678``, ``024-3825-1234``);
- national ids: a run of exactly 9 (old identity card) or 12 digits (citizen identity card),
  not part of a longer number, a word or an id (``001099012345``, not a UUID's last group);
- e-mail addresses.

Not masked: a 10-digit tax code (``0101234567``: its second digit is neither a mobile's nor a
landline's), an amount written with separators (``150.000.000``), dates and years.
"""

from __future__ import annotations

import re

PHONE_MASK = "[số điện thoại đã ẩn]"
ID_MASK = "[số định danh đã ẩn]"
EMAIL_MASK = "[email đã ẩn]"

_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
# A prefix (0, +84 or (+84)), then 9 or 10 digits, each maybe after a space, dot or hyphen.
_PHONE = re.compile(r"(?<![\w+])(?P<prefix>\(\+84\)|\+84|0)(?P<rest>(?:[ .\-]?\d){9,10})(?!\w)")
_NATIONAL_ID = re.compile(r"(?<![\w\-.,])(?:\d{12}|\d{9})(?![\w\-]|[.,]\d)")
# What every match above contains: an "@" (an e-mail address) or nine digits, each after at
# most one space, dot or hyphen (a phone number's digits after its prefix, a national id's run).
# Text without either (most names) is returned as it is, without running the three.
_CANDIDATE = re.compile(r"@|\d(?:[ .\-]?\d){8}")


def _phone(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match["rest"])
    mobile = len(digits) == 9 and digits[0] in "35789"
    landline = len(digits) == 10 and digits[0] == "2"
    return PHONE_MASK if mobile or landline else match[0]


def mask_personal_data(text: str) -> str:
    """``text`` with phone numbers, national ids and e-mail addresses replaced by a marker."""
    if not text or not _CANDIDATE.search(text):
        return text
    text = _EMAIL.sub(EMAIL_MASK, text)
    text = _PHONE.sub(_phone, text)
    return _NATIONAL_ID.sub(ID_MASK, text)


def mask_all(texts: list[str]) -> list[str]:
    return [mask_personal_data(t) for t in texts]
