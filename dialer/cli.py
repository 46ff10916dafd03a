"""The command line: parse, call the library, print. Nothing else lives here.

Exit codes (DESIGN.md §4): 0 finished (or waiting for a retry or window time); 1 bad input
or config; 2 usage; 3 interrupted, resumable; 4 stopped by the API, resumable.
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from rich.console import Console
from rich.text import Text

from dialer import __version__, reports
from dialer import campaign as ops
from dialer.config import codec_name
from dialer.console import ProgressView, counts_table, ending_message
from dialer.dispatch import Dispatcher, RunOptions, RunResult
from dialer.errors import DialerError
from dialer.store import Ledger

T = TypeVar("T")
EXIT_OK, EXIT_INPUT, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_API_STOP = 0, 1, 2, 3, 4
ENDING_EXIT = {
    "finished": EXIT_OK,
    "waiting": EXIT_OK,
    "interrupted": EXIT_INTERRUPTED,
    "stopped": EXIT_API_STOP,
}

console = Console(highlight=False)
errors = Console(stderr=True, highlight=False)

db_option = click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="DIALER_DB",
    default="dialer.db",
    show_default=True,
    help="The SQLite ledger (env DIALER_DB).",
)


def fail(message: str, code: int = EXIT_INPUT) -> NoReturn:
    """Print one clear line to stderr and exit. The message is plain text: a ``[pacing]``
    in it is a section name, not markup."""
    errors.print(Text.assemble(("error: ", "bold red"), message), soft_wrap=True)
    raise SystemExit(code)


def open_ledger(path: Path) -> Ledger:
    """The ledger at ``path``; a LedgerError becomes one line and exit 1."""
    try:
        return Ledger(path)
    except DialerError as error:
        fail(str(error))


def parse_duration(text: str) -> timedelta:
    """``90s``, ``15m``, ``2h``, ``1d`` -> timedelta."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    try:
        return timedelta(seconds=float(text[:-1]) * units[text[-1]])
    except (KeyError, ValueError, IndexError):
        raise click.BadParameter(f"{text!r} is not a duration like 90s, 15m, 2h or 1d") from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dialer")
def cli() -> None:
    """Run outbound-call campaigns on Yappr from a spreadsheet of leads."""


encoding_option = click.option(
    "--encoding",
    metavar="NAME",
    help="The sheet's text encoding (e.g. windows-1252); overrides detection and the "
    "campaign's encoding key.",
)


def _codec(encoding: str | None) -> str | None:
    """The ``--encoding`` value as a codec name; an unknown one is an error naming the flag."""
    if encoding is None:
        return None
    try:
        return codec_name(encoding)
    except ValueError as error:
        fail(f"--encoding: {error}")


# -- validate -------------------------------------------------------------------------------


@cli.command()
@click.argument("campaign_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--leads", type=click.Path(dir_okay=False, path_type=Path), help="Override the sheet."
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Per-row status CSV (default: NAME.validation.csv).",
)
@click.option("--sandbox", is_flag=True, help="Check DNC against the built-in sandbox.")
@db_option
@encoding_option
def validate(
    campaign_file: Path,
    leads: Path | None,
    out: Path | None,
    sandbox: bool,
    db_path: Path,
    encoding: str | None,
) -> None:
    """Preflight a campaign: read, normalise, dedupe, screen; place no call."""
    codec = _codec(encoding)
    ledger = open_ledger(db_path)
    try:
        summary, statuses, written, read_as = _guard(
            lambda: _with_connection(
                sandbox,
                lambda conn: ops.validate_campaign(
                    campaign_file,
                    ledger=ledger,
                    connection=conn,
                    leads=leads,
                    out=out,
                    encoding=codec,
                ),
            )
        )
    finally:
        ledger.close()
    try:
        reports.write_status_csv(statuses, written)
    except DialerError as error:
        fail(str(error), error.exit_code)
    if read_as:
        console.print(f"encoding: {read_as}")
    console.print(counts_table(f"validate {campaign_file}", summary))
    console.print(f"Per-row statuses written to {written}")


