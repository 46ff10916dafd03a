"""The sandbox's state and what happens to it over (clock) time.

Everything a request changes lives here: calls, the DNC list, the line queue, workflow call
requests. Changes are plain synchronous methods, run either by a request handler or by the
scheduler, so no two of them ever interleave.

Where the contract is silent, the choice made is the one that can never call a person twice
or call a blocked number; each such choice is commented where it is made.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter, deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dialer.clock import Clock, isoformat
from dialer.sandbox import catalog, lifecycle
from dialer.sandbox.analysis import Analysis, analyse_call
from dialer.sandbox.calls_body import Placement
from dialer.sandbox.calltable import CallTable
from dialer.sandbox.dnclist import DncEntry, DncList
from dialer.sandbox.failure import Fail
from dialer.sandbox.requests import CallRequests
from dialer.sandbox.scenario import Scenario
from dialer.sandbox.scheduler import Scheduler
from dialer.sandbox.settings import SandboxConfig

MINIMUM_BALANCE_CENTS = 300  # D-create: a balance of at least $3
#: A call the callee ends at once lasts this long (clock seconds): under the 3 s analysed.
HUNG_UP_SECONDS = (0.5, 2.9)


@dataclass
class Waiting:
    """A call waiting for a line, a window opening, or the platform's retry."""

    placement: Placement
    queue_id: str
    queued_at: float
    expires_at: float
    request_id: str | None = None  # set for workflow call requests
    mark_queued: bool = True  # the later call row says queued/queue_id/queue_wait_seconds


