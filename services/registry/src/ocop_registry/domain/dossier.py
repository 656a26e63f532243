"""What an OCOP dossier must contain, and the checks on each evidence file.

Sources (as summarised in the project's domain brief, §5 and §6; not the legal texts):

- Hanoi's guidance on dossiers under 1048/QĐ-TTg: a registration form, a business plan, a
  description of the producing organisation, a copy of the business registration and five
  product samples (none for services), plus the producer's self-assessment.
- Re-evaluation after the 36-month validity: a new form and a self-assessment updated over the
  three certified years; the current certificate identifies what is being re-evaluated.
- Upgrade: the certified product re-enters a round aiming higher, so it shows its certificate
  and a business plan for the higher star.
- 781/QĐ-TTg (2020), carried into 148/QĐ-TTg: the minimum for 3 stars includes a quality
  declaration and, for food, an internal control and traceability plan; food may not be sold
  without food-safety conditions being certified, hence the food-safety certificate.

The rules are one table (``RULES``) so that a new decision changes data, not control flow.
The quality declaration is asked of every good (not of tourism services): the brief reads 781's
3-star minimum as a quality declaration for all products and the traceability plan for food.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass, replace
from enum import StrEnum
from urllib.parse import urlsplit

from ocop_registry.domain.classification import (
    DECISION_TITLES,
    ProductSet,
    Regime,
    scheme_of,
    statistics_sector,
)
from ocop_registry.domain.common import RuleViolation


class ApplicationKind(StrEnum):
    FIRST_TIME = "first_time"
    RE_EVALUATION = "re_evaluation"
    UPGRADE = "upgrade"


class DocumentType(StrEnum):
    """Kinds of dossier documents; the declaration order is the order they are listed in."""

    REGISTRATION_FORM = "registration_form"
    BUSINESS_PLAN = "business_plan"
    ORGANISATION_DESCRIPTION = "organisation_description"
    BUSINESS_REGISTRATION = "business_registration"
    SAMPLES = "samples"
    SELF_ASSESSMENT = "self_assessment"
    CERTIFICATE_COPY = "certificate_copy"
    PRODUCT_STORY = "product_story"
    FOOD_SAFETY_CERTIFICATE = "food_safety_certificate"
    QUALITY_DECLARATION = "quality_declaration"
    TEST_RESULTS = "test_results"
    TRACEABILITY = "traceability"
    INTELLECTUAL_PROPERTY = "intellectual_property"
    RAW_MATERIAL_ORIGIN = "raw_material_origin"
    ENVIRONMENT = "environment"
    QUALITY_MANAGEMENT = "quality_management"
    ACCOUNTING = "accounting"
    MARKETING = "marketing"
    AWARDS = "awards"
    # The commune's pre-assessment report under 1489, added by the commune (``domain.commune``).
    COMMUNE_REPORT = "commune_report"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class EvidenceFile:
    """A document already uploaded to storage; the registry keeps only its description."""

    document_type: DocumentType
    name: str
    media_type: str
    size_bytes: int
    sha256: str
    storage_url: str


class Applies(StrEnum):
    """Which product sets a rule row covers."""

    ALWAYS = "always"
    SAMPLED = "sampled"  # every set except tourism services and sites
    FOOD = "food"  # the food sector of either scheme


_ALL = frozenset(ApplicationKind)
_FIRST = frozenset({ApplicationKind.FIRST_TIME})
_CERTIFIED = frozenset({ApplicationKind.RE_EVALUATION, ApplicationKind.UPGRADE})
_NEW_PLAN = frozenset({ApplicationKind.FIRST_TIME, ApplicationKind.UPGRADE})

RULES: tuple[tuple[DocumentType, frozenset[ApplicationKind], Applies], ...] = (
    # (document, the application kinds needing it, the product sets needing it)
    (DocumentType.REGISTRATION_FORM, _ALL, Applies.ALWAYS),
    (DocumentType.BUSINESS_PLAN, _NEW_PLAN, Applies.ALWAYS),
    (DocumentType.ORGANISATION_DESCRIPTION, _FIRST, Applies.ALWAYS),
    (DocumentType.BUSINESS_REGISTRATION, _FIRST, Applies.ALWAYS),
    (DocumentType.SAMPLES, _ALL, Applies.SAMPLED),
    (DocumentType.SELF_ASSESSMENT, _ALL, Applies.ALWAYS),
    (DocumentType.CERTIFICATE_COPY, _CERTIFIED, Applies.ALWAYS),
    (DocumentType.FOOD_SAFETY_CERTIFICATE, _ALL, Applies.FOOD),
    (DocumentType.QUALITY_DECLARATION, _ALL, Applies.SAMPLED),
    (DocumentType.TRACEABILITY, _ALL, Applies.FOOD),
)

_KIND_PHRASES: dict[ApplicationKind, str] = {
    ApplicationKind.FIRST_TIME: "a first-time",
    ApplicationKind.RE_EVALUATION: "a re-evaluation",
    ApplicationKind.UPGRADE: "an upgrade",
}


def _applies(applies: Applies, product_set: ProductSet) -> bool:
    if applies is Applies.SAMPLED:
        return product_set.samples_required
    if applies is Applies.FOOD:
        # Through the 148 statistics sector, so 1048 and 148 food sets are treated alike.
        return statistics_sector(product_set) == "food"
    return True


def _check_scheme(product_set: ProductSet, regime: Regime) -> None:
    expected = scheme_of(regime)
    if product_set.scheme != expected:
        raise RuleViolation(
            "product_set",
            f"{product_set.code} belongs to the classification of "
            f"{DECISION_TITLES[product_set.scheme]}, but applications under "
            f"{DECISION_TITLES[regime]} are classified under {DECISION_TITLES[expected]}",
        )


def required_documents(
    kind: ApplicationKind, product_set: ProductSet, regime: Regime
) -> frozenset[DocumentType]:
    """The documents a ``kind`` application for ``product_set`` cannot be filed without.

    The regime must be the one whose classification ``product_set`` comes from.
    """
    _check_scheme(product_set, regime)
    return frozenset(
        document
        for document, kinds, applies in RULES
        if kind in kinds and _applies(applies, product_set)
    )


def missing_documents(
    kind: ApplicationKind,
    product_set: ProductSet,
    regime: Regime,
    files: Iterable[EvidenceFile],
) -> tuple[DocumentType, ...]:
    """Required documents with no file, in ``DocumentType`` declaration order."""
    provided = {f.document_type for f in files}
    required = required_documents(kind, product_set, regime)
    return tuple(d for d in DocumentType if d in required and d not in provided)


def check_complete(
    kind: ApplicationKind,
    product_set: ProductSet,
    regime: Regime,
    files: Iterable[EvidenceFile],
) -> None:
    missing = missing_documents(kind, product_set, regime, files)
    if missing:
        raise RuleViolation(
            "documents",
            f"incomplete dossier for {_KIND_PHRASES[kind]} application: "
            f"missing {', '.join(missing)}",
        )


MAX_NAME_CHARS = 255
MAX_SIZE_BYTES = 200 * 1024 * 1024
MAX_URL_CHARS = 2048
URL_SCHEMES = ("http", "https", "s3")

# RFC 6838 restricted names, without parameters: the type is used to pick a viewer, and a
# charset or boundary parameter would only make equal types compare unequal.
MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}")
SHA256 = re.compile(r"[0-9a-f]{64}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _check_document_type(value: object) -> DocumentType:
    if isinstance(value, str):
        with suppress(ValueError):
            return DocumentType(value)
    raise RuleViolation(
        "evidence.document_type",
        f"{value!r} is not a document type; use one of {', '.join(DocumentType)}",
    )


def _check_name(name: str) -> str:
    name = unicodedata.normalize("NFC", name.strip())
    if not name:
        raise RuleViolation("evidence.name", "must not be blank")
    if len(name) > MAX_NAME_CHARS:
        raise RuleViolation(
            "evidence.name", f"has {len(name)} characters; at most {MAX_NAME_CHARS} are allowed"
        )
    if _CONTROL.search(name):
        raise RuleViolation("evidence.name", "must not contain control characters")
    return name


def _check_media_type(media_type: str) -> str:
    normalised = media_type.strip().lower()
    if not MEDIA_TYPE.fullmatch(normalised):
        raise RuleViolation(
            "evidence.media_type",
            f"{media_type[:80]!r} is not a media type; give it as type/subtype, "
            "e.g. application/pdf or image/jpeg, without parameters",
        )
    return normalised


def _check_size(size: int) -> int:
    if isinstance(size, bool) or not isinstance(size, int):
        raise RuleViolation("evidence.size_bytes", f"must be a whole number of bytes, not {size!r}")
    if size <= 0:
        raise RuleViolation("evidence.size_bytes", f"is {size}; an evidence file cannot be empty")
    if size > MAX_SIZE_BYTES:
        raise RuleViolation(
            "evidence.size_bytes",
            f"is {size} bytes; the limit is {MAX_SIZE_BYTES} bytes (200 MiB)",
        )
    return size


def _check_sha256(digest: str) -> str:
    if not SHA256.fullmatch(digest):
        hint = " (use lowercase)" if SHA256.fullmatch(digest.lower()) else ""
        raise RuleViolation(
            "evidence.sha256",
            f"{digest[:80]!r} is not a SHA-256 digest: expected 64 lowercase hex digits{hint}",
        )
    return digest


def _check_url(url: str) -> str:
    shown = repr(url[:80] + ("…" if len(url) > 80 else ""))
    if len(url) > MAX_URL_CHARS or any(c.isspace() for c in url):
        raise RuleViolation(
            "evidence.storage_url",
            f"{shown} must be a single URL of at most {MAX_URL_CHARS} characters without spaces",
        )
    try:
        parts = urlsplit(url)
    except ValueError:
        raise RuleViolation("evidence.storage_url", f"{shown} is not a valid URL") from None
    if parts.scheme.lower() not in URL_SCHEMES:
        raise RuleViolation(
            "evidence.storage_url",
            f"{shown} uses scheme {parts.scheme or '(none)'!r}; "
            f"allowed are {', '.join(URL_SCHEMES)}",
        )
    if not parts.netloc:
        raise RuleViolation("evidence.storage_url", f"{shown} names no host or bucket")
    if parts.scheme.lower() == "s3" and parts.path.strip("/") == "":
        raise RuleViolation("evidence.storage_url", f"{shown} names a bucket but no object key")
    return url


def check_evidence(file: EvidenceFile) -> EvidenceFile:
    """``file`` with its name and media type normalised, or the first rule it breaks."""
    return replace(
        file,
        document_type=_check_document_type(file.document_type),
        name=_check_name(file.name),
        media_type=_check_media_type(file.media_type),
        size_bytes=_check_size(file.size_bytes),
        sha256=_check_sha256(file.sha256),
        storage_url=_check_url(file.storage_url),
    )
