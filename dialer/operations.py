"""Campaign operations after a run: ``dialer retry`` (a new round for finished leads) and the
company DNC list from the command line (``dialer dnc``). The CLI parses and prints; this
module decides.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from dialer.api.client import YapprClient
from dialer.api.models import DncEntry
from dialer.campaign.dispatching import plan_for
from dialer.campaign.dnccache import dnc_index
from dialer.campaign.overview import dispatched_now, find_campaign
from dialer.config import Campaign
from dialer.errors import ConfigError, NotFound
from dialer.models import CALL_OUTCOMES, LeadStatus
from dialer.phones import normalize
from dialer.store import Ledger

#: What ``dialer retry --status`` accepts: the outcomes of a finished call, or every
#: ``exhausted`` lead.
RECYCLABLE = (*sorted(s.value for s in CALL_OUTCOMES), LeadStatus.EXHAUSTED.value)
#: The disposition of a callee who asked not to be called: never recycled.
OPT_OUT = "do not call"


@dataclass(frozen=True, slots=True)
class RecycleResult:
    """How many leads went into the new round, how many were held back (by reason), and
    which asked-for dispositions no finished lead's last call has (with those it does)."""

    recycled: int
    due_at: datetime
    skipped: Counter[str] = field(default_factory=Counter)
    unmatched: tuple[str, ...] = ()
    seen: tuple[str, ...] = ()


def parse_statuses(text: str) -> list[str]:
    """``"no_answer, busy"`` -> ``["no_answer", "busy"]``; an unknown name is a ConfigError."""
    names = [part.strip().lower() for part in text.split(",") if part.strip()]
    unknown = [name for name in names if name not in RECYCLABLE]
    if not names or unknown:
        raise ConfigError(
            f"--status {text!r}: {'unknown status ' + ', '.join(unknown) if unknown else 'empty'};"
            f" choose from {', '.join(RECYCLABLE)}"
        )
    return names


def parse_dispositions(values: Sequence[str]) -> list[str]:
    """``--disposition`` values (each may hold several, comma-separated) -> labels.

    "Do Not Call" is refused: a callee who asked not to be called never comes back.
    """
    labels = [part.strip() for value in values for part in value.split(",") if part.strip()]
    if not labels:
        raise ConfigError('--disposition is empty; name one, e.g. --disposition "Call Back Later"')
    if any(label.casefold() == OPT_OUT for label in labels):
        raise ConfigError(
            '--disposition "Do Not Call": these callees asked not to be called; '
            "they are never recycled"
        )
    return list(dict.fromkeys(labels))


def recycle(
    ledger: Ledger,
    name: str,
    statuses: Sequence[str],
    *,
    after: timedelta,
    now: datetime,
    dispositions: Sequence[str] = (),
) -> RecycleResult:
    """Put finished leads with these outcomes, or whose last call got one of these
    dispositions (any case), back in line, due ``now + after``.

    Held back: numbers now on the campaign account's cached DNC list (this agent or global,
    not expired; every account the ledger knows for a campaign that never ran) or a
    suppression file, numbers that opted out on any campaign, numbers another campaign called
    within the cool-down, leads whose last call was dispositioned "Do Not Call", and leads
    whose last call's analysis is still pending (it may yet say "Do Not Call").
    """
    record = find_campaign(ledger, name)
    campaign, _ = plan_for(record)
    wanted = list(statuses)  # naming ``exhausted`` matches every exhausted lead by status
    candidates = ledger.recycle_candidates(name, wanted, dispositions)
    accounts = [record.account] if record.account else ledger.dnc_accounts()
    reasons = _held_back(ledger, campaign, candidates, accounts=accounts, now=now)
    unmatched, seen = _unmatched(ledger, name, dispositions)
    due = now + after
    moved = ledger.recycle(
        name, wanted, at=due, now=now, skip=set(reasons), dispositions=dispositions
    )
    return RecycleResult(moved, due, Counter(reasons.values()), unmatched, seen)