# -- run / resume ---------------------------------------------------------------------------


def _run_options(max_wait: str, sync_interval: float, redial_unknown: bool) -> RunOptions:
    return RunOptions(
        max_wait=parse_duration(max_wait),
        sync_interval=sync_interval,
        redial_unknown=redial_unknown,
    )


max_wait_option = click.option(
    "--max-wait",
    default="15m",
    show_default=True,
    help="Keep running while the next due lead is at most this far away (90s, 15m, 2h).",
)
sync_option = click.option(
    "--sync-interval",
    type=click.FloatRange(min=0.5),
    default=5.0,
    show_default=True,
    help="Seconds between outcome syncs while calls are live.",
)
sandbox_options = [
    click.option("--sandbox", is_flag=True, help="Run against the built-in sandbox, in-process."),
    click.option(
        "--time-scale",
        type=click.FloatRange(min=0.001),
        default=1.0,
        show_default=True,
        help="Sandbox only: how many times faster than real time calls run.",
    ),
]


def _sandbox_flags(func: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(sandbox_options):
        func = option(func)
    return func


@cli.command()
@click.argument("campaign_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--leads", type=click.Path(dir_okay=False, path_type=Path), help="Override the sheet."
)
@db_option
@max_wait_option
@sync_option
@_sandbox_flags
@encoding_option
def run(
    campaign_file: Path,
    leads: Path | None,
    db_path: Path,
    max_wait: str,
    sync_interval: float,
    sandbox: bool,
    time_scale: float,
    encoding: str | None,
) -> None:
    """Import a campaign's leads and call them (continues it if already imported)."""
    options = _run_options(max_wait, sync_interval, redial_unknown=False)
    _dispatch_command(
        db_path,
        sandbox=sandbox,
        time_scale=time_scale,
        options=options,
        campaign_file=campaign_file,
        leads=leads,
        encoding=_codec(encoding),
    )


@cli.command()
@click.argument("name")
@db_option
@click.option(
    "--redial-unknown",
    is_flag=True,
    help="Resend calls whose fate is unknown after a crash (same key while the API keeps it).",
)
@max_wait_option
@sync_option
@_sandbox_flags
def resume(
    name: str,
    db_path: Path,
    redial_unknown: bool,
    max_wait: str,
    sync_interval: float,
    sandbox: bool,
    time_scale: float,
) -> None:
    """Continue a campaign exactly where it stopped."""
    options = _run_options(max_wait, sync_interval, redial_unknown)
    _dispatch_command(db_path, sandbox=sandbox, time_scale=time_scale, options=options, name=name)


def _dispatch_command(
    db_path: Path,
    *,
    sandbox: bool,
    time_scale: float,
    options: RunOptions,
    campaign_file: Path | None = None,
    leads: Path | None = None,
    name: str | None = None,
    dnc_seed: Path | None = None,
    encoding: str | None = None,
) -> None:
    """Shared body of run and resume: import or find the campaign, dispatch, summarise."""
    ledger = open_ledger(db_path)
    try:
        result, campaign_name = _guard(
            lambda: _with_connection(
                sandbox,
                lambda conn: _import_and_dispatch(
                    ledger,
                    conn,
                    options,
                    campaign_file=campaign_file,
                    leads=leads,
                    name=name,
                    encoding=encoding,
                ),
                time_scale=time_scale,
                dnc_seed=dnc_seed,
            )
        )
        console.print(counts_table(f"campaign {campaign_name}", result.counts))
        console.print(reports.summary_table(reports.summary(ledger, campaign_name)))
    finally:
        ledger.close()
    message = ending_message(result, campaign_name)
    (console if result.ending in ("finished", "waiting") else errors).print(message)
    raise SystemExit(ENDING_EXIT[result.ending])


async def _import_and_dispatch(
    ledger: Ledger,
    connection: ops.Connection,
    options: RunOptions,
    *,
    campaign_file: Path | None,
    leads: Path | None,
    name: str | None,
    encoding: str | None = None,
) -> tuple[RunResult, str]:
    if campaign_file is not None:
        record, frame = await ops.prepare_run(
            campaign_file, ledger=ledger, connection=connection, leads=leads, encoding=encoding
        )
        if frame is None:
            console.print(f"Campaign {record.name!r} is already imported: continuing it.")
    else:
        assert name is not None
        record = ops.find_campaign(ledger, name)
    with ProgressView(console) as view:
        result = await _interruptible(
            lambda hook: ops.dispatch(
                record,
                ledger=ledger,
                connection=connection,
                options=options,
                on_progress=view,
                on_dispatcher=hook,
            )
        )
    return result, record.name


async def _interruptible(
    start: Callable[[Callable[[Dispatcher], None]], Awaitable[RunResult]],
) -> RunResult:
    """First Ctrl-C (or SIGTERM) stops claiming and drains; a second cancels at once."""
    loop = asyncio.get_running_loop()
    holder: list[Dispatcher] = []
    task = asyncio.ensure_future(start(holder.append))
    presses = 0

    def on_signal() -> None:
        nonlocal presses
        presses += 1
        if presses == 1 and holder:
            errors.print("Stopping: finishing requests in flight (Ctrl-C again to cancel)...")
            holder[0].request_stop()
        else:
            task.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    try:
        return await task
    except asyncio.CancelledError:
        counts = holder[0].ledger.counts(holder[0].plan.name) if holder else {}
        return RunResult(ending="interrupted", counts=counts)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


# -- status ---------------------------------------------------------------------------------


@cli.command()
@click.argument("name", required=False)
@db_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(name: str | None, db_path: Path, as_json: bool) -> None:
    """Show leads per status, live calls, the next opening and the outcome summary."""
    ledger = open_ledger(db_path)
    try:
        names = [name] if name else ledger.campaign_names()
        found = [_status_of(ledger, n) for n in names]
        for report in found:
            report["summary"] = reports.summary(ledger, report["name"])
    finally:
        ledger.close()
    if as_json:
        click.echo(json.dumps(found if name is None else found[0], indent=2, default=str))
        return
    if not found:
        console.print(f"No campaigns in {db_path} yet.")
    for report in found:
        title = f"campaign {report['name']} ({report['state']})"
        console.print(counts_table(title, report["counts"]))
        reason = f" · {report['state_reason']}" if report["state_reason"] else ""
        _say(
            f"live calls: {report['live_calls']} · next opening: {report['next_due'] or 'none'}"
            + reason
        )
        console.print(reports.summary_table(report["summary"]))


# -- report, retry, dnc ---------------------------------------------------------------------


def _say(message: str) -> None:
    """One plain line: no markup, never wrapped (paths and names stay whole)."""
    console.print(message, markup=False, highlight=False, soft_wrap=True)


@cli.command()
@click.argument("name")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The report file: .csv, .xlsx, .json or .html.",
)
@db_option
def report(name: str, out: Path, db_path: Path) -> None:
    """Write a campaign's outcome report (one row per input row)."""
    from dialer import reports

    ledger = open_ledger(db_path)
    try:
        reports.export(ledger, name, out)
        stats = reports.summary(ledger, name)
    except DialerError as error:
        fail(str(error), error.exit_code)
    finally:
        ledger.close()
    console.print(reports.summary_table(stats))
    if stats["still_running"]:
        _say("The campaign is still running: the report shows what is known so far.")
    _say(f"Report written: {out}")


