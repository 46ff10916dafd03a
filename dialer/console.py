"""What a person sees on the terminal: summary tables and the live progress display.

Progress goes to stderr, so stdout holds only the result. On a terminal it is a live panel
(rich); elsewhere it is an INFO log line every few seconds (``dialer -v`` shows it on stderr,
``--log-file`` keeps it), so a piped run prints its result and nothing else by default.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from dialer.dispatch import Progress, RunResult
from dialer.models import CALL_OUTCOMES, FINAL_STATUSES, LeadStatus

log = logging.getLogger("dialer.progress")


def _listing_group(status: LeadStatus) -> int:
    """0 not final yet, 1 a call's outcome, 2 ended without one (invalid, exhausted, ...)."""
    if status not in FINAL_STATUSES:
        return 0
    return 1 if status in CALL_OUTCOMES else 2


#: The order statuses are listed in, everywhere: by :func:`_listing_group`, and within a
#: group in the order :class:`LeadStatus` declares them.
STATUS_ORDER = [s.value for s in sorted(LeadStatus, key=_listing_group)]


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


def campaigns_table(found: Sequence[Mapping[str, Any]]) -> Table:
    """``dialer status`` with no name: one row per campaign of the ledger."""
    table = Table(title="campaigns", title_justify="left")
    for column in ("campaign", "state", "leads done", "live calls", "share", "next opening"):
        table.add_column(column, justify="right" if column in ("live calls", "share") else "left")
    for report in found:
        counts = report["counts"]
        table.add_row(
            report["name"],
            report["state"],
            f"{finished_count(counts):,} / {sum(counts.values()):,}",
            f"{report['live_calls']:,}",
            f"{report['share']:.0%}" if report["share"] else "-",
            report["next_due"] or "-",
        )
    return table


def validation_table(title: str, summary: Mapping[str, int]) -> Table:
    """``validate``'s figures in the order found (rows read first, to call last), no total:
    the figures overlap, so they do not add up."""
    table = Table(title=title, title_justify="left", min_width=len(title))
    table.add_column("figure")
    table.add_column("rows", justify="right")
    for label, n in summary.items():
        table.add_row(label, f"{n:,}")
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
    """Called with each :class:`Progress` of a run: on a terminal (and with ``live``) a panel
    that appears with the first report; elsewhere a log line every ``every`` seconds.

    The panel starts late on purpose: a question asked before the run (``run``'s consent)
    must not be drawn over.
    """

    def __init__(self, console: Console, *, live: bool = True, every: float = 5.0) -> None:
        self.console = console
        self.allow_live = live and console.is_terminal
        self.every = every
        self._live: Live | None = None
        self._closed = False
        self._last = 0.0

    def __enter__(self) -> ProgressView:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._closed = True
        if self._live is not None:
            self._live.__exit__(exc_type, exc, tb)

    def __call__(self, progress: Progress) -> None:
        if self.allow_live and not self._closed:
            self._panel().update(
                Group(counts_table("in progress", progress.counts), Text(progress_line(progress)))
            )
            return
        now = time.monotonic()
        if now - self._last >= self.every:
            self._last = now
            log.info("%s", progress_line(progress))

    def _panel(self) -> Live:
        """The live panel, started on first use."""
        if self._live is None:
            self._live = Live(console=self.console, refresh_per_second=4, transient=True)
            self._live.__enter__()
        return self._live


def ending_message(result: RunResult, name: str) -> str:
    """The one line that says how a run ended and what to do next."""
    unknown = result.counts.get(LeadStatus.UNKNOWN.value, 0)
    hint = (
        f" {unknown} lead(s) are unknown (the API could not tell whether they were called): "
        f"`dialer resume {name} --redial-unknown` calls them again."
        if unknown
        else ""
    )
    if result.analyses_pending:
        hint += (
            f" {result.analyses_pending} call analyses are not in yet: "
            f"`dialer sync {name}` fetches them later."
        )
    if result.ending == "finished":
        return f"Campaign {name!r} finished.{hint}"
    if result.ending == "paused":
        return (
            f"Campaign {name!r} is paused; its calls in flight ended. "
            f"`dialer resume {name}` dials again."
        )
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
