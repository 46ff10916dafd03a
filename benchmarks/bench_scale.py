"""Memory and per-lead cost against campaign size (issue 9, point 6).

A real campaign of N leads goes through ``dialer run`` in its own process, against a
``dialer sandbox`` in another, with the limits lifted: 1,000 lines, a rate budget no run can
use up, one attempt per lead, no calling window, calls of a few clock seconds. For each size
we print:

* ``seconds`` and ``leads_per_s``: the dispatch phase only, from the first attempt's start to
  the last lead's final move (the ledger's own timestamps, on the run's clock, turned into wall
  seconds); reading and importing the sheet is not counted;
* ``peak_rss_mb``: the dialer process's peak resident memory (``ru_maxrss`` of that child,
  from ``wait4``: the whole run, the import included); ``sandbox_rss_mb`` for the record.

The goals take the 10k run as the floor, measured in the same run: the 200k run's peak RSS at
most 50 MB above it, and its rate at least 0.90 of it.

Both processes are CPU-bound, so leads/s also depends on what else the machine runs: each row
says how many cores other processes kept busy meanwhile (``others_cores``, from
``/proc/stat`` less our two children), and the rate goal's row also gives the ratio of the CPU
each lead cost the dialer in the dispatch phase (``cpu_ms_per_lead``: its CPU time from the
first attempt in the ledger to its exit, per lead), which other load barely moves.

Run: ``python -m benchmarks scale`` (or ``make bench``). ``BENCH_SCALE_SIZES=10000,50000``
picks other sizes (the first is the floor, the last is compared with it).
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from dialer.sandbox import AGENT_ID, FROM_NUMBERS
from dialer.sandbox.catalog import TEST_API_KEY

SIZES = (10_000, 200_000)
TIME_SCALE = 100.0  # a 5 s call is 50 ms of wall time; a 5 s sync interval too
RSS_GROWTH_TARGET_MB = 50.0
RATE_RATIO_TARGET = 0.90

CAMPAIGN = f"""name = "scale"
agent_id = "{AGENT_ID}"
from = "{FROM_NUMBERS[0]}"
leads = "leads.csv"
default_region = "IL"

[columns]
phone = "Phone"
variables = {{ LeadName = "Name" }}

[pacing]
max_live_calls = 1000
requests_per_minute = 10000000

[retry]
statuses = []
max_attempts = 1
"""

# Calls of a few clock seconds; analyses and costs settle soon after; none gets stuck.
SCENARIO = """ring_seconds = [0.5, 1.5]
talk_seconds = [4, 8]
no_answer_seconds = 1.5
analysis_seconds = [2, 4]
cost_settle_seconds = [1, 2]
analysis_stuck_rate = 0.0
"""

_FINAL = (
    "completed",
    "voicemail",
    "no_answer",
    "busy",
    "failed",
    "transferred",
    "dnc_blocked",
    "rejected",
    "exhausted",
)


@dataclass(frozen=True)
class Figures:
    """One campaign's run."""

    leads: int
    called: int
    seconds: float  # wall seconds of the dispatch phase
    dialer: Usage
    sandbox: Usage
    wall_s: float
    others_cores: float  # CPU other processes used meanwhile, in cores
    dispatch_cpu_s: float  # the dialer's CPU from its first attempt to its exit

    @property
    def cpu_ms_per_lead(self) -> float:
        """Dialer CPU per lead called, in the dispatch phase."""
        return 1000 * self.dispatch_cpu_s / max(self.called, 1)

    @property
    def rate(self) -> float:
        """Leads called per second of the dispatch phase."""
        return self.called / self.seconds if self.seconds > 0 else 0.0


def _write_campaign(folder: Path, leads: int) -> Path:
    """``leads`` distinct valid Israeli mobile numbers, each with a name."""
    rows = "\n".join(f"053{i:07d},Lead {i}" for i in range(leads))
    (folder / "leads.csv").write_text("Phone,Name\n" + rows + "\n", encoding="utf-8")
    (folder / "scenario.toml").write_text(SCENARIO, encoding="utf-8")
    path = folder / "scale.toml"
    path.write_text(CAMPAIGN, encoding="utf-8")
    return path