@cli.command()
@click.argument("name")
@click.option(
    "--status",
    "statuses",
    required=True,
    help="Outcomes to call again, comma-separated (no_answer,busy); exhausted leads whose "
    "last outcome is one of them come back too.",
)
@click.option(
    "--after", default="0s", show_default=True, help="Wait this long first (90s, 15m, 2h, 1d)."
)
@db_option
def retry(statuses: str, name: str, after: str, db_path: Path) -> None:
    """Recycle finished leads into a new round; `dialer resume NAME` then calls them."""
    from datetime import UTC, datetime

    from dialer import operations

    delay = parse_duration(after)
    ledger = open_ledger(db_path)
    try:
        wanted = operations.parse_statuses(statuses)
        result = operations.recycle(ledger, name, wanted, after=delay, now=datetime.now(UTC))
    except DialerError as error:
        fail(str(error), error.exit_code)
    finally:
        ledger.close()
    _say(
        f"Recycled {result.recycled:,} lead(s) of {name} ({', '.join(wanted)}) into a new "
        f"round, due from {result.due_at.isoformat(timespec='seconds')}."
    )
    for why, count in sorted(result.skipped.items()):
        _say(f"Held back {count:,}: {why}.")
    if result.recycled:
        _say(f"Run `dialer resume {name}` to call them.")


