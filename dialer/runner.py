"""A command's work from start to end: which API to reach, and a run a person can stop.

:func:`connect` gives the environment's API (``YAPPR_BASE_URL``, ``YAPPR_API_KEY``) or a sandbox
started in-process. :func:`run_campaigns` and :func:`resume_campaign` import or find a campaign
and dispatch it to its end; Ctrl-C and SIGTERM stop it in two steps (the first stops claiming
and lets requests in flight finish, the second cancels). Nothing here prints: the CLI gets
results, and is called back for progress, for a stop being under way, and for consent.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from dialer import campaign as ops
from dialer import estimate, reports
from dialer.dispatch import Ending, Progress, RunOptions, RunResult
from dialer.errors import DialerError
from dialer.estimate import Estimate
from dialer.models import FINAL_STATUSES
from dialer.store import CampaignRecord, Ledger

T = TypeVar("T")
log = logging.getLogger(__name__)

#: With a live key, a run asks a person before calling more leads than this.
CONFIRM_ABOVE = 100
LIVE_KEY_PREFIX = "ypr_live_"
_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Declined(DialerError):
    """A person answered no when asked to confirm; nothing was done."""


# -- which API ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SandboxSpec:
    """Use a fresh built-in sandbox, in-process, instead of the environment's API."""

    time_scale: float = 1.0
    dnc_seed: Path | None = None  # ``number [agent-id ...]`` lines put on its DNC list first


@asynccontextmanager
async def connect(sandbox: SandboxSpec | None = None) -> AsyncIterator[ops.Connection]:
    """The environment's API (on a local sandbox's clock, if it is one), or a new sandbox."""
    if sandbox is None:
        yield await ops.with_server_clock(ops.connection_from_env())
        return
    from dialer.sandbox import Sandbox, SandboxConfig

    async with Sandbox(SandboxConfig(time_scale=sandbox.time_scale)) as sb:
        log.info("sandbox at %s (time x%g): no real calls are made", sb.base_url, sb.clock.scale)
        for number, agents in read_dnc_seed(sandbox.dnc_seed):
            sb.add_dnc(number, agent_ids=agents, reason="demo: asked not to be called")
        yield ops.Connection(
            sb.base_url, sb.api_key, sb.clock, account=ops.account_of(sb.base_url, sb.api_key)
        )


async def using(sandbox: SandboxSpec | None, work: Callable[[ops.Connection], Awaitable[T]]) -> T:
    """``work(connection)`` on the API :func:`connect` picks; the sandbox stops after it."""
    async with connect(sandbox) as connection:
        return await work(connection)


def read_dnc_seed(path: Path | None) -> list[tuple[str, tuple[str, ...]]]:
    """``number [agent-id ...]`` lines of a DNC seed file (``#`` comments skipped)."""
    if path is None or not path.exists():
        return []
    lines = [line.split("#", 1)[0].split() for line in path.read_text("utf-8").splitlines()]
    return [(parts[0], tuple(parts[1:])) for parts in lines if parts]


# -- validate -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Validation:
    """What ``validate`` found, and where the per-row statuses were written."""

    summary: dict[str, int]
    statuses_csv: Path
    estimate: Estimate
    encoding: str | None = None  # how the sheet was read, e.g. "windows-1252 (detected)"


async def validate(
    campaign_file: Path,
    *,
    ledger: Ledger,
    connection: ops.Connection,
    leads: Path | None = None,
    out: Path | None = None,
    encoding: str | None = None,
) -> Validation:
    """Everything a run does before its first call; the per-row statuses go to a CSV; the
    time and cost of the calls to place are estimated (nothing is posted)."""
    summary, statuses, target, read_as = await ops.validate_campaign(
        campaign_file, ledger=ledger, connection=connection, leads=leads, out=out, encoding=encoding
    )
    reports.write_status_csv(statuses, target)
    found = await estimate.preflight(
        campaign_file, calls=summary["to call"], ledger=ledger, connection=connection
    )
    return Validation(summary, target, found, read_as)


# -- run, resume ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hooks:
    """What a caller is told, and asked, during a run; every hook is optional."""

    #: each progress report while dispatching (every couple of seconds)
    progress: Callable[[Progress], None] | None = None
    #: the first Ctrl-C or SIGTERM: requests in flight are finishing, nothing new starts
    stopping: Callable[[], None] | None = None
    #: ``consent(name, leads to call)`` when a live key is about to call many leads
    consent: Callable[[str, int], bool] | None = None


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """How a run ended, for which campaign, and whether it continued an earlier import."""

    name: str
    result: RunResult
    continued: bool = False  # ``run`` found the campaign imported from the same sheet


def leads_to_call(counts: Mapping[str, int]) -> int:
    """Leads not yet in a final status."""
    finals = {s.value for s in FINAL_STATUSES}
    return sum(n for status, n in counts.items() if status not in finals)


def needs_consent(api_key: str | None, to_call: int) -> bool:
    """True when a live key is about to call more than :data:`CONFIRM_ABOVE` leads."""
    return bool(api_key and api_key.startswith(LIVE_KEY_PREFIX)) and to_call > CONFIRM_ABOVE


