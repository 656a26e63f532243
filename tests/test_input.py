"""Hostile and unusual input over real HTTP: oversized bodies and headers, bytes that are not
UTF-8, NUL characters, Vietnamese text in both Unicode normal forms, SQL and HTML in strings.
A clear 4xx or stored safely; never a 500."""

from __future__ import annotations

import unicodedata
from typing import Any

import httpx

from ocop_registry.app import create_app
from ocop_registry.settings import RegistrySettings
from ocop_runtime.auth import Role
from ocop_runtime.testing import bearer, serving
from tests.flow import tax_code

NAME_NFC = "Hợp tác xã Nông nghiệp Đại Thắng"
NAME_NFD = unicodedata.normalize("NFD", NAME_NFC)


async def test_hostile_input_gets_a_clear_4xx_and_strings_are_stored_as_nfc_verbatim(
    make_settings: Any,
) -> None:
    settings = make_settings(RegistrySettings, max_body_bytes=64 * 1024, max_upload_bytes=64 * 1024)
    async with (
        serving(create_app(settings)) as url,
        httpx.AsyncClient(base_url=url, headers=bearer(Role.CITY_OFFICE)) as client,
    ):
        assert NAME_NFC != NAME_NFD
        producer = await client.post(
            "/producers",
            json={
                "name": NAME_NFD,
                "legal_form": "cooperative",
                "registration_number": tax_code(),
                "commune_code": "00004",
                "address": "<script>alert(1)</script>'; DROP TABLE producers; --",
            },
        )
        assert producer.status_code == 201, producer.text
        stored = producer.json()
        assert stored["name"] == NAME_NFC
        assert stored["address"] == "<script>alert(1)</script>'; DROP TABLE producers; --"
        again = await client.get(f"/producers/{stored['id']}")
        assert again.json()["address"] == stored["address"]

        product = {
            "producer_id": stored["id"],
            "name": unicodedata.normalize("NFD", "Gạo nếp cái hoa vàng"),
            "product_set": "food.grain",
            "commune_code": "00004",
        }
        assert (await client.post("/products", json=product)).status_code == 201
        twin = await client.post("/products", json={**product, "name": "GẠO NẾP CÁI HOA VÀNG"})
        assert twin.status_code == 409  # same name in another form and case
        found = await client.get("/products", params={"q": unicodedata.normalize("NFD", "nếp cái")})
        assert found.json()["total"] == 1
        injected = await client.get("/products", params={"q": "%' OR 1=1 --"})
        assert injected.status_code == 200 and injected.json()["total"] == 0

        huge = await client.post(
            "/imports/products",
            content=b"commune_code\n" + b"0" * (70 * 1024),
            headers={"content-type": "text/csv"},
        )
        assert huge.status_code == 413
        not_utf8 = await client.post(
            "/producers",
            content=b'{"name": "\xff\xfe", "legal_form": "cooperative"}',
            headers={"content-type": "application/json"},
        )
        assert not_utf8.status_code in (400, 422)
        nul = await client.post(
            "/producers",
            json={"name": "HTX\u0000", "legal_form": "cooperative", "commune_code": "00004"},
        )
        assert nul.status_code == 400
        nul_query = await client.get("/products", params={"q": "a\u0000b"})
        assert nul_query.status_code == 400
        big_header = await client.get("/units", headers={"X-Padding": "x" * 100_000})
        assert 400 <= big_header.status_code < 500
        still_up = await client.get("/healthz")
        assert still_up.status_code == 200
