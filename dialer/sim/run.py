"""Run one simulated world: the real dispatcher, the real sandbox, a real ledger file, and a
manual clock, all in one process with no socket and no wall-clock wait.

The dialer runs as a sequence of *lives*. A life is what one ``dialer run``/``resume`` process
does: it opens the ledger file and dispatches through the production path
(:func:`dialer.campaign.dispatch`). A crash (at a loop step the scenario chose) ends a life
the way SIGKILL would: its transport is cut (answers on their way are lost, the sandbox still
carries out what reached it), its ledger connection is dropped (only what was committed
stays), and its tasks are cancelled; all it knew in memory is gone. The next life starts from
the ledger file alone. A life that ends "waiting" is followed by one started when the next lead
is due, as a person running ``dialer resume`` later would.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from dialer import campaign as ops
from dialer import operations
from dialer.clock import ManualClock, ShiftedClock, run_virtual
from dialer.config import Campaign
from dialer.dispatch import Ending, RunOptions, RunResult
from dialer.errors import ConfigError, DncStaleError
from dialer.sandbox import AGENT_ID, FROM_NUMBERS, CallWindow, Faults, Sandbox, SandboxConfig
from dialer.sandbox import Scenario as CallScenario
from dialer.sandbox.inprocess import InProcessTransport
from dialer.sandbox.server import IN_PROCESS_URL
from dialer.sim.monitor import Monitor, PromiseBroken
from dialer.sim.scenario import Event, Other, SimScenario
from dialer.store import CampaignRecord, Ledger
from dialer.window import CallingWindow

NAME = "sim"
#: Lives a world may take before the simulation says it never finishes.
MAX_LIVES = 60


@dataclass
class SimResult:
    """What one world came to."""

    scenario: SimScenario
    statuses: Counter[str]
    lives: int = 0
    crashes: int = 0
    posts: int = 0
    requests: int = 0
    legs: int = 0
    steps: int = 0
    endings: list[str] = field(default_factory=list)
    virtual_seconds: float = 0.0
    states: dict[str, str] = field(default_factory=dict)  # each campaign's state at the end


class _Life:
    """One dialer process: its ledger connection, its transport and its task."""

    def __init__(self, ledger: Ledger, transport: InProcessTransport) -> None:
        self.ledger = ledger
        self.transport = transport
        self.task: asyncio.Task[dict[str, RunResult]] | None = None
        self.killed = False

    def kill(self) -> None:
        """SIGKILL: no answer reaches it, nothing more is written, its tasks stop."""
        self.killed = True
        self.transport.sever()
        self.ledger.close()
        if self.task is not None:
            self.task.cancel()


@dataclass(frozen=True, slots=True)
class _Process:
    """A terminal a person runs the dialer from: the campaigns it was started with."""

    index: int
    names: tuple[str, ...]
    start_after: float


class Simulation:
    """One world (see the module docstring)."""

    def __init__(self, scenario: SimScenario, folder: Path) -> None:
        self.scenario = scenario
        self.folder = folder
        self.clock = ManualClock(scenario.start)
        self.sandbox = Sandbox(_sandbox_config(scenario), clock=self.clock)
        self.campaigns = {
            name: _campaign(scenario, folder, spec) for name, spec in _specs(scenario)
        }
        first = self.campaigns[NAME]
        window = CallingWindow.from_config(first.window) if first.window else None
        self.monitor = Monitor(scenario, self.sandbox, window=window, agent_id=AGENT_ID)
        self.result = SimResult(scenario, Counter())
        self._crashes = list(scenario.crashes)
        self._lives_now: dict[int, _Life] = {}
        self._steps = 0
        self._unfollowed: set[int] = set()  # terminals whose last run was killed
        self._reader: Ledger | None = None  # the world's own look at the ledger

    def run(self) -> SimResult:
        """Run the world to its end (raises :class:`PromiseBroken` on a broken promise)."""
        run_virtual(self._main(), self.clock, on_step=self._on_step)
        return self.result

    def _on_step(self) -> None:
        self._steps += 1
        self.monitor.step()
        if self._crashes and self._steps >= self._crashes[0]:
            self._crashes.pop(0)
            alive = [life for life in self._lives_now.values() if not life.killed]
            if alive:
                self.result.crashes += 1  # a power cut: every dialer process dies at once
            for life in alive:
                life.kill()

    async def _main(self) -> None:
        await self.sandbox.start(listen=False)
        self._schedule_events()
        self._import()
        try:
            await asyncio.gather(*(self._process(p) for p in self._processes()))
        finally:
            await self.sandbox.stop()
            if self._reader is not None:
                self._reader.close()
        with Ledger(self.folder / "ledger.db") as ledger:
            for name in self.campaigns:
                self.result.statuses.update(self.monitor.end(ledger, name))
        self._expectations()
        self.result.posts = self.monitor.posts
        self.result.requests = self.monitor.requests
        self.result.legs = len(self.sandbox.carrier_legs)
        self.result.steps = self._steps
        self.result.virtual_seconds = self.clock.elapsed

    def _processes(self) -> list[_Process]:
        """The first terminal runs the first campaign and those started with it; each campaign
        started from a terminal of its own is a process of its own."""
        others = self.scenario.others
        together = (NAME, *(o.name for o in others if not o.own_process))
        own = [_Process(i + 1, (o.name,), o.start_after) for i, o in enumerate(others)]
        return [_Process(0, together, 0.0), *(p for p in own if p.names[0] not in together)]

    def _expectations(self) -> None:
        """What a named world expects beyond the promises."""
        scenario, statuses = self.scenario, self.result.statuses
        with Ledger(self.folder / "ledger.db") as ledger:
            states = {name: ledger.campaign(name) for name in self.campaigns}
        self.result.states = {n: r.state for n, r in states.items() if r is not None}
        unfinished = [n for n, state in self.result.states.items() if state != "finished"]
        if scenario.must_finish and unfinished:
            raise PromiseBroken(f"not finished: {unfinished}; statuses {dict(statuses)}")
        if scenario.all_called:
            called = set(self.sandbox.carrier_legs)
            blocked = set(scenario.dnc_at_start)
            missed = [p for p in scenario.phones if p not in called and p not in blocked]
            if missed or statuses.get("unknown"):
                raise PromiseBroken(f"not called: {missed}; statuses {dict(statuses)}")

    async def _process(self, process: _Process) -> None:
        """Runs (and re-runs, after a crash or a wait) until its campaigns are done, or the
        world's horizon; a run killed past the horizon is resumed once more, to finish what
        it had in flight."""
        await self.clock.sleep(process.start_after)
        deadline = self.scenario.start + self.scenario.horizon
        while self.result.lives < MAX_LIVES and (
            self.clock.now() < deadline or process.index in self._unfollowed
        ):
            runnable = self._runnable(process.names)
            if runnable is None:
                return  # every campaign of this terminal is finished
            if not runnable:
                if process.index in self._unfollowed:
                    # paused or stopping, and a crash left its calls unfollowed: the person
                    # who sees that in `dialer status` runs `dialer sync`, then `dialer stop`
                    # again for a campaign whose stop the crash cut short
                    self.result.lives += 1
                    await self._one_life(process, self._paused(process.names), follow=True)
                    self._stop_again(process.names)
                await self.clock.sleep(60.0)  # paused: wait for a person to resume it
                continue
            self.result.lives += 1
            results = await self._one_life(process, runnable)
            if results is None:
                continue  # killed: the next life picks up from the ledger
            self.result.endings.extend(r.ending.value for r in results.values())
            if all(r.ending in (Ending.FINISHED, Ending.PAUSED) for r in results.values()):
                continue
            await self._wait_for(results.values(), deadline)
        if self.result.lives >= MAX_LIVES:
            raise AssertionError(f"the campaigns did not finish in {MAX_LIVES} runs")

    def _records(self, names: tuple[str, ...]) -> list[CampaignRecord | None]:
        """The campaigns as the ledger has them now, read on the world's own connection (a
        person's look, many times a world: opening the ledger each time would cost more
        than the dialer's own work)."""
        if self._reader is None:
            self._reader = Ledger(self.folder / "ledger.db")
        return [self._reader.campaign(name) for name in names]

    def _runnable(self, names: tuple[str, ...]) -> list[str] | None:
        """The campaigns a person would run or resume now (none paused or stopped, none
        finished); None when all are finished."""
        records = self._records(names)
        live = [r for r in records if r is not None and r.state != "finished"]
        if not live:
            return None
        return [r.name for r in live if r.control == "run"]

    def _paused(self, names: tuple[str, ...]) -> list[str]:
        """The campaigns of ``names`` a person paused or stopped that are not finished."""
        records = self._records(names)
        return [r.name for r in records if r and r.control != "run" and r.state != "finished"]

    def _stop_again(self, names: tuple[str, ...]) -> None:
        """``dialer stop`` once more for each campaign a person stopped that is not finished
        (with no process running it, the stop takes effect in the ledger at once)."""
        for record in self._records(names):
            if record and record.control == "stop" and record.state != "finished":
                assert self._reader is not None  # opened by _records
                operations.stop_campaign(self._reader, record.name, now=self.clock.now())

    async def _one_life(
        self, process: _Process, names: list[str], *, follow: bool = False
    ) -> dict[str, RunResult] | None:
        """One run of the dialer (``dialer sync`` with ``follow``); None if it was killed or
        refused to start."""
        self._unfollowed.discard(process.index)
        ledger = Ledger(self.folder / "ledger.db")
        life = _Life(ledger, InProcessTransport(self.monitor.serve))
        self._lives_now[process.index] = life
        seed = self.scenario.seed * 1000 + self.result.lives
        connection = ops.Connection(
            IN_PROCESS_URL,
            self.sandbox.api_key,
            ShiftedClock(self.clock, timedelta(seconds=self.scenario.skew_seconds)),
            account="sim",
            transport=life.transport,
            seed=seed,
        )
        options = RunOptions(
            seed=seed,
            max_wait=timedelta(hours=2),
            progress_interval=1e9,
            control_interval=10.0 if self._controlled() else 600.0,
        )
        records = [ops.find_campaign(ledger, name) for name in names]
        if follow:
            life.task = asyncio.create_task(self._sync(records, ledger, connection, options))
        else:
            life.task = asyncio.create_task(
                ops.dispatch_all(records, ledger=ledger, connection=connection, options=options)
            )
        try:
            return await life.task
        except DncStaleError:
            # the run refused to start on a stale DNC list it could not refresh (promise 2):
            # a person tries again a little later
            await self.clock.sleep(600.0)
            return None
        except ConfigError:
            if not follow:
                raise
            return None  # another process dispatches the account and follows the calls
        except BaseException:
            if not life.killed:
                raise
            self._unfollowed.add(process.index)
            return None
        finally:
            if not life.killed:
                ledger.close()

    @staticmethod
    async def _sync(
        records: list[CampaignRecord],
        ledger: Ledger,
        connection: ops.Connection,
        options: RunOptions,
    ) -> dict[str, RunResult]:
        """``dialer sync`` of each campaign in turn."""
        sync = partial(ops.sync_campaign, ledger=ledger, connection=connection, options=options)
        return {r.name: await sync(r) for r in records}

    def _controlled(self) -> bool:
        """Whether people pause, resume or stop campaigns in this world."""
        return any(e.kind in ("pause", "resume", "stop") for e in self.scenario.events)

    async def _wait_for(self, results: Iterable[RunResult], deadline: datetime) -> None:
        """Resume when the next lead is due (or a minute later: a stop, a cache refresh),
        unless that is past the world's horizon."""
        dues = [r.next_due for r in results if r.next_due is not None]
        due = min(dues, default=self.clock.now())
        wake = min(max(due, self.clock.now() + timedelta(minutes=1)), deadline)
        await self.clock.sleep((wake - self.clock.now()).total_seconds())

    # -- the world ----------------------------------------------------------------------------

    def _import(self) -> None:
        """The campaigns and their leads, straight into the ledger (intake is tested
        elsewhere)."""
        with Ledger(self.folder / "ledger.db") as ledger:
            for name, spec in _specs(self.scenario):
                campaign = self.campaigns[name]
                rows = [
                    (i + 1, phone, phone, zones, "pending", "", "[]")
                    for i, (phone, zones) in enumerate(zip(spec.phones, spec.zones, strict=True))
                ]
                ledger.create_campaign(
                    name=name,
                    agent_id=AGENT_ID,
                    settings=campaign.model_dump(mode="json", by_alias=True),
                    campaign_file=None,
                    leads_file=f"{name}.csv",
                    leads_sha256=name,
                    variable_names=[],
                    metadata_names=[],
                    rows=rows,
                    now=self.clock.now(),
                )
        for phone in self.scenario.dnc_at_start:
            self.sandbox.add_dnc(phone, reason="listed before the campaign")

    def _schedule_events(self) -> None:
        start = self.clock.time()
        for event in self.scenario.events:
            self.sandbox.scheduler.at(start + event.at, partial(self._happen, event))

    def _happen(self, event: Event) -> None:
        if event.kind == "rate_limit":
            self.sandbox.set_rate_limit(int(event.value))
            self.monitor.limit_lowered()
        elif event.kind == "capacity":
            self.sandbox.config.capacity = int(event.value)
            self.monitor.capacity_lowered()
        elif event.kind == "storm":
            self.sandbox.faults.rate_429_storm += int(event.value)
        elif event.kind == "dnc_add":
            self.sandbox.add_dnc(str(event.value), reason="asked during the campaign")
        elif event.kind == "faults_off":
            for name in ("server_error_rate", "lost_answer_rate", "drop_connection_rate"):
                setattr(self.sandbox.faults, name, 0.0)
        else:
            self._control(event)

    def _control(self, event: Event) -> None:
        """A person in another terminal: ``dialer pause/resume/stop NAME``."""
        name, now = str(event.value), self.clock.now()
        with Ledger(self.folder / "ledger.db") as ledger:
            if event.kind == "pause":
                operations.pause_campaign(ledger, name, now=now)
            elif event.kind == "stop":
                operations.stop_campaign(ledger, name, now=now)
            elif ledger.campaign(name) is not None:  # resume: it runs again when picked up
                ledger.set_control(name, "run", now=now)


