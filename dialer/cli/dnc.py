"""``dialer dnc``: the company do-not-call list on Yappr, and this ledger's cached copy."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click
from rich.table import Table

from dialer import dncops, runner
from dialer.api.models import DncEntry
from dialer.cli import confirm
from dialer.cli.options import API_EPILOG, db_option, json_option, sandbox_spec
from dialer.cli.output import Output, pass_output
from dialer.store import Ledger

sandbox_option = click.option(
    "--sandbox", is_flag=True, help="Use a fresh built-in sandbox, in-process (to try it out)."
)
region_option = click.option(
    "--region",
    default="IL",
    show_default=True,
    help="Country of numbers written without a country code (IL, US, ...).",
)


@click.group(epilog=API_EPILOG)
def dnc() -> None:
    """The company do-not-call list on Yappr (and this ledger's cached copy)."""


@dnc.command("sync", epilog=API_EPILOG)
@db_option
@sandbox_option
@pass_output
def dnc_sync(output: Output, db_path: Path, sandbox: bool) -> None:
    """Refresh the ledger's cached copy of the list now."""
    with Ledger(db_path) as ledger:
        count = asyncio.run(
            runner.using(sandbox_spec(sandbox), lambda connection: dncops.sync(ledger, connection))
        )
    output.say(f"DNC list cached in {db_path}: {count:,} entries.")


@dnc.command("list", epilog=API_EPILOG)
@json_option
@sandbox_option
@pass_output
def dnc_list(output: Output, as_json: bool, sandbox: bool) -> None:
    """Show every entry on the list."""
    entries = asyncio.run(runner.using(sandbox_spec(sandbox), dncops.list_entries))
    if as_json:
        output.json([e.model_dump(mode="json") for e in entries])
        return
    output.show(entries_table(entries))


def entries_table(entries: list[DncEntry]) -> Table:
    """The list as a table: id, number, scope, expiry, reason, source."""
    table = Table(title=f"do-not-call list ({len(entries):,} entries)", title_justify="left")
    table.add_column("id", overflow="fold")
    table.add_column("number", no_wrap=True, min_width=len("+972501234567"))
    for column in ("scope", "expires", "reason", "source"):
        table.add_column(column, overflow="fold")
    for e in entries:
        scope = ", ".join(e.agent_ids) or "all agents"
        expires = e.expires_at.isoformat(timespec="minutes") if e.expires_at else "never"
        table.add_row(e.id, e.phone_number, scope, expires, e.reason or "", e.source or "")
    return table


@dnc.command("add", epilog=API_EPILOG)
@click.argument("number")
@click.option("--reason", help="Why (shown to your team).")
@click.option("--expires", help="When the block ends: ISO date/time or a duration (30d).")
@click.option("--agent", "agents", multiple=True, help="Block for this agent only (repeatable).")
@region_option
@db_option
@sandbox_option
@pass_output
def dnc_add(
    output: Output,
    number: str,
    reason: str | None,
    expires: str | None,
    agents: tuple[str, ...],
    region: str,
    db_path: Path,
    sandbox: bool,
) -> None:
    """Add a number (normalised like the lead sheet's); the cache is refreshed after."""
    addition = dncops.Addition(number, region=region, reason=reason, expires=expires, agents=agents)
    with Ledger(db_path) as ledger:
        entry, created = asyncio.run(
            runner.using(
                sandbox_spec(sandbox), lambda connection: dncops.add(ledger, connection, addition)
            )
        )
    verb = "Added" if created else "Already on the list:"
    output.say(f"{verb} {entry.phone_number} (id {entry.id}).")


@dnc.command("remove", epilog=API_EPILOG)
@click.argument("target", metavar="NUMBER_OR_ID")
@region_option
@click.option(
    "--yes",
    "-y",
    is_flag=True,
    help="Do not ask first (needed when stdin is not a terminal).",
)
@db_option
@sandbox_option
@pass_output
def dnc_remove(
    output: Output, target: str, region: str, yes: bool, db_path: Path, sandbox: bool
) -> None:
    """Remove an entry, named by its number or its id; the cache is refreshed after."""
    with Ledger(db_path) as ledger:
        entry = asyncio.run(
            runner.using(
                sandbox_spec(sandbox),
                lambda connection: dncops.remove(
                    ledger,
                    connection,
                    target,
                    region=region,
                    confirm=None if yes else confirm.to_remove,
                ),
            )
        )
    output.say(f"Removed {entry.phone_number} (id {entry.id}).")