async def run_campaigns(
    campaign_files: Sequence[Path],
    *,
    ledger: Ledger,
    connection: ops.Connection,
    options: RunOptions,
    leads: Path | None = None,
    hooks: Hooks = Hooks(),
    encoding: str | None = None,
    start_at: datetime | None = None,
) -> list[RunOutcome]:
    """Import each campaign (or find it imported from the same sheet) and dispatch them
    together on the account (with any other campaign running on it).

    A live key about to call many leads asks ``hooks.consent`` first; a no raises
    :class:`Declined` before any call (the imports stay, and the next run asks again).
    """
    prepared = []
    for campaign_file in campaign_files:
        record, imported = await ops.prepare_run(
            campaign_file, ledger=ledger, connection=connection, leads=leads, encoding=encoding
        )
        if not imported:
            log.info("campaign %r is already imported from this sheet: continuing it", record.name)
        if start_at is not None:
            ledger.set_start_at(record.name, start_at)
        counts = ledger.counts(record.name)
        _ask_consent(hooks, record.name, api_key=connection.api_key, counts=counts)
        prepared.append((ops.find_campaign(ledger, record.name), not imported))
    results = await dispatch_interruptibly(
        [record for record, _ in prepared],
        ledger=ledger,
        connection=connection,
        options=options,
        hooks=hooks,
    )
    return [RunOutcome(r.name, results[r.name], continued=c) for r, c in prepared]


def _ask_consent(
    hooks: Hooks, name: str, *, api_key: str | None, counts: Mapping[str, int]
) -> None:
    """Ask ``hooks.consent`` when the run needs it; a no raises :class:`Declined`."""
    to_call = leads_to_call(counts)
    if hooks.consent is None or not needs_consent(api_key, to_call):
        return
    if not hooks.consent(name, to_call):
        raise Declined(
            f"not confirmed: nothing was called. Campaign {name!r} stays imported; "
            "run it again to be asked again"
        )


async def resume_campaign(
    name: str,
    *,
    ledger: Ledger,
    connection: ops.Connection,
    options: RunOptions,
    hooks: Hooks = Hooks(),
) -> RunOutcome:
    """Dispatch a campaign the ledger already has, from where it stopped (a paused one is
    resumed; a run already dispatching its account picks it up)."""
    record = ops.find_campaign(ledger, name)
    results = await dispatch_interruptibly(
        [record], ledger=ledger, connection=connection, options=options, hooks=hooks
    )
    return RunOutcome(record.name, results[record.name])


class _Stopper:
    """Counts stop signals: the first asks the dispatcher to drain, the next cancels the run."""

    def __init__(self, on_stopping: Callable[[], None] | None) -> None:
        self.on_stopping = on_stopping
        self.dispatcher: ops.Stoppable | None = None
        self.task: asyncio.Future[dict[str, RunResult]] | None = None
        self.presses = 0

    def attach(self, dispatcher: ops.Stoppable) -> None:
        """Called by ``dispatch`` once the dispatcher exists."""
        self.dispatcher = dispatcher

    def press(self) -> None:
        """One Ctrl-C or SIGTERM (before the dispatcher exists, one is enough to cancel)."""
        self.presses += 1
        if self.presses == 1 and self.dispatcher is not None:
            if self.on_stopping is not None:
                self.on_stopping()
            self.dispatcher.request_stop()
        elif self.task is not None:
            self.task.cancel()


async def dispatch_interruptibly(
    records: Sequence[CampaignRecord],
    *,
    ledger: Ledger,
    connection: ops.Connection,
    options: RunOptions,
    hooks: Hooks = Hooks(),
) -> dict[str, RunResult]:
    """Dispatch to the end; a first stop signal drains, a second cancels (ending interrupted).

    Every ledger write is its own transaction, so a cancelled run leaves it consistent.
    """
    loop = asyncio.get_running_loop()
    stopper = _Stopper(hooks.stopping)
    stopper.task = asyncio.ensure_future(
        ops.dispatch_all(
            records,
            ledger=ledger,
            connection=connection,
            options=options,
            on_progress=hooks.progress,
            on_dispatcher=stopper.attach,
        )
    )
    # Signals reach only the main thread: run elsewhere, a run is stopped by cancelling it.
    handled = _SIGNALS if threading.current_thread() is threading.main_thread() else ()
    for sig in handled:
        loop.add_signal_handler(sig, stopper.press)
    try:
        return await stopper.task
    except asyncio.CancelledError:
        return {
            r.name: RunResult(ending=Ending.INTERRUPTED, counts=ledger.counts(r.name))
            for r in records
        }
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)


# -- after a run ----------------------------------------------------------------------------


def write_reports(ledger: Ledger, name: str, folder: Path) -> list[Path]:
    """Every report format of campaign ``name`` into ``folder``, as ``NAME-report.EXT``."""
    written = []
    for suffix in reports.FORMATS:
        target = folder / f"{name}-report{suffix}"
        reports.export(ledger, name, target)
        written.append(target)
    return written