def _sandbox_config(scenario: SimScenario) -> SandboxConfig:
    calls = CallScenario(
        weights=dict(scenario.weights),
        ring_seconds=scenario.ring_seconds,
        talk_seconds=scenario.talk_seconds,
        analysis_seconds=scenario.analysis_seconds,
        analysis_failed_rate=scenario.analysis_failed_rate,
        analysis_stuck_rate=scenario.analysis_stuck_rate,
        no_transcript_rate=0.0,
        handed_back_rate=scenario.handed_back_rate,
        handed_back_seconds=scenario.handed_back_seconds,
    )
    faults = Faults(
        server_error_rate=scenario.server_error_rate,
        lost_answer_rate=scenario.lost_answer_rate,
        drop_connection_rate=scenario.drop_rate,
        latency_seconds=scenario.latency_seconds,
        answer_delay_seconds=scenario.answer_delay_seconds,
        paths=scenario.fault_paths,
    )
    return SandboxConfig(
        rate_limit=scenario.api_rate_limit,
        capacity=scenario.capacity,
        scenario=calls,
        seed=scenario.seed,
        faults=faults,
        call_window=_workspace_window() if scenario.workspace_window else None,
        opt_out_adds_dnc=True,
    )


def _workspace_window() -> CallWindow:
    """The platform's own seeded window (its 202 ``scheduled`` answers)."""
    return CallWindow()


