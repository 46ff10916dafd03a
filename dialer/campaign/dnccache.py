"""The ledger's cached copy of the company DNC list, and the index a campaign screens with.

The cache is refreshed when it is older than the campaign allows (the API is asked only then);
a cache that must be refreshed and cannot be is a :class:`~dialer.errors.DncStaleError`, never
a list used stale. :func:`dnc_index` adds the campaign's suppression files to the cached list.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from dialer.api.client import YapprClient
from dialer.campaign.connection import Connection, open_client
from dialer.config import Campaign
from dialer.dnc import DncEntry, DncIndex, read_suppression_file
from dialer.errors import ApiError, AuthError, DncStaleError
from dialer.store import Ledger


async def refresh_dnc(ledger: Ledger, client: YapprClient, *, account: str, now: datetime) -> int:
    """Fetch the company DNC list and replace the cached copy; returns the entry count."""
    entries = await client.list_dnc()
    rows = [
        {
            "id": e.id,
            "phone_number": e.phone_number,
            "agent_ids": list(e.agent_ids),
            "expires_at": e.expires_at,
            "reason": e.reason,
            "source": e.source,
        }
        for e in entries
    ]
    return ledger.replace_dnc(account, rows, fetched_at=now)


async def ensure_fresh_dnc(
    ledger: Ledger,
    client: YapprClient | None,
    *,
    account: str,
    max_age: timedelta,
    now: datetime,
) -> None:
    """Refresh the cache when older than ``max_age``; refuse to go on with a stale one."""
    fetched = ledger.dnc_fetched_at(account)
    if is_fresh(fetched, now=now, max_age=max_age):
        return
    age = _age_text(fetched, now)
    if client is None:
        raise DncStaleError(
            f"the DNC list for {account} is {age} and no API key is set to refresh it; "
            "set YAPPR_API_KEY (or use --sandbox)"
        )
    try:
        await refresh_dnc(ledger, client, account=account, now=now)
    except AuthError as error:
        raise DncStaleError(
            f"the DNC list for {account} is {age} and cannot be refreshed: {error}. "
            "The key needs the do_not_call:read scope (agent-limited keys cannot read it)"
        ) from error
    except ApiError as error:
        raise DncStaleError(
            f"the DNC list for {account} is {age} and cannot be refreshed: {error}; try again later"
        ) from error


def is_fresh(fetched: datetime | None, *, now: datetime, max_age: timedelta) -> bool:
    """Whether a DNC cache fetched at ``fetched`` may still be used at ``now``.

    A fetch time in the future (a clock that was ahead, or moved back since) proves nothing
    about the cache's age, so it counts as stale and the list is fetched again.
    """
    return fetched is not None and timedelta(0) <= now - fetched <= max_age


def _age_text(fetched: datetime | None, now: datetime) -> str:
    """How old the cache is, in words, for a refusal message."""
    if fetched is None:
        return "never fetched"
    if fetched > now:
        return f"stamped {_ago(fetched - now)} in the future"
    return f"fetched {_ago(now - fetched)} ago"


def _ago(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h"


def dnc_index(ledger: Ledger, campaign: Campaign, *, account: str) -> DncIndex:
    """The cached company list plus the campaign's suppression files."""
    entries = [
        DncEntry(
            id=str(e["id"]),
            phone_number=e["phone_number"],
            agent_ids=frozenset(e["agent_ids"]),
            expires_at=e["expires_at"],
            reason=e["reason"],
            source=e["source"],
        )
        for e in ledger.dnc_entries(account)
    ]
    suppressed: dict[str, str] = {}
    for path in campaign.dnc.suppression_files:
        for number in read_suppression_file(path, region=campaign.default_region):
            suppressed.setdefault(number, path.name)
    return DncIndex(entries, suppressed=suppressed)


async def fresh_dnc_index(
    ledger: Ledger, campaign: Campaign, *, connection: Connection, now: datetime
) -> DncIndex:
    """The DNC index, after refreshing the cache if it is older than the campaign allows
    (the API is asked only then)."""
    max_age = timedelta(minutes=campaign.dnc.max_age_minutes)
    if not is_fresh(ledger.dnc_fetched_at(connection.account), now=now, max_age=max_age):
        rate = campaign.pacing.requests_per_minute
        async with open_client(connection, requests_per_minute=rate, ledger=ledger) as client:
            await ensure_fresh_dnc(
                ledger, client, account=connection.account, max_age=max_age, now=now
            )
    return dnc_index(ledger, campaign, account=connection.account)
