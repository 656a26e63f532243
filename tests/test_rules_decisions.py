"""A recognition decision on the real broker and database: one product's outcome never blocks
the round (an upgrade not reached keeps its certificate, a re-evaluation of an expired
certificate is certified anew from the decision date), a failed re-evaluation ends the old
certificate with its ground for registry's projection, and "no quality or traceability
records" is a revocation ground."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from ocop_contracts import topics
from ocop_contracts.commands import evaluation as cmd
from ocop_evaluation import domain
from ocop_registry.domain.classification import Regime, Scheme, product_set, regime_on
from ocop_registry.domain.dossier import ApplicationKind, required_documents
from ocop_registry.domain.products import public_code
from ocop_runtime.auth import Role
from ocop_runtime.testing import bearer, running, wait_until
from tests.commands import send_command
from tests.flow import evaluation_app, records_on, registry_app, scalar
from tests.test_evaluation_flow import MEMBERS, council, entered, sheet_points
from tests.test_registry import evidence, lookup, producer, product


def format_regex(pattern: str) -> str:
    """A regular expression for a documented format: ``{sequence:05d}`` is five digits."""
    fields = {"year": r"\d{4}", "commune": r"\d{5}"}
    out = re.escape(pattern)
    for width in re.findall(r"\\{sequence:0(\d)d\\}", out):
        out = out.replace(rf"\{{sequence:0{width}d\}}", rf"\d{{{width}}}")
    for name, regex in fields.items():
        out = out.replace(rf"\{{{name}\}}", regex)
    return out


async def apply(registry: Any, item: dict[str, Any], kind: str, day: date) -> str:
    """A complete dossier of ``kind`` for ``item``, drafted and submitted; its id."""
    regime = Regime(regime_on(day).value)
    the_set = product_set(Scheme(item["classification"]), item["product_set"])
    documents = [
        evidence(t.value) for t in required_documents(ApplicationKind(kind), the_set, regime)
    ]
    drafted = await registry.post(
        "/applications",
        json={
            "product_id": item["id"],
            "kind": kind,
            "self_assessment_score": 70,
            "documents": documents,
        },
    )
    assert drafted.status_code == 201, drafted.text
    app_id = str(drafted.json()["id"])
    submitted = await registry.post(f"/applications/{app_id}/submission")
    assert submitted.status_code == 200, submitted.text
    return app_id


async def score_round(
    evaluation: Any, shares: dict[str, Decimal], sets: dict[str, str], day: date
) -> str:
    """Open a city round, let the applications in ``shares`` enter it, hand in every member's
    sheet at that share of each maximum, close it; the round's id."""
    opened = await evaluation.post(
        "/rounds", json={"year": day.year, "level": "city", "name": f"TP {day.year}"}
    )
    assert opened.status_code == 201, opened.text
    round_id = str(opened.json()["id"])
    await council(evaluation, round_id)
    for app_id, share in shares.items():
        await entered(evaluation, round_id, app_id)
        points = sheet_points(sets[app_id], day, share)
        for member in MEMBERS:
            handed = await evaluation.put(
                f"/rounds/{round_id}/sheets/{app_id}",
                json={"points": points},
                headers=bearer(Role.COUNCIL_MEMBER, subject=member),
            )
            assert handed.status_code == 200, handed.text
    closed = await evaluation.post(f"/rounds/{round_id}/closure", json={})
    assert closed.status_code == 200, closed.text
    return round_id


async def decide(evaluation: Any, round_id: str, number: str, day: date) -> None:
    decided = await evaluation.post(
        f"/rounds/{round_id}/decision",
        json={"decision_number": number, "decision_date": day.isoformat()},
    )
    assert decided.status_code == 200, decided.text


async def shown(registry: Any, item: dict[str, Any], status: str, star: int | None) -> None:
    async def probe() -> bool:
        now = await lookup(registry, item["public_code"])
        return bool(now["status"] == status and now["star"] == star)

    await wait_until(probe, timeout_seconds=60, what=f"{item['public_code']} {status} {star}★")


