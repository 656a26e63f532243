"""Who may do what: tokens checked against the issuer's keys, one role matrix over every
route of every service, scoping in the use cases, the audit trail, personal data export and
erasure, and rate limits."""

from __future__ import annotations

import asyncio
import http.server
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import jwt
import pytest
from fastapi import FastAPI

from ocop_contracts import topics
from ocop_evaluation.app import create_app as create_evaluation
from ocop_evaluation.settings import EvaluationSettings
from ocop_insights.app import create_app as create_insights
from ocop_insights.settings import InsightsSettings
from ocop_inspection.app import create_app as create_inspection
from ocop_inspection.settings import InspectionSettings
from ocop_registry.app import create_app as create_registry
from ocop_registry.settings import RegistrySettings
from ocop_runtime import devidp
from ocop_runtime.auth import Role
from ocop_runtime.settings import ServiceSettings
from ocop_runtime.testing import bearer, running, session_idp, token, wait_until
from ocop_trade.app import create_app as create_trade
from ocop_trade.settings import TradeSettings
from tests.flow import records_on, tax_code
from tests.test_registry import evidence

R = Role
OFFICE = {R.CITY_OFFICE}
LOCAL = {R.CITY_OFFICE, R.COMMUNE_OFFICER}
OWNERS = {R.CITY_OFFICE, R.COMMUNE_OFFICER, R.PRODUCER}
READERS = OWNERS | {R.AGENCY}
ANYONE = set(R)
COUNCIL = {R.CITY_OFFICE, R.COUNCIL_MEMBER}
INSPECTION = {R.CITY_OFFICE, R.INSPECTOR}
TRADE = {R.CITY_OFFICE, R.TRADE_OFFICER}
PUBLIC: None = None

