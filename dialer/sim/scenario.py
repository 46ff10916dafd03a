"""Seeded worlds for the simulation: one integer gives the whole story of a campaign.

:func:`generate` draws, from one seed, everything a campaign can meet: its leads and the zones
they ring in, its window (opening and closing during the run, near a DST change or not), its
retry policy and limits, how calls go (outcomes, durations, analyses late, failed or stuck),
what goes wrong between the dialer and the API (5xx before the effect, answers lost after it,
dropped connections, latency, 429 storms), what changes mid-run (a limit lowered, lines taken
away, numbers put on the DNC list), a local clock off by minutes either way, and the loop
steps at which the dialer's process dies. The same seed always gives the same world.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

#: Zones the simulated callees live in, with DST (Jerusalem, London, New York, Sydney) and
#: without; a lead may ring in several.
ZONES = (
    "Asia/Jerusalem",
    "Europe/London",
    "America/New_York",
    "America/Los_Angeles",
    "Australia/Sydney",
    "Asia/Tokyo",
)
#: Days around DST changes (2026): a window must keep to local time across them.
DST_DAYS = (
    datetime(2026, 3, 8, tzinfo=UTC),  # United States, spring forward
    datetime(2026, 3, 27, tzinfo=UTC),  # Israel
    datetime(2026, 3, 29, tzinfo=UTC),  # Europe
    datetime(2026, 4, 5, tzinfo=UTC),  # Australia, fall back
    datetime(2026, 10, 25, tzinfo=UTC),  # Europe, Israel
    datetime(2026, 11, 1, tzinfo=UTC),  # United States
)
OUTCOMES = ("completed", "no_answer", "busy", "failed", "voicemail", "transferred", "opt_out")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happens to the API at ``at`` seconds into the simulation."""

    at: float
    kind: str  # rate_limit | capacity | storm | dnc_add | faults_off | pause | resume | stop
    value: Any = None


@dataclass(frozen=True, slots=True)
class Other:
    """Another campaign on the same account (same window, retry and DNC settings)."""

    name: str
    phones: tuple[str, ...]
    zones: tuple[str, ...]
    max_live_calls: int = 3
    weight: float = 1.0
    own_process: bool = False  # started from another terminal: it joins the account's run
    start_after: float = 0.0  # seconds into the world


@dataclass(frozen=True)
class SimScenario:
    """One world; every field is drawn by :func:`generate` (or set by a named scenario)."""

    seed: int
    name: str = "random"
    start: datetime = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
    phones: tuple[str, ...] = ()
    zones: tuple[str, ...] = ()  # per lead: its zones, space-separated
    max_live_calls: int = 3
    requests_per_minute: int = 60  # the campaign's setting
    api_rate_limit: int = 60  # what the API allows per key
    capacity: int = 10  # the company's lines
    window: dict[str, Any] | None = None  # a [window] section
    retry_statuses: tuple[str, ...] = ("no_answer", "busy")
    max_attempts: int = 2
    delays_minutes: tuple[int, ...] = (2,)
    dnc_max_age_minutes: int = 30
    add_on_opt_out: bool = False
    skew_seconds: float = 0.0  # our clock minus the API's
    weights: dict[str, float] = field(default_factory=lambda: {"completed": 1.0})
    ring_seconds: tuple[float, float] = (2.0, 10.0)
    talk_seconds: tuple[float, float] = (10.0, 90.0)
    analysis_seconds: tuple[float, float] = (20.0, 90.0)
    analysis_failed_rate: float = 0.0
    analysis_stuck_rate: float = 0.0
    handed_back_rate: float = 0.0
    workspace_window: bool = False  # the API's own workspace window (202 scheduled)
    server_error_rate: float = 0.0
    lost_answer_rate: float = 0.0
    drop_rate: float = 0.0
    latency_seconds: float = 0.0
    answer_delay_seconds: float = 0.0
    handed_back_seconds: float = 20.0  # until the platform places a handed-back call
    fault_paths: tuple[str, ...] = ("POST /calls",)
    events: tuple[Event, ...] = ()
    dnc_at_start: tuple[str, ...] = ()
    crashes: tuple[int, ...] = ()  # loop steps at which every dialer process dies
    others: tuple[Other, ...] = ()  # more campaigns on the account
    horizon: timedelta = timedelta(days=3)
    # what a named world expects beyond the promises
    must_finish: bool = False  # the campaign finishes within the horizon
    all_called: bool = False  # every lead that may be called is called, none left unknown

    @property
    def replay(self) -> str:
        """The one line that replays this world."""
        if self.name != "random":
            return f"python -m dialer.sim --named {self.name}"
        return f"python -m dialer.sim --seed {self.seed}"


