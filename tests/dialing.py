"""Helpers for tests that run whole campaigns against the real sandbox, into real SQLite files.

Most run on virtual time (:class:`VirtualSandbox`, :func:`run_virtual_campaign`): the sandbox's
real pipeline in this process, reached through its in-process transport, on a
:class:`~dialer.clock.ManualClock` that jumps to the next timer whenever every task waits. An
hour-long campaign then takes no wall time and goes the same way every run (seeded sandbox,
seeded dispatcher). The same helpers (:func:`run_campaign`, :func:`connection`) also drive a
sandbox served on 127.0.0.1, for the tests that need a socket.
"""

from __future__ import annotations

import asyncio
import csv
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from dialer import campaign as ops
from dialer.clock import ManualClock, run_virtual
from dialer.dispatch import RunOptions, RunResult
from dialer.sandbox import AGENT_ID, FROM_NUMBERS, Sandbox, SandboxConfig
from dialer.store import Ledger

T = TypeVar("T")

#: Where virtual time starts unless a config says otherwise: a Monday, 09:00 UTC.
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
#: The seed of every dispatcher run on virtual time (retry jitter, attempt ids).
SEED = 1


def numbers(count: int, *, start: int = 0) -> list[str]:
    """Distinct valid Israeli mobile numbers in E.164."""
    return [f"+97253{1000000 + start + i:07d}" for i in range(count)]


def write_campaign(
    folder: Path,
    phones: Sequence[str],
    *,
    name: str = "test-campaign",
    agent_id: str = AGENT_ID,
    extra: str = "",
    retry: str = 'statuses = ["no_answer", "busy"]\nmax_attempts = 3\ndelays_minutes = [1, 2]',
    max_live_calls: int = 5,
    requests_per_minute: int = 600,
) -> Path:
    """A campaign file and its CSV of leads (display-formatted local numbers) in ``folder``."""
    leads = folder / f"{name}.csv"
    with leads.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Full Name", "Phone", "CRM Contact"])
        for i, phone in enumerate(phones):
            local = "0" + phone[4:] if phone.startswith("+972") else phone
            writer.writerow([f"ליד {i}", local, f"crm-{i}"])
    toml = folder / f"{name}.toml"
    toml.write_text(
        f"""name = "{name}"
agent_id = "{agent_id}"
from = "{FROM_NUMBERS[0]}"
leads = "{leads.name}"
default_region = "IL"

[columns]
phone = "Phone"
variables = {{ LeadName = "Full Name" }}
metadata = {{ contact_id = "CRM Contact" }}

[pacing]
max_live_calls = {max_live_calls}
requests_per_minute = {requests_per_minute}

[retry]
{retry}
{extra}
""",
        encoding="utf-8",
    )
    return toml


def connection(sandbox: Sandbox) -> ops.Connection:
    """A connection to the sandbox sharing its clock: over HTTP when it listens, else through
    a fresh in-process transport (with seeded retry jitter)."""
    if sandbox.listening:
        return ops.Connection(sandbox.base_url, sandbox.api_key, sandbox.clock, account="sandbox")
    return ops.Connection(
        sandbox.base_url,
        sandbox.api_key,
        sandbox.clock,
        account="sandbox",
        transport=sandbox.transport(),
        seed=SEED,
    )


@dataclass
class Outcome:
    """What a run left behind: its result, every lead row, every attempt row."""

    result: RunResult
    leads: list[dict[str, Any]]
    attempts: list[dict[str, Any]]

    def statuses(self) -> Counter[str]:
        return Counter(lead["status"] for lead in self.leads)

    def by_phone(self) -> dict[str, dict[str, Any]]:
        return {lead["phone"]: lead for lead in self.leads if lead["phone"]}


async def run_campaign(
    sandbox: Sandbox,
    toml: Path,
    db: Path,
    *,
    options: RunOptions | None = None,
    name: str | None = None,
) -> Outcome:
    """Import (once) and dispatch a campaign through the library, as ``dialer run`` does."""
    options = options or RunOptions(sync_interval=2.0, request_poll_interval=3.0, seed=SEED)
    with Ledger(db) as ledger:
        conn = connection(sandbox)
        if name is None:
            record, _ = await ops.prepare_run(toml, ledger=ledger, connection=conn)
        else:
            record = ops.find_campaign(ledger, name)
        result = await ops.dispatch(record, ledger=ledger, connection=conn, options=options)
        return Outcome(result, ledger.leads_of(record.name), ledger.attempts_of(record.name))


def legs_per_number(sandbox: Sandbox) -> Counter[str]:
    """How many real carrier legs each number got."""
    return Counter(sandbox.carrier_legs)


def max_overlap(intervals: Iterable[tuple[datetime, datetime]]) -> int:
    """The most intervals open at one instant."""
    events = sorted(
        [(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals],
        key=lambda e: (e[0], e[1]),
    )
    live = peak = 0
    for _, delta in events:
        live += delta
        peak = max(peak, live)
    return peak


class VirtualSandbox:
    """The real sandbox in this process on a manual clock; :meth:`run` runs a test's
    coroutine against it on virtual time. The sandbox stays readable after the run (its
    calls, carrier legs and answer counts)."""

    def __init__(
        self,
        config: SandboxConfig,
        *,
        start: datetime = START,
        horizon: timedelta = timedelta(days=7),
    ) -> None:
        self.clock = ManualClock(config.start or start)
        self.sandbox = Sandbox(config, clock=self.clock)
        self.horizon = horizon
        self._waits: list[tuple[Callable[[], bool], asyncio.Future[None]]] = []

    def run(self, main: Callable[[Sandbox], Awaitable[T]]) -> T:
        """``main(sandbox)`` to its end; fails if it is not done within ``horizon`` of
        virtual time (a run that never ends spins through virtual time, it does not hang)."""
        return run_virtual(self._bounded(main), self.clock, on_step=self._step)

    async def until(self, check: Callable[[], bool]) -> None:
        """Wait until ``check()`` holds: it is looked at between every two steps of the loop,
        so the waiter runs before anything else happens (no polling, no sleep)."""
        if check():
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waits.append((check, future))
        await future

    async def _bounded(self, main: Callable[[Sandbox], Awaitable[T]]) -> T:
        await self.sandbox.start(listen=False)
        deadline = asyncio.timeout(self.horizon.total_seconds())
        try:
            async with deadline:
                return await main(self.sandbox)
        except TimeoutError:
            if deadline.expired():
                raise AssertionError(f"not done after {self.horizon} of virtual time") from None
            raise
        finally:
            await self.sandbox.stop()

    def _step(self) -> None:
        for wait in list(self._waits):
            check, future = wait
            if future.done() or check():
                self._waits.remove(wait)
                if not future.done():
                    future.set_result(None)


def run_virtual_campaign(
    config: SandboxConfig,
    toml: Path,
    db: Path,
    *,
    options: RunOptions | None = None,
    before: Callable[[Sandbox], object] | None = None,
    start: datetime = START,
) -> tuple[Outcome, Sandbox]:
    """Import and dispatch a campaign (:func:`run_campaign`) against an in-process sandbox on
    virtual time; ``before(sandbox)`` sets the world up first (DNC entries, keys ...).
    Returns what the run left behind and the sandbox, to read what it saw."""
    world = VirtualSandbox(config, start=start)

    async def main(sandbox: Sandbox) -> Outcome:
        if before is not None:
            before(sandbox)
        return await run_campaign(sandbox, toml, db, options=options)

    return world.run(main), world.sandbox