# The role table of docs/SECURITY.md, route by route. PUBLIC: no token needed.
EXPECTED: dict[str, dict[tuple[str, str], set[Role] | None]] = {
    "registry": {
        ("get", "/producers"): OWNERS,
        ("post", "/producers"): LOCAL,
        ("get", "/producers/{producer_id}"): OWNERS,
        ("patch", "/producers/{producer_id}"): OWNERS,
        ("post", "/producers/{producer_id}/deregistration"): LOCAL,
        ("get", "/producers/{producer_id}/personal-data"): {R.CITY_OFFICE, R.PRODUCER},
        ("post", "/producers/{producer_id}/erasure"): OFFICE,
        ("get", "/products"): READERS,
        ("post", "/products"): OWNERS,
        ("get", "/products/{product_id}"): READERS,
        ("patch", "/products/{product_id}"): OWNERS,
        ("post", "/products/{product_id}/deregistration"): OWNERS,
        ("get", "/applications"): OWNERS,
        ("post", "/applications"): OWNERS,
        ("get", "/applications/{application_id}"): OWNERS,
        ("patch", "/applications/{application_id}"): OWNERS,
        ("post", "/applications/{application_id}/submission"): OWNERS,
        ("post", "/applications/{application_id}/withdrawal"): OWNERS,
        ("post", "/applications/{application_id}/commune-assessment"): {R.COMMUNE_OFFICER},
        ("post", "/imports/products"): LOCAL,
        ("get", "/units"): ANYONE,
        ("get", "/classification"): ANYONE,
        ("get", "/public/products/{code}"): PUBLIC,
        ("get", "/public/products/{code}/qr.svg"): PUBLIC,
    },
    "evaluation": {
        ("get", "/producers/{producer_id}"): COUNCIL,
        ("post", "/rounds"): OFFICE,
        ("get", "/rounds"): COUNCIL,
        ("put", "/rounds/{round_id}/council"): OFFICE,
        ("get", "/rounds/{round_id}/entries"): COUNCIL,
        ("post", "/rounds/{round_id}/entries/{application_id}/return"): OFFICE,
        ("put", "/rounds/{round_id}/sheets/{application_id}"): {R.COUNCIL_MEMBER},
        ("get", "/rounds/{round_id}/review"): COUNCIL,
        ("post", "/rounds/{round_id}/closure"): OFFICE,
        ("post", "/rounds/{round_id}/decision"): OFFICE,
        ("get", "/certificates"): COUNCIL,
        ("get", "/certificates/expiring"): COUNCIL,
        ("get", "/certificates/counts"): COUNCIL,
        ("post", "/imports/certificates"): OFFICE,
        ("post", "/certificates/{certificate_id}/revocation"): OFFICE,
        ("get", "/products/{product_id}/history"): COUNCIL,
        ("get", "/revocation-recommendations"): OFFICE,
        ("post", "/revocation-recommendations/{recommendation_id}/decision"): OFFICE,
        ("get", "/clock"): OFFICE,
        ("post", "/clock"): OFFICE,
        ("post", "/scheduler/run"): OFFICE,
    },
    "trade": {
        ("post", "/events"): TRADE,
        ("get", "/events"): TRADE,
        ("get", "/events/{event_id}"): TRADE,
        ("put", "/events/{event_id}"): TRADE,
        ("post", "/events/{event_id}/registration"): TRADE,
        ("post", "/events/{event_id}/start"): TRADE,
        ("post", "/events/{event_id}/closure"): TRADE,
        ("post", "/events/{event_id}/report"): TRADE,
        ("post", "/events/{event_id}/cancellation"): TRADE,
        ("post", "/events/{event_id}/participations"): TRADE,
        ("get", "/participations"): TRADE,
        ("get", "/participations/{participation_id}"): TRADE,
        ("post", "/participations/{participation_id}/withdrawal"): TRADE,
        ("post", "/outlets"): TRADE,
        ("get", "/outlets"): TRADE,
        ("get", "/outlets/{outlet_id}"): TRADE,
        ("put", "/outlets/{outlet_id}"): TRADE,
        ("post", "/outlets/{outlet_id}/closure"): TRADE,
        ("post", "/outlets/{outlet_id}/listings"): TRADE,
        ("get", "/listings"): TRADE,
        ("get", "/listings/{listing_id}"): TRADE,
        ("post", "/listings/{listing_id}/delisting"): TRADE,
        ("post", "/listings/{listing_id}/restoration"): TRADE,
        ("post", "/outcomes"): TRADE,
        ("get", "/outcomes"): TRADE,
        ("get", "/outcomes/{outcome_id}"): TRADE,
        ("get", "/reports/promotions"): TRADE,
        ("get", "/reports/outlets"): TRADE,
        ("get", "/products/{product_id}"): TRADE,
    },
    "inspection": {
        ("post", "/campaigns"): OFFICE,
        ("get", "/campaigns"): INSPECTION,
        ("get", "/campaigns/{campaign_id}"): INSPECTION,
        ("patch", "/campaigns/{campaign_id}"): OFFICE,
        ("post", "/campaigns/{campaign_id}/closure"): OFFICE,
        ("get", "/campaigns/{campaign_id}/report"): INSPECTION,
        ("post", "/campaigns/{campaign_id}/report"): OFFICE,
        ("post", "/campaigns/{campaign_id}/sample"): OFFICE,
        ("post", "/campaigns/{campaign_id}/sample/producers"): OFFICE,
        ("get", "/campaigns/{campaign_id}/sample"): INSPECTION,
        ("get", "/campaigns/{campaign_id}/draws"): INSPECTION,
        ("post", "/visits"): INSPECTION,
        ("get", "/visits"): INSPECTION,
        ("get", "/visits/{visit_id}"): INSPECTION,
        ("post", "/visits/{visit_id}/findings"): INSPECTION,
        ("get", "/findings"): INSPECTION,
        ("get", "/findings/{finding_id}"): INSPECTION,
        ("get", "/remediations"): INSPECTION,
        ("get", "/remediations/{remediation_id}"): INSPECTION,
        ("post", "/remediations/{remediation_id}/completion"): INSPECTION,
        ("post", "/remediations/{remediation_id}/extension"): INSPECTION,
        ("post", "/notices"): OFFICE,
        ("get", "/notices"): INSPECTION,
        ("get", "/notices/{notice_id}"): INSPECTION,
        ("post", "/notices/{notice_id}/reply"): INSPECTION,
        ("post", "/notices/{notice_id}/withdrawal"): OFFICE,
        ("post", "/notices/{notice_id}/recommendation"): OFFICE,
        ("get", "/recommendations"): INSPECTION,
        ("get", "/products/{product_id}"): INSPECTION,
        ("get", "/population"): INSPECTION,
        ("post", "/complaints"): INSPECTION,
        ("get", "/clock"): OFFICE,
        ("post", "/clock"): OFFICE,
        ("post", "/scheduler/run"): OFFICE,
    },
    "insights": {
        ("get", "/statistics"): PUBLIC,
        ("get", "/statistics/{name}"): PUBLIC,
        ("get", "/dashboard"): PUBLIC,
    },
}
SHARED: dict[tuple[str, str], set[Role] | None] = {
    ("get", "/healthz"): PUBLIC,
    ("get", "/readyz"): PUBLIC,
    ("get", "/status"): PUBLIC,
    ("get", "/asyncapi.json"): PUBLIC,
    ("get", "/audit"): OFFICE,
}
APPS: dict[str, tuple[Callable[..., FastAPI], type[ServiceSettings]]] = {
    "registry": (create_registry, RegistrySettings),
    "evaluation": (create_evaluation, EvaluationSettings),
    "trade": (create_trade, TradeSettings),
    "inspection": (create_inspection, InspectionSettings),
    "insights": (create_insights, InsightsSettings),
}