class World:
    """The sandbox workspace: one company, its agents, numbers, calls and DNC list."""

    def __init__(self, config: SandboxConfig, clock: Clock, scheduler: Scheduler) -> None:
        self.config = config
        self.clock = clock
        self.scheduler = scheduler
        self.scenario = config.scenario
        self._ids = random.Random(f"ids:{config.seed}")
        created = clock.now()
        self.agents = catalog.agents(created)
        for agent in self.agents.values():
            agent["extraction_parameters"] = extraction_parameters(self.scenario)
        self.numbers = catalog.phone_numbers(created)
        self.dnc = DncList(self.agents, self.new_id)
        self.calls = CallTable()
        self.carrier_legs: list[str] = []
        self.live = 0
        self.most_live = 0  # the most calls live at once, for whoever watches
        self.waiting: deque[Waiting] = deque()
        self.balance_cents = config.balance_cents
        self.monthly_spend_cents = 0
        self.requests = CallRequests(self)
        self._dials: Counter[str] = Counter()
        self._posts: Counter[str] = Counter()

    def new_id(self) -> str:
        """A fresh UUID4, repeatable for the seed."""
        return str(uuid.UUID(int=self._ids.getrandbits(128), version=4))

    # -- POST /calls ----------------------------------------------------------------------

    def place(self, placement: Placement) -> tuple[int, dict[str, Any]]:
        """Accept a validated call: the HTTP status and body POST /calls answers."""
        self._check_billing()
        if placement.workflow:
            return 202, self.requests.submit(placement)
        nth_post = self._posts[placement.to]
        self._posts[placement.to] += 1
        now = self.clock.now()
        entry = self.dnc.blocking(placement.to, placement.agent_id, now)
        if entry is not None:
            return 200, self._dnc_answer(placement, entry, placement.metadata)
        if not self.window_open(now):
            return 202, self._schedule(placement)
        seed = self.config.seed
        if self.scenario.chance(self.scenario.handed_back_rate, seed, "hb", placement.to, nth_post):
            return 202, self._hand_back(placement)
        if self.live >= self.config.capacity or self.waiting:
            # Behind anyone already waiting, so a line never jumps the queue.
            return 202, self._enqueue(placement)
        call = self.dial(placement, placement.metadata)
        keys = ("id", "status", "agent_id", "from", "to", "direction", "created_at", "metadata")
        return 201, {k: call[k] for k in keys}

    def _check_billing(self) -> None:
        """402 when billing is forced off, the monthly budget is spent, the account is
        suspended or has no payment method, or the balance is under the $3 minimum."""
        code = self.config.billing_error
        budget = self.config.monthly_budget_cents
        if code == "SPEND_BUDGET_REACHED" or (
            budget is not None and self.monthly_spend_cents >= budget
        ):
            raise Fail(
                402, "SPEND_BUDGET_REACHED", "The workspace's monthly spend budget is reached"
            )
        if self.config.is_suspended or not self.config.has_payment_method:
            raise Fail(
                402, "BILLING_ERROR", "Billing: the account is suspended or has no payment method"
            )
        low = self.balance_cents is not None and self.balance_cents < MINIMUM_BALANCE_CENTS
        if code is not None or low:
            raise Fail(402, "BILLING_ERROR", "Insufficient balance: at least $3 is required")

    def billing(self) -> dict[str, Any]:
        """GET /billing (docs/api.md §12); a null balance means the sandbox's is unlimited."""
        return {
            "balance_cents": self.balance_cents,
            "has_payment_method": self.config.has_payment_method,
            "is_suspended": self.config.is_suspended,
            "monthly_budget_cents": self.config.monthly_budget_cents,
            "monthly_spend_cents": self.monthly_spend_cents,
        }

    def window_open(self, now: datetime) -> bool:
        """Whether the workspace call window (if any) allows dialling now."""
        window = self.config.call_window
        return window is None or window.is_open(now)

    def waiting_entry(self, placement: Placement, *, start: float | None = None) -> Waiting:
        """A queue entry that expires ``queue_ttl_seconds`` after ``start`` (default now)."""
        begin = self.clock.time() if start is None else start
        return Waiting(
            placement, self.new_id(), self.clock.time(), begin + self.config.queue_ttl_seconds
        )

    def _enqueue(self, placement: Placement) -> dict[str, Any]:
        """At capacity: the 202 queued answer; the entry is dialled when a line frees."""
        item = self.waiting_entry(placement)
        self.waiting.append(item)
        return {
            "id": item.queue_id,
            "status": "queued",
            "queue_position": len(self.waiting),
            "queued_at": isoformat(self.clock.now()),
            "expires_at": _iso(item.expires_at),
            "message": "All lines are busy; the call was queued and will be placed automatically",
        }

    def _schedule(self, placement: Placement) -> dict[str, Any]:
        """Outside the call window: the 202 scheduled answer; placed at the next opening."""
        assert self.config.call_window is not None
        opening = self.config.call_window.next_opening(self.clock.now())
        if opening is None:
            raise Fail(422, "OUTSIDE_CALL_WINDOW", "The call window never opens; check its days")
        item = self.waiting_entry(placement, start=opening.timestamp())
        self.scheduler.at(opening.timestamp(), lambda: self.release_later(item))
        return {
            "id": item.queue_id,
            "status": "scheduled",
            "scheduled_for": isoformat(opening),
            "agent_id": placement.agent_id,
            "to": placement.to,
            "from": placement.from_,
            "queued_at": isoformat(self.clock.now()),
            "expires_at": _iso(item.expires_at),
            "message": "Outside the workspace call window; the call is placed at the next opening",
        }

    def _hand_back(self, placement: Placement) -> dict[str, Any]:
        """The rare 202 without an id: the platform retries the call itself, later."""
        item = self.waiting_entry(placement)
        self.scheduler.after(self.scenario.handed_back_seconds, lambda: self.release_later(item))
        return {
            "status": "queued",
            "message": "The call was prepared and handed back to the queue; it is retried "
            "automatically. Do not resend it.",
            "reason": "handed_back",
        }

    def release_later(self, item: Waiting) -> None:
        """A scheduled or handed-back call's time has come: it joins the line queue."""
        self.waiting.append(item)
        self.drain()

    def _dnc_answer(
        self, placement: Placement, entry: DncEntry, metadata: dict[str, Any]
    ) -> dict[str, Any]:
        """Write the dnc_blocked call row (no carrier leg, no charge) and build the 200 body."""
        call = lifecycle.dnc_blocked_call(
            self.new_id(),
            agent_id=placement.agent_id,
            to=placement.to,
            from_=placement.from_,
            metadata=metadata,
            now=self.clock.now(),
        )
        self.calls.add(call)
        return {
            "call_id": call["id"],
            "status": "dnc_blocked",
            "agent_id": placement.agent_id,
            "to": placement.to,
            "from": placement.from_,
            "message": "The destination is on the do-not-call list; the call was not placed",
            "dnc_reason": entry.reason,
            "started_at": call["started_at"],
            "ended_at": call["ended_at"],
        }

    # -- the line queue -------------------------------------------------------------------

    def drain(self) -> None:
        """Dial waiting calls while lines are free and the window is open."""
        while self.waiting and self.live < self.config.capacity:
            now = self.clock.now()
            if not self.window_open(now):
                # Never dial outside the window: try again at the next opening.
                assert self.config.call_window is not None
                opening = self.config.call_window.next_opening(now)
                if opening is not None:
                    self.scheduler.at(opening.timestamp(), self.drain)
                return
            self._release(self.waiting.popleft())

    def _release(self, item: Waiting) -> None:
        """Place one waiting call, unless it expired or its number is now on the DNC list."""
        now = self.clock.time()
        placement = item.placement
        if now >= item.expires_at:
            # An expired entry is never dialled late; a workflow request shows it.
            self.requests.expired(item.request_id)
            return
        metadata = dict(placement.metadata)
        if item.mark_queued:
            wait = round(now - item.queued_at)
            metadata.update(queued=True, queue_id=item.queue_id, queue_wait_seconds=wait)
        if item.request_id is not None:
            metadata["workflow_request_id"] = item.request_id
        # Re-check the DNC list at dial time: the number may have been added while waiting.
        entry = self.dnc.blocking(placement.to, placement.agent_id, self.clock.now())
        if entry is not None and item.request_id is not None:
            self.requests.failed(item.request_id, "request_failed")
        elif entry is not None:
            self._dnc_answer(placement, entry, metadata)
        else:
            call = self.dial(placement, metadata)
            self.requests.dispatched(item.request_id, call["id"])

    # -- the call lifecycle ---------------------------------------------------------------

    def dial(self, placement: Placement, metadata: dict[str, Any]) -> dict[str, Any]:
        """Create the call row, open a carrier leg and schedule how the call goes."""
        call = lifecycle.new_call(
            self.new_id(),
            agent_id=placement.agent_id,
            to=placement.to,
            from_=placement.from_,
            metadata=metadata,
            now=self.clock.now(),
        )
        self.calls.add(call)
        self.carrier_legs.append(placement.to)
        self.live += 1
        self.most_live = max(self.most_live, self.live)
        nth = self._dials[placement.to]
        self._dials[placement.to] += 1
        self._plan(call["id"], placement.to, nth)
        return call

    def _plan(self, call_id: str, to: str, nth: int) -> None:
        """Schedule answer and end of a call from the scenario (fixed for seed, number, nth)."""
        seed, scenario = self.config.seed, self.scenario
        outcome = scenario.outcome(seed, to, nth)
        ring = scenario.pick(scenario.ring_seconds, seed, "ring", to, nth)
        if outcome not in lifecycle.CONNECTED_OUTCOMES:
            ends = scenario.no_answer_seconds if outcome == "no_answer" else ring
            self.scheduler.after(ends, lambda: self._end(call_id, outcome, 0.0, f"{to}#{nth}"))
            return
        talk = scenario.pick(scenario.talk_seconds, seed, "talk", to, nth)
        if outcome == "voicemail":
            talk = min(talk, 25.0)  # a message, not a conversation
        elif outcome == "hung_up":
            talk = scenario.pick(HUNG_UP_SECONDS, seed, "talk", to, nth)
        self.scheduler.after(ring, lambda: self._answer(call_id))
        key = f"{to}#{nth}"
        self.scheduler.after(ring + talk, lambda: self._end(call_id, outcome, talk, key))

    def _answer(self, call_id: str) -> None:
        """The callee picked up."""
        with self.calls.changing(call_id) as call:
            lifecycle.answer(call, self.clock.now())

    def _end(self, call_id: str, outcome: str, talk: float, key: str) -> None:
        """The call is over: write its ending, free the line; a talked call's cost and
        analysis settle later (the analysis never, when the scenario makes it stuck). ``key``
        names the dial (number and how many before it), so what follows is fixed for the seed
        whatever order the calls were placed in."""
        with self.calls.changing(call_id) as call:
            lifecycle.finish(
                call, outcome, talk, self.clock.now(), failure_code=self.scenario.failure_code
            )
        self.live -= 1
        if outcome in lifecycle.CONNECTED_OUTCOMES:
            seed, scenario = self.config.seed, self.scenario
            settle = scenario.pick(scenario.cost_settle_seconds, seed, "cost", key)
            self.scheduler.after(settle, lambda: self._charge(call_id, lifecycle.cost_cents(talk)))
            result = analyse_call(scenario, seed, key, outcome, talk)
            if result is not None:
                delay = scenario.pick(scenario.analysis_seconds, seed, "analysis", key)
                self.scheduler.after(delay, lambda: self._analyse(call_id, result))
        self.drain()

    def _charge(self, call_id: str, cents: int) -> None:
        """The call's cost settles: charged to the balance and the month's spend."""
        with self.calls.changing(call_id) as call:
            lifecycle.charge(call, cents)
        self.monthly_spend_cents += cents
        if self.balance_cents is not None:
            self.balance_cents -= cents

    def _analyse(self, call_id: str, result: Analysis) -> None:
        """The analysis is final; a "Do Not Call" disposition puts the number on the DNC list."""
        with self.calls.changing(call_id) as call:
            lifecycle.analyse(call, result, self.clock.now())
        if result.disposition == "Do Not Call" and self.config.opt_out_adds_dnc:
            # The contract documents this for platform campaigns only; doing it for every call
            # is the choice that can never call someone who asked not to be called.
            self.dnc.add(
                call["to"], now=self.clock.now(), reason="Do Not Call disposition", source="auto"
            )


def extraction_parameters(scenario: Scenario) -> list[dict[str, Any]]:
    """The agents' ``extraction_parameters`` (docs/api.md §9): the scenario's fields."""
    return [
        {"name": f.name, "type": f.type}
        | ({"choices": list(f.choices)} if f.type == "category" else {})
        for f in scenario.extracted_fields
    ]


def _iso(seconds: float) -> str:
    """Clock Unix seconds in the API's timestamp form."""
    return isoformat(datetime.fromtimestamp(seconds, UTC))