def _unmatched(
    ledger: Ledger, name: str, dispositions: Sequence[str]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The asked-for dispositions no finished lead's last call has, and those it has (a
    typo in a label would otherwise recycle nothing without a word)."""
    if not dispositions:
        return (), ()
    finished = ledger.recycle_candidates(name, RECYCLABLE)
    seen = sorted({str(lead["disposition"]).strip() for lead in finished if lead["disposition"]})
    folded = {label.casefold() for label in seen}
    missing = tuple(d for d in dispositions if d.casefold() not in folded)
    return missing, tuple(seen)


def _held_back(
    ledger: Ledger,
    campaign: Campaign,
    candidates: list[dict[str, object]],
    *,
    accounts: Sequence[str],
    now: datetime,
) -> dict[int, str]:
    """Lead id -> why it must not be called again, for the candidates that must not."""
    indexes = [dnc_index(ledger, campaign, account=a) for a in accounts]
    if not indexes:
        indexes = [dnc_index(ledger, campaign, account="")]  # suppression files only
    opted_out = set(ledger.opted_out_numbers())
    recent: dict[str, str] = {}
    if campaign.dedupe.cooldown_days:
        since = now - timedelta(days=campaign.dedupe.cooldown_days)
        recent = ledger.recent_numbers(since=since, exclude=campaign.name)
    held: dict[int, str] = {}
    for lead in candidates:
        phone, lead_id = str(lead["phone"]), int(str(lead["id"]))
        if str(lead["disposition"] or "").strip().casefold() == OPT_OUT or phone in opted_out:
            held[lead_id] = "asked not to be called"
        elif lead.get("analysis_status") == "pending":
            # The analysis may yet say "Do Not Call": never call back before it is in.
            held[lead_id] = "last call's analysis still pending (try again later)"
        elif any(i.match(phone, agent_id=campaign.agent_id, now=now) for i in indexes):
            held[lead_id] = "on the DNC list"
        elif phone in recent:
            held[lead_id] = f"called by another campaign within {campaign.dedupe.cooldown_days} d"
    return held


# -- the company DNC list -------------------------------------------------------------------

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_expiry(text: str, *, now: datetime) -> datetime:
    """``--expires``: an ISO date or date-time (naive is UTC), or a duration like ``30d``."""
    match = _DURATION.match(text.strip().lower())
    if match:
        return now + timedelta(seconds=float(match[1]) * _UNITS[match[2]])
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(
            f"--expires {text!r}: use an ISO date or date-time (2026-12-31, "
            "2026-12-31T18:00+02:00) or a duration (90m, 12h, 30d)"
        ) from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if moment <= now:
        raise ConfigError(f"--expires {text!r} is in the past; give a future date or a duration")
    return moment


def dnc_number(raw: str, *, region: str) -> str:
    """A number for the DNC list, normalised exactly like a lead sheet's; else ConfigError."""
    phone, reason = normalize(raw, region=region)
    if phone is None:
        raise ConfigError(
            f"{raw!r} is not a number that can be called ({reason}); write it in "
            f"international form (+972…) or pass --region for local numbers"
        )
    return phone


async def find_dnc_entry(client: YapprClient, target: str, *, region: str) -> DncEntry | None:
    """The entry a ``remove`` argument names: a phone number, else an entry id."""
    phone, _ = normalize(target, region=region)
    if phone is not None:
        return await client.lookup_dnc(phone)
    try:
        entries = await client.list_dnc()
    except NotFound:
        return None
    return next((e for e in entries if e.id == target), None)


# -- controls from another terminal ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ControlResult:
    """What ``pause``/``stop`` did: the campaign, the control set, leads cancelled now, and
    whether a running dialer will apply it (within seconds) or nothing was running."""

    name: str
    control: str
    cancelled: int
    running: bool


def pause_campaign(ledger: Ledger, name: str, *, now: datetime) -> ControlResult:
    """Stop claiming leads of campaign ``name``; calls in flight finish. ``dialer resume``
    picks it up again."""
    record = find_campaign(ledger, name)
    ledger.set_control(name, "pause", now=now)
    if record.state in {"queued", "ready"}:
        ledger.set_campaign_state(name, "paused", now=now)
    return ControlResult(name, "pause", 0, dispatched_now(ledger, record.account))


def stop_campaign(ledger: Ledger, name: str, *, now: datetime) -> ControlResult:
    """End campaign ``name``: every lead not yet called is cancelled (with a reason); calls
    in flight finish. A running dialer does the cancelling itself (it may be claiming a lead
    this very moment); with none running it is done here."""
    record = find_campaign(ledger, name)
    ledger.set_control(name, "stop", now=now)
    with ledger.account_lease(record.account or "") as free:
        if not free:
            return ControlResult(name, "stop", 0, running=True)
        stamp = now.isoformat(timespec="seconds")
        reason = f"not called: the campaign was stopped ({stamp})"
        cancelled = ledger.cancel_unclaimed(name, reason=reason, now=now)
        if not ledger.open_attempts(name):
            ledger.set_campaign_state(name, "finished", now=now, reason="stopped by a person")
    return ControlResult(name, "stop", cancelled, running=False)
