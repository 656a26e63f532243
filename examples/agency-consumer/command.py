"""Send the registry a command and read its answer on the agency's own replies topic.

    python command.py register-producer --name "HTX Nông nghiệp Đại Thắng" \
        --legal-form cooperative --registration-number 0101234567 --commune 00004

The command carries the access token of the agency's machine client (docs/SECURITY.md, "Kafka
commands"): ``OCOP_ACCESS_TOKEN``, or one fetched from the city's identity provider with the
client credentials grant (``OCOP_TOKEN_URL``, ``OCOP_CLIENT_ID``, ``OCOP_CLIENT_SECRET``). The
answer comes on ``ocop.registry.replies.<agency>.v1``, keyed like the command, with the
command's ``ce_id`` as ``command_id``. Prints the answer as JSON; exits 1 when it was refused.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from uuid import UUID, uuid4

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from settings import Settings

from ocop_contracts import Envelope, decode_event, topics
from ocop_contracts.commands import RegisterProducer
from ocop_contracts.events import LegalForm
from ocop_contracts.replies import CommandAcceptedBase, CommandRejectedBase


def access_token() -> str:
    """The machine client's access token (renew it before it expires on a long-running system)."""
    if os.environ.get("OCOP_ACCESS_TOKEN"):
        return os.environ["OCOP_ACCESS_TOKEN"]
    form = urllib.parse.urlencode(
        {
            "grant_type": "client_credentials",
            "client_id": os.environ["OCOP_CLIENT_ID"],
            "client_secret": os.environ["OCOP_CLIENT_SECRET"],
        }
    ).encode()
    with urllib.request.urlopen(os.environ["OCOP_TOKEN_URL"], data=form, timeout=10) as answer:
        token: str = json.load(answer)["access_token"]
    return token


async def send_and_wait_reply(
    settings: Settings, command: RegisterProducer, token: str, wait_seconds: float = 60
) -> CommandAcceptedBase | CommandRejectedBase:
    replies = settings.topic(topics.agency_replies("registry", settings.agency))
    producer = AIOKafkaProducer(acks="all", enable_idempotence=True, **settings.kafka())
    reader = AIOKafkaConsumer(enable_auto_commit=False, **settings.kafka())  # no group needed
    await producer.start()
    await reader.start()
    try:
        # Read every partition of the replies topic from its end as it is before the command
        # is sent: the answer comes after.
        partitions = [TopicPartition(replies, n) for n in await producer.partitions_for(replies)]
        reader.assign(partitions)
        await reader.seek_to_end(*partitions)
        for partition in partitions:
            await reader.position(partition)  # fixes the end offsets now, before sending
        ce_id = str(uuid4())
        envelope = Envelope(
            id=ce_id,
            type=command.CE_TYPE,
            source=f"/agency/{settings.agency}",  # informative: the token says who sent it
            time=datetime.now(UTC),
            subject=command.key(),
        )
        await producer.send_and_wait(
            settings.topic(command.TOPIC),
            key=command.key().encode(),  # the aggregate id
            value=command.to_json(),
            headers=[*envelope.to_headers(), ("authorization", f"Bearer {token}".encode())],
        )
        async with asyncio.timeout(wait_seconds):
            async for record in reader:
                answer = decode_event(Envelope.from_headers(record.headers).type, record.value)
                if getattr(answer, "command_id", None) == ce_id:  # the correlation
                    assert isinstance(answer, CommandAcceptedBase | CommandRejectedBase)
                    return answer
    finally:
        await reader.stop()
        await producer.stop()
    raise TimeoutError(f"no answer to command {ce_id} on {replies}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    register = sub.add_parser("register-producer", help="RegisterProducer")
    register.add_argument("--id", type=UUID, help="Default: a new one (resend with the same id)")
    register.add_argument("--name", required=True)
    register.add_argument("--legal-form", required=True, choices=[f.value for f in LegalForm])
    register.add_argument("--registration-number")
    register.add_argument("--commune", required=True, help="Commune/ward code, e.g. 00004")
    args = parser.parse_args(argv)
    command = RegisterProducer(
        producer_id=args.id or uuid4(),
        name=args.name,
        legal_form=LegalForm(args.legal_form),
        registration_number=args.registration_number,
        commune_code=args.commune,
    )
    answer = asyncio.run(send_and_wait_reply(Settings.from_environment(), command, access_token()))
    print(json.dumps({"type": answer.EVENT_NAME, **answer.model_dump(mode="json")}))
    return 0 if isinstance(answer, CommandAcceptedBase) else 1


if __name__ == "__main__":
    sys.exit(main())
