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
from dialer.campaign import dnc_index, find_campaign, plan_for
from dialer.config import Campaign
from dialer.errors import ConfigError, NotFound
from dialer.models import CALL_OUTCOMES, LeadStatus
from dialer.phones import normalize
from dialer.store import Ledger

#: What ``dialer retry --status`` accepts: the outcomes of a finished call, or every
#: ``exhausted`` lead.
RECYCLABLE = (*sorted(s.value for s in CALL_OUTCOMES), LeadStatus.EXHAUSTED.value)


@dataclass(frozen=True, slots=True)
class RecycleResult:
    """How many leads went into the new round, and how many were held back, by reason."""

    recycled: int
    due_at: datetime
    skipped: Counter[str] = field(default_factory=Counter)


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


def recycle(
    ledger: Ledger, name: str, statuses: Sequence[str], *, after: timedelta, now: datetime
) -> RecycleResult:
    """Put finished leads with these outcomes back in line, due ``now + after``.

    Held back: numbers now on a cached DNC list (any account the ledger knows, this agent or
    global, not expired) or a suppression file, numbers another campaign called within the
    cool-down, and leads whose last call was dispositioned "Do Not Call".
    """
    record = find_campaign(ledger, name)
    campaign, _ = plan_for(record)
    wanted = list(statuses)  # naming ``exhausted`` matches every exhausted lead by status
    reasons = _held_back(ledger, campaign, ledger.recycle_candidates(name, wanted), now=now)
    due = now + after
    moved = ledger.recycle(name, wanted, at=due, now=now, skip=set(reasons))
    return RecycleResult(moved, due, Counter(reasons.values()))


def _held_back(
    ledger: Ledger, campaign: Campaign, candidates: list[dict[str, object]], *, now: datetime
) -> dict[int, str]:
    """Lead id -> why it must not be called again, for the candidates that must not."""
    indexes = [dnc_index(ledger, campaign, account=a) for a in ledger.dnc_accounts()]
    if not indexes:
        indexes = [dnc_index(ledger, campaign, account="")]  # suppression files only
    recent: dict[str, str] = {}
    if campaign.dedupe.cooldown_days:
        since = now - timedelta(days=campaign.dedupe.cooldown_days)
        recent = ledger.recent_numbers(since=since, exclude=campaign.name)
    held: dict[int, str] = {}
    for lead in candidates:
        phone, lead_id = str(lead["phone"]), int(str(lead["id"]))
        if str(lead["disposition"] or "").strip().lower() == "do not call":
            held[lead_id] = "asked not to be called"
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
