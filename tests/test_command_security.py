"""Commands over Kafka are authorised like HTTP, on the real broker: the sender's access token
(header ``authorization``) is verified by the service, the command's roles come from one table
(checked here against the services and docs/SECURITY.md, and command by command, role by role),
an agency is refused with no effect and an audit row naming its verified principal, the city
office's machine client is obeyed, and a score sheet is the token subject's own."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from aiokafka.errors import TopicAuthorizationFailedError
from typer.testing import CliRunner

from ocop_contracts import Event, topics
from ocop_contracts.commands import evaluation as ecmd
from ocop_contracts.commands import inspection as icmd
from ocop_contracts.commands import registry as rcmd
from ocop_contracts.commands import trade as tcmd
from ocop_contracts.events.evaluation import Level
from ocop_contracts.events.inspection import FindingCategory, FindingOutcome, Severity
from ocop_evaluation import handlers as evaluation_handlers
from ocop_inspection import handlers as inspection_handlers
from ocop_registry import handlers as registry_handlers
from ocop_runtime import devidp
from ocop_runtime.auth import Role
from ocop_runtime.cli import app as cli
from ocop_runtime.commands import UNAUTHENTICATED_SUBJECT
from ocop_runtime.kafka import KafkaAuth, read_all
from ocop_runtime.testing import bearer, own_topics, running, session_idp, token, wait_until
from ocop_trade import handlers as trade_handlers
from tests.commands import grant_in_test_topics, send_command
from tests.flow import evaluation_app, records_on, registry_app, tax_code
from tests.test_evaluation_flow import MEMBERS, council
from tests.test_inspection import inspection_app
from tests.test_kafka_security import read
from tests.test_trade import trade_app

R = Role
LOCAL = {R.CITY_OFFICE, R.COMMUNE_OFFICER}
OWNERS = LOCAL | {R.PRODUCER}
OFFICE = {R.CITY_OFFICE}
TRADE = {R.CITY_OFFICE, R.TRADE_OFFICER}
INSPECTION = {R.CITY_OFFICE, R.INSPECTOR}

# The Kafka half of the role table in docs/SECURITY.md: each command admits the roles of the
# HTTP route that does the same thing.
EXPECTED: dict[type[Event], set[Role]] = {
    rcmd.RegisterProducer: LOCAL,
    rcmd.RegisterProduct: OWNERS,
    rcmd.SubmitApplication: OWNERS,
    ecmd.OpenRound: OFFICE,
    ecmd.SubmitScoreSheet: {R.COUNCIL_MEMBER},
    ecmd.CloseRound: OFFICE,
    ecmd.RecordDecision: OFFICE,
    tcmd.ApplyToPromotion: TRADE,
    tcmd.RecordOutcome: TRADE,
    icmd.RecordVisit: INSPECTION,
    icmd.RecordFindings: INSPECTION,
}
SERVICE_OF = {c: c.SERVICE for c in EXPECTED}


def test_the_command_role_table_is_the_one_the_services_apply_and_the_docs_show() -> None:
    applied = {
        **registry_handlers.COMMAND_ROLES,
        **evaluation_handlers.COMMAND_ROLES,
        **trade_handlers.COMMAND_ROLES,
        **inspection_handlers.COMMAND_ROLES,
    }
    assert {c: set(r) for c, r in applied.items()} == EXPECTED
    commands_by_name = {c.EVENT_NAME: c for c in EXPECTED}
    doc = (Path(__file__).resolve().parents[1] / "docs" / "SECURITY.md").read_text()
    rows = [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in doc.splitlines()
        if line.startswith("| ") and line.count("|") == 6 and "`" in line
    ]
    documented = {
        commands_by_name[name.strip("`")]: {Role(r.strip()) for r in roles.split(",")}
        for service, name, roles, _topic, _route in rows
        if service in topics.COMMAND_SERVICES
    }
    assert documented == EXPECTED
    for command, service in SERVICE_OF.items():
        assert topics.commands(service) == command.TOPIC


def _refusable(command_type: type[Event]) -> Event:
    """A command that, once past the role check, the use case refuses (or that is harmless):
    the matrix shows which layer answered without leaving anything behind."""
    nowhere = uuid4()
    samples: dict[type[Event], Callable[[], Event]] = {
        rcmd.RegisterProducer: lambda: rcmd.RegisterProducer(
            producer_id=nowhere,
            name="HTX không có xã",
            legal_form="cooperative",
            registration_number=tax_code(),
            commune_code="99999",
        ),
        rcmd.RegisterProduct: lambda: rcmd.RegisterProduct(
            product_id=nowhere,
            producer_id=uuid4(),
            name="Không có chủ thể",
            product_set="food.grain",
            commune_code="00004",
        ),
        rcmd.SubmitApplication: lambda: rcmd.SubmitApplication(
            application_id=nowhere,
            product_id=uuid4(),
            kind="first_time",
            self_assessment_score=50,
            documents=[],
        ),
        ecmd.OpenRound: lambda: ecmd.OpenRound(
            round_id=nowhere, year=2019, level=Level.CENTRAL, name="Ma trận quyền"
        ),
        ecmd.SubmitScoreSheet: lambda: ecmd.SubmitScoreSheet(
            round_id=nowhere, application_id=uuid4(), member_id="", points={"A1.1": 1}
        ),
        ecmd.CloseRound: lambda: ecmd.CloseRound(round_id=nowhere),
        ecmd.RecordDecision: lambda: ecmd.RecordDecision(
            round_id=nowhere, decision_number="1/QĐ-UBND", decision_date=date(2025, 1, 1)
        ),
        tcmd.ApplyToPromotion: lambda: tcmd.ApplyToPromotion(
            participation_id=uuid4(), event_id=nowhere, producer_id=uuid4(), product_ids=[uuid4()]
        ),
        tcmd.RecordOutcome: lambda: tcmd.RecordOutcome(
            outcome_id=uuid4(),
            event_id=nowhere,
            producer_id=uuid4(),
            period_start=date(2025, 1, 1),
            period_end=date(2025, 1, 31),
        ),
        icmd.RecordVisit: lambda: icmd.RecordVisit(
            visit_id=uuid4(),
            campaign_id=nowhere,
            producer_id=uuid4(),
            visited_on=date(2025, 1, 1),
            product_ids=[uuid4()],
        ),
        icmd.RecordFindings: lambda: icmd.RecordFindings(
            visit_id=nowhere,
            findings=[
                icmd.FindingInput(
                    finding_id=uuid4(),
                    product_id=uuid4(),
                    category=FindingCategory.PACKAGING,
                    severity=Severity.MINOR,
                    outcome=FindingOutcome.COMPLIANT,
                )
            ],
        ),
    }
    return samples[command_type]()


async def _replies(
    bootstrap: str,
    ids: set[str],
    *,
    agency: str | None = None,
    auth: KafkaAuth | None = None,
    services: tuple[str, ...] = topics.COMMAND_SERVICES,
) -> dict[str, Any]:
    """The replies to ``ids`` on the shared replies topics of ``services``, or on ``agency``'s
    own (read as ``auth``: default the test operator)."""

    def where(service: str) -> str:
        name = topics.agency_replies(service, agency) if agency else topics.replies(service)
        return own_topics().physical(name)

    async def all_answered() -> dict[str, Any] | None:
        found: dict[str, Any] = {}
        for service in services:
            for _, record in await read_all(bootstrap, where(service), auth=auth):
                reply = json.loads(record.value)
                if reply.get("command_id") in ids:
                    found[reply["command_id"]] = reply
        return found if len(found) == len(ids) else None

    return await wait_until(all_answered, timeout_seconds=90, what=f"{len(ids)} replies")


def _field_and_reason(reply: dict[str, Any]) -> tuple[str, str] | None:
    errors = reply.get("errors")
    return (errors[0]["field"], errors[0]["reason"]) if errors else None


async def test_every_command_admits_exactly_the_roles_of_the_table(
    make_settings: Any, kafka_bootstrap: str
) -> None:
    sent: dict[str, tuple[type[Event], Role | None]] = {}
    async with (
        running(registry_app(make_settings)),
        running(evaluation_app(make_settings)),
        running(trade_app(make_settings)),
        running(inspection_app(make_settings)),
    ):
        for command_type in EXPECTED:
            for role in Role:
                ce_id = await send_command(
                    kafka_bootstrap,
                    _refusable(command_type),
                    role=role,
                    units=["00004"],
                    producer_id=uuid4() if role is R.PRODUCER else None,
                    subject=f"matrix-{role}",
                )
                sent[ce_id] = (command_type, role)
            sent[await send_command(kafka_bootstrap, _refusable(command_type), role=None)] = (
                command_type,
                None,
            )
        answers = await _replies(kafka_bootstrap, set(sent))

    checked = 0
    for ce_id, (command_type, sender) in sent.items():
        verdict = _field_and_reason(answers[ce_id])
        where = (command_type.EVENT_NAME, sender)
        if sender is None:
            assert verdict is not None and verdict[0] == "authorization", where
            assert verdict[1].startswith("unauthenticated"), where
        elif sender in EXPECTED[command_type]:
            # Past the role check: whatever the use case said, it was not the gate.
            assert verdict is None or verdict[0] != "authorization", (where, verdict)
        else:
            assert verdict is not None and verdict[0] == "authorization", (where, verdict)
            assert verdict[1].startswith("forbidden"), (where, verdict)
        checked += 1
    assert checked == len(EXPECTED) * (len(Role) + 1)


async def _agency(name: str, bootstrap: str, *grants: str) -> KafkaAuth:
    """An agency principal made by ``ocop agency add`` (with ``--commands`` for ``grants``),
    holding the same grants on this test's own topics."""
    args = ["agency", "add", name, "--bootstrap", bootstrap]
    if grants:
        args += ["--commands", ",".join(grants)]
    result = await asyncio.to_thread(CliRunner().invoke, cli, args)
    assert result.exit_code == 0, result.output
    await grant_in_test_topics(bootstrap, name, grants)
    settings = dict(line.split("=", 1) for line in result.output.strip().splitlines())
    return KafkaAuth(username=settings["sasl.username"], password=settings["sasl.password"])