def _url(path: str) -> str:
    return (
        path.replace("{producer_id}", str(uuid4()))
        .replace("{product_id}", str(uuid4()))
        .replace("{application_id}", str(uuid4()))
        .replace("{round_id}", str(uuid4()))
        .replace("{certificate_id}", str(uuid4()))
        .replace("{recommendation_id}", str(uuid4()))
        .replace("{campaign_id}", str(uuid4()))
        .replace("{visit_id}", str(uuid4()))
        .replace("{finding_id}", str(uuid4()))
        .replace("{remediation_id}", str(uuid4()))
        .replace("{notice_id}", str(uuid4()))
        .replace("{code}", "01-00004-0001-2025")
    )


@pytest.mark.parametrize("service", list(APPS))
async def test_every_route_admits_exactly_the_roles_of_the_table_and_401s_without_a_token(
    service: str, make_settings: Any
) -> None:
    create, settings_type = APPS[service]
    app = create(make_settings(settings_type, rate_limit_burst=10_000))
    expected = {**SHARED, **EXPECTED[service]}
    checked = 0
    async with running(app, role=None) as client:
        documented = {
            (method, path)
            for path, operations in (await client.get("/openapi.json")).json()["paths"].items()
            for method in operations
        }
        assert documented == set(expected), "the table and the routes differ"
        for (method, path), allowed in sorted(expected.items()):
            url = _url(path)
            anonymous = await client.request(method, url, json={})
            if allowed is None:
                assert anonymous.status_code not in (401, 403), (method, path)
                assert anonymous.status_code < 500, (method, path, anonymous.text)
                continue
            assert anonymous.status_code == 401, (method, path, anonymous.text)
            assert anonymous.headers["www-authenticate"].startswith("Bearer")
            for role in Role:
                response = await client.request(method, url, json={}, headers=bearer(role))
                if role in allowed:
                    assert response.status_code not in (401, 403), (method, path, role)
                    # Admitted and then failing is no better than refused: a 5xx fails too.
                    assert response.status_code < 500, (method, path, role, response.text)
                else:
                    assert response.status_code == 403, (method, path, role, response.text)
                checked += 1
    assert checked == sum(len(Role) for a in expected.values() if a is not None)


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": devidp.DEV_ISSUER,
        "aud": devidp.DEV_AUDIENCE,
        "sub": "someone",
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "roles": ["city_office"],
        **overrides,
    }