def _start_sandbox(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``dialer sandbox`` on a free port of 127.0.0.1; returns it and its base URL."""
    log = folder / "sandbox.out"
    command = [sys.executable, "-m", "dialer", "sandbox", "--port", "0"]
    command += ["--time-scale", str(TIME_SCALE), "--rate-limit", str(10**9)]
    command += ["--capacity", "1000", "--scenario", str(folder / "scenario.toml")]
    with log.open("wb") as out:
        proc = subprocess.Popen(command, cwd=folder, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None:
            found = re.search(r"listening on (http://127\.0\.0\.1:\d+)", log.read_text("utf-8"))
            if found:
                return proc, found.group(1)
            time.sleep(0.05)
    except BaseException:
        _stop(proc)
        raise
    _stop(proc)
    raise RuntimeError(f"the sandbox did not start: {log.read_text('utf-8')[-2000:]}")


@dataclass(frozen=True)
class Usage:
    """What one child process used, from ``wait4`` (this child alone; ``RUSAGE_CHILDREN``
    would give the largest peak of every child, the sandbox's too)."""

    exit_code: int
    peak_rss_mb: float
    cpu_s: float


def _wait(proc: subprocess.Popen[bytes], *, block: bool = True) -> Usage | None:
    """Reap ``proc`` (None if it still runs and ``block`` is off)."""
    pid, status, usage = os.wait4(proc.pid, 0 if block else os.WNOHANG)
    if not pid:
        return None
    proc.returncode = os.waitstatus_to_exitcode(status)
    # Linux gives ru_maxrss in KiB
    return Usage(proc.returncode, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime)


def _stop(proc: subprocess.Popen[bytes]) -> Usage | None:
    """Stop a child we started (SIGTERM, then SIGKILL if it lingers). Not SIGINT: a
    benchmark started in the background has SIGINT ignored, and so do its children."""
    if proc.returncode is not None:
        return None
    proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if (usage := _wait(proc, block=False)) is not None:
            return usage
        time.sleep(0.05)
    proc.kill()
    return _wait(proc)


def _dispatch_seconds(db: Path) -> tuple[int, float]:
    """Leads called, and clock seconds from the first attempt to the last final lead."""
    marks = ",".join("?" * len(_FINAL))
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        first, called = conn.execute("SELECT min(started_at), count(*) FROM attempts").fetchone()
        (last,) = conn.execute(
            f"SELECT max(updated_at) FROM leads WHERE attempts > 0 AND status IN ({marks})",
            _FINAL,
        ).fetchone()
    conn.close()
    span = datetime.fromisoformat(last) - datetime.fromisoformat(first)
    return int(called), span.total_seconds()


def measure(leads: int) -> Figures:
    """Run one campaign of ``leads`` leads end to end; every process is stopped after it."""
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        folder = Path(tmp)
        toml = _write_campaign(folder, leads)
        sandbox, base_url = _start_sandbox(folder)
        try:
            env = os.environ | {"YAPPR_BASE_URL": base_url, "YAPPR_API_KEY": TEST_API_KEY}
            command = [sys.executable, "-m", "dialer", "-q", "run", str(toml), "--yes", "--json"]
            command += ["--db", str(folder / "ledger.db")]
            started, busy = time.perf_counter(), _busy_cpu_s()
            with (folder / "run.out").open("wb") as out:
                dialer = subprocess.Popen(command, env=env, cwd=folder, stdout=out, stderr=out)
            try:
                cpu_before = _cpu_at_first_attempt(dialer, folder / "ledger.db")
                used = _wait(dialer)
            finally:
                _stop(dialer)  # only if waiting for it was interrupted
            wall = time.perf_counter() - started
        finally:
            served = _stop(sandbox)
        assert used is not None and served is not None
        others = _busy_cpu_s() - busy - used.cpu_s - served.cpu_s
        if used.exit_code != 0:
            raise RuntimeError(
                f"dialer run exited {used.exit_code}: {(folder / 'run.out').read_text()}"
            )
        called, clock_seconds = _dispatch_seconds(folder / "ledger.db")
    return Figures(
        leads=leads,
        called=called,
        seconds=clock_seconds / TIME_SCALE,
        dialer=used,
        sandbox=served,
        wall_s=wall,
        others_cores=max(0.0, others / wall),
        dispatch_cpu_s=used.cpu_s - cpu_before,
    )


def _cpu_at_first_attempt(proc: subprocess.Popen[bytes], db: Path) -> float:
    """The CPU seconds ``proc`` has used when its first attempt is in the ledger (the end
    of its import); looks every 20 ms until then."""
    while proc.poll() is None:
        cpu = _cpu_s(proc.pid)
        if _has_attempts(db):
            return cpu
        time.sleep(0.02)
    return 0.0


def _has_attempts(db: Path) -> bool:
    """Whether the ledger (if it exists yet) holds an attempt; read-only."""
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.1)
    except sqlite3.Error:
        return False
    try:
        return conn.execute("SELECT 1 FROM attempts LIMIT 1").fetchone() is not None
    except sqlite3.Error:
        return False  # the schema is not there yet
    finally:
        conn.close()


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a running process (``/proc/PID/stat``)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _busy_cpu_s() -> float:
    """CPU seconds the whole machine has been busy (every core, every process)."""
    with open("/proc/stat", encoding="ascii") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _row(f: Figures) -> dict[str, Any]:
    return {
        "bench": "scale",
        "leads": f.leads,
        "called": f.called,
        "dispatch_s": round(f.seconds, 1),
        "leads_per_s": round(f.rate),
        "peak_rss_mb": round(f.dialer.peak_rss_mb),
        "cpu_ms_per_lead": round(f.cpu_ms_per_lead, 2),
        "sandbox_rss_mb": round(f.sandbox.peak_rss_mb),
        "sandbox_cpu_ms_per_lead": round(1000 * f.sandbox.cpu_s / f.leads, 2),
        "wall_s": round(f.wall_s, 1),
        "others_cores": round(f.others_cores, 2),
    }


def _sizes() -> tuple[int, ...]:
    text = os.environ.get("BENCH_SCALE_SIZES")
    return tuple(int(s) for s in text.split(",")) if text else SIZES


def run() -> list[dict[str, Any]]:
    """Every size, then the two goals (the first size is the floor)."""
    figures = [measure(n) for n in _sizes()]
    rows: list[dict[str, Any]] = [_row(f) for f in figures]
    floor, top = figures[0], figures[-1]
    growth = top.dialer.peak_rss_mb - floor.dialer.peak_rss_mb
    ratio = top.rate / floor.rate if floor.rate else 0.0
    rows.append(
        {
            "bench": "scale_memory",
            "floor": f"{floor.leads} leads, {floor.dialer.peak_rss_mb:.0f} MB",
            "leads": top.leads,
            "rss_growth_mb": round(growth, 1),
            "target": f"<={RSS_GROWTH_TARGET_MB:.0f}",
            "ok": growth <= RSS_GROWTH_TARGET_MB,
        }
    )
    rows.append(
        {
            "bench": "scale_rate",
            "floor": f"{floor.leads} leads, {floor.rate:.0f} leads/s",
            "leads": top.leads,
            "ratio": round(ratio, 3),
            "target": f">={RATE_RATIO_TARGET:.2f}",
            "ok": ratio >= RATE_RATIO_TARGET,
            "cpu_per_lead_ratio": round(top.cpu_ms_per_lead / floor.cpu_ms_per_lead, 3),
        }
    )
    return rows


if __name__ == "__main__":
    for line in run():
        print(json.dumps(line))
