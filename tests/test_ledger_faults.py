"""Disk and database faults (promise 4): a full disk, a read-only ledger, a locked ledger and a
ledger from a newer dialer each give one clear line naming the file and a non-zero exit, leave
the ledger intact (``PRAGMA integrity_check``), and the campaign resumes once the cause is fixed.

A full disk and a read-only filesystem are real: the ledger lives on a small tmpfs mounted for
the test (root can mount; root also ignores chmod). Without root, read-only is chmod and a full
disk is emulated with ``PRAGMA max_page_count``, which SQLite reports exactly like a full disk.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from dialer.cli import cli
from dialer.sandbox import Sandbox, SandboxConfig
from dialer.store import Ledger

from .dialing import legs_per_number, numbers, write_campaign

FINAL = {"completed", "voicemail", "no_answer", "busy", "failed", "transferred", "exhausted"}
NO_RETRY = "statuses = []\nmax_attempts = 1"


class Disk:
    """A folder for the ledger that can be filled up or made read-only, then repaired."""

    def __init__(self, path: Path, *, mounted: bool) -> None:
        self.path = path
        self.mounted = mounted
        self.filler = path / "filler"

    def fill(self) -> None:
        """Write until the filesystem has no byte left."""
        if not self.mounted:
            pytest.skip("a real full disk needs a small filesystem (tmpfs: run as root)")
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while True:
                os.write(fd, b"\1" * 65536)
        except OSError:
            pass  # ENOSPC: full
        finally:
            os.close(fd)

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)

    def read_only(self) -> None:
        if self.mounted:
            _mount("-o", "remount,ro", str(self.path))
        else:
            for entry in [*self.path.iterdir(), self.path]:
                entry.chmod(0o555 if entry.is_dir() else 0o444)

    def writable(self) -> None:
        if self.mounted:
            _mount("-o", "remount,rw", str(self.path))
        else:
            for entry in [self.path, *self.path.iterdir()]:
                entry.chmod(0o755 if entry.is_dir() else 0o644)


def _mount(*args: str) -> bool:
    done = subprocess.run(["mount", *args], capture_output=True, check=False)
    if "remount" in " ".join(args):  # fails (busy) if a file on it is open for writing
        assert done.returncode == 0, done.stderr.decode()
    return done.returncode == 0


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Disk]:
    """A 16 MB tmpfs of its own when we may mount one (root), else a plain folder."""
    path = tmp_path / "disk"
    path.mkdir()
    if os.geteuid() != 0:
        yield Disk(path, mounted=False)
        return
    if not _mount("-t", "tmpfs", "-o", "size=16m,mode=0755", "tmpfs", str(path)):
        pytest.skip("root cannot mount a tmpfs here, and chmod does not stop root")
    try:
        yield Disk(path, mounted=True)
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)


def _invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def _one_line(result: Result, *fragments: str) -> str:
    """Exit 1 and exactly one ``error:`` line on stderr, holding every fragment."""
    assert result.exit_code == 1, (result.output, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def _intact(db: Path) -> dict[str, int]:
    """Integrity ok; leads per status."""
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = conn.execute("SELECT status, count(*) FROM leads GROUP BY status")
        return {status: int(n) for status, n in rows}


def _run(toml: Path, db: Path) -> Result:
    args = ["run", str(toml), "--db", str(db), "--sandbox", "--time-scale", "1000"]
    return _invoke(*args, "--sync-interval", "0.5")


# --------------------------------------------------------------------------- newer schema


def test_a_ledger_from_a_newer_dialer_is_refused_untouched(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    Ledger(db).close()
    with closing(sqlite3.connect(db)) as conn:
        conn.execute("PRAGMA user_version = 99")
    toml = write_campaign(tmp_path, numbers(3), retry=NO_RETRY)
    for args in (
        ["status", "--db", str(db)],
        ["resume", "test-campaign", "--db", str(db), "--sandbox"],
        ["run", str(toml), "--db", str(db), "--sandbox"],
    ):
        _one_line(_invoke(*args), str(db), "schema version 99 is newer", "upgrade dialer")
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 99
        assert conn.execute("SELECT count(*) FROM campaigns").fetchone()[0] == 0
    assert _intact(db) == {}


# --------------------------------------------------------------------------- read-only


def test_read_only_ledger_refuses_clearly_and_recovers(tmp_path: Path, disk: Disk) -> None:
    toml = write_campaign(tmp_path, numbers(6), retry=NO_RETRY)
    db = disk.path / "ledger.db"
    disk.read_only()
    _one_line(_run(toml, db), str(db), "could not open")  # a new ledger in a read-only folder
    disk.writable()
    assert _run(toml, db).exit_code == 0
    before = _intact(db)
    assert sum(before.values()) == 6 and set(before) <= FINAL
    disk.read_only()
    line = _one_line(_run(toml, db), str(db))
    assert "writable" in line or "read-only" in line
    _one_line(_invoke("resume", "test-campaign", "--db", str(db), "--sandbox"), str(db))
    disk.writable()
    assert _intact(db) == before  # nothing changed, nothing corrupted
    assert _invoke("status", "--db", str(db)).exit_code == 0


# --------------------------------------------------------------------------- full disk


def test_full_disk_at_start_refuses_and_runs_once_space_is_freed(
    tmp_path: Path, disk: Disk
) -> None:
    toml = write_campaign(tmp_path, numbers(8), retry=NO_RETRY)
    db = disk.path / "ledger.db"
    assert _run(toml, disk.path / "warm.db").exit_code == 0  # the same run fits when not full
    disk.fill()
    _one_line(_run(toml, db), str(db), "disk is full")
    disk.free()
    result = _run(toml, db)
    assert result.exit_code == 0, result.output
    counts = _intact(db)
    assert sum(counts.values()) == 8 and set(counts) <= FINAL


def test_full_disk_emulated_by_max_page_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where no small filesystem can be mounted: SQLite's page cap fails writes as SQLITE_FULL."""
    toml = write_campaign(tmp_path, numbers(30), retry=NO_RETRY, max_live_calls=10)
    db = tmp_path / "ledger.db"
    Ledger(db).close()
    with closing(sqlite3.connect(db)) as conn:
        pages = int(conn.execute("PRAGMA page_count").fetchone()[0])
    configure = Ledger._configure

    def capped(self: Ledger) -> None:
        configure(self)
        self.db.execute(f"PRAGMA max_page_count = {pages + 1}")

    monkeypatch.setattr(Ledger, "_configure", capped)
    _one_line(_run(toml, db), str(db), "disk is full", "nothing was lost")
    assert sum(_intact(db).values()) in (0, 30)  # the import is all of the sheet or none
    monkeypatch.undo()
    assert _run(toml, db).exit_code == 0
    counts = _intact(db)
    assert sum(counts.values()) == 30 and set(counts) <= FINAL


