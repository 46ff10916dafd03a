"""Hostile input: bad lead sheets and campaign files end in one clear line or per-row reasons.

Every case of :mod:`tests.hostile` goes through ``dialer validate`` as a user would run it:
a refused file exits 1 with one line naming it (no traceback), a readable sheet with bad rows
exits 0 with a status and reason for every row; each case takes well under a few seconds, and
a refused ``dialer run`` writes no campaign to the ledger. The biggest files also run in a
child process whose peak memory is measured. Hypothesis then fuzzes the two parsers.
"""

from __future__ import annotations

import csv
import os
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dialer.cli import cli
from dialer.config import load_campaign
from dialer.errors import ConfigError, InputError
from dialer.leads import read_sheet

from .figures import record
from .hostile import CASES, Case

SECONDS_PER_CASE = 3.0
PEAK_MEMORY_MB = 700  # a child's whole peak, imports (about 200 MB) included


#: ``dialer run`` on every refused case is for ``make reliability``; these few stay fast.
RUN_FAST = frozenset(
    {
        "binary garbage",
        "zip bomb as .xlsx",
        "2 GB sparse file",
        "duplicate phone header",
        "directory instead of a file",
        "campaign: deep nesting",
        "campaign: unknown keys",
        "campaign: huge integer",
    }
)


def _params(cases: list[Case], *, fast: frozenset[str] | None = None) -> list[object]:
    def marks(case: Case) -> tuple[pytest.MarkDecorator, ...]:
        slow = case.name == "huge single line 50 MB" or (fast is not None and case.name not in fast)
        return (pytest.mark.reliability,) if slow else ()

    return [pytest.param(c, id=c.name, marks=marks(c)) for c in cases]


def _skip_pointless(case: Case) -> None:
    if case.name == "unreadable permissions" and os.geteuid() == 0:
        pytest.skip("root reads any file: chmod 000 proves nothing")


def _invoke(*args: str) -> tuple[Result, float]:
    started = time.monotonic()
    result = CliRunner().invoke(cli, list(args))
    return result, time.monotonic() - started


def _campaigns_in(db: Path) -> int:
    if not db.exists():
        return 0
    with closing(sqlite3.connect(db)) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        if "campaigns" not in tables:
            return 0
        return int(conn.execute("SELECT count(*) FROM campaigns").fetchone()[0])