def generate(seed: int) -> SimScenario:
    """The world of ``seed`` (see the module docstring)."""
    rng = random.Random(f"sim:{seed}")
    count = rng.randint(1, 14)
    phones = tuple(f"+9725{rng.randint(30_000_000, 89_999_999)}" for _ in range(count))
    phones = tuple(dict.fromkeys(phones))  # distinct (a sheet is deduplicated at intake)
    start = _start(rng)
    lines = rng.randint(1, 5)
    zones = tuple(_zones(rng) for _ in phones)
    scenario = SimScenario(
        seed=seed,
        start=start,
        phones=phones,
        zones=zones,
        max_live_calls=lines,
        requests_per_minute=rng.choice((20, 60, 60, 120, 600)),
        api_rate_limit=rng.choice((20, 60, 60, 120, 600)),
        capacity=rng.choice((10, 10, lines)),  # a capacity event may lower it mid-run
        window=_window(rng) if rng.random() < 0.6 else None,
        retry_statuses=tuple(rng.sample(("no_answer", "busy", "voicemail", "failed"), 2)),
        max_attempts=rng.randint(1, 3),
        delays_minutes=(rng.choice((1, 2, 5, 30)),),
        dnc_max_age_minutes=rng.choice((5, 15, 60)),
        add_on_opt_out=rng.random() < 0.5,
        skew_seconds=rng.choice((0.0, 0.0, rng.uniform(-300, 300), rng.uniform(-5, 5))),
        weights={o: rng.random() for o in rng.sample(OUTCOMES, rng.randint(1, len(OUTCOMES)))},
        ring_seconds=(1.0, rng.uniform(2, 20)),
        talk_seconds=(5.0, rng.uniform(10, 300)),
        analysis_seconds=(rng.uniform(5, 60), rng.uniform(60, 200)),
        analysis_failed_rate=rng.choice((0.0, 0.0, 0.2)),
        analysis_stuck_rate=rng.choice((0.0, 0.0, 0.2)),
        handed_back_rate=rng.choice((0.0, 0.0, 0.0, 0.3)),
        workspace_window=rng.random() < 0.1,
        server_error_rate=rng.choice((0.0, 0.0, 0.1, 0.3)),
        lost_answer_rate=rng.choice((0.0, 0.0, 0.05, 0.2)),
        drop_rate=rng.choice((0.0, 0.0, 0.05, 0.2)),
        latency_seconds=rng.choice((0.0, 0.0, 0.3, 2.0)),
        answer_delay_seconds=rng.choice((0.0, 0.0, 0.3, 3.0)),
        fault_paths=rng.choice((("POST /calls",), ("POST /calls",), ())),
        events=_events(rng, phones),
        dnc_at_start=tuple(p for p in phones if rng.random() < 0.15),
        crashes=_crashes(rng),
        others=_others(rng, phones, zones),
    )
    names = ("sim", *(o.name for o in scenario.others))
    events = tuple(sorted(scenario.events + _controls(rng, names), key=lambda e: e.at))
    lines = max([lines, *(o.max_live_calls for o in scenario.others)])
    capacity = max(scenario.capacity, lines)  # a capacity event may lower it mid-run
    return replace(scenario, events=events, capacity=capacity)