# --------------------------------------------------------------------------- locked


def _held(db: Path) -> sqlite3.Connection:
    """Another connection holding the ledger's write lock."""
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    return holder


def test_locked_ledger_names_the_lock_and_status_still_reads(tmp_path: Path) -> None:
    toml = write_campaign(tmp_path, numbers(4), retry=NO_RETRY)
    db = tmp_path / "ledger.db"
    assert _run(toml, db).exit_code == 0
    before = _intact(db)
    holder = _held(db)
    try:
        assert _invoke("status", "--db", str(db)).exit_code == 0  # readers are never blocked
        result = _invoke("retry", "test-campaign", "--status", "completed", "--db", str(db))
        _one_line(result, str(db), "locked", "another process is writing the ledger")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert _intact(db) == before


@pytest.mark.reliability
def test_locked_ledger_stops_a_run_after_the_busy_timeout(tmp_path: Path) -> None:
    toml = write_campaign(tmp_path, numbers(4), retry=NO_RETRY)
    db = tmp_path / "ledger.db"
    Ledger(db).close()
    holder = _held(db)
    try:
        _one_line(_run(toml, db), str(db), "locked", "wait for it or stop it, then resume")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert _run(toml, db).exit_code == 0
    assert sum(_intact(db).values()) == 4


# --------------------------------------------------------------------------- mid-run faults


def _env(sb: Sandbox) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("YAPPR_")}
    return env | {"YAPPR_BASE_URL": sb.base_url, "YAPPR_API_KEY": sb.api_key}


async def _dialer(sb: Sandbox, *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "dialer",
        *args,
        env=_env(sb),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    return int(process.returncode or 0), out.decode(), err.decode()


@pytest.mark.reliability
async def test_disk_full_in_the_middle_of_a_run_then_resume(tmp_path: Path, disk: Disk) -> None:
    """A read-only remount cannot happen under a running writer (the kernel says busy), so the
    mid-run fault is the full disk."""
    phones = numbers(20, start=7000)
    toml = write_campaign(tmp_path, phones, retry=NO_RETRY, max_live_calls=5)
    db = disk.path / "ledger.db"
    run = ["run", str(toml), "--db", str(db), "--sync-interval", "1"]
    async with Sandbox(SandboxConfig(time_scale=500.0, rate_limit=6000, seed=5)) as sb:
        running = asyncio.ensure_future(_dialer(sb, *run))
        while len(sb.carrier_legs) < 5:  # noqa: ASYNC110 - polling the sandbox
            await asyncio.sleep(0.01)
        await asyncio.to_thread(disk.fill)
        code, _, errors = await running
        assert code == 1, errors
        assert errors.count("\n") == 1 and errors.startswith(f"error: {db}: could not "), errors
        assert "disk is full" in errors
        assert "Traceback" not in errors
        disk.free()
        assert sum(_intact(db).values()) == 20  # imported whole before the fault
        code, output, errors = await _dialer(sb, "resume", "test-campaign", "--db", str(db))
        legs = legs_per_number(sb)
    assert code == 0, output + errors
    counts = _intact(db)
    assert sum(counts.values()) == 20 and set(counts) <= FINAL, counts
    assert set(legs) <= set(phones) and max(legs.values()) == 1  # nobody dialed twice