async def test_one_products_outcome_never_blocks_the_round_and_a_failed_re_evaluation_ends_it(
    make_settings: Any, kafka_bootstrap: str
) -> None:
    async with (
        running(registry_app(make_settings)) as registry,
        running(evaluation_app(make_settings)) as evaluation,
    ):
        owner = await producer(registry)
        upgrading, failing, lapsed, fresh = [await product(registry, owner["id"]) for _ in range(4)]
        sets = {}
        today = date.fromisoformat((await evaluation.get("/clock")).json()["now"][:10])
        long_ago = today - timedelta(days=3 * 365 + 40)  # its certificate ended weeks ago

        old = await apply(registry, lapsed, "first_time", today)
        sets[old] = lapsed["product_set"]
        first = await score_round(evaluation, {old: Decimal("0.6")}, sets, today)
        await decide(evaluation, first, "12/QĐ-UBND", long_ago)
        await shown(registry, lapsed, "expired", 3)

        held = {}
        for item in (upgrading, failing):
            held[item["id"]] = await apply(registry, item, "first_time", today)
            sets[held[item["id"]]] = item["product_set"]
        second = await score_round(
            evaluation, {a: Decimal("0.8") for a in held.values()}, sets, today
        )
        await decide(evaluation, second, "1147/QĐ-UBND", today)
        await shown(registry, upgrading, "valid", 4)
        await shown(registry, failing, "valid", 4)

        apps = {
            "upgrade": await apply(registry, upgrading, "upgrade", today),
            "failing": await apply(registry, failing, "re_evaluation", today),
            "lapsed": await apply(registry, lapsed, "re_evaluation", today),
            "fresh": await apply(registry, fresh, "first_time", today),
        }
        items = {"upgrade": upgrading, "failing": failing, "lapsed": lapsed, "fresh": fresh}
        sets.update({apps[k]: items[k]["product_set"] for k in apps})
        shares = {"upgrade": "0.8", "failing": "0.3", "lapsed": "0.6", "fresh": "0.6"}
        third = await score_round(
            evaluation, {apps[k]: Decimal(v) for k, v in shares.items()}, sets, today
        )
        # The decision arrives over Kafka, as the city office's machine client sends it.
        await send_command(
            kafka_bootstrap,
            cmd.RecordDecision(
                round_id=UUID(third), decision_number="2250/QĐ-UBND", decision_date=today
            ),
        )

        async def decided() -> list[dict[str, Any]] | None:
            rounds = (await evaluation.get("/rounds", params={"status": "decided"})).json()
            if third not in [r["id"] for r in rounds["items"]]:
                return None
            return list((await evaluation.get(f"/rounds/{third}/entries")).json()["items"])

        entries = {
            e["application_id"]: e
            for e in await wait_until(decided, timeout_seconds=60, what="the third decision")
        }
        await shown(registry, fresh, "valid", 3)
        await shown(registry, lapsed, "valid", 3)
        await shown(registry, upgrading, "valid", 4)
        await shown(registry, failing, "revoked", 4)

        async def registry_status(app_id: str, status: str) -> bool:
            found = (await registry.get(f"/applications/{app_id}")).json()
            return bool(found["status"] == status)

        for key, status in (("upgrade", "not_recognised"), ("fresh", "certified")):
            await wait_until(
                lambda a=apps[key], s=status: registry_status(a, s),  # type: ignore[misc]
                timeout_seconds=60,
                what=f"the {key} application {status}",
            )
        revoked = [
            json.loads(r.value)
            for r in await records_on(
                kafka_bootstrap,
                topics.EVALUATION_CERTIFICATES,
                lambda r: r.key == failing["id"].encode(),
            )
            if dict(r.headers).get("ce_type", b"").endswith(b".CertificateRevoked.v1")
        ]
        lapsed_history = (await evaluation.get(f"/products/{lapsed['id']}/history")).json()
        failing_history = (await evaluation.get(f"/products/{failing['id']}/history")).json()

    assert entries[apps["upgrade"]]["status"] == "kept"
    assert entries[apps["upgrade"]]["result"]["decision"]["verdict"] == "kept"
    assert entries[apps["fresh"]]["status"] == "certified"
    assert entries[apps["lapsed"]]["status"] == "certified"
    assert entries[apps["failing"]]["status"] == "not_recognised"
    [ended] = revoked
    assert ended["ground_codes"] == ["failed_reevaluation"]
    assert ended["grounds"] == ["quality_mismatch"]  # the v1 ground it falls under
    assert ended["application_id"] == apps["failing"]
    assert ended["revoked_on"] == today.isoformat()
    assert [(c["star"], c["state"]) for c in lapsed_history["certificates"]] == [
        (3, "expired"),
        (3, "live"),
    ]
    assert lapsed_history["certificates"][1]["decision_date"] == today.isoformat()
    assert [c["state"] for c in failing_history["certificates"]] == ["revoked"]