def _signed(claims: dict[str, Any], directory: Path | None = None, **headers: Any) -> str:
    directory = directory or session_idp()
    key = devidp._private_key(directory)
    return jwt.encode(
        claims, key, algorithm="ES256", headers={"kid": devidp._kid(directory), **headers}
    )


async def test_tokens_with_a_wrong_signature_issuer_audience_expiry_or_algorithm_are_refused(
    make_settings: Any, tmp_path: Path
) -> None:
    stranger = tmp_path / "stranger"
    devidp.ensure_key(stranger)
    now = int(time.time())
    bad = {
        "foreign key": _signed(_claims(), stranger),
        "wrong issuer": _signed(_claims(iss="https://evil.example")),
        "wrong audience": _signed(_claims(aud="someone-else")),
        "expired": _signed(_claims(exp=now - 120, iat=now - 600)),
        "not yet valid": _signed(_claims(nbf=now + 600)),
        "unsigned": jwt.encode(_claims(), "", algorithm="none"),
        "symmetric": jwt.encode(
            _claims(), "shared-secret-of-32-bytes-at-least!", algorithm="HS256"
        ),
        "garbage": "not.a.token",
    }
    async with running(create_registry(make_settings(RegistrySettings)), role=None) as client:
        for why, value in bad.items():
            response = await client.get("/units", headers={"Authorization": f"Bearer {value}"})
            assert response.status_code == 401, why
        good = await client.get("/units", headers={"Authorization": f"Bearer {_signed(_claims())}"})
        assert good.status_code == 200


