"""Secrets and PII stay put (promise 6).

A whole campaign runs as a user runs it (``python -m dialer``, the key in the environment,
logging at DEBUG on stderr: ``dialer`` has no ``--debug`` flag, so the child configures the
root logger itself), is killed once so the ledger's WAL is left behind, resumes, validates and
exports every report format. Then every artifact is searched for the API key: the ledger and
its -wal/-shm, stdout and stderr of every command, every file written (workbooks unzipped).
Logs mask phone numbers; reports are owner-only. (The sandbox's refusal to bind a non-loopback
host without ``--allow-remote`` is tested in ``test_sandbox_cli.py``.)
"""

from __future__ import annotations

import asyncio
import csv
import logging
import os
import signal
import stat
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from dialer import campaign as ops
from dialer import reports
from dialer.cli import cli
from dialer.dispatch import RunOptions
from dialer.sandbox import Sandbox, SandboxConfig, catalog
from dialer.sandbox.faults import Faults
from dialer.store import Ledger

from .dialing import numbers, write_campaign

DEBUG_MAIN = (
    "import logging, sys\n"
    "logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)\n"
    "from dialer.cli import main\n"
    "main()\n"
)
REPORTS = (".csv", ".json", ".html", ".xlsx")
RETRY = 'statuses = ["no_answer", "busy"]\nmax_attempts = 2\ndelays_minutes = [1]'


def _env(sb: Sandbox, key: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("YAPPR_")}
    return env | {"YAPPR_BASE_URL": sb.base_url, "YAPPR_API_KEY": key}


class Artifacts:
    """Everything a run showed or wrote, to be searched."""

    def __init__(self) -> None:
        self.streams: list[tuple[str, bytes]] = []  # (what, bytes)
        self.logs: list[str] = []

    async def dialer(self, sb: Sandbox, key: str, cwd: Path, *args: str, kill_at: int = 0) -> int:
        """``dialer ARGS`` with DEBUG logging; SIGKILLed once ``kill_at`` legs were dialed."""
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            DEBUG_MAIN,
            *args,
            cwd=cwd,
            env=_env(sb, key),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        if kill_at:
            while len(sb.carrier_legs) < kill_at:  # noqa: ASYNC110 - polling the sandbox
                await asyncio.sleep(0.01)
            process.send_signal(signal.SIGKILL)
        out, err = await asyncio.wait_for(process.communicate(), timeout=120)
        self.streams += [(f"{args[0]} stdout", out), (f"{args[0]} stderr", err)]
        self.logs.append(err.decode(errors="replace"))
        return int(process.returncode or 0)

    def snapshot(self, folder: Path) -> None:
        """Every file under ``folder`` as it is now (workbook members unzipped)."""
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            data = path.read_bytes()
            self.streams.append((str(path), data))
            if zipfile.is_zipfile(path):
                with zipfile.ZipFile(path) as book:
                    self.streams += [(f"{path}!{n}", book.read(n)) for n in book.namelist()]

    def holding(self, needle: str) -> list[str]:
        """Which artifacts contain ``needle`` (as UTF-8 or UTF-16, the encodings we write)."""
        forms = {needle.encode(), needle.encode("utf-16-le")}
        return [what for what, data in self.streams if any(f in data for f in forms)]


def _unmasked(text: str, phones: list[str]) -> list[str]:
    """The numbers that appear whole in ``text``, in E.164 or local form."""
    local = {p: "0" + p[4:] for p in phones}
    return [p for p in phones if p in text or p[1:] in text or local[p] in text]