def _start(rng: random.Random) -> datetime:
    """Mid-year, or a day before a DST change; at any hour (windows open and close)."""
    base = rng.choice((datetime(2026, 6, 3, tzinfo=UTC), *DST_DAYS))
    return base - timedelta(hours=rng.choice((0, 24))) + timedelta(minutes=rng.randint(0, 1439))


def _zones(rng: random.Random) -> str:
    """One zone, or (a fifth of the time) two or three a number may ring in."""
    many = rng.random() < 0.2
    return " ".join(sorted(rng.sample(ZONES, rng.randint(2, 3) if many else 1)))


def _window(rng: random.Random) -> dict[str, Any]:
    start = rng.randint(0, 20)
    end = min(24, start + rng.randint(1, 12))
    return {
        "days": list(rng.sample(DAYS, rng.randint(3, 7))),
        "start": f"{start:02d}:{rng.choice((0, 30)):02d}",
        "end": "24:00" if end == 24 else f"{end:02d}:00",
    }


def _events(rng: random.Random, phones: tuple[str, ...]) -> tuple[Event, ...]:
    events: list[Event] = []
    if rng.random() < 0.2:
        events.append(Event(rng.uniform(0, 1800), "rate_limit", rng.choice((10, 20, 30))))
    if rng.random() < 0.1:
        events.append(Event(rng.uniform(0, 1800), "capacity", rng.randint(1, 2)))
    if rng.random() < 0.2:
        events.append(Event(rng.uniform(0, 1800), "storm", rng.randint(1, 30)))
    for phone in phones:
        if rng.random() < 0.1:
            events.append(Event(rng.uniform(0, 3600), "dnc_add", phone))
    if rng.random() < 0.5:
        events.append(Event(rng.uniform(600, 7200), "faults_off"))
    return tuple(sorted(events, key=lambda e: e.at))


def _others(
    rng: random.Random, phones: tuple[str, ...], zones: tuple[str, ...]
) -> tuple[Other, ...]:
    """A quarter of the worlds run one or two more campaigns on the account, some from
    another terminal, some sharing numbers with the first (a number rings in the same
    zones whatever campaign calls it)."""
    if rng.random() >= 0.25:
        return ()
    known = dict(zip(phones, zones, strict=True))
    others = []
    for index in range(rng.randint(1, 2)):
        own = tuple(f"+9725{rng.randint(30_000_000, 89_999_999)}" for _ in range(rng.randint(1, 8)))
        shared = tuple(p for p in phones if rng.random() < 0.3)
        numbers = tuple(dict.fromkeys(own + shared))
        for number in numbers:
            known.setdefault(number, _zones(rng))
        others.append(
            Other(
                name=f"other-{index + 1}",
                phones=numbers,
                zones=tuple(known[n] for n in numbers),
                max_live_calls=rng.randint(1, 4),
                weight=rng.choice((1.0, 1.0, 2.0, 0.5)),
                own_process=rng.random() < 0.5,
                start_after=rng.choice((0.0, rng.uniform(0, 900))),
            )
        )
    return tuple(others)


def _controls(rng: random.Random, names: tuple[str, ...]) -> tuple[Event, ...]:
    """People pausing, resuming and stopping campaigns from another terminal."""
    events: list[Event] = []
    for name in names:
        if rng.random() < 0.15:
            paused = rng.uniform(0, 1800)
            events.append(Event(paused, "pause", name))
            if rng.random() < 0.7:
                events.append(Event(paused + rng.uniform(10, 3600), "resume", name))
        if rng.random() < 0.05:
            events.append(Event(rng.uniform(0, 3600), "stop", name))
    return tuple(events)


def _crashes(rng: random.Random) -> tuple[int, ...]:
    if rng.random() < 0.4:
        return ()
    steps = sorted(rng.randint(1, 3000) for _ in range(rng.randint(1, 4)))
    return tuple(steps)
