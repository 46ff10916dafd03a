"""The design's promises, checked as invariants from the API's side of the wire.

The monitor sits between the dialer's transport and the sandbox and sees every request as it
arrives, on the sandbox's (true) clock. After every step of the event loop, and at the end,
it checks:

* nobody is called beyond their allowed attempts (keys per number, and calls per number);
* no number the API has blocked for longer than the DNC cache may be old is ever POSTed;
* no request beyond the rate window (a 429 the dialer caused) and never more calls live than
  the campaign's cap, nor a call queued by the platform for want of lines;
* no POST while the calling window is closed in any zone the number may ring in;
* at the end, every lead is final or waiting, with a reason.

A broken promise raises :class:`PromiseBroken` at once, naming what and when.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter, defaultdict
from datetime import datetime, timedelta

from dialer.models import FINAL_STATUSES, LeadStatus
from dialer.sandbox.http import ApiReply, ApiRequest
from dialer.sandbox.server import Sandbox
from dialer.sim.scenario import SimScenario
from dialer.store import Ledger
from dialer.window import CallingWindow

#: Statuses a lead may be left in at the end besides the final ones: it waits for a time.
WAITING = frozenset(
    {
        LeadStatus.RETRY_WAIT,
        LeadStatus.SCHEDULED,
        LeadStatus.RESEND_WAIT,
        LeadStatus.PLATFORM_QUEUED,
        LeadStatus.UNKNOWN,
    }
)


class PromiseBroken(AssertionError):
    """An invariant failed: a promise of the design was broken in this world."""


class Monitor:
    """Watches one simulated campaign (see the module docstring)."""

    def __init__(
        self,
        scenario: SimScenario,
        sandbox: Sandbox,
        *,
        window: CallingWindow | None,
        agent_id: str,
    ) -> None:
        self.scenario = scenario
        self.sandbox = sandbox
        self.window = window
        self.agent_id = agent_id
        self.zones = dict(zip(scenario.phones, scenario.zones, strict=True))
        for other in scenario.others:
            self.zones |= dict(zip(other.phones, other.zones, strict=True))
        caps = [scenario.max_live_calls, *(o.max_live_calls for o in scenario.others)]
        self.lines = max(caps)  # the account's lines: what its campaigns may use together
        self.keys: defaultdict[str, set[str]] = defaultdict(set)  # keys that may have dialled
        self.callers: defaultdict[str, set[str]] = defaultdict(set)  # campaigns per number
        self.active: dict[str, tuple[float, float]] = {}  # campaign -> first, last POST
        self.posts = 0
        self.requests = 0
        self.queued = 0
        self.rate_limited = 0
        self.violations: list[str] = []
        self.trace: list[str] = []  # every POST /calls and its answer, for a failing world
        self.posted: list[tuple[float, str]] = []  # (clock time, campaign) of every POST
        self._limit_changed: float | None = None  # clock time of a lowered limit
        self._capacity_lowered = False

    # -- requests ----------------------------------------------------------------------------

    async def serve(self, request: ApiRequest) -> ApiReply:
        """Check a request as it arrives, pass it to the sandbox, check its answer."""
        self.requests += 1
        if request.method == "POST" and request.path == "/calls":
            self._check_post(request)
        storms_left = self.sandbox.faults.rate_429_storm
        reply = await self.sandbox.handle(request)
        self._check_reply(request, reply, forced=storms_left > self.sandbox.faults.rate_429_storm)
        if request.method == "POST" and request.path == "/calls":
            self._trace(request, reply)
            if reply.status != 429:
                self._count_attempt(request)  # a 429 executed nothing: that try placed none
        return reply

    def _check_post(self, request: ApiRequest) -> None:
        """A POST /calls arrives: is it allowed now?"""
        self.posts += 1
        to = str(json.loads(request.body).get("to"))
        now = self.sandbox.clock.now()
        if to not in self.zones:
            self._broken(f"POST for {to}, which is not a lead of the campaign")
        elif self.window is not None and not self.window.is_open(self.zones[to], now):
            self._broken(f"POST for {to} at {now.isoformat()}: window closed in {self.zones[to]}")
        self._check_dnc(to, now)

    def _trace(self, request: ApiRequest, reply: ApiReply) -> None:
        at = self.sandbox.clock.now().isoformat(timespec="seconds")
        body = json.loads(request.body)
        campaign = body.get("metadata", {}).get("dialer_campaign")
        key = request.headers.get("Idempotency-Key", "")
        answer = "dropped" if reply.drop else str(reply.status)
        self.trace.append(f"{at} POST {body.get('to')} {campaign} key={key[:8]} -> {answer}")
        self.posted.append((self.sandbox.clock.time(), str(campaign)))

    def _count_attempt(self, request: ApiRequest) -> None:
        """A POST that may have placed a call: its key counts as one attempt of its campaign
        on the number."""
        body = json.loads(request.body)
        to, campaign = str(body.get("to")), str(body.get("metadata", {}).get("dialer_campaign"))
        self.keys[f"{campaign} {to}"].add(request.headers.get("Idempotency-Key", ""))
        self.callers[to].add(campaign)
        now = self.sandbox.clock.time()
        first, _ = self.active.get(campaign, (now, now))
        self.active[campaign] = (first, now)
        tried = len(self.keys[f"{campaign} {to}"])
        if tried > self.scenario.max_attempts:
            self._broken(f"{to} got {tried} attempts (max {self.scenario.max_attempts})")

    def _check_dnc(self, to: str, now: datetime) -> None:
        """Blocked long enough that a cache of ``max_age`` must know it: never POSTed."""
        entry = self.sandbox.world.dnc.blocking(to, self.agent_id, now)
        max_age = timedelta(minutes=self.scenario.dnc_max_age_minutes)
        if entry is not None and entry.created_at <= now - max_age:
            self._broken(f"POST for {to}: on the DNC list since {entry.created_at.isoformat()}")

    def _check_reply(self, request: ApiRequest, reply: ApiReply, *, forced: bool) -> None:
        if reply.status == 429:
            self.rate_limited += 1
            if not forced and not self._limit_just_changed():
                self._broken(f"a 429 the dialer caused: {request.method} {request.path}")
        if request.path == "/calls" and request.method == "POST" and reply.status == 202:
            body = json.loads(reply.body or b"{}")
            if body.get("queue_position") is not None:
                self.queued += 1
                if not self._capacity_lowered:
                    self._broken("a call queued by the platform: more calls than lines")

    def _limit_just_changed(self) -> bool:
        """A lowered limit shows only in the next answer: requests already sent may meet a
        429 until the window after the change is over."""
        changed = self._limit_changed
        return changed is not None and self.sandbox.clock.time() < (changed // 60 + 2) * 60

    # -- what changes --------------------------------------------------------------------------

    def limit_lowered(self) -> None:
        """The API's rate limit was lowered now."""
        self._limit_changed = self.sandbox.clock.time()

    def capacity_lowered(self) -> None:
        """The company's lines were taken away now."""
        self._capacity_lowered = True

    # -- steps and the end ---------------------------------------------------------------------

    def step(self) -> None:
        """After every step of the event loop: the line cap, then any broken promise."""
        live = self.sandbox.world.live
        if live > self.lines and not self._capacity_lowered:
            self._broken(f"{live} calls live, above the account's {self.lines} lines")
        if self.violations:
            raise PromiseBroken(self.violations[0])

    def end(self, ledger: Ledger, name: str) -> Counter[str]:
        """At the end: every lead final or waiting with a reason; calls per number."""
        statuses: Counter[str] = Counter()
        record = ledger.campaign(name)
        paused = record is not None and record.control == "pause"
        for lead in ledger.leads_of(name):
            status = LeadStatus(lead["status"])
            statuses[status.value] += 1
            waits = status in WAITING or (paused and status == LeadStatus.PENDING)
            if status not in FINAL_STATUSES and not waits:
                self._broken(f"lead {lead['phone']} ended {status} (neither final nor waiting)")
            if not lead["reason"] and status != LeadStatus.PENDING:  # pending: not called yet
                self._broken(f"lead {lead['phone']} ended {status} without a reason")
        for phone, legs in Counter(self.sandbox.carrier_legs).items():
            keys = sum(len(self.keys[f"{c} {phone}"]) for c in self.callers[phone])
            if legs > keys or legs > self.scenario.max_attempts * len(self.callers[phone]):
                self._broken(f"{phone} was dialled {legs} times ({keys} keys)")
        self._two_campaigns_at_once()
        if self.violations:
            raise PromiseBroken(self.violations[0])
        return statuses

    def _two_campaigns_at_once(self) -> None:
        """A number is called by one campaign only while they run at the same time (after
        one has finished, another may call it, if no cool-down says otherwise)."""
        for phone, campaigns in self.callers.items():
            spans = sorted(self.active[c] for c in campaigns)
            for (_, last), (first, _) in itertools.pairwise(spans):
                if first <= last:
                    self._broken(f"{phone} was called by {sorted(campaigns)} running together")

    def _broken(self, what: str) -> None:
        at = self.sandbox.clock.now().isoformat(timespec="seconds")
        self.violations.append(f"{what} [t={at}]")