async def test_a_certificate_is_revoked_for_lacking_quality_or_traceability_records(
    make_settings: Any, kafka_bootstrap: str, database_url: str, unique: str
) -> None:
    async with (
        running(registry_app(make_settings)) as registry,
        running(evaluation_app(make_settings)) as evaluation,
    ):
        owner = await producer(registry)
        item = await product(registry, owner["id"])
        today = date.fromisoformat((await evaluation.get("/clock")).json()["now"][:10])
        app_id = await apply(registry, item, "first_time", today)
        round_id = await score_round(
            evaluation, {app_id: Decimal("0.6")}, {app_id: item["product_set"]}, today
        )
        await decide(evaluation, round_id, "99/QĐ-UBND", today)
        await shown(registry, item, "valid", 3)
        [certificate] = (
            await evaluation.get("/certificates", params={"product_id": item["id"]})
        ).json()["items"]
        unknown = await evaluation.post(
            f"/certificates/{certificate['id']}/revocation",
            json={
                "grounds": ["no_records_at_all"],
                "decision_number": "120/QĐ-UBND",
                "decision_date": today.isoformat(),
            },
        )
        revoked = await evaluation.post(
            f"/certificates/{certificate['id']}/revocation",
            json={
                "grounds": ["no_quality_records"],
                "decision_number": "120/QĐ-UBND",
                "decision_date": today.isoformat(),
            },
        )
        assert revoked.status_code == 200, revoked.text
        await shown(registry, item, "revoked", 3)
        [event] = [
            json.loads(r.value)
            for r in await records_on(
                kafka_bootstrap,
                topics.EVALUATION_CERTIFICATES,
                lambda r: r.key == item["id"].encode(),
            )
            if dict(r.headers).get("ce_type", b"").endswith(b".CertificateRevoked.v1")
        ]
        projected = await scalar(
            database_url,
            f"SELECT revocation_grounds FROM registry_{unique}.certificates WHERE id = $1",
            UUID(certificate["id"]),
        )

    assert unknown.status_code == 422 and "grounds" in unknown.text
    # The (modelled) formats the rulebook document lists are the ones issued.
    formats = {f.name: f.pattern for f in domain.formats()}
    assert re.fullmatch(format_regex(formats["certificate_number"]), certificate["number"])
    assert re.fullmatch(format_regex(formats["public_code"]), item["public_code"])
    assert event["ground_codes"] == ["no_quality_records"]
    assert event["grounds"] == ["failed_mandatory_criteria"]
    assert projected == ["no_quality_records"]


def test_the_registrys_public_code_is_the_documented_modelled_format() -> None:
    [code] = [f for f in domain.formats() if f.name == "public_code"]
    assert code.modelled and code.owner == "registry"
    assert public_code("00004", 7, 2025) == code.example
