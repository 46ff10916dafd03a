"""Every campaign of one account, dispatched by one process.

The process that holds the account's lease (see :meth:`dialer.store.Ledger.account_lease`)
runs an :class:`AccountScheduler`: one client (so one rate budget per key), one line pool and
one wake-up shared by a :class:`~dialer.dispatch.loop.Dispatcher` per campaign. It picks up
campaigns marked to run on the account in the ledger (a ``dialer run`` or ``resume`` from
another terminal joins this way, rather than competing), and applies what a person asks from
another terminal (``dialer pause``, ``resume``, ``stop``) within seconds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from dialer.dispatch.lines import LinePool
from dialer.dispatch.loop import Dispatcher
from dialer.dispatch.plan import Ending, RunResult
from dialer.store import Ledger

log = logging.getLogger("dialer.dispatch")

MakeDispatcher = Callable[[str], Dispatcher]


@dataclass
class _Running:
    dispatcher: Dispatcher
    task: asyncio.Task[RunResult]


class AccountScheduler:
    """Runs every campaign marked to run on ``account`` until none is left running."""

    def __init__(
        self,
        *,
        ledger: Ledger,
        account: str,
        make: MakeDispatcher,
        to_real: Callable[[float], float],
        pool: LinePool,
        poll: float = 2.0,
    ) -> None:
        """``poll``: clock seconds between looks at the ledger for new campaigns and for what
        people asked (pause, resume, stop)."""
        self.ledger = ledger
        self.account = account
        self._make = make
        self._to_real = to_real
        self._pool = pool
        self._poll = poll
        self._running: dict[str, _Running] = {}
        self._ended: dict[str, Ending] = {}
        self._stopping = False
        self.started: list[str] = []

    def request_stop(self) -> None:
        """Ctrl-C: every campaign stops claiming; calls in flight are recorded."""
        self._stopping = True
        for running in self._running.values():
            running.dispatcher.request_stop()

    async def run(self) -> dict[str, RunResult]:
        """Dispatch until no campaign of the account is left running; their results."""
        results: dict[str, RunResult] = {}
        try:
            while True:
                self._start_new()
                self._apply_controls()
                if not self._running:
                    return results
                await self._collect(results)
        except BaseException:
            for running in self._running.values():
                running.task.cancel()
            await asyncio.gather(*(r.task for r in self._running.values()), return_exceptions=True)
            raise

    def _start_new(self) -> None:
        """A dispatcher for each campaign to dispatch that has none: again, if it ended
        paused and is to run now; paused (or stopped) from the start, if it only has calls in
        flight to follow."""
        if self._stopping:
            return
        for name, control in self.ledger.campaigns_to_dispatch(self.account):
            ended = self._ended.get(name)
            if name in self._running or (ended is not None and ended != Ending.PAUSED):
                continue
            if ended == Ending.PAUSED and control != "run":
                continue  # it followed its calls to their end already; it waits for a person
            dispatcher = self._make(name)
            _control(dispatcher, control)
            task = asyncio.create_task(dispatcher.run(), name=f"campaign {name}")
            self._running[name] = _Running(dispatcher, task)
            self._ended.pop(name, None)
            self.started.append(name)
            log.info("dispatching campaign %r on this account", name)

    def _apply_controls(self) -> None:
        """What people asked from another terminal: pause, resume, stop; and the lines calls
        of the account's other campaigns hold (runs of theirs that were interrupted)."""
        self._pool.reserved = self.ledger.in_flight_on(self.account, exclude=self._members())
        if not self._running:
            return
        for name, control in self.ledger.controls(list(self._running)).items():
            _control(self._running[name].dispatcher, control)

    def _members(self) -> list[str]:
        """Campaigns whose dispatcher (running or ended) counts its own lines on the pool."""
        return [*self._running, *self._ended]

    async def _collect(self, results: dict[str, RunResult]) -> None:
        """Wait a poll interval (or until a campaign ends); keep the results of those done."""
        tasks = {r.task: name for name, r in self._running.items()}
        done, _ = await asyncio.wait(
            tasks, timeout=self._to_real(self._poll), return_when=asyncio.FIRST_COMPLETED
        )
        for task in done:
            name = tasks[task]
            del self._running[name]
            result = task.result()  # a fatal error (the ledger) ends every campaign
            results[name] = result
            self._ended[name] = result.ending


def _control(dispatcher: Dispatcher, control: str) -> None:
    """Carry a person's ``run``/``pause``/``stop`` to a campaign's dispatcher."""
    if control == "stop":
        dispatcher.cancel()
    else:
        dispatcher.pause(control == "pause")
