"""What a person sees on the terminal: summary tables and the live progress display.

On a terminal the run shows a live panel (rich); when output is piped or logged it prints a
plain line every few seconds instead, so CI logs and ``nohup`` files stay readable.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from types import TracebackType

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from dialer.dispatch import Progress, RunResult
from dialer.models import FINAL_STATUSES, LeadStatus

#: The order statuses are listed in, everywhere.
STATUS_ORDER = [
    "pending",
    "scheduled",
    "retry_wait",
    "dialing",
    "live",
    "platform_queued",
    "unknown",
    "completed",
    "voicemail",
    "no_answer",
    "busy",
    "failed",
    "transferred",
    "rejected",
    "exhausted",
    "dnc_blocked",
    "no_window",
    "duplicate",
    "invalid",
]


def ordered(counts: Mapping[str, int]) -> list[tuple[str, int]]:
    """Counts in the house order, statuses with zero leads left out."""
    known = [(s, counts[s]) for s in STATUS_ORDER if counts.get(s)]
    extra = [(s, n) for s, n in sorted(counts.items()) if s not in STATUS_ORDER and n]
    return known + extra


def counts_table(title: str, counts: Mapping[str, int]) -> Table:
    """A two-column table: status, leads; with a total line."""
    table = Table(title=title, title_justify="left", min_width=len(title))
    table.add_column("status")
    table.add_column("leads", justify="right")
    for status, n in ordered(counts):
        table.add_row(status, f"{n:,}")
    table.add_section()
    table.add_row("total", f"{sum(counts.values()):,}")
    return table


def finished_count(counts: Mapping[str, int]) -> int:
    """Leads in a final status."""
    finals = {s.value for s in FINAL_STATUSES}
    return sum(n for s, n in counts.items() if s in finals)


def progress_line(p: Progress) -> str:
    """One plain line: placed, live, outcomes so far, request rate, ETA."""
    total = sum(p.counts.values())
    done = finished_count(p.counts)
    elapsed = max((p.now - p.started).total_seconds(), 1e-9)
    rate = p.placed / elapsed * 60
    reached = sum(p.counts.get(s, 0) for s in ("completed", "transferred"))
    return (
        f"{done:,}/{total:,} leads final · {p.placed:,} calls placed · {p.live} live · "
        f"{reached:,} reached · {rate:.1f} calls/min · {p.requests:,} API requests "
        f"({p.rate_limited} rate-limited) · ETA {_eta(p, total, done)}"
    )


def _eta(p: Progress, total: int, done: int) -> str:
    elapsed = (p.now - p.started).total_seconds()
    if done == 0 or elapsed <= 0:
        return "unknown"
    remaining = elapsed / done * (total - done)
    real = _duration(timedelta(seconds=remaining / p.time_scale))
    if p.time_scale == 1.0:
        return real
    return f"{real} ({_duration(timedelta(seconds=remaining))} of sandbox time)"


def _duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m{rest % 60:02d}s"


class ProgressView:
    """A live panel on a terminal; a plain line every ``every`` seconds elsewhere."""

    def __init__(self, console: Console, *, every: float = 5.0) -> None:
        self.console = console
        self.every = every
        self._live: Live | None = None
        self._last = 0.0

    def __enter__(self) -> ProgressView:
        if self.console.is_terminal:
            self._live = Live(console=self.console, refresh_per_second=4, transient=True)
            self._live.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._live is not None:
            self._live.__exit__(exc_type, exc, tb)

    def __call__(self, progress: Progress) -> None:
        if self._live is not None:
            table = counts_table("in progress", progress.counts)
            self._live.update(Group(table, Text(progress_line(progress))))
            return
        now = time.monotonic()
        if now - self._last >= self.every:
            self._last = now
            print(progress_line(progress), file=sys.stdout, flush=True)


def ending_message(result: RunResult, name: str) -> str:
    """The one line that says how a run ended and what to do next."""
    unknown = result.counts.get(LeadStatus.UNKNOWN.value, 0)
    hint = (
        f" {unknown} lead(s) are unknown: `dialer resume {name} --redial-unknown` resends "
        "them under their original keys."
        if unknown
        else ""
    )
    if result.ending == "finished":
        return f"Campaign {name!r} finished.{hint}"
    if result.ending == "waiting":
        when = _when(result.next_due)
        return (
            f"Nothing to call now; the next lead is due {when}. "
            f"Run `dialer resume {name}` then.{hint}"
        )
    if result.ending == "interrupted":
        return f"Interrupted. The ledger is consistent: `dialer resume {name}` continues.{hint}"
    return (
        f"Stopped by the API: {result.stop_error}. No lead was used up by the stop; "
        f"fix the cause, then `dialer resume {name}`."
    )


def _when(moment: datetime | None) -> str:
    return moment.isoformat(timespec="minutes") if moment else "never"