@cli.group()
def dnc() -> None:
    """The company do-not-call list on Yappr (and this ledger's cached copy)."""


dnc_sandbox = click.option(
    "--sandbox", is_flag=True, help="Use a fresh built-in sandbox, in-process (to try it out)."
)


def _dnc_call(sandbox: bool, body: Callable[[Any, ops.Connection], Awaitable[T]]) -> T:
    """Run ``body(client, connection)`` with an API client; errors become one line."""

    async def with_client(connection: ops.Connection) -> T:
        async with ops.open_client(connection, requests_per_minute=60) as client:
            return await body(client, connection)

    return _guard(lambda: _with_connection(sandbox, with_client))


@dnc.command("sync")
@db_option
@dnc_sandbox
def dnc_sync(db_path: Path, sandbox: bool) -> None:
    """Refresh the ledger's cached copy of the list now."""
    ledger = open_ledger(db_path)
    try:
        count = _dnc_call(
            sandbox,
            lambda client, conn: ops.refresh_dnc(
                ledger, client, account=conn.account, now=conn.clock.now()
            ),
        )
    finally:
        ledger.close()
    _say(f"DNC list cached in {db_path}: {count:,} entries.")


@dnc.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@dnc_sandbox
def dnc_list(as_json: bool, sandbox: bool) -> None:
    """Show every entry on the list."""

    async def fetch(client: Any, _: ops.Connection) -> list[Any]:
        return list(await client.list_dnc())

    entries = _dnc_call(sandbox, fetch)
    if as_json:
        click.echo(json.dumps([e.model_dump(mode="json") for e in entries], indent=2))
        return
    console.print(_dnc_table(entries))


def _dnc_table(entries: list[Any]) -> Any:
    from rich.table import Table

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


@dnc.command("add")
@click.argument("number")
@click.option("--reason", help="Why (shown to your team).")
@click.option("--expires", help="When the block ends: ISO date/time or a duration (30d).")
@click.option("--agent", "agents", multiple=True, help="Block for this agent only (repeatable).")
@click.option("--region", default="IL", show_default=True, help="Region for local numbers.")
@db_option
@dnc_sandbox
def dnc_add(
    number: str,
    reason: str | None,
    expires: str | None,
    agents: tuple[str, ...],
    region: str,
    db_path: Path,
    sandbox: bool,
) -> None:
    """Add a number (normalised like the lead sheet's); the cache is refreshed after."""
    from dialer import operations

    ledger = open_ledger(db_path)

    async def add(client: Any, conn: ops.Connection) -> Any:
        now = conn.clock.now()
        phone = operations.dnc_number(number, region=region.upper())
        until = operations.parse_expiry(expires, now=now) if expires else None
        added = await client.add_dnc(phone, reason=reason, expires_at=until, agent_ids=agents)
        await ops.refresh_dnc(ledger, client, account=conn.account, now=now)
        return added

    try:
        entry, created = _dnc_call(sandbox, add)
    finally:
        ledger.close()
    verb = "Added" if created else "Already on the list:"
    _say(f"{verb} {entry.phone_number} (id {entry.id}).")


