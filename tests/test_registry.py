"""The registry on the real broker and database: products and their public codes, the
certificate projection from evaluation's events, applications, commands with replies, the
CSV import, and no household personal data on any topic."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from ocop_contracts import topics
from ocop_contracts.commands import registry as commands
from ocop_contracts.events import evaluation as ev
from ocop_registry import demo, units
from ocop_runtime.testing import running, wait_until
from tests.commands import CITY_OFFICE_CLIENT, send_command
from tests.flow import records_on, registry_app, send_event, tax_code

TODAY = datetime.now(UTC).date()
FOOD = "food.grain"


def evidence(kind: str) -> dict[str, Any]:
    body = f"{kind} {uuid4()}".encode()
    return {
        "document_type": kind,
        "name": f"{kind}.pdf",
        "media_type": "application/pdf",
        "size_bytes": len(body),
        "sha256": hashlib.sha256(body).hexdigest(),
        "storage_url": f"https://files.ocop.hanoi.gov.vn/{uuid4()}.pdf",
    }


FIRST_TIME_FOOD = [
    "registration_form",
    "business_plan",
    "organisation_description",
    "business_registration",
    "samples",
    "self_assessment",
    "food_safety_certificate",
    "quality_declaration",
    "traceability",
]


async def producer(client: Any, **fields: Any) -> dict[str, Any]:
    body = {
        "name": f"HTX Nông nghiệp {uuid4().hex[:6]}",
        "legal_form": "cooperative",
        "registration_number": tax_code(),
        "commune_code": "00004",
        **fields,
    }
    response = await client.post("/producers", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def product(client: Any, producer_id: str, **fields: Any) -> dict[str, Any]:
    body = {
        "producer_id": producer_id,
        "name": f"Gạo nếp cái hoa vàng {uuid4().hex[:6]}",
        "product_set": FOOD,
        "commune_code": "00004",
        **fields,
    }
    response = await client.post("/products", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def certified(
    product_id: str, *, star: int = 4, valid_from: date, **fields: Any
) -> ev.ProductCertified:
    values: dict[str, Any] = {
        "certificate_id": uuid4(),
        "certificate_number": f"{uuid4().hex[:6]}/GCN-OCOP",
        "product_id": UUID(product_id),
        "star": star,
        "score": 78.5,
        "level": ev.Level.CITY,
        "decision_number": "1147/QĐ-UBND",
        "decision_date": valid_from,
        "valid_from": valid_from,
        "valid_until": valid_from + timedelta(days=3 * 365),
        "rulebook": "148",
        "issued_at": datetime.now(UTC),
        **fields,
    }
    return ev.ProductCertified(**values)


async def published(bootstrap: str, topic: str, key: str, count: int = 1) -> list[Any]:
    """The records on ``topic`` under ``key``, once at least ``count`` are there."""

    async def probe() -> list[Any] | None:
        found = await records_on(bootstrap, topic, lambda r: r.key == key.encode())
        return found if len(found) >= count else None

    return await wait_until(probe, what=f"{count} record(s) for {key} on {topic}")


async def lookup(client: Any, code: str, as_of: date | None = None) -> dict[str, Any]:
    params = {"as_of": as_of.isoformat()} if as_of else {}
    response = await client.get(f"/public/products/{code}", params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_a_registered_product_gets_a_public_code_and_its_event_carries_what_consumers_need(
    make_settings: Any, kafka_bootstrap: str
) -> None:
    async with running(registry_app(make_settings)) as client:
        owner = await producer(client)
        first = await product(client, owner["id"])
        second = await product(client, owner["id"])
        [record] = await published(kafka_bootstrap, topics.REGISTRY_PRODUCTS, first["id"])
        qr = await client.get(f"/public/products/{first['public_code']}/qr.svg")
        no_qr = await client.get("/public/products/01-00004-9999-1999/qr.svg")

    year = TODAY.year
    assert qr.headers["content-type"] == "image/svg+xml"
    assert qr.content.startswith(b"<?xml") and b"<svg" in qr.content
    assert no_qr.status_code == 404
    assert first["public_code"] == f"01-00004-0001-{year}"
    assert second["public_code"] == f"01-00004-0002-{year}"
    assert first["lookup_url"].endswith(f"/public/products/{first['public_code']}")
    assert (first["classification"], first["sector"]) == ("148", "food")
    value = json.loads(record.value)
    assert value["producer_name"] == owner["name"]
    assert value["public_code"] == first["public_code"]
    assert value["product_set"] == FOOD and value["statistics_sector"] == "food"
    assert value["commune_code"] == "00004"


async def test_user_mistakes_get_4xx_naming_the_field_and_the_reason(make_settings: Any) -> None:
    async with running(registry_app(make_settings)) as client:
        owner = await producer(client)

        unknown_unit = await client.post(
            "/products",
            json={
                "producer_id": owner["id"],
                "name": "Miến dong",
                "product_set": FOOD,
                "commune_code": "99999",
            },
        )
        old_unit = await client.post(
            "/products",
            json={
                "producer_id": owner["id"],
                "name": "Miến dong",
                "product_set": FOOD,
                "commune_code": "00001",
            },
        )
        wrong_regime = await client.post(
            "/products",
            json={
                "producer_id": owner["id"],
                "name": "Miến dong",
                "product_set": "1048.food.grain",
                "commune_code": "00004",
            },
        )
        duplicate = await client.post(
            "/producers",
            json={
                "name": "Công ty khác",
                "legal_form": "cooperative",
                "commune_code": "00004",
                "registration_number": owner["registration_number"],
            },
        )
        bad_sort = await client.get("/products", params={"sort": "price"})
        bad_cursor = await client.get("/products", params={"cursor": "not-a-cursor"})
        missing = await client.get(f"/products/{uuid4()}")

    assert unknown_unit.status_code == 422
    assert unknown_unit.json()["detail"][0]["loc"] == ["body", "commune_code"]
    assert "not a known" in unknown_unit.json()["detail"][0]["msg"]
    assert old_unit.status_code == 422
    assert "is not a valid unit on" in old_unit.json()["detail"][0]["msg"]
    assert wrong_regime.status_code == 422
    assert wrong_regime.json()["detail"][0]["loc"] == ["body", "product_set"]
    assert duplicate.status_code == 409
    assert duplicate.json()["detail"][0]["loc"] == ["body", "registration_number"]
    assert bad_sort.status_code == 422 and bad_cursor.status_code == 400
    assert missing.status_code == 404


async def test_a_product_certified_by_evaluation_shows_its_star_then_its_revocation_and_as_of(
    make_settings: Any, kafka_bootstrap: str
) -> None:
    async with running(registry_app(make_settings)) as client:
        owner = await producer(client)
        item = await product(client, owner["id"])
        other = await product(client, owner["id"])
        issued = TODAY - timedelta(days=400)
        event = certified(item["id"], star=4, valid_from=issued)
        await send_event(kafka_bootstrap, event)

        async def listed_with_star() -> dict[str, Any] | None:
            page = (
                await client.get("/products", params={"star": 4, "producer_id": owner["id"]})
            ).json()
            return page if page["total"] == 1 else None

        page = await wait_until(listed_with_star, what="the certified product in the star filter")
        assert page["items"][0]["id"] == item["id"]
        assert page["items"][0]["certificate_status"] == "valid"
        uncertified = (
            await client.get(
                "/products",
                params={"certificate_status": "not_certified", "producer_id": owner["id"]},
            )
        ).json()
        assert [p["id"] for p in uncertified["items"]] == [other["id"]]

        shown = await lookup(client, item["public_code"])
        assert (shown["star"], shown["status"]) == (4, "valid")
        assert shown["certificate_number"] == event.certificate_number
        assert shown["producer"]["name"] == owner["name"]
        assert (await lookup(client, item["public_code"], issued - timedelta(days=1)))[
            "status"
        ] == "not_certified"

        refused = await client.post(
            f"/products/{item['id']}/deregistration", json={"reason": "stopped"}
        )
        assert refused.status_code == 422
        assert event.certificate_number in refused.json()["detail"][0]["msg"]

        revoked_on = TODAY - timedelta(days=10)
        await send_event(
            kafka_bootstrap,
            ev.CertificateRevoked(
                certificate_id=event.certificate_id,
                product_id=event.product_id,
                grounds=[ev.RevocationGround.FOOD_SAFETY_BREACH],
                decision_number="99/QĐ-UBND",
                decision_date=revoked_on,
                revoked_on=revoked_on,
            ),
        )

        async def revoked() -> dict[str, Any] | None:
            now = await lookup(client, item["public_code"])
            return now if now["status"] == "revoked" else None

        await wait_until(revoked, what="the revocation in the lookup")
        assert (await lookup(client, item["public_code"], revoked_on - timedelta(days=1)))[
            "status"
        ] == "valid"
        revoked_list = (
            await client.get(
                "/products", params={"certificate_status": "revoked", "producer_id": owner["id"]}
            )
        ).json()
        assert [p["id"] for p in revoked_list["items"]] == [item["id"]]
        gone = await client.post(
            f"/products/{item['id']}/deregistration", json={"reason": "stopped"}
        )
        assert gone.status_code == 200, gone.text


async def test_an_expired_certificate_shows_expired_and_expiring_ones_are_flagged(
    make_settings: Any, kafka_bootstrap: str
) -> None:
    async with running(registry_app(make_settings)) as client:
        owner = await producer(client)
        old = await product(client, owner["id"])
        ending = await product(client, owner["id"])
        issued = TODAY - timedelta(days=3 * 365 + 30)
        old_cert = certified(old["id"], star=3, valid_from=issued)
        await send_event(kafka_bootstrap, old_cert)
        await send_event(
            kafka_bootstrap,
            ev.CertificateExpired(
                certificate_id=old_cert.certificate_id,
                product_id=old_cert.product_id,
                expired_on=old_cert.valid_until + timedelta(days=1),
            ),
        )
        await send_event(
            kafka_bootstrap,
            certified(
                ending["id"],
                star=3,
                valid_from=TODAY - timedelta(days=1000),
                valid_until=TODAY + timedelta(days=20),
            ),
        )

        async def both_projected() -> list[str] | None:
            statuses = [(await lookup(client, p["public_code"]))["status"] for p in (old, ending)]
            return statuses if "not_certified" not in statuses else None

        statuses = await wait_until(both_projected, what="both certificates in the lookup")
        assert statuses == ["expired", "expiring"]
        assert (await lookup(client, old["public_code"], issued + timedelta(days=10)))[
            "status"
        ] == "valid"


async def test_an_application_is_checked_for_completeness_submitted_and_moved_by_evaluation(
    make_settings: Any, kafka_bootstrap: str
) -> None:
    async with running(registry_app(make_settings)) as client:
        owner = await producer(client)
        item = await product(client, owner["id"])
        draft = await client.post(
            "/applications",
            json={
                "product_id": item["id"],
                "kind": "first_time",
                "self_assessment_score": 72,
                "documents": [evidence("registration_form")],
            },
        )
        assert draft.status_code == 201, draft.text
        app_id = draft.json()["id"]
        assert "samples" in draft.json()["missing_documents"]

        incomplete = await client.post(f"/applications/{app_id}/submission")
        assert incomplete.status_code == 422
        assert incomplete.json()["detail"][0]["loc"] == ["body", "documents"]
        assert "business_plan" in incomplete.json()["detail"][0]["msg"]

        second = await client.post(
            "/applications", json={"product_id": item["id"], "kind": "first_time"}
        )
        assert second.status_code == 409

        revised = await client.patch(
            f"/applications/{app_id}", json={"documents": [evidence(k) for k in FIRST_TIME_FOOD]}
        )
        assert revised.json()["missing_documents"] == []
        submitted = await client.post(f"/applications/{app_id}/submission")
        assert submitted.status_code == 200, submitted.text
        assert (submitted.json()["status"], submitted.json()["regime"]) == ("submitted", "1489")

        await send_event(
            kafka_bootstrap,
            ev.ApplicationReturned(
                application_id=UUID(app_id),
                product_id=UUID(item["id"]),
                reasons=["Thiếu phiếu kiểm nghiệm"],
                returned_at=datetime.now(UTC),
            ),
        )

        async def returned() -> dict[str, Any] | None:
            a = (await client.get(f"/applications/{app_id}")).json()
            return a if a["status"] == "returned" else None

        assert (await wait_until(returned, what="the return"))["reasons"] == [
            "Thiếu phiếu kiểm nghiệm"
        ]
        assert (await client.post(f"/applications/{app_id}/submission")).json()[
            "status"
        ] == "submitted"
        await send_event(
            kafka_bootstrap,
            ev.ApplicationAccepted(
                application_id=UUID(app_id),
                product_id=UUID(item["id"]),
                accepted_at=datetime.now(UTC),
            ),
        )

        async def accepted() -> bool:
            return bool(
                (await client.get(f"/applications/{app_id}")).json()["status"] == "accepted"
            )

        await wait_until(accepted, what="the acceptance")
        illegal = await client.post(
            f"/applications/{app_id}/withdrawal", json={"reason": "changed mind"}
        )
        assert illegal.status_code == 422
        assert "cannot become withdrawn" in illegal.json()["detail"][0]["msg"]
        submissions = await published(kafka_bootstrap, topics.REGISTRY_APPLICATIONS, app_id, 2)

    assert len(submissions) == 2  # submitted, then submitted again after the return


async def test_a_bad_command_is_rejected_on_its_key_and_a_repeated_one_has_one_effect(
    make_settings: Any, kafka_bootstrap: str
) -> None:
    good_id, bad_id = uuid4(), uuid4()
    good = commands.RegisterProducer(
        producer_id=good_id,
        name="HTX Gốm Bát Tràng",
        legal_form="cooperative",
        registration_number=tax_code(),
        commune_code="00004",
    )
    bad = commands.RegisterProducer(
        producer_id=bad_id,
        name="HTX Không Địa Chỉ",
        legal_form="cooperative",
        registration_number=tax_code(),
        commune_code="99999",
    )
    async with running(registry_app(make_settings)) as client:
        bad_ce = await send_command(kafka_bootstrap, bad)
        await send_command(kafka_bootstrap, good)
        await send_command(kafka_bootstrap, good)  # the sender retried with a new ce_id

        async def replies() -> list[Any] | None:
            found = await records_on(
                kafka_bootstrap,
                topics.replies("registry"),
                lambda r: r.key in (str(good_id).encode(), str(bad_id).encode()),
            )
            return found if len(found) == 3 else None

        answers = await wait_until(replies, what="three replies")
        assert (await client.get(f"/producers/{bad_id}")).status_code == 404
        assert (await client.get(f"/producers/{good_id}")).status_code == 200
        registered = await published(kafka_bootstrap, topics.REGISTRY_PRODUCERS, str(good_id))
        trail = (await client.get("/audit", params={"aggregate_id": str(good_id)})).json()
        refused = (await client.get("/audit", params={"aggregate_id": str(bad_id)})).json()

    rejected = [json.loads(r.value) for r in answers if r.key == str(bad_id).encode()]
    assert rejected[0]["command_id"] == bad_ce
    assert rejected[0]["errors"][0]["field"] == "commune_code"
    accepted = [json.loads(r.value) for r in answers if r.key == str(good_id).encode()]
    assert sorted(a["duplicate"] for a in accepted) == [False, True]
    assert len(registered) == 1
    assert sorted(e["outcome"] for e in trail["items"]) == ["created", "repeat"]
    assert {(e["channel"], e["origin"], e["command"]) for e in trail["items"]} == {
        ("kafka", "/tests", "RegisterProducer")
    }
    # Who sent it is the token's subject and roles, never the ce_source the sender wrote.
    assert {(e["subject"], tuple(e["roles"])) for e in trail["items"]} == {
        (CITY_OFFICE_CLIENT, ("city_office",))
    }
    assert [e["outcome"] for e in refused["items"]] == ["refused"]


async def test_importing_2000_products_reports_row_errors_writes_no_partial_row_and_is_idempotent(
    make_settings: Any,
) -> None:
    rows = demo.rows(2000, seed=7, today=TODAY)
    rows[10] = {**rows[10], "commune_code": "99999"}
    rows[20] = {**rows[20], "product_set": "food.moon_cheese"}
    rows[30] = {**rows[30], "registered_on": (TODAY + timedelta(days=3)).isoformat()}
    text = demo.to_csv(rows)
    async with running(registry_app(make_settings)) as client:
        first = (
            await client.post(
                "/imports/products", content=text.encode(), headers={"content-type": "text/csv"}
            )
        ).json()
        again = (
            await client.post(
                "/imports/products", content=text.encode(), headers={"content-type": "text/csv"}
            )
        ).json()
        total = (await client.get("/products", params={"limit": 1})).json()["total"]
        not_utf8 = await client.post(
            "/imports/products", content=b"\xff\xfe\x00", headers={"content-type": "text/csv"}
        )
        no_header = await client.post(
            "/imports/products", content=b"a,b\n1,2\n", headers={"content-type": "text/csv"}
        )

    assert first["rows"] == 2000
    assert {(e["row"], e["field"]) for e in first["errors"]} == {
        (12, "commune_code"),
        (22, "product_set"),
        (32, "registered_on"),
    }
    assert first["created_products"] == 1997 == total
    assert again["created_products"] == 0 and again["created_producers"] == 0
    assert again["unchanged"] == 1997 and again["rejected"] == 3
    assert not_utf8.status_code == 400 and no_header.status_code == 422


async def test_no_household_personal_data_reaches_any_registry_topic(
    make_settings: Any, kafka_bootstrap: str
) -> None:
    person, phone, national_id = f"Nguyễn Thị Hoa {uuid4().hex[:6]}", "0912345678", "001190012345"
    household_number = f"01A{uuid4().int % 10**7:07d}"
    async with running(registry_app(make_settings)) as client:
        owner = await producer(
            client,
            name=person,
            legal_form="household_business",
            registration_number=household_number,
            address="Số 5 ngõ 12 Phúc Xá",
            contacts=[{"full_name": person, "phone": phone, "national_id": national_id}],
        )
        assert (await client.get(f"/producers/{owner['id']}")).json()["contacts"][0][
            "phone"
        ] == phone
        item = await product(client, owner["id"])
        await client.patch(
            f"/producers/{owner['id']}",
            json={"contacts": [{"full_name": person, "phone": "0987654321"}]},
        )
        draft = await client.post(
            "/applications",
            json={
                "product_id": item["id"],
                "kind": "first_time",
                "self_assessment_score": 60,
                "documents": [evidence(k) for k in FIRST_TIME_FOOD],
            },
        )
        assert (
            await client.post(f"/applications/{draft.json()['id']}/submission")
        ).status_code == 200
        public = await lookup(client, item["public_code"])
        assert public["producer"]["name"] is None

        async def published() -> list[Any] | None:
            found = []
            for topic in (
                topics.REGISTRY_PRODUCERS,
                topics.REGISTRY_PRODUCTS,
                topics.REGISTRY_APPLICATIONS,
            ):
                found += await records_on(kafka_bootstrap, topic, lambda r: True)
            mine = [r for r in found if owner["id"].encode() in (r.value or b"")]
            return found if len(mine) >= 4 else None

        every = await wait_until(published, what="the household's events")
    for secret in (person, phone, "0987654321", national_id, household_number, "ngõ 12"):
        assert not [r for r in every if secret.encode() in (r.value or b"")], secret


async def test_lists_page_through_every_match_once_in_each_sort_and_filter_by_old_and_new_units(
    make_settings: Any,
) -> None:
    _, successions = units.load_dataset()
    text = demo.to_csv(demo.rows(150, seed=11, today=TODAY))
    async with running(registry_app(make_settings)) as client:
        report = (
            await client.post(
                "/imports/products", content=text.encode(), headers={"content-type": "text/csv"}
            )
        ).json()
        assert report["created_products"] == 150

        for sort in ("registered_at", "-registered_at", "name", "-name", "star", "-star"):
            seen: list[str] = []
            cursor = None
            while True:
                params = {"limit": 40, "sort": sort, **({"cursor": cursor} if cursor else {})}
                page = (await client.get("/products", params=params)).json()
                assert page["total"] == 150
                seen += [p["id"] for p in page["items"]]
                cursor = page["next_cursor"]
                if cursor is None:
                    break
            assert len(seen) == len(set(seen)) == 150, sort
        names = [
            p["name"]
            for p in (await client.get("/products", params={"sort": "name", "limit": 150})).json()[
                "items"
            ]
        ]
        assert [n.casefold() for n in names] == sorted(n.casefold() for n in names)

        first = (await client.get("/products", params={"limit": 40, "sort": "name"})).json()
        mixed = await client.get(
            "/products", params={"sort": "star", "cursor": first["next_cursor"]}
        )
        assert mixed.status_code == 400

        old = next(
            p
            for p in (await client.get("/products", params={"limit": 150})).json()["items"]
            if p["district_code"] is not None
        )
        in_district = (
            await client.get("/products", params={"district": old["district_code"], "limit": 150})
        ).json()
        assert old["id"] in [p["id"] for p in in_district["items"]]
        assert {p["district_code"] for p in in_district["items"]} == {old["district_code"]}
        successor = next(s.new.code for s in successions if s.old.code == old["commune_code"])
        in_new_unit = (
            await client.get("/products", params={"commune": successor, "limit": 150})
        ).json()
        assert old["id"] in [p["id"] for p in in_new_unit["items"]]
        by_year = (
            await client.get("/products", params={"year": old["registered_on"][:4], "limit": 150})
        ).json()
        assert by_year["items"] and all(
            p["registered_on"].startswith(old["registered_on"][:4]) for p in by_year["items"]
        )


async def test_an_import_row_naming_a_deregistered_producer_is_a_row_error(
    make_settings: Any,
) -> None:
    async with running(registry_app(make_settings)) as client:
        gone = await producer(client)
        assert (
            await client.post(f"/producers/{gone['id']}/deregistration", json={"reason": "closed"})
        ).status_code == 200
        rows = demo.rows(3, seed=5, today=TODAY)
        rows[1] = {
            **rows[1],
            "legal_form": "HTX",
            "producer_name": gone["name"],
            "registration_number": gone["registration_number"],
        }
        report = await client.post(
            "/imports/products",
            content=demo.to_csv(rows).encode(),
            headers={"content-type": "text/csv"},
        )

    assert report.status_code == 200, report.text
    [error] = report.json()["errors"]
    assert (error["row"], error["field"]) == (3, "registration_number")
    assert "deregistered" in error["reason"]


async def test_a_reason_with_a_phone_number_is_published_masked(
    make_settings: Any, kafka_bootstrap: str
) -> None:
    """Free text typed by an officer leaves the registry on a public topic without the phone
    number, e-mail address or national id it carried (docs/SECURITY.md)."""
    reason = "ngừng sản xuất; liên hệ anh Nam 0912 345 678, nam@example.vn, CCCD 001099012345"
    async with running(registry_app(make_settings)) as client:
        owner = await producer(client)
        item = await product(client, owner["id"], name="Gạo tám thơm (ĐT 0987.654.321)")
        gone = await client.post(f"/products/{item['id']}/deregistration", json={"reason": reason})
        assert gone.status_code == 200, gone.text
        records = await published(kafka_bootstrap, topics.REGISTRY_PRODUCTS, item["id"], 2)

    events = {json.loads(r.value).get("deregistered_at") is not None: r for r in records}
    deregistered = json.loads(events[True].value)
    assert deregistered["reason"] == (
        "ngừng sản xuất; liên hệ anh Nam [số điện thoại đã ẩn], [email đã ẩn], "
        "CCCD [số định danh đã ẩn]"
    )
    assert json.loads(events[False].value)["name"] == "Gạo tám thơm (ĐT [số điện thoại đã ẩn])"
    for record in records:
        for personal in (b"345 678", b"nam@example", b"001099012345", b"654.321"):
            assert personal not in record.value
