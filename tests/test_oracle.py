"""No lookup oracle: a caller's client-chosen ids, registration numbers and import rows are
looked up within the caller's scope only. A record outside it is never returned, never named in
a conflict, never matched by an import, over HTTP and over Kafka alike."""

from __future__ import annotations

import json
from typing import Any
from uuid import uuid4

from ocop_contracts import topics
from ocop_contracts.commands import registry as rcmd
from ocop_registry import demo
from ocop_runtime.auth import Role
from ocop_runtime.testing import bearer, running, wait_until
from tests.commands import send_command
from tests.flow import records_on, registry_app, tax_code
from tests.test_registry import FIRST_TIME_FOOD, evidence

PHONE, NATIONAL_ID = "0912345678", "001085012345"
OFFICER = {"units": ["00004"], "subject": "can-bo-phuc-xa"}


def _secrets(theirs: dict[str, Any], *more: str) -> list[str]:
    return [theirs["id"], PHONE, NATIONAL_ID, *more]


def _leaks(text: str, secrets: list[str]) -> list[str]:
    return [s for s in secrets if s in text]


async def _other_wards_records(office: Any) -> dict[str, Any]:
    """A producer of ward 00008 with a contact person, its product and a draft application."""
    number = tax_code()
    producer = await office.post(
        "/producers",
        json={
            "name": f"HTX Ngọc Hà {uuid4().hex[:6]}",
            "legal_form": "cooperative",
            "registration_number": number,
            "commune_code": "00008",
            "contacts": [{"full_name": "Trần Thị Hoa", "phone": PHONE, "national_id": NATIONAL_ID}],
        },
    )
    assert producer.status_code == 201, producer.text
    theirs = dict(producer.json())
    product = await office.post(
        "/products",
        json={
            "producer_id": theirs["id"],
            "name": f"Trà sen {uuid4().hex[:6]}",
            "product_set": "food.grain",
            "commune_code": "00008",
        },
    )
    assert product.status_code == 201, product.text
    application = await office.post(
        "/applications",
        json={
            "product_id": product.json()["id"],
            "kind": "first_time",
            "self_assessment_score": 75,
            "documents": [evidence(k) for k in FIRST_TIME_FOOD],
        },
    )
    assert application.status_code == 201, application.text
    return {
        **theirs,
        "number": number,
        "product": product.json(),
        "application": application.json(),
    }


async def test_idempotent_creates_answer_an_id_outside_the_scope_as_if_unknown(
    make_settings: Any,
) -> None:
    async with running(registry_app(make_settings)) as office:
        theirs = await _other_wards_records(office)
        officer = bearer(Role.COMMUNE_OFFICER, **OFFICER)
        product, application = theirs["product"], theirs["application"]
        secrets = _secrets(theirs, product["public_code"], product["id"], application["id"])
        same_producer = {
            "id": theirs["id"],
            "name": theirs["name"],
            "legal_form": "cooperative",
            "registration_number": theirs["number"],
        }
        answers = {
            # The exact repeat of their registration: formerly 200 with the record and contacts.
            "repeat": await office.post(
                "/producers", headers=officer, json={**same_producer, "commune_code": "00008"}
            ),
            "repeat in my ward": await office.post(
                "/producers", headers=officer, json={**same_producer, "commune_code": "00004"}
            ),
            # Their registration number under a new id: formerly a 409 naming their id.
            "their number": await office.post(
                "/producers",
                headers=officer,
                json={**same_producer, "id": str(uuid4()), "commune_code": "00004"},
            ),
            "their product": await office.post(
                "/products",
                headers=officer,
                json={
                    "id": product["id"],
                    "producer_id": theirs["id"],
                    "name": product["name"],
                    "product_set": "food.grain",
                    "commune_code": "00008",
                },
            ),
            "their application": await office.post(
                "/applications",
                headers=officer,
                json={
                    "id": application["id"],
                    "product_id": product["id"],
                    "kind": "first_time",
                },
            ),
        }
        unchanged = (await office.get(f"/producers/{theirs['id']}")).json()

    for what, answer in answers.items():
        assert answer.status_code in (403, 404, 409, 422), (what, answer.status_code)
        # Nothing of theirs comes back but what the caller itself sent.
        sent_by_caller = {theirs["id"], product["id"], application["id"]}
        leaked = [s for s in _leaks(answer.text, secrets) if s not in sent_by_caller]
        assert not leaked, (what, answer.text)
        assert "contacts" not in answer.text, (what, answer.text)
    assert theirs["id"] not in answers["their number"].text
    assert unchanged["commune_code"] == "00008" and unchanged["contacts"][0]["phone"] == PHONE