async def test_an_agencys_commands_are_refused_on_every_command_topic_with_no_effect_and_audited(
    make_settings: Any, kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    """Even with the broker's grant to write both command topics, an agency's machine client
    (role agency) changes nothing: every command is refused as forbidden, and the audit trail
    names its verified subject and role, not the ce_source it wrote. Without a token, or with
    one signed by another key, the answer is unauthenticated."""
    name = f"so-{unique}"
    agency = await _agency(name, kafka_bootstrap, *topics.COMMAND_SERVICES)
    client = f"svc-{name}"
    agency_token = token(R.AGENCY, subject=client, agency=name)
    stranger = tmp_path / "stranger"
    devidp.ensure_key(stranger)
    forged = devidp.issue_token(stranger, roles=["city_office"], subject="svc-forged")
    source = f"/agency/{name}"

    async with (
        running(registry_app(make_settings)) as registry,
        running(evaluation_app(make_settings)) as evaluation,
        running(trade_app(make_settings)) as trade,
        running(inspection_app(make_settings)) as inspection,
    ):
        year = 2030 + uuid4().int % 70
        opened = await evaluation.post(
            "/rounds", json={"year": year, "level": "central", "name": f"Trung ương {unique}"}
        )
        assert opened.status_code == 201, opened.text
        round_id = UUID(opened.json()["id"])
        await council(evaluation, str(round_id))
        producer_id, product_id, application_id, new_round = uuid4(), uuid4(), uuid4(), uuid4()
        attempts: list[Event] = [
            rcmd.RegisterProducer(
                producer_id=producer_id,
                name=f"HTX {unique}",
                legal_form="cooperative",
                registration_number=tax_code(),
                commune_code="00004",
            ),
            rcmd.RegisterProduct(
                product_id=product_id,
                producer_id=producer_id,
                name=f"Gạo {unique}",
                product_set="food.grain",
                commune_code="00004",
            ),
            rcmd.SubmitApplication(
                application_id=application_id,
                product_id=product_id,
                kind="first_time",
                self_assessment_score=80,
                documents=[],
            ),
            ecmd.OpenRound(round_id=new_round, year=year, level=Level.CITY, name="Thành phố"),
            ecmd.SubmitScoreSheet(
                round_id=round_id,
                application_id=uuid4(),
                member_id=MEMBERS[0],
                points={"A1.1": 1},
            ),
            ecmd.CloseRound(round_id=round_id, override_reason="agency says so"),
            ecmd.RecordDecision(
                round_id=round_id, decision_number="99/QĐ-UBND", decision_date=date.today()
            ),
            *(
                _refusable(c)
                for c in (
                    tcmd.ApplyToPromotion,
                    tcmd.RecordOutcome,
                    icmd.RecordVisit,
                    icmd.RecordFindings,
                )
            ),
        ]
        assert {type(c) for c in attempts} == set(EXPECTED)
        refused: dict[str, Event] = {}
        unauthenticated: dict[str, Event] = {}
        for command in attempts:
            ce_id = await send_command(
                kafka_bootstrap, command, access_token=agency_token, auth=agency, source=source
            )
            refused[ce_id] = command
            for credential in (None, forged):
                ce_id = await send_command(
                    kafka_bootstrap,
                    command,
                    access_token=credential,
                    role=None,
                    auth=agency,
                    source=source,
                )
                unauthenticated[ce_id] = command
        # Refusals of its verified client come on its own replies topics; unauthenticated
        # senders (nobody knows who they are) are answered on the shared ones.
        answers = await _replies(kafka_bootstrap, set(refused), agency=name, auth=agency)
        answers |= await _replies(kafka_bootstrap, set(unauthenticated))

        # No effect anywhere.
        assert (await registry.get(f"/producers/{producer_id}")).status_code == 404
        assert (await registry.get(f"/products/{product_id}")).status_code == 404
        assert (await registry.get(f"/applications/{application_id}")).status_code == 404
        rounds = (await evaluation.get("/rounds", params={"year": year, "limit": 200})).json()
        by_id = {r["id"]: r for r in rounds["items"]}
        assert str(new_round) not in by_id
        assert by_id[str(round_id)]["status"] == "open"
        trails = {
            key: (await service.get("/audit", params={"aggregate_id": key})).json()["items"]
            for key, service in (
                (str(producer_id), registry),
                (str(product_id), registry),
                (str(application_id), registry),
                (str(new_round), evaluation),
                (str(round_id), evaluation),
                *((c.key(), trade) for c in attempts if c.SERVICE == "trade"),
                *((c.key(), inspection) for c in attempts if c.SERVICE == "inspection"),
            )
        }

    for ce_id in refused:
        verdict = _field_and_reason(answers[ce_id])
        assert verdict and verdict[0] == "authorization" and verdict[1].startswith("forbidden")
    for ce_id in unauthenticated:
        verdict = _field_and_reason(answers[ce_id])
        assert verdict and verdict[0] == "authorization"
        assert verdict[1].startswith("unauthenticated")
    kafka_rows = [e for rows in trails.values() for e in rows if e["channel"] == "kafka"]
    for command in attempts:
        rows = [e for e in trails[command.key()] if e["command"] == command.EVENT_NAME]
        assert {e["outcome"] for e in rows} == {"refused"}, command.EVENT_NAME
        named = [e for e in rows if e["subject"] == client]
        assert len(named) == 1 and named[0]["roles"] == ["agency"], command.EVENT_NAME
        assert named[0]["origin"] == source and "forbidden" in named[0]["detail"]
        anonymous = [e for e in rows if e["subject"] == UNAUTHENTICATED_SUBJECT]
        assert len(anonymous) == 2 and all(e["roles"] == [] for e in anonymous)
    assert {e["subject"] for e in kafka_rows} == {client, UNAUTHENTICATED_SUBJECT}


async def test_the_city_offices_machine_client_opens_a_round_over_kafka(
    make_settings: Any, kafka_bootstrap: str, unique: str
) -> None:
    office_system = await _agency(f"vp-{unique}", kafka_bootstrap, "evaluation")
    client = f"svc-van-phong-{unique}"
    round_id = uuid4()
    year = 2030 + round_id.int % 70
    async with running(evaluation_app(make_settings)) as evaluation:
        ce_id = await send_command(
            kafka_bootstrap,
            ecmd.OpenRound(round_id=round_id, year=year, level=Level.CENTRAL, name="Trung ương"),
            access_token=token(R.CITY_OFFICE, subject=client),
            auth=office_system,
        )
        answer = (await _replies(kafka_bootstrap, {ce_id}))[ce_id]
        rounds = (await evaluation.get("/rounds", params={"year": year, "limit": 200})).json()
        trail = (await evaluation.get("/audit", params={"aggregate_id": str(round_id)})).json()

    assert "errors" not in answer and answer["duplicate"] is False
    assert str(round_id) in {r["id"] for r in rounds["items"]}
    [entry] = trail["items"]
    assert (entry["subject"], entry["roles"], entry["outcome"]) == (
        client,
        ["city_office"],
        "created",
    )


async def test_an_agencys_commands_are_answered_on_its_own_replies_topic_only_it_reads(
    make_settings: Any, kafka_bootstrap: str, unique: str
) -> None:
    """An agency's machine client (its token names the agency) is answered, accepted or
    refused, on the agency's own replies topic, which its principal reads and another agency's
    cannot; nothing of it reaches the shared replies topic, where the city office's machine
    client is still answered. No agency reads the shared topic."""
    name, other = f"so-{unique}", f"sy-{unique}"
    agency = await _agency(name, kafka_bootstrap, "evaluation")
    stranger = await _agency(other, kafka_bootstrap, "evaluation")
    client = f"svc-{name}"
    rounds = [uuid4() for _ in range(3)]
    years = [2030 + (rounds[0].int + i) % 70 for i in range(3)]  # one city round a year

    def open_round(i: int) -> Event:
        return ecmd.OpenRound(round_id=rounds[i], year=years[i], level=Level.CITY, name=unique)

    async with running(evaluation_app(make_settings)):
        refused = await send_command(
            kafka_bootstrap,
            open_round(0),
            access_token=token(R.AGENCY, subject=client, agency=name),
            auth=agency,
        )
        # An agency client holding an admitted role (here the office's) is obeyed, and
        # answered on its own topic all the same.
        accepted = await send_command(
            kafka_bootstrap,
            open_round(1),
            access_token=token(R.CITY_OFFICE, subject=client, agency=name),
            auth=agency,
        )
        own = await _replies(
            kafka_bootstrap,
            {refused, accepted},
            agency=name,
            auth=agency,
            services=("evaluation",),
        )
        # Staged after the agency's answers: once it is on the shared topic, they would be too.
        office = await send_command(kafka_bootstrap, open_round(2))
        shared = await _replies(kafka_bootstrap, {office})

    verdict = _field_and_reason(own[refused])
    assert verdict and verdict[0] == "authorization" and verdict[1].startswith("forbidden")
    assert "errors" not in own[accepted] and own[accepted]["duplicate"] is False
    assert "errors" not in shared[office]
    on_shared = {
        json.loads(r.value).get("command_id")
        for r in await records_on(kafka_bootstrap, topics.replies("evaluation"), lambda r: True)
    }
    assert office in on_shared and not on_shared & {refused, accepted}

    physical = own_topics().physical
    group = f"agency.{other}.replies"
    for foreign in (topics.agency_replies("evaluation", name), topics.replies("evaluation")):
        with pytest.raises(TopicAuthorizationFailedError):
            await read(kafka_bootstrap, stranger, physical(foreign), group)
    with pytest.raises(TopicAuthorizationFailedError):
        await read(
            kafka_bootstrap, agency, physical(topics.replies("evaluation")), f"agency.{name}.r"
        )


@pytest.mark.parametrize("forged_member", [MEMBERS[1], "nobody"])
async def test_a_score_sheet_is_the_token_subjects_and_a_forged_member_id_is_refused(
    make_settings: Any, kafka_bootstrap: str, forged_member: str
) -> None:
    """A council member's token (subject MEMBERS[0]) naming another member in ``member_id`` is
    refused before anything is looked at; naming no one (or itself) hands in its own sheet,
    which here fails further on only because the application is not in the round."""
    async with running(evaluation_app(make_settings)) as evaluation:
        year = 2030 + uuid4().int % 70
        opened = await evaluation.post(
            "/rounds", json={"year": year, "level": "central", "name": "Trung ương"}
        )
        assert opened.status_code == 201, opened.text
        round_id = UUID(opened.json()["id"])
        await council(evaluation, str(round_id))
        sheet: dict[str, Any] = {
            "round_id": round_id,
            "application_id": uuid4(),
            "points": {"A1.1": 1},
        }
        member: dict[str, Any] = {"role": R.COUNCIL_MEMBER, "subject": MEMBERS[0]}
        forged = await send_command(
            kafka_bootstrap, ecmd.SubmitScoreSheet(member_id=forged_member, **sheet), **member
        )
        own = await send_command(
            kafka_bootstrap, ecmd.SubmitScoreSheet(member_id="", **sheet), **member
        )
        itself = await send_command(
            kafka_bootstrap, ecmd.SubmitScoreSheet(member_id=MEMBERS[0], **sheet), **member
        )
        answers = await _replies(kafka_bootstrap, {forged, own, itself})
        trail = (await evaluation.get("/audit", params={"aggregate_id": str(round_id)})).json()

    assert _field_and_reason(answers[forged]) == (
        "member_id",
        "a sheet is its sender's own: member_id must be empty or the token's subject",
    )
    for accepted_as_own in (own, itself):
        verdict = _field_and_reason(answers[accepted_as_own])
        assert verdict is not None and verdict[0] == "application_id", verdict
    sheets = [e for e in trail["items"] if e["command"] == "SubmitScoreSheet"]
    assert {e["subject"] for e in sheets} == {MEMBERS[0]}


async def test_an_expired_token_is_unauthenticated_over_kafka_as_over_http(
    make_settings: Any, kafka_bootstrap: str
) -> None:
    expired = devidp.issue_token(
        session_idp(), roles=["city_office"], subject="svc-late", ttl_seconds=-120
    )
    async with running(evaluation_app(make_settings)) as evaluation:
        over_http = await evaluation.get("/rounds", headers={"Authorization": f"Bearer {expired}"})
        ce_id = await send_command(
            kafka_bootstrap,
            ecmd.OpenRound(round_id=uuid4(), year=2019, level=Level.CENTRAL, name="Muộn"),
            access_token=expired,
        )
        answer = (await _replies(kafka_bootstrap, {ce_id}))[ce_id]
        still_ok = await evaluation.get("/rounds", headers=bearer(R.CITY_OFFICE))
    assert over_http.status_code == 401 and still_ok.status_code == 200
    verdict = _field_and_reason(answer)
    assert verdict and verdict[0] == "authorization" and "expired" in verdict[1]
    assert datetime.fromisoformat(answer["rejected_at"]) <= datetime.now(UTC)
