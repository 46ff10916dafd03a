"""Pacing against its bounds, on the deterministic simulation (virtual time, the real
dispatcher and sandbox, the default polling at its real-time equivalent).

1. Capacity-bound: 10 lines, minutes-long calls, the API's 60 requests/minute. The bound is
   what the lines allow: the calls' total line-time (ring + talk, as the sandbox ran them)
   over 10 lines. Target: makespan (first POST to last call's end) <= 1.05x the bound.
2. Rate-bound: 100 lines, short calls, 120 requests per fixed 60 s window, 282 POSTs. The
   bound is the whole windows the POSTs need: ceil(282 / 120) - 1 = 2 windows after the one
   the first POST leaves in. Target: the last POST leaves within 1.10x of that.

Both print the 429s the dialer caused and the calls the platform had to queue (targets 0).
Run: ``python -m benchmarks pacing``.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dialer.clock import parse_instant
from dialer.sim.run import Simulation
from dialer.sim.scenario import SimScenario

#: A window boundary of the API's fixed 60 s rate windows, on a quiet Wednesday.
START = datetime(2026, 6, 3, 8, 0, tzinfo=UTC)


def _phones(count: int) -> tuple[str, ...]:
    return tuple(f"+97253{6_000_000 + i:07d}" for i in range(count))


def _world(name: str, count: int, **fields: Any) -> SimScenario:
    return SimScenario(
        seed=3,
        name=name,
        start=START,
        phones=_phones(count),
        zones=("Asia/Jerusalem",) * count,
        max_attempts=1,
        weights={"completed": 1.0},
        analysis_seconds=(60.0, 120.0),
        **fields,
    )


def capacity_bound() -> dict[str, Any]:
    """10 lines, calls of 2–6 minutes, 60 requests/minute: makespan against the lines."""
    scenario = _world(
        "capacity-bound",
        200,
        max_live_calls=10,
        capacity=10,
        requests_per_minute=60,
        api_rate_limit=60,
        ring_seconds=(3.0, 15.0),
        talk_seconds=(120.0, 360.0),
    )
    sim = _run(scenario)
    calls = [c for c in sim.sandbox.calls.values() if c.get("ended_at")]
    first = min(parse_instant(c["created_at"]) for c in calls)
    last = max(parse_instant(c["ended_at"]) for c in calls)
    line_time = sum(
        (parse_instant(c["ended_at"]) - parse_instant(c["created_at"])).total_seconds()
        for c in calls
    )
    bound = line_time / scenario.max_live_calls
    makespan = (last - first).total_seconds()
    return {
        "regime": "capacity-bound",
        "calls": len(calls),
        "makespan_s": round(makespan),
        "bound_s": round(bound),
        "ratio": round(makespan / bound, 3),
        "target": "<= 1.05",
        **_costs(sim),
    }


def rate_bound() -> dict[str, Any]:
    """100 lines, short calls, 120 requests per window: the last POST against the windows."""
    scenario = _world(
        "rate-bound",
        282,
        max_live_calls=100,
        capacity=100,
        requests_per_minute=120,
        api_rate_limit=120,
        ring_seconds=(1.0, 5.0),
        talk_seconds=(10.0, 30.0),
    )
    sim = _run(scenario)
    posts = sorted(_post_times(sim))
    # the first POST leaves at the start of a window (the world starts on one): the others
    # need this many whole windows after it
    bound = (math.ceil(len(posts) / scenario.api_rate_limit) - 1) * 60.0
    spent = posts[-1] - posts[0]
    return {
        "regime": "rate-bound",
        "posts": len(posts),
        "last_post_s": round(spent, 1),
        "bound_s": round(bound, 1),
        "ratio": round(spent / bound, 3),
        "target": "<= 1.10",
        **_costs(sim),
    }


def _run(scenario: SimScenario) -> Simulation:
    with tempfile.TemporaryDirectory(prefix="bench-pacing-") as folder:
        sim = Simulation(scenario, Path(folder))
        sim.run()
    return sim


def _post_times(sim: Simulation) -> Iterator[float]:
    """When each call was created at the API (each POST that dialled), on its clock."""
    for call in sim.sandbox.calls.values():
        yield parse_instant(call["created_at"]).timestamp()


def _costs(sim: Simulation) -> dict[str, Any]:
    return {
        "self_429s": sim.monitor.rate_limited,
        "platform_queued": sim.monitor.queued,
        "requests": sim.monitor.requests,
    }


def run() -> Iterator[dict[str, Any]]:
    """Both regimes."""
    yield capacity_bound()
    yield rate_bound()
