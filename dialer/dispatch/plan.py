"""What a run is given and what it gives back: the campaign plan, the run's options, how it
ended, and progress snapshots. Plain data."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from dialer.errors import ApiError
from dialer.state import RetryPolicy
from dialer.window import CallingWindow

#: How long the API keeps an Idempotency-Key (8 days, docs/api.md §3.3), less a day of margin:
#: a resend under the same key is safe only while the API still remembers it.
KEY_RETENTION = timedelta(days=7)
#: A call whose POST had an unknown effect may be ringing for at most this long after it was
#: sent: until then it holds a line and the sync looks for it.
MAYBE_LIVE = timedelta(minutes=15)
#: A platform hold that says nothing of its expiry (handed back, an unknown 2xx) is followed
#: this long; then its lead is ``unknown`` (never resent: the platform may still place it).
HOLD_WITHOUT_EXPIRY = timedelta(minutes=15)
#: A queued or scheduled hold is given up this long after its expiry (the platform's queue
#: dialler may be a little late).
HOLD_GRACE = timedelta(minutes=10)
#: An analysis still pending this long after its call ended is recorded as stuck (docs/api.md §5).
ANALYSIS_STUCK = timedelta(minutes=10)


class Ending(StrEnum):
    """How a run ended (what the CLI turns into an exit code)."""

    FINISHED = "finished"  # every lead final, or waiting for an analysis that did not come
    WAITING = "waiting"  # leads wait for a time (a retry, a window) beyond --max-wait
    INTERRUPTED = "interrupted"  # Ctrl-C or a signal: resumable
    STOPPED = "stopped"  # the API stopped the campaign (auth, billing, agent): resumable
    PAUSED = "paused"  # a person paused it (dialer pause): calls in flight ended; resumable


class CampaignState(StrEnum):
    """Where a campaign stands in the ledger."""

    READY = "ready"  # imported, never run
    RUNNING = "running"
    FINISHED = "finished"
    WAITING = "waiting"
    INTERRUPTED = "interrupted"
    STOPPED = "stopped"
    PAUSED = "paused"


@dataclass(frozen=True, slots=True)
class CampaignPlan:
    """What the dispatcher needs to know about a campaign (from the ledger's snapshot)."""

    name: str
    agent_id: str
    from_numbers: tuple[str, ...]
    variable_names: tuple[str, ...]
    metadata_names: tuple[str, ...]
    window: CallingWindow | None
    retry: RetryPolicy
    max_live_calls: int
    add_on_opt_out: bool = False
    dnc_max_age: timedelta = timedelta(hours=1)
    weight: float = 1.0  # its share of the account's lines and requests
    start_at: datetime | None = None  # nothing is placed before this instant
    cooldown: timedelta | None = None  # another campaign's call to a number blocks it this long


@dataclass(slots=True)
class RunOptions:
    """Tuning of one run; the defaults suit the real API."""

    sync_interval: float = 5.0  # clock seconds between outcome syncs while calls are live
    idle_sync_interval: float = 30.0  # ... while only analyses or holds are followed
    fast_sync_interval: float = 2.0  # ... at most this often while leads wait for a line
    analysis_wait: timedelta = timedelta(minutes=3)  # at the end, wait this long for analyses
    sync_overlap: float = 30.0  # clock seconds re-read on every sync (late writes)
    request_poll_interval: float = 60.0  # clock seconds between workflow request polls
    resend_delay: float = 60.0  # clock seconds before resending after the retries ran out
    max_wait: timedelta = timedelta(minutes=15)  # wait this long for the next due lead
    redial_unknown: bool = False
    with_transcripts: bool = False  # store each call's transcript (large, personal)
    follow_only: bool = False  # place nothing: follow calls and analyses (``dialer sync``)
    progress_interval: float = 2.0  # wall seconds between progress callbacks (a GROUP BY)
    control_interval: float = 2.0  # clock seconds between looks for pause/stop/new campaigns
    seed: int | None = None


@dataclass(slots=True)
class RunResult:
    """How a run ended, for the CLI to print and turn into an exit code."""

    ending: Ending
    counts: dict[str, int]
    next_due: datetime | None = None
    stop_error: ApiError | None = None
    placed: int = 0
    placing_seconds: float = 0.0  # wall time from the first claim to the last POST answer
    analyses_pending: int = 0


@dataclass(slots=True)
class Progress:
    """A snapshot for the progress display."""

    counts: dict[str, int]
    placed: int
    live: int
    started: datetime
    now: datetime
    requests: int = 0
    rate_limited: int = 0
    time_scale: float = 1.0  # the clock's speed (the sandbox runs faster than real time)
    notes: list[str] = field(default_factory=list)