def _specs(scenario: SimScenario) -> list[tuple[str, Other]]:
    """Every campaign of the world: the first one and the others."""
    first = Other(
        NAME,
        scenario.phones,
        scenario.zones,
        max_live_calls=scenario.max_live_calls,
    )
    return [(NAME, first), *((o.name, o) for o in scenario.others)]


def _campaign(scenario: SimScenario, folder: Path, spec: Other) -> Campaign:
    data: dict[str, Any] = {
        "name": spec.name,
        "agent_id": AGENT_ID,
        "from": FROM_NUMBERS[0],
        "leads": str(folder / f"{spec.name}.csv"),
        "columns": {"phone": "Phone"},
        "pacing": {
            "max_live_calls": spec.max_live_calls,
            "requests_per_minute": scenario.requests_per_minute,
            "weight": spec.weight,
        },
        "retry": {
            "statuses": list(scenario.retry_statuses),
            "max_attempts": scenario.max_attempts,
            "delays_minutes": list(scenario.delays_minutes),
        },
        "dnc": {
            "max_age_minutes": scenario.dnc_max_age_minutes,
            "add_on_opt_out": scenario.add_on_opt_out,
        },
    }
    if scenario.window is not None:
        data["window"] = dict(scenario.window)
    return Campaign.model_validate(data)


def simulate(scenario: SimScenario) -> SimResult:
    """Run one world in a fresh temporary folder."""
    with tempfile.TemporaryDirectory(prefix="dialer-sim-") as folder:
        return Simulation(scenario, Path(folder)).run()