async def test_a_rotated_signing_key_is_fetched_when_a_token_names_it(
    make_settings: Any, tmp_path: Path
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    devidp.ensure_key(first)
    devidp.ensure_key(second)
    jwks = tmp_path / "jwks.json"
    jwks.write_text((first / devidp.JWKS).read_text())
    settings = make_settings(RegistrySettings, oidc_jwks_url=jwks.as_uri())
    app = create_registry(settings)
    app.state.token_verifier._jwks().min_refresh = 0
    async with running(app, role=None) as client:
        old = {"Authorization": f"Bearer {_signed(_claims(), first)}"}
        new = {"Authorization": f"Bearer {_signed(_claims(), second)}"}
        assert (await client.get("/units", headers=old)).status_code == 200
        assert (await client.get("/units", headers=new)).status_code == 401
        both = (
            json.loads((first / devidp.JWKS).read_text())["keys"]
            + json.loads((second / devidp.JWKS).read_text())["keys"]
        )
        jwks.write_text(json.dumps({"keys": both}))
        assert (await client.get("/units", headers=new)).status_code == 200


async def _producer(client: Any, commune: str, **fields: Any) -> dict[str, Any]:
    response = await client.post(
        "/producers",
        json={
            "name": f"HTX {uuid4().hex[:6]}",
            "legal_form": "cooperative",
            "registration_number": tax_code(),
            "commune_code": commune,
            **fields,
        },
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_a_commune_officer_sees_and_changes_only_their_units_and_gets_404_elsewhere(
    make_settings: Any,
) -> None:
    async with running(create_registry(make_settings(RegistrySettings))) as office:
        mine = await _producer(office, "00004")
        theirs = await _producer(office, "00008")
        officer = bearer(R.COMMUNE_OFFICER, units=["00004"])

        listed = (await office.get("/producers", params={"limit": 500}, headers=officer)).json()
        assert [p["id"] for p in listed["items"]] == [mine["id"]]
        assert listed["total"] == 1
        assert (await office.get(f"/producers/{mine['id']}", headers=officer)).status_code == 200
        assert (await office.get(f"/producers/{theirs['id']}", headers=officer)).status_code == 404
        patched = await office.patch(
            f"/producers/{theirs['id']}", json={"address": "x"}, headers=officer
        )
        assert patched.status_code == 404
        elsewhere = await office.post(
            "/producers",
            headers=officer,
            json={
                "name": "HTX Ngọc Hà",
                "legal_form": "cooperative",
                "registration_number": tax_code(),
                "commune_code": "00008",
            },
        )
        assert elsewhere.status_code == 403
        assert "outside your units" in elsewhere.json()["detail"][0]["msg"]
        foreign_product = await office.post(
            "/products",
            headers=officer,
            json={
                "producer_id": theirs["id"],
                "name": "Miến dong",
                "product_set": "food.grain",
                "commune_code": "00004",
            },
        )
        assert foreign_product.status_code == 422  # as if the producer did not exist

        producer = bearer(R.PRODUCER, producer_id=UUID(mine["id"]))
        own = (await office.get("/producers", headers=producer)).json()
        assert [p["id"] for p in own["items"]] == [mine["id"]]
        assert (await office.get(f"/producers/{theirs['id']}", headers=producer)).status_code == 404


async def test_accepted_and_refused_commands_are_audited_with_who_where_and_the_trace(
    make_settings: Any,
) -> None:
    async with running(create_registry(make_settings(RegistrySettings))) as office:
        officer = bearer(R.COMMUNE_OFFICER, units=["00004"], subject="can-bo-phuc-xa")
        created = await _producer(office, "00004")
        refused = await office.patch(
            f"/producers/{created['id']}", json={"commune_code": "99999"}, headers=officer
        )
        assert refused.status_code == 422
        trail = (await office.get("/audit", params={"aggregate_id": created["id"]})).json()
        by_person = (await office.get("/audit", params={"subject": "can-bo-phuc-xa"})).json()
        forbidden = await office.get("/audit", headers=officer)

    assert [(e["command"], e["outcome"]) for e in trail["items"]] == [
        ("update_producer", "refused"),
        ("register_producer", "created"),
    ]
    newest = trail["items"][0]
    assert newest["subject"] == "can-bo-phuc-xa"
    assert newest["roles"] == ["commune_officer"] and newest["units"] == ["00004"]
    assert newest["channel"] == "http" and newest["origin"]
    assert "commune_code" in newest["detail"]
    assert trail["items"][1]["trace_id"] and len(trail["items"][1]["trace_id"]) == 32
    assert [e["id"] for e in by_person["items"]] == [newest["id"]]
    assert forbidden.status_code == 403


async def test_the_service_role_cannot_change_remove_or_unprotect_the_audit_trail(
    make_settings: Any, database_url: str, unique: str
) -> None:
    """The service migrates as its schema's owner and runs as its own role: logged in as that
    role, every way to rewrite the trail fails, while appending and reading work."""
    settings = make_settings(RegistrySettings)
    async with running(create_registry(settings)) as office:
        await _producer(office, "00004")  # one audited command in the trail
    schema = settings.db_schema
    conn = await asyncpg.connect(settings.dsn)
    try:
        assert await conn.fetchval("SELECT current_user") == "ocop_registry"
        await conn.execute(
            f"INSERT INTO {schema}.audit_log (subject, command, channel, outcome)"
            " VALUES ('someone', 'register_producer', 'http', 'created')"
        )
        before = await conn.fetchval(f"SELECT count(*) FROM {schema}.audit_log")
        for statement in (
            f"UPDATE {schema}.audit_log SET outcome = 'forged'",
            f"DELETE FROM {schema}.audit_log",
            f"TRUNCATE {schema}.audit_log",
            f"ALTER TABLE {schema}.audit_log DISABLE TRIGGER audit_log_append_only",
            f"ALTER TABLE {schema}.audit_log DISABLE TRIGGER ALL",
            f"DROP TRIGGER audit_log_append_only ON {schema}.audit_log",
            f"ALTER TABLE {schema}.audit_log OWNER TO ocop_registry",
            f"ALTER TABLE {schema}.audit_log RENAME TO audit_log_old",
            f"DROP TABLE {schema}.audit_log",
            f"DROP SCHEMA {schema} CASCADE",
            f"CREATE OR REPLACE FUNCTION {schema}.audit_log_is_append_only() RETURNS trigger"
            " LANGUAGE plpgsql AS $$ BEGIN RETURN OLD; END $$",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(statement)
        # Granting oneself a privilege one does not hold is a warning that grants nothing.
        await conn.execute(f"GRANT UPDATE, DELETE, TRUNCATE ON {schema}.audit_log TO ocop_registry")
        assert not await conn.fetchval(
            "SELECT has_table_privilege($1, 'DELETE') OR has_table_privilege($1, 'UPDATE')"
            " OR has_table_privilege($1, 'TRUNCATE')",
            f"{schema}.audit_log",
        )
        assert await conn.fetchval(f"SELECT count(*) FROM {schema}.audit_log") == before >= 2
    finally:
        await conn.close()
    superuser = await asyncpg.connect(database_url)
    try:
        assert (
            await superuser.fetchval(
                "SELECT tableowner FROM pg_tables WHERE schemaname = $1 AND tablename = 'audit_log'",
                schema,
            )
            == "ocop_registry_owner"
        )
    finally:
        await superuser.close()


async def test_personal_data_is_exported_and_erased_without_touching_the_event_history(
    make_settings: Any, kafka_bootstrap: str
) -> None:
    person, phone, national_id = f"Lê Thị Mai {uuid4().hex[:6]}", "0904555666", "001185009999"
    async with running(create_registry(make_settings(RegistrySettings))) as office:
        household = await _producer(
            office,
            "00004",
            name=person,
            legal_form="household_business",
            registration_number=f"01A{uuid4().int % 10**7:07d}",
            contacts=[{"full_name": person, "phone": phone, "national_id": national_id}],
        )
        own = bearer(R.PRODUCER, producer_id=UUID(household["id"]))
        exported = (
            await office.get(f"/producers/{household['id']}/personal-data", headers=own)
        ).json()
        assert exported["name"] == person and exported["contacts"][0]["phone"] == phone

        erased = await office.post(f"/producers/{household['id']}/erasure")
        assert erased.status_code == 200, erased.text
        after = (await office.get(f"/producers/{household['id']}/personal-data")).json()
        assert after["erased_at"] and after["contacts"] == []
        assert person not in json.dumps(after) and phone not in json.dumps(after)

        async def history() -> list[Any] | None:
            found = await records_on(kafka_bootstrap, topics.REGISTRY_PRODUCERS, lambda r: True)
            return (
                found if any(household["id"].encode() in (r.value or b"") for r in found) else None
            )

        events = await wait_until(history, what="the household's registration event")
    mine = [r for r in events if household["id"].encode() in (r.value or b"")]
    assert len(mine) == 1  # erasure published nothing and changed nothing that was published
    for topic in topics.all_topics():
        for record in await records_on(kafka_bootstrap, topic, lambda r: True):
            for secret in (person, phone, national_id):
                assert secret.encode() not in (record.value or b""), (topic, secret)


async def test_token_less_callers_are_rate_limited_with_retry_after(make_settings: Any) -> None:
    settings = make_settings(RegistrySettings, rate_limit_per_minute=60, rate_limit_burst=5)
    async with running(create_registry(settings), role=None) as client:
        statuses = [
            (await client.get("/public/products/01-00004-0001-2025")).status_code for _ in range(8)
        ]
        limited = await client.get("/healthz")
        with_token = await client.get("/units", headers=bearer(R.AGENCY))

    assert statuses[:5] == [404] * 5 and statuses[5:] == [429] * 3
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    assert with_token.status_code == 200


def test_a_token_printed_by_ocop_token_carries_the_roles_units_and_producer() -> None:
    producer_id = uuid4()
    value = token(R.COMMUNE_OFFICER, R.PRODUCER, units=["00004", "00008"], producer_id=producer_id)
    claims = jwt.decode(value, options={"verify_signature": False})
    assert claims["roles"] == ["commune_officer", "producer"]
    assert claims["ocop_units"] == ["00004", "00008"]
    assert claims["ocop_producer_id"] == str(producer_id)
    assert claims["iss"] == devidp.DEV_ISSUER and claims["aud"] == devidp.DEV_AUDIENCE


def test_the_role_table_in_the_docs_is_the_one_the_matrix_checks() -> None:
    doc = (Path(__file__).resolve().parents[1] / "docs" / "SECURITY.md").read_text()
    rows = [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in doc.splitlines()
        if line.startswith("| ") and line.count("|") == 5 and "/" in line
    ]
    documented: dict[tuple[str, str, str], set[Role] | None] = {}
    for service, method, route, roles in rows:
        allowed = (
            None
            if roles == "public"
            else set(Role)
            if roles == "every role"
            else {Role(r.strip()) for r in roles.split(",")}
        )
        for name in APPS if service == "all" else [service]:
            documented[(name, method.lower(), route)] = allowed
    expected = {
        (name, method, path): allowed
        for name in APPS
        for (method, path), allowed in {**SHARED, **EXPECTED[name]}.items()
    }
    assert documented == expected


async def test_a_second_role_never_widens_the_scope_of_the_first(make_settings: Any) -> None:
    """An agency client (reads everything) that is also a commune officer of 00004 registers
    and changes producers as the commune officer, in 00004 only."""
    both = bearer(R.AGENCY, R.COMMUNE_OFFICER, units=["00004"], subject="hai-vai")
    async with running(create_registry(make_settings(RegistrySettings))) as office:
        theirs = await _producer(office, "00008")
        elsewhere = await office.post(
            "/producers",
            headers=both,
            json={
                "name": "HTX Ngọc Hà",
                "legal_form": "cooperative",
                "registration_number": tax_code(),
                "commune_code": "00008",
            },
        )
        patched = await office.patch(
            f"/producers/{theirs['id']}", json={"address": "x"}, headers=both
        )
        read = await office.get(f"/producers/{theirs['id']}", headers=both)
        products = await office.get("/products", headers=both)
    assert elsewhere.status_code == 403, elsewhere.text
    assert patched.status_code == 404 and read.status_code == 404
    assert products.status_code == 200  # the agency's own reading is still its own


async def test_a_token_whose_key_left_the_issuers_key_set_stops_being_accepted(
    make_settings: Any, tmp_path: Path
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    devidp.ensure_key(first)
    devidp.ensure_key(second)
    jwks = tmp_path / "jwks.json"
    jwks.write_text((first / devidp.JWKS).read_text())
    app = create_registry(make_settings(RegistrySettings, oidc_jwks_url=jwks.as_uri()))
    keys = app.state.token_verifier._jwks()
    async with running(app, role=None) as client:
        old = {"Authorization": f"Bearer {_signed(_claims(), first)}"}
        assert (await client.get("/units", headers=old)).status_code == 200
        jwks.write_text((second / devidp.JWKS).read_text())  # the issuer dropped the first key
        assert (await client.get("/units", headers=old)).status_code == 200  # cached 5 min
        keys.lifespan = 0  # as if the five minutes had passed
        after = await client.get("/units", headers=old)
        new = {"Authorization": f"Bearer {_signed(_claims(), second)}"}
        assert (await client.get("/units", headers=new)).status_code == 200
    assert after.status_code == 401


async def test_a_failing_jwks_endpoint_is_asked_once_not_once_a_request(
    make_settings: Any, tmp_path: Path
) -> None:
    """The identity provider hangs until every request has arrived and then fails: twenty
    requests at once with tokens of keys the service has never seen cause one fetch, and the
    next ones none."""
    hits: list[float] = []
    release = threading.Event()

    class Slow(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(time.monotonic())
            release.wait(timeout=30)  # answered once the test has seen the fetch
            self.send_error(503)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/certs"
        app = create_registry(make_settings(RegistrySettings, oidc_jwks_url=url))
        async with running(app, role=None) as client:
            strangers = []
            for i in range(20):
                directory = tmp_path / f"k{i}"
                devidp.ensure_key(directory)
                strangers.append(_signed(_claims(), directory))
            asked = asyncio.gather(
                *(client.get("/units", headers={"Authorization": f"Bearer {t}"}) for t in strangers)
            )

            async def fetching() -> bool:
                return bool(hits)

            # The twenty requests run in this loop up to their first wait before this probe
            # does, so the provider answers only once all of them are waiting on the fetch.
            await wait_until(fetching, what="the service's fetch of the keys")
            release.set()
            answers = await asked
            later = await client.get("/units", headers={"Authorization": f"Bearer {strangers[0]}"})
    finally:
        release.set()
        server.shutdown()
        thread.join()
    assert [a.status_code for a in answers] == [401] * 20
    assert later.status_code == 401
    assert len(hits) == 1, f"{len(hits)} fetches"


async def test_erasure_reaches_documents_free_text_reasons_and_audit_details(
    make_settings: Any,
) -> None:
    person = f"Lê Thị Mai {uuid4().hex[:6]}"
    slug = person.replace(" ", "_")
    settings = make_settings(RegistrySettings)
    async with running(create_registry(settings)) as office:
        household = await _producer(
            office,
            "00004",
            name=person,
            legal_form="household_business",
            registration_number=f"01A{uuid4().int % 10**7:07d}",
        )
        item = await office.post(
            "/products",
            json={
                "producer_id": household["id"],
                "name": "Chè búp",
                "product_set": "food.grain",
                "commune_code": "00004",
            },
        )
        assert item.status_code == 201, item.text
        document = {
            **evidence("business_plan"),
            "name": f"{person} - phương án kinh doanh.pdf",
            "storage_url": f"https://files.ocop.hanoi.gov.vn/{slug}/plan.pdf",
        }
        drafted = await office.post(
            "/applications",
            json={"product_id": item.json()["id"], "kind": "first_time", "documents": [document]},
        )
        assert drafted.status_code == 201, drafted.text
        app_id = drafted.json()["id"]
        withdrawn = await office.post(
            f"/applications/{app_id}/withdrawal", json={"reason": f"{person} xin rút hồ sơ"}
        )
        assert withdrawn.status_code == 200, withdrawn.text
        # A refusal's reason can quote what was sent, e.g. a person's name.
        conn = await asyncpg.connect(settings.dsn)
        try:
            await conn.execute(
                f"INSERT INTO {settings.db_schema}.audit_log"
                " (subject, command, aggregate_id, channel, outcome, detail)"
                " VALUES ('someone', 'revise_application', $1, 'http', 'refused', $2)",
                app_id,
                f"documents: {person}.pdf is not a PDF",
            )
        finally:
            await conn.close()
        before = (await office.get("/audit", params={"aggregate_id": app_id})).json()["items"]

        erased = await office.post(f"/producers/{household['id']}/erasure")
        assert erased.status_code == 200, erased.text
        application = (await office.get(f"/applications/{app_id}")).json()
        after = (await office.get("/audit", params={"aggregate_id": app_id})).json()["items"]

    assert person in json.dumps(before, ensure_ascii=False)
    for trace_of_her in (person, slug):
        assert trace_of_her not in json.dumps(application, ensure_ascii=False), application
    assert application["documents"][0]["storage_url"].startswith("urn:sha256:")
    assert application["reasons"] == ["[erased]"]
    assert person not in json.dumps(after, ensure_ascii=False), after
    assert [(e["id"], e["outcome"]) for e in after] == [(e["id"], e["outcome"]) for e in before]