@dnc.command("remove")
@click.argument("target", metavar="NUMBER_OR_ID")
@click.option("--region", default="IL", show_default=True, help="Region for local numbers.")
@db_option
@dnc_sandbox
def dnc_remove(target: str, region: str, db_path: Path, sandbox: bool) -> None:
    """Remove an entry, named by its number or its id; the cache is refreshed after."""
    from dialer import operations

    ledger = open_ledger(db_path)

    async def remove(client: Any, conn: ops.Connection) -> Any:
        entry = await operations.find_dnc_entry(client, target, region=region.upper())
        if entry is not None:
            await client.delete_dnc(entry.id)
            await ops.refresh_dnc(ledger, client, account=conn.account, now=conn.clock.now())
        return entry

    try:
        entry = _dnc_call(sandbox, remove)
    finally:
        ledger.close()
    if entry is None:
        fail(f"{target} is not on the do-not-call list; see `dialer dnc list`")
    _say(f"Removed {entry.phone_number} (id {entry.id}).")


# -- demo -----------------------------------------------------------------------------------


@cli.command()
@click.option(
    "--campaign",
    "campaign_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("campaigns/demo.toml"),
    show_default=True,
    help="The campaign to run.",
)
@click.option(
    "--time-scale",
    type=click.FloatRange(min=1.0),
    default=100.0,
    show_default=True,
    help="How many times faster than real time the sandbox runs.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("demo-output"),
    show_default=True,
    help="Folder for the demo's ledger and reports.",
)
def demo(campaign_file: Path, time_scale: float, out: Path) -> None:
    """Run a sample campaign end to end against the built-in sandbox."""
    if not campaign_file.exists():
        fail(f"{campaign_file}: not found; run `dialer demo` from the project folder")
    out.mkdir(parents=True, exist_ok=True)
    db_path = out / "demo.db"
    for stale in (db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm")):
        stale.unlink(missing_ok=True)
    console.print(f"Demo: {campaign_file} against the sandbox at x{time_scale:g} speed.")
    options = RunOptions(max_wait=timedelta(hours=2), sync_interval=5.0)
    try:
        _dispatch_command(
            db_path,
            sandbox=True,
            time_scale=time_scale,
            options=options,
            campaign_file=campaign_file,
            dnc_seed=campaign_file.with_name(f"{campaign_file.stem}-dnc.txt"),
        )
    except SystemExit as done:
        _demo_reports(db_path, out)
        raise done


def _demo_reports(db_path: Path, out: Path) -> None:
    """Export what the reports module offers for the demo campaign."""
    ledger = open_ledger(db_path)
    try:
        for name in ledger.campaign_names():
            for suffix in reports.FORMATS:
                target = out / f"{name}-report{suffix}"
                try:
                    reports.export(ledger, name, target)
                except DialerError as error:
                    fail(str(error), error.exit_code)
                console.print(f"Report written: {target}")
    finally:
        ledger.close()


# -- plumbing -------------------------------------------------------------------------------


def _status_of(ledger: Ledger, name: str) -> dict[str, Any]:
    try:
        return ops.campaign_status(ledger, name)
    except DialerError as error:
        fail(str(error), error.exit_code)


def _guard(make: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine; a DialerError becomes one clear line and its exit code."""
    try:
        return asyncio.run(_awaited(make))
    except DialerError as error:
        fail(str(error), error.exit_code)
    except KeyboardInterrupt:
        # Ctrl-C before dispatching started (reading the sheet, importing): every write is
        # one transaction, so nothing is half-done.
        fail("interrupted; the ledger is consistent (resume continues)", EXIT_INTERRUPTED)


async def _awaited(make: Callable[[], Awaitable[T]]) -> T:
    return await make()


async def _with_connection(
    sandbox: bool,
    body: Callable[[ops.Connection], Awaitable[T]],
    *,
    time_scale: float = 1.0,
    dnc_seed: Path | None = None,
) -> T:
    """Call ``body`` with the environment's connection, or an in-process sandbox's."""
    if not sandbox:
        return await body(await ops.with_server_clock(ops.connection_from_env()))
    async with _sandbox_connection(time_scale, dnc_seed) as connection:
        return await body(connection)


@asynccontextmanager
async def _sandbox_connection(
    time_scale: float, dnc_seed: Path | None = None
) -> AsyncIterator[ops.Connection]:
    from dialer.sandbox import Sandbox, SandboxConfig

    async with Sandbox(SandboxConfig(time_scale=time_scale)) as sb:
        console.print(f"Sandbox at {sb.base_url} (time x{time_scale:g}); no real calls are made.")
        for number, agents in _seed_lines(dnc_seed):
            sb.add_dnc(number, agent_ids=agents, reason="demo: asked not to be called")
        yield ops.Connection(sb.base_url, sb.api_key, sb.clock, account=sb.base_url)


def _seed_lines(path: Path | None) -> list[tuple[str, tuple[str, ...]]]:
    """``number [agent-id ...]`` lines of a demo DNC seed file (``#`` comments skipped)."""
    if path is None or not path.exists():
        return []
    lines = [line.split("#", 1)[0].split() for line in path.read_text("utf-8").splitlines()]
    return [(parts[0], tuple(parts[1:])) for parts in lines if parts]


# -- sandbox --------------------------------------------------------------------------------


@cli.command("sandbox")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="Port to listen on (0 picks a free one).",
)
@click.option(
    "--time-scale",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="How many times faster than real time the sandbox's clock runs.",
)
@click.option(
    "--scenario",
    "scenario_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="A scenario TOML file: outcome mix, durations, per-number overrides.",
)
@click.option(
    "--rate-limit",
    type=click.IntRange(min=1),
    default=60,
    show_default=True,
    help="Requests per minute per API key.",
)
@click.option(
    "--capacity",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="Concurrent calls before POST /calls answers 202 queued.",
)
@click.option("--seed", type=int, default=1, show_default=True, help="Makes outcomes repeatable.")
@click.option(
    "--allow-remote",
    is_flag=True,
    help="Allow a non-loopback --host: anyone who reaches it can use the printed test key.",
)
def sandbox_server(
    host: str,
    port: int,
    time_scale: float,
    scenario_file: str | None,
    rate_limit: int,
    capacity: int,
    seed: int,
    allow_remote: bool,
) -> None:
    """Serve the Yappr-compatible sandbox API (no real calls, no cost) until Ctrl-C."""
    import asyncio
    import contextlib

    from dialer.errors import ConfigError
    from dialer.sandbox import SandboxConfig, Scenario, serve
    from dialer.sandbox.server import is_loopback

    if not (allow_remote or is_loopback(host)):
        raise click.UsageError(
            f"--host {host} is not a loopback address; add --allow-remote to serve other machines"
        )
    try:
        scenario = Scenario.from_toml(scenario_file) if scenario_file else Scenario()
    except ConfigError as error:
        raise click.ClickException(str(error)) from error
    config = SandboxConfig(
        time_scale=time_scale,
        rate_limit=rate_limit,
        capacity=capacity,
        scenario=scenario,
        seed=seed,
    )
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(config, host=host, port=port, allow_remote=allow_remote))
    except OSError as error:
        raise click.ClickException(f"cannot listen on {host}:{port}: {error.strerror}") from error


def main() -> None:
    """Console-script entry point."""
    try:
        cli()
    except KeyboardInterrupt:
        raise SystemExit(EXIT_INTERRUPTED) from None
