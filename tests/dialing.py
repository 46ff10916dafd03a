"""Helpers for tests that run whole campaigns against the real sandbox on 127.0.0.1."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from dialer import campaign as ops
from dialer.dispatch import RunOptions, RunResult
from dialer.sandbox import AGENT_ID, FROM_NUMBERS, Sandbox
from dialer.store import Ledger


def numbers(count: int, *, start: int = 0) -> list[str]:
    """Distinct valid Israeli mobile numbers in E.164."""
    return [f"+97253{1000000 + start + i:07d}" for i in range(count)]


def write_campaign(
    folder: Path,
    phones: Sequence[str],
    *,
    name: str = "test-campaign",
    agent_id: str = AGENT_ID,
    extra: str = "",
    retry: str = 'statuses = ["no_answer", "busy"]\nmax_attempts = 3\ndelays_minutes = [1, 2]',
    max_live_calls: int = 5,
    requests_per_minute: int = 600,
) -> Path:
    """A campaign file and its CSV of leads (display-formatted local numbers) in ``folder``."""
    leads = folder / f"{name}.csv"
    with leads.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Full Name", "Phone", "CRM Contact"])
        for i, phone in enumerate(phones):
            local = "0" + phone[4:] if phone.startswith("+972") else phone
            writer.writerow([f"ליד {i}", local, f"crm-{i}"])
    toml = folder / f"{name}.toml"
    toml.write_text(
        f"""name = "{name}"
agent_id = "{agent_id}"
from = "{FROM_NUMBERS[0]}"
leads = "{leads.name}"
default_region = "IL"

[columns]
phone = "Phone"
variables = {{ LeadName = "Full Name" }}
metadata = {{ contact_id = "CRM Contact" }}

[pacing]
max_live_calls = {max_live_calls}
requests_per_minute = {requests_per_minute}

[retry]
{retry}
{extra}
""",
        encoding="utf-8",
    )
    return toml


def connection(sandbox: Sandbox) -> ops.Connection:
    """A connection to the sandbox sharing its clock."""
    return ops.Connection(sandbox.base_url, sandbox.api_key, sandbox.clock, account="sandbox")


@dataclass
class Outcome:
    """What a run left behind: its result, every lead row, every attempt row."""

    result: RunResult
    leads: list[dict[str, Any]]
    attempts: list[dict[str, Any]]

    def statuses(self) -> Counter[str]:
        return Counter(lead["status"] for lead in self.leads)

    def by_phone(self) -> dict[str, dict[str, Any]]:
        return {lead["phone"]: lead for lead in self.leads if lead["phone"]}


async def run_campaign(
    sandbox: Sandbox,
    toml: Path,
    db: Path,
    *,
    options: RunOptions | None = None,
    name: str | None = None,
) -> Outcome:
    """Import (once) and dispatch a campaign through the library, as ``dialer run`` does."""
    options = options or RunOptions(sync_interval=2.0, request_poll_interval=3.0)
    with Ledger(db) as ledger:
        conn = connection(sandbox)
        if name is None:
            record, _ = await ops.prepare_run(toml, ledger=ledger, connection=conn)
        else:
            record = ops.find_campaign(ledger, name)
        result = await ops.dispatch(record, ledger=ledger, connection=conn, options=options)
        return Outcome(result, ledger.leads_of(record.name), ledger.attempts_of(record.name))


def legs_per_number(sandbox: Sandbox) -> Counter[str]:
    """How many real carrier legs each number got."""
    return Counter(sandbox.carrier_legs)


def max_overlap(intervals: Iterable[tuple[datetime, datetime]]) -> int:
    """The most intervals open at one instant."""
    events = sorted(
        [(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals],
        key=lambda e: (e[0], e[1]),
    )
    live = peak = 0
    for _, delta in events:
        live += delta
        peak = max(peak, live)
    return peak