def _assert_one_clear_line(result: Result, case: Case) -> str:
    """Exit 1, nothing on stderr but one ``error:`` line, no traceback anywhere."""
    assert result.exit_code == 1, (result.output, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("error: "), line
    assert case.message in line, line
    assert len(line) < 600, f"{len(line)} characters"
    return line


@pytest.mark.parametrize("case", _params(CASES))
def test_validate_refuses_clearly_or_gives_row_reasons(case: Case, tmp_path: Path) -> None:
    _skip_pointless(case)
    record("bad input files tried", 1)
    toml = case.build(tmp_path / "case")
    db, out = tmp_path / "ledger.db", tmp_path / "rows.csv"
    result, seconds = _invoke(
        "validate", str(toml), "--sandbox", "--db", str(db), "--out", str(out)
    )
    assert seconds < SECONDS_PER_CASE
    if case.refuse:
        line = _assert_one_clear_line(result, case)
        assert str(tmp_path) in line or os.devnull in line, "the line names the file"
        assert not out.exists()
    else:
        assert result.exit_code == 0, (result.output, result.exception)
        with out.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert len(rows) == case.rows  # every input row accounted for
        for row in rows:
            assert row["status"] in {"pending", "invalid", "duplicate", "dnc_blocked"}
            assert row["status"] == "pending" or row["reason"], row
    assert _campaigns_in(db) == 0


@pytest.mark.parametrize("case", _params([c for c in CASES if c.refuse], fast=RUN_FAST))
def test_refused_run_writes_nothing(case: Case, tmp_path: Path) -> None:
    _skip_pointless(case)
    toml = case.build(tmp_path / "case")
    db = tmp_path / "ledger.db"
    result, seconds = _invoke("run", str(toml), "--sandbox", "--db", str(db))
    assert seconds < SECONDS_PER_CASE
    _assert_one_clear_line(result, case)
    assert _campaigns_in(db) == 0
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("SELECT count(*) FROM leads").fetchone()[0] == 0
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def _peak_megabytes(args: list[str]) -> tuple[int, str]:
    """Run ``python -m dialer ARGS`` (it must exit 1): its peak RSS in MB (wait4), stderr."""
    child = subprocess.Popen(
        [sys.executable, "-m", "dialer", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={k: v for k, v in os.environ.items() if not k.startswith("YAPPR_")},
    )
    assert child.stderr is not None
    errors = child.stderr.read().decode()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    child.stderr.close()
    assert child.returncode == 1, errors
    return usage.ru_maxrss // 1024, errors


@pytest.mark.parametrize(
    "case",
    _params([c for c in CASES if c.big], fast=frozenset({"zip bomb as .xlsx", "2 GB sparse file"})),
)
def test_big_inputs_are_refused_in_bounded_memory(case: Case, tmp_path: Path) -> None:
    toml = case.build(tmp_path / "case")
    args = ["validate", str(toml), "--sandbox", "--db", str(tmp_path / "ledger.db")]
    started = time.monotonic()
    peak, errors = _peak_megabytes([*args, "--out", str(tmp_path / "rows.csv")])
    assert time.monotonic() - started < 2 * SECONDS_PER_CASE  # a fresh interpreter, too
    assert "Traceback" not in errors
    assert peak < PEAK_MEMORY_MB, f"peak {peak} MB"


def test_error_line_keeps_the_section_name(tmp_path: Path) -> None:
    case = next(c for c in CASES if c.name == "campaign: unknown keys")
    toml = case.build(tmp_path)
    result, _ = _invoke("validate", str(toml), "--sandbox", "--db", str(tmp_path / "l.db"))
    assert "unknown key 'max_calls' in [pacing] (did you mean max_live_calls?)" in result.stderr


# --------------------------------------------------------------------------- fuzzing

_TOML_PIECES = st.sampled_from(
    [
        'name = "x"\n',
        'agent_id = "5b0c8f4e-1d2a-4c3b-9e7f-0a1b2c3d4e5f"\n',
        'from = "+972552234567"\n',
        'from = ["+972552234567", 3]\n',
        'leads = "leads.csv"\n',
        "leads = 7\n",
        "[columns]\n",
        'phone = "Phone"\n',
        "variables = { A = 1 }\n",
        "metadata = { id = 'x' }\n",
        "[pacing]\n",
        "max_live_calls = -1\n",
        "requests_per_minute = 1e309\n",
        "[window]\n",
        'days = ["xyz", 1]\n',
        'start = "24:00"\n',
        "blackout_dates = [2026-02-30]\n",
        'timezone = "Mars/Base"\n',
        "[retry]\n",
        "delays_minutes = [-5]\n",
        "[[x]]\n",
        "[dnc]\n",
        "suppression_files = [1]\n",
        "a.b.c = 1\n",
        "= \n",
        '"\\u0000" = 1\n',
        "[",
        "]",
        "{",
        '"',
        "\x00",
        "\ufeff",
        "\n",
    ]
)
_TOML_TEXT = st.one_of(
    st.lists(st.one_of(_TOML_PIECES, st.text(max_size=12)), max_size=25).map("".join),
    st.text(max_size=300),
)


def _fuzz_sheet(folder: Path, data: bytes, suffix: str) -> None:
    path = folder / f"fuzz{suffix}"
    path.write_bytes(data)
    try:
        read_sheet(path)
    except InputError as error:
        assert str(error).startswith(f"{path}: ")


def _fuzz_campaign(folder: Path, text: str) -> None:
    path = folder / "fuzz.toml"
    path.write_bytes(text.encode("utf-8"))
    try:
        load_campaign(path)
    except ConfigError as error:
        assert str(error).startswith(f"{path}: ")


_SHEET_BYTES = st.one_of(
    st.binary(max_size=2000),
    st.lists(
        st.sampled_from([b"Phone", b",", b";", b"\t", b'"', b"\n", b"\r", b"0531000001", b"\x00"])
        | st.binary(max_size=8),
        max_size=60,
    ).map(b"".join),
)
_FAST = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
_LONG = settings(
    max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@_FAST
@given(data=_SHEET_BYTES, suffix=st.sampled_from([".csv", ".tsv"]))
def test_fuzz_read_sheet_only_raises_input_error(tmp_path: Path, data: bytes, suffix: str) -> None:
    _fuzz_sheet(tmp_path, data, suffix)


@_FAST
@given(text=_TOML_TEXT)
def test_fuzz_load_campaign_only_raises_config_error(tmp_path: Path, text: str) -> None:
    _fuzz_campaign(tmp_path, text)


@pytest.mark.reliability
@_LONG
@given(data=_SHEET_BYTES, suffix=st.sampled_from([".csv", ".tsv", ".txt", ".xlsx"]))
def test_fuzz_read_sheet_long(tmp_path: Path, data: bytes, suffix: str) -> None:
    _fuzz_sheet(tmp_path, data, suffix)


@pytest.mark.reliability
@_LONG
@given(text=_TOML_TEXT)
def test_fuzz_load_campaign_long(tmp_path: Path, text: str) -> None:
    _fuzz_campaign(tmp_path, text)
