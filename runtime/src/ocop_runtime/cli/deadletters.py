"""``ocop dlq list|replay``: what a consumer dead-lettered, and putting it back.

A consuming service's dead letters are on its topic ``ocop.<service>.dlq.v1``
(:func:`ocop_contracts.topics.dlq`); a replay publishes them as they were on their original
topics, where the consumers' inboxes make a repeat harmless.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any, Literal

import typer
from aiokafka import TopicPartition
from rich.console import Console
from rich.table import Table

from ocop_contracts import topics
from ocop_runtime.cli.common import BootstrapOption, CliError, fail, run
from ocop_runtime.dlq import DeadLetter
from ocop_runtime.kafka import TopicNames, read_all, start_client
from ocop_runtime.outbox import kafka_producer

PrefixOption = typer.Option(
    "", "--topic-prefix", envvar="OCOP_TOPIC_PREFIX", help="The services' OCOP_TOPIC_PREFIX."
)
Selector = tuple[int, int] | Literal["all"]
"""Which dead letters to replay: ``(partition, offset)`` of one, or ``"all"``."""


async def list_dead_letters(bootstrap: str, service: str, prefix: str = "") -> list[DeadLetter]:
    """Every dead letter of ``service`` (under the topic ``prefix``), by partition and offset."""
    topic = TopicNames(prefix).physical(topics.dlq(service))
    letters = [_dead_letter(tp, record) for tp, record in await read_all(bootstrap, topic)]
    return sorted(letters, key=lambda d: (d.dlq_partition, d.dlq_offset))


def _dead_letter(tp: TopicPartition, record: Any) -> DeadLetter:
    return DeadLetter(
        dlq_offset=record.offset,
        dlq_partition=tp.partition,
        key=record.key,
        value=record.value,
        headers=[(k, bytes(v)) for k, v in record.headers or ()],
    )


async def replay(
    bootstrap: str, service: str, selector: Selector, prefix: str = ""
) -> list[DeadLetter]:
    """Publish the selected dead letters again, as they were, on their original topics."""
    letters = await list_dead_letters(bootstrap, service, prefix)
    if selector != "all":
        letters = [d for d in letters if (d.dlq_partition, d.dlq_offset) == selector]
        if not letters:
            partition, offset = selector
            raise CliError(
                f"no dead letter at partition {partition}, offset {offset} of {topics.dlq(service)}"
            )
    nowhere = [d for d in letters if not d.original_topic]
    if nowhere:
        raise CliError(
            f"dead letter at partition {nowhere[0].dlq_partition}, offset {nowhere[0].dlq_offset}"
            " has no original topic header; nothing was replayed"
        )
    if not letters:
        return []
    producer = kafka_producer(bootstrap, client_id="ocop-cli")
    await start_client(producer)
    try:
        # Send all, then await all: the idempotent producer keeps each partition's order.
        sent = [
            await producer.send(
                d.original_topic, key=d.key, value=d.value, headers=d.original_headers
            )
            for d in letters
        ]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()
    return letters


def _consumer_service(service: str) -> str:
    # The services with a dead-letter topic are the topic catalogue's consumers.
    if service not in topics.CONSUMER_SERVICES:
        raise fail(
            f"unknown service {service!r}; expected one of {', '.join(topics.CONSUMER_SERVICES)}",
            code=2,
        )
    return service


def dlq_list(
    service: str = typer.Argument(..., help="Consuming service whose dead letters to show."),
    bootstrap: str = BootstrapOption,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    limit: int | None = typer.Option(None, min=1, help="Show at most N dead letters."),
    prefix: str = PrefixOption,
    wide: bool = typer.Option(False, "--wide", help="One table, a letter a row."),
) -> None:
    """Show the dead letters of SERVICE (one block each; ``--wide`` a table, ``--json`` data)."""
    letters = run(list_dead_letters(bootstrap, _consumer_service(service), prefix), bootstrap)
    shown = letters[:limit]
    title = f"{topics.dlq(service)}: {len(letters)} dead letter(s), {len(shown)} shown"
    _print_letters(shown, as_json, title=title, wide=wide)


def dlq_replay(
    service: str = typer.Argument(..., help="Consuming service whose dead letters to replay."),
    partition: int | None = typer.Option(None, min=0, help="Partition of the dead letter."),
    offset: int | None = typer.Option(None, min=0, help="Offset of the dead letter."),
    replay_all: bool = typer.Option(False, "--all", help="Replay every dead letter."),
    bootstrap: str = BootstrapOption,
    prefix: str = PrefixOption,
) -> None:
    """Publish dead letters again on their original topics (inboxes absorb repeats)."""
    _consumer_service(service)
    selector: Selector
    if replay_all and partition is None and offset is None:
        selector = "all"
    elif not replay_all and partition is not None and offset is not None:
        selector = (partition, offset)
    else:
        raise fail("choose what to replay: --all, or --partition P with --offset O", 2)
    letters = run(replay(bootstrap, service, selector, prefix), bootstrap)
    _print_letters(letters, False, title=f"replayed {len(letters)} from {topics.dlq(service)}")


def _print_letters(
    letters: Sequence[DeadLetter], as_json: bool, *, title: str, wide: bool = False
) -> None:
    """JSON, one wide table, or (by default) one block per letter that reads in 80 columns:
    long names and reasons wrap instead of being squeezed into a column."""
    summaries = [d.summary() for d in letters]
    if as_json:
        typer.echo(json.dumps(summaries, indent=2))
        return
    if not wide:
        console = Console()
        console.print(f"[bold]{title}[/]")
        for s in summaries:
            console.print(
                f"\n[bold]{s['dlq_partition']}/{s['dlq_offset']}[/] {s['ce_type']}",
                highlight=False,
            )
            for label, value in (
                ("ce_id", s["ce_id"]),
                ("from", f"{s['topic']} {s['partition']}/{s['offset']}"),
                ("attempts", f"{s['attempts']} (last {s['time']})"),
                ("reason", s["reason"]),
            ):
                console.print(f"  {label:<9}{value}", highlight=False, markup=False)
        return
    table = Table(title=title)
    for column in ("at", "ce_type", "ce_id", "from", "attempts", "time", "reason"):
        table.add_column(column)
    for s in summaries:
        table.add_row(
            f"{s['dlq_partition']}/{s['dlq_offset']}",
            s["ce_type"],
            s["ce_id"],
            f"{s['topic']} {s['partition']}/{s['offset']}",
            s["attempts"],
            s["time"],
            s["reason"],
        )
    Console().print(table)


def register(app: typer.Typer) -> None:
    dlq = typer.Typer(help="List and replay dead letters.", no_args_is_help=True)
    dlq.command("list")(dlq_list)
    dlq.command("replay")(dlq_replay)
    app.add_typer(dlq, name="dlq")