async def test_the_import_matches_producers_only_within_the_callers_units(
    make_settings: Any,
) -> None:
    async with running(registry_app(make_settings)) as office:
        theirs = await _other_wards_records(office)
        row = {
            "commune_code": "00004",
            "producer_name": theirs["name"],
            "legal_form": "HTX",
            "registration_number": theirs["number"],
            "producer_address": "",
            "product_name": f"Bánh cốm {uuid4().hex[:6]}",
            "product_set": "food.grain",
            "registered_on": "",
        }
        report = await office.post(
            "/imports/products",
            content=demo.to_csv([row]).encode(),
            headers={
                **bearer(Role.COMMUNE_OFFICER, **OFFICER),
                "content-type": "text/csv",
            },
        )
        products = (
            await office.get("/products", params={"producer": theirs["id"], "limit": 500})
        ).json()

    assert report.status_code == 200, report.text
    body = report.json()
    assert body["rejected"] == 1 and body["created_products"] == 0, body
    assert body["errors"][0]["field"] == "registration_number"
    assert not _leaks(report.text, _secrets(theirs)), report.text
    assert [p["id"] for p in products["items"]] == [theirs["product"]["id"]]


async def test_commands_look_up_ids_within_the_senders_scope(
    make_settings: Any, kafka_bootstrap: str
) -> None:
    async with running(registry_app(make_settings)) as office:
        theirs = await _other_wards_records(office)
        product, application = theirs["product"], theirs["application"]
        submitted = await office.post(f"/applications/{application['id']}/submission")
        assert submitted.status_code == 200, submitted.text
        officer: dict[str, Any] = {"role": Role.COMMUNE_OFFICER, **OFFICER}
        sent = {
            "repeat": await send_command(
                kafka_bootstrap,
                rcmd.RegisterProducer(
                    producer_id=theirs["id"],
                    name=theirs["name"],
                    legal_form="cooperative",
                    registration_number=theirs["number"],
                    commune_code="00008",
                ),
                **officer,
            ),
            "their number": await send_command(
                kafka_bootstrap,
                rcmd.RegisterProducer(
                    producer_id=uuid4(),
                    name=theirs["name"],
                    legal_form="cooperative",
                    registration_number=theirs["number"],
                    commune_code="00004",
                ),
                **officer,
            ),
            "their product": await send_command(
                kafka_bootstrap,
                rcmd.RegisterProduct(
                    product_id=product["id"],
                    producer_id=theirs["id"],
                    name=product["name"],
                    product_set="food.grain",
                    commune_code="00008",
                ),
                **officer,
            ),
            # Formerly "accepted, duplicate": the application exists, whoever asks.
            "their application": await send_command(
                kafka_bootstrap,
                rcmd.SubmitApplication(
                    application_id=application["id"],
                    product_id=product["id"],
                    kind="first_time",
                    self_assessment_score=75,
                    documents=[],
                ),
                **officer,
            ),
        }

        async def replies() -> dict[str, Any] | None:
            found = await records_on(
                kafka_bootstrap,
                topics.replies("registry"),
                lambda r: json.loads(r.value)["command_id"] in sent.values(),
            )
            by_id = {json.loads(r.value)["command_id"]: r.value.decode() for r in found}
            return by_id if len(by_id) == len(sent) else None

        answers = await wait_until(replies, timeout_seconds=60, what="the replies")

    secrets = _secrets(theirs, product["public_code"])
    for what, ce_id in sent.items():
        reply = json.loads(answers[ce_id])
        assert reply.get("errors"), (what, reply)
        assert reply["errors"][0]["field"] != "authorization", (what, reply)
        leaked = [s for s in _leaks(answers[ce_id], secrets) if s != theirs["id"]]
        assert not leaked, (what, reply)
    assert theirs["id"] not in answers[sent["their number"]]