@pytest.mark.reliability
async def test_the_api_key_is_in_no_artifact_of_a_whole_campaign(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    phones = numbers(16, start=9100)
    toml = write_campaign(work, phones, retry=RETRY, max_live_calls=4)
    db = work / "ledger.db"
    seen = Artifacts()
    faults = Faults(server_error_rate=0.15)  # retries and warnings: more log lines to search
    async with Sandbox(
        SandboxConfig(time_scale=500.0, rate_limit=6000, seed=11, faults=faults)
    ) as sb:
        key = sb.add_key()
        run = ["run", str(toml), "--db", str(db), "--sync-interval", "1"]
        await seen.dialer(sb, key, work, *run, kill_at=4)
        seen.snapshot(work)
        assert any(w.endswith("-wal") for w, _ in seen.streams)  # a killed run leaves its WAL
        resume = ["resume", "test-campaign", "--db", str(db), "--sync-interval", "1"]
        assert await seen.dialer(sb, key, work, *resume, "--redial-unknown") == 0, seen.logs
        out = work / "rows.csv"
        assert (
            await seen.dialer(
                sb, key, work, "validate", str(toml), "--db", str(db), "--out", str(out)
            )
            == 0
        )
        assert await seen.dialer(sb, key, work, "status", "--db", str(db), "--json") == 0
        for suffix in REPORTS:
            target = work / f"report{suffix}"
            code = await seen.dialer(
                sb, key, work, "report", "test-campaign", "--db", str(db), "--out", str(target)
            )
            assert code == 0, seen.logs[-1]
            assert stat.S_IMODE(target.stat().st_mode) == 0o600, f"{target.name} is not owner-only"
    seen.snapshot(work)
    assert len(seen.streams) > 20
    assert seen.holding(key) == []
    assert seen.holding(key[-12:]) == []  # not even the key's tail
    logs = "\n".join(seen.logs)
    assert "DEBUG:dialer.api" in logs  # DEBUG logging really was on
    assert _unmasked(logs, phones) == []


async def test_logs_mask_numbers_and_no_artifact_holds_the_key(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    phones = numbers(12, start=9300)
    toml = write_campaign(tmp_path, phones, retry=RETRY, max_live_calls=4)
    faults = Faults(server_error_rate=0.2, lost_answer_rate=0.1, drop_connection_rate=0.1)
    config = SandboxConfig(time_scale=1000.0, rate_limit=6000, seed=12, faults=faults)
    caplog.set_level(logging.DEBUG)
    async with Sandbox(config) as sb:
        key = sb.add_key()
        conn = ops.Connection(sb.base_url, key, sb.clock, account="sandbox")
        with Ledger(tmp_path / "ledger.db") as ledger:
            record, _ = await ops.prepare_run(toml, ledger=ledger, connection=conn)
            options = RunOptions(sync_interval=1.0, request_poll_interval=1.0)
            await ops.dispatch(record, ledger=ledger, connection=conn, options=options)
            seen = Artifacts()
            seen.snapshot(tmp_path)  # the open ledger, its -wal and -shm
            for suffix in REPORTS:
                reports.export(ledger, record.name, tmp_path / f"report{suffix}")
    seen.snapshot(tmp_path)
    for suffix in REPORTS:
        mode = (tmp_path / f"report{suffix}").stat().st_mode
        assert stat.S_IMODE(mode) == 0o600, f"report{suffix} is not owner-only"
    assert any(what.endswith("ledger.db-wal") for what, _ in seen.streams)
    assert seen.holding(key) == []
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("dialer")]
    assert any("POST /calls" in m for m in messages)
    assert any("*" in m for m in messages)  # masked numbers were logged
    text = caplog.text + "\n".join(messages)
    assert key not in text
    assert _unmasked(text, phones) == []


async def test_a_refused_key_is_not_repeated_in_the_error(tmp_path: Path) -> None:
    toml = write_campaign(tmp_path, numbers(3, start=9500), retry=RETRY)
    seen = Artifacts()
    wrong = "ypr_live_0123456789abcdefDISTINCTIVE"
    async with Sandbox(SandboxConfig(time_scale=1000.0)) as sb:
        code = await seen.dialer(
            sb, wrong, tmp_path, "run", str(toml), "--db", str(tmp_path / "l.db")
        )
    assert code != 0
    assert "error:" in seen.logs[0]
    seen.snapshot(tmp_path)
    assert seen.holding(wrong) == [] and seen.holding("DISTINCTIVE") == []


def test_a_sandbox_run_keeps_the_sandbox_key_out_of_the_ledger(tmp_path: Path) -> None:
    toml = write_campaign(tmp_path, numbers(5, start=9600), retry=RETRY)
    db = tmp_path / "ledger.db"
    args = ["run", str(toml), "--db", str(db), "--sandbox", "--time-scale", "1000"]
    result = CliRunner().invoke(cli, [*args, "--sync-interval", "0.5"])
    assert result.exit_code == 0, result.output
    seen = Artifacts()
    seen.streams.append(("output", result.output.encode()))
    seen.snapshot(tmp_path)
    assert seen.holding(catalog.TEST_API_KEY) == []


def _validation_rows(tmp_path: Path) -> tuple[Path, list[dict[str, str]]]:
    leads = tmp_path / "leads.csv"
    leads.write_text(
        'Phone,Full Name,CRM Contact\n=HYPERLINK("http://x";"y"),Noa,c1\n0531000001,@SUM(A1),c2\n',
        encoding="utf-8",
    )
    toml = write_campaign(tmp_path, numbers(1, start=9700), retry=RETRY)
    out = tmp_path / "rows.csv"
    args = ["validate", str(toml), "--leads", str(leads), "--sandbox", "--out", str(out)]
    result = CliRunner().invoke(cli, [*args, "--db", str(tmp_path / "l.db")])
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8-sig", newline="") as handle:
        return out, list(csv.DictReader(handle))


def test_validation_csv_neutralises_formulas(tmp_path: Path) -> None:
    _, rows = _validation_rows(tmp_path)
    assert [r["phone_raw"][0] for r in rows] == ["'", "0"]


def test_validation_csv_is_owner_only(tmp_path: Path) -> None:
    out, _ = _validation_rows(tmp_path)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
