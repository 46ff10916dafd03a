"""What ``validate`` and ``status`` show: a campaign screened before its import, and where a
campaign in the ledger stands.

:func:`validate_campaign` does everything ``run`` does before the first call, without
importing or calling; :func:`campaign_status` reads one campaign's state, live calls, share of
its account and next opening from the ledger. :func:`find_campaign` is how a campaign is
looked up by name.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from dialer.campaign.connection import Connection
from dialer.campaign.dnccache import fresh_dnc_index
from dialer.campaign.intake import classify_campaign
from dialer.config import Campaign, load_campaign
from dialer.errors import ConfigError
from dialer.store import CampaignRecord, Ledger
from dialer.window import CallingWindow

#: The per-row CSV of ``validate``; ``zones`` is the zone set each lead was judged in.
STATUS_COLUMNS = ["row", "phone_raw", "phone", "status", "reason", "zones"]


async def validate_campaign(
    campaign_path: Path,
    *,
    ledger: Ledger,
    connection: Connection,
    leads: Path | None = None,
    out: Path | None = None,
    encoding: str | None = None,
) -> tuple[dict[str, int], pd.DataFrame, Path, str | None]:
    """Everything ``run`` does before the first call, without importing or calling.

    Returns the summary counts, the per-row statuses (``STATUS_COLUMNS``), where they
    belong (``out``, or ``NAME.validation.csv``) and the encoding the sheet was read in
    (``windows-1252 (detected)``; None for a workbook).
    """
    campaign = load_campaign(campaign_path)
    now = connection.clock.now()
    index = await fresh_dnc_index(ledger, campaign, connection=connection, now=now)
    frame = classify_campaign(
        campaign, ledger=ledger, index=index, now=now, leads=leads, encoding=encoding
    )
    target = out or Path(f"{campaign.name}.validation.csv")
    statuses = frame.rename(columns={"timezone": "zones"})[STATUS_COLUMNS]
    summary = validation_summary(frame, campaign, now=now)
    return summary, statuses, target, frame.attrs.get("encoding")


def validation_summary(frame: pd.DataFrame, campaign: Campaign, *, now: datetime) -> dict[str, int]:
    """Rows read, and leads per intake status, with invalid split by reason and the pending
    split into callable now / outside their calling window now (closed in at least one of
    the zones the lead may be in)."""
    summary: dict[str, int] = {"rows read": len(frame)}
    status = frame["status"]
    for reason, n in frame.loc[status == "invalid", "reason"].value_counts().items():
        if n:
            summary[f"invalid: {reason}"] = int(n)
    for name in ("duplicate", "dnc_blocked", "no_window"):
        summary[name] = int((status == name).sum())
    pending = frame.loc[status == "pending", "timezone"]
    closed = 0
    if campaign.window is not None:
        window = CallingWindow.from_config(campaign.window)
        for zone, n in pending.value_counts().items():
            if n and not window.is_open(str(zone), now):  # a categorical counts zeros too
                closed += int(n)
    summary["outside window now"] = closed
    summary["to call"] = len(pending)
    return summary


def find_campaign(ledger: Ledger, name: str) -> CampaignRecord:
    """The campaign called ``name``; an unknown name lists the ones the ledger has."""
    record = ledger.campaign(name)
    if record is None:
        known = ", ".join(ledger.campaign_names()) or "none"
        raise ConfigError(f"no campaign {name!r} in {ledger.path} (campaigns there: {known})")
    return record


def campaign_status(ledger: Ledger, name: str) -> dict[str, Any]:
    """What ``dialer status`` shows for one campaign: where it stands (running, paused,
    scheduled, stopping, interrupted, finished, waiting), its live calls, its share of its
    account and its next opening."""
    record = find_campaign(ledger, name)
    campaign = Campaign.model_validate(record.settings)
    next_due = ledger.next_due(name, resends=True)
    if campaign.start_at is not None and next_due is not None:
        next_due = max(next_due, campaign.start_at)
    state, live = _shown_state(ledger, record, campaign), ledger.in_flight(name)
    return {
        "name": name,
        "state": state,
        "state_reason": record.state_reason,
        "next_step": _next_step(name, state, live, ledger, record),
        "counts": ledger.counts(name),
        "live_calls": live,
        "weight": campaign.pacing.weight,
        "share": _share(ledger, record, campaign.pacing.weight),
        "start_at": campaign.start_at.isoformat() if campaign.start_at else None,
        "next_due": None if next_due is None else _due_text(next_due),
    }


def _shown_state(ledger: Ledger, record: CampaignRecord, campaign: Campaign) -> str:
    """The state a person reads: the ledger's, corrected by what was asked since and by
    whether a dialer process is really running it."""
    if record.state == "finished":
        return "finished"
    if record.control == "stop":
        return "stopping"
    if record.control == "pause":
        return "paused"
    running = record.state in {"running", "queued"}
    if running and not dispatched_now(ledger, record.account):
        return "interrupted"  # its process was killed: `dialer resume` continues it
    started = campaign.start_at is None or campaign.start_at <= datetime.now(UTC)
    return record.state if started or running else "scheduled"


def _next_step(
    name: str, state: str, live: int, ledger: Ledger, record: CampaignRecord
) -> str | None:
    """What a person should run next, when the campaign waits on them."""
    if state == "interrupted":
        return f"dialer resume {name}"
    if state not in {"paused", "stopping"} or dispatched_now(ledger, record.account):
        return None
    if live:  # its process ended (or was killed) with calls in flight: nobody follows them
        then = f", then dialer stop {name}" if state == "stopping" else ""
        return f"dialer sync {name} (follows its {live} calls in flight){then}"
    if state == "stopping":  # the process was killed before it finished the stop
        return f"dialer stop {name} (cancels the leads not yet called)"
    return None


def dispatched_now(ledger: Ledger, account: str | None) -> bool:
    """Whether a dialer process dispatches ``account`` from this ledger right now."""
    with ledger.account_lease(account or "") as free:
        return not free


def _share(ledger: Ledger, record: CampaignRecord, weight: float) -> float:
    """The campaign's weight as a fraction of the running campaigns' on its account."""
    if record.state not in {"running", "queued"} or record.control != "run":
        return 0.0
    weights = [weight]
    for other in ledger.campaign_names():
        found = ledger.campaign(other)
        if found is None or other == record.name or found.account != record.account:
            continue
        if found.state in {"running", "queued"} and found.control == "run":
            weights.append(Campaign.model_validate(found.settings).pacing.weight)
    return weight / sum(weights)


def _due_text(moment: datetime) -> str:
    """``now`` for leads that are due already, else the instant."""
    return "now" if moment.year == 1 else moment.isoformat(timespec="seconds")
