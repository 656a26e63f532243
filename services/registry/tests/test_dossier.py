"""Which documents a dossier needs, and the checks on each evidence file."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ocop_registry.domain.classification import Regime, Scheme, product_set
from ocop_registry.domain.common import RuleViolation
from ocop_registry.domain.dossier import (
    ApplicationKind,
    DocumentType,
    EvidenceFile,
    check_complete,
    check_evidence,
    missing_documents,
    required_documents,
)

D = DocumentType
FIRST, REEVAL, UPGRADE = (
    ApplicationKind.FIRST_TIME,
    ApplicationKind.RE_EVALUATION,
    ApplicationKind.UPGRADE,
)
RICE_SPIRIT = product_set(Scheme.S148, "drinks.rice_spirit")
FISH_SAUCE = product_set(Scheme.S148, "food.liquid_condiment")
TOURISM = product_set(Scheme.S148, "tourism.community")
FOOD_1048 = product_set(Scheme.S1048, "1048.food.coffee_cocoa")
FOOD_EVIDENCE = {D.FOOD_SAFETY_CERTIFICATE, D.QUALITY_DECLARATION, D.TRACEABILITY}

PDF = EvidenceFile(
    document_type=D.REGISTRATION_FORM,
    name="  Phiếu đăng ký.pdf ",
    media_type="Application/PDF",
    size_bytes=48_213,
    sha256="9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    storage_url="s3://ocop-dossiers/2025/phieu-dang-ky.pdf",
)


def _files(*types: DocumentType) -> list[EvidenceFile]:
    return [replace(PDF, document_type=t) for t in types]


def test_a_first_time_application_needs_the_mandatory_documents_and_a_quality_declaration() -> None:
    assert required_documents(FIRST, RICE_SPIRIT, Regime.R148) == {
        D.REGISTRATION_FORM,
        D.BUSINESS_PLAN,
        D.ORGANISATION_DESCRIPTION,
        D.BUSINESS_REGISTRATION,
        D.SAMPLES,
        D.SELF_ASSESSMENT,
        D.QUALITY_DECLARATION,
    }


def test_a_re_evaluation_needs_form_updated_self_assessment_certificate_and_samples() -> None:
    assert required_documents(REEVAL, RICE_SPIRIT, Regime.R1489) == {
        D.REGISTRATION_FORM,
        D.SELF_ASSESSMENT,
        D.CERTIFICATE_COPY,
        D.SAMPLES,
        D.QUALITY_DECLARATION,
    }


def test_an_upgrade_needs_form_self_assessment_certificate_business_plan_and_samples() -> None:
    assert required_documents(UPGRADE, RICE_SPIRIT, Regime.R148) == {
        D.REGISTRATION_FORM,
        D.SELF_ASSESSMENT,
        D.CERTIFICATE_COPY,
        D.QUALITY_DECLARATION,
        D.BUSINESS_PLAN,
        D.SAMPLES,
    }


@pytest.mark.parametrize("kind", list(ApplicationKind))
def test_tourism_services_need_no_samples_whatever_the_application(
    kind: ApplicationKind,
) -> None:
    assert D.SAMPLES not in required_documents(kind, TOURISM, Regime.R148)
    assert D.SAMPLES in required_documents(kind, RICE_SPIRIT, Regime.R148)


@pytest.mark.parametrize("kind", list(ApplicationKind))
def test_food_needs_food_safety_quality_declaration_and_traceability(
    kind: ApplicationKind,
) -> None:
    assert required_documents(kind, FISH_SAUCE, Regime.R148) >= FOOD_EVIDENCE
    assert required_documents(kind, FOOD_1048, Regime.R1048) >= FOOD_EVIDENCE


def test_products_outside_the_food_sector_need_no_food_safety_documents() -> None:
    for ps in (RICE_SPIRIT, TOURISM, product_set(Scheme.S148, "handicrafts.fabric_garments")):
        assert not (FOOD_EVIDENCE - {D.QUALITY_DECLARATION}) & required_documents(
            FIRST, ps, Regime.R148
        )


def test_every_good_needs_a_quality_declaration_but_a_tourism_service_does_not() -> None:
    assert D.QUALITY_DECLARATION in required_documents(FIRST, RICE_SPIRIT, Regime.R148)
    assert D.QUALITY_DECLARATION not in required_documents(FIRST, TOURISM, Regime.R148)


def test_a_set_from_another_regimes_classification_is_refused() -> None:
    with pytest.raises(RuleViolation) as refused:
        required_documents(FIRST, FOOD_1048, Regime.R1489)

    assert refused.value.field == "product_set"
    assert "1048.food.coffee_cocoa" in refused.value.reason
    assert "1489/QĐ-TTg" in refused.value.reason


def test_missing_documents_lists_what_is_required_and_absent_in_dossier_order() -> None:
    files = _files(D.SELF_ASSESSMENT, D.AWARDS, D.REGISTRATION_FORM)

    missing = missing_documents(FIRST, FISH_SAUCE, Regime.R148, files)

    assert missing == (
        D.BUSINESS_PLAN,
        D.ORGANISATION_DESCRIPTION,
        D.BUSINESS_REGISTRATION,
        D.SAMPLES,
        D.FOOD_SAFETY_CERTIFICATE,
        D.QUALITY_DECLARATION,
        D.TRACEABILITY,
    )


@pytest.mark.parametrize("kind", list(ApplicationKind))
def test_a_dossier_with_every_required_document_is_complete(kind: ApplicationKind) -> None:
    files = _files(*required_documents(kind, FISH_SAUCE, Regime.R148))

    check_complete(kind, FISH_SAUCE, Regime.R148, files)

    assert missing_documents(kind, FISH_SAUCE, Regime.R148, files) == ()


def test_an_incomplete_upgrade_is_refused_naming_the_kind_and_what_is_missing() -> None:
    files = _files(
        D.REGISTRATION_FORM, D.SELF_ASSESSMENT, D.SAMPLES, D.BUSINESS_PLAN, D.QUALITY_DECLARATION
    )

    with pytest.raises(RuleViolation) as refused:
        check_complete(UPGRADE, RICE_SPIRIT, Regime.R148, files)

    assert refused.value.field == "documents"
    assert refused.value.reason == (
        "incomplete dossier for an upgrade application: missing certificate_copy"
    )


def test_a_first_time_tourism_dossier_is_complete_without_samples() -> None:
    files = _files(
        D.REGISTRATION_FORM,
        D.BUSINESS_PLAN,
        D.ORGANISATION_DESCRIPTION,
        D.BUSINESS_REGISTRATION,
        D.SELF_ASSESSMENT,
    )

    check_complete(FIRST, TOURISM, Regime.R1489, files)

    with pytest.raises(RuleViolation, match="first-time application: missing samples"):
        check_complete(FIRST, RICE_SPIRIT, Regime.R1489, files)


def test_a_valid_evidence_file_comes_back_with_name_and_media_type_normalised() -> None:
    checked = check_evidence(PDF)

    assert checked.name == "Phiếu đăng ký.pdf"
    assert checked.media_type == "application/pdf"
    assert checked.sha256 == PDF.sha256
    assert check_evidence(replace(PDF, storage_url="https://files.example.vn/a.pdf")) is not None


def _case(case_id: str, change: dict[str, object], field: str, reason_part: str) -> object:
    return pytest.param(change, field, reason_part, id=case_id)


@pytest.mark.parametrize(
    ("change", "field", "reason_part"),
    [
        _case(
            "unknown type", {"document_type": "brochure"}, "evidence.document_type", "'brochure'"
        ),
        _case("blank name", {"name": "   "}, "evidence.name", "blank"),
        _case("long name", {"name": "a" * 256}, "evidence.name", "at most 255"),
        _case("control char", {"name": "a\x00.pdf"}, "evidence.name", "control"),
        _case("no subtype", {"media_type": "pdf"}, "evidence.media_type", "type/subtype"),
        _case(
            "parameters",
            {"media_type": "text/plain; charset=utf-8"},
            "evidence.media_type",
            "type/subtype",
        ),
        _case("empty file", {"size_bytes": 0}, "evidence.size_bytes", "empty"),
        _case(
            "over 200 MiB",
            {"size_bytes": 200 * 1024 * 1024 + 1},
            "evidence.size_bytes",
            "200 MiB",
        ),
        _case("bool size", {"size_bytes": True}, "evidence.size_bytes", "whole number"),
        _case("short digest", {"sha256": "abc123"}, "evidence.sha256", "64 lowercase hex"),
        _case("uppercase", {"sha256": PDF.sha256.upper()}, "evidence.sha256", "use lowercase"),
        _case(
            "ftp", {"storage_url": "ftp://files.example.vn/a.pdf"}, "evidence.storage_url", "'ftp'"
        ),
        _case("bare path", {"storage_url": "/tmp/a.pdf"}, "evidence.storage_url", "allowed are"),
        _case("no host", {"storage_url": "https:///a.pdf"}, "evidence.storage_url", "no host"),
        _case(
            "no key",
            {"storage_url": "s3://ocop-dossiers/"},
            "evidence.storage_url",
            "no object key",
        ),
        _case(
            "space",
            {"storage_url": "https://x.vn/a b.pdf"},
            "evidence.storage_url",
            "without spaces",
        ),
    ],
)
def test_an_evidence_file_breaking_a_rule_is_refused_naming_the_field(
    change: dict[str, object], field: str, reason_part: str
) -> None:
    with pytest.raises(RuleViolation) as refused:
        check_evidence(replace(PDF, **change))  # type: ignore[arg-type]

    assert refused.value.field == field
    assert reason_part in refused.value.reason


def test_the_largest_allowed_evidence_file_is_200_mib() -> None:
    assert check_evidence(replace(PDF, size_bytes=200 * 1024 * 1024)).size_bytes == 209_715_200
