"""The company do-not-call list from the command line: list, sync, add, remove.

Each function opens its own client on the connection it is given, with the default request
budget of a campaign (``[pacing] requests_per_minute``). Numbers are normalised exactly like a
lead sheet's, ``region`` reading those written without a country code. After a change the
ledger's cached copy is refreshed, so the next run sees it without waiting for ``max_age``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

from dialer import operations
from dialer.api.client import YapprClient
from dialer.api.models import DncEntry
from dialer.campaign.connection import Connection, open_client
from dialer.campaign.dnccache import refresh_dnc
from dialer.config import Pacing
from dialer.errors import ConfigError
from dialer.phones import supported_regions
from dialer.runner import Declined
from dialer.store import Ledger


@asynccontextmanager
async def _client(connection: Connection) -> AsyncIterator[YapprClient]:
    """A client with a campaign's default request budget."""
    async with open_client(connection, requests_per_minute=Pacing().requests_per_minute) as client:
        yield client


def checked_region(region: str) -> str:
    """``il`` -> ``IL``; a region phonenumbers does not know is a ConfigError."""
    code = region.strip().upper()
    if code not in supported_regions():
        raise ConfigError(f"--region {region!r} is not a two-letter country code like IL or US")
    return code


async def list_entries(connection: Connection) -> list[DncEntry]:
    """Every entry on the company list, as the API returns them."""
    async with _client(connection) as client:
        return list(await client.list_dnc())


async def sync(ledger: Ledger, connection: Connection) -> int:
    """Refresh the ledger's cached copy now; the number of entries."""
    async with _client(connection) as client:
        return await refresh_dnc(
            ledger, client, account=connection.account, now=connection.clock.now()
        )


@dataclass(frozen=True, slots=True)
class Addition:
    """What ``dnc add`` asks for: the number as typed, and the entry's optional details."""

    number: str
    region: str = "IL"
    reason: str | None = None
    expires: str | None = None  # an ISO date/time or a duration like 30d
    agents: Sequence[str] = ()


async def add(ledger: Ledger, connection: Connection, addition: Addition) -> tuple[DncEntry, bool]:
    """Put a number on the list; the entry, and False if it was on it already (unchanged)."""
    now = connection.clock.now()
    phone = operations.dnc_number(addition.number, region=checked_region(addition.region))
    until = operations.parse_expiry(addition.expires, now=now) if addition.expires else None
    async with _client(connection) as client:
        entry, created = await client.add_dnc(
            phone, reason=addition.reason, expires_at=until, agent_ids=tuple(addition.agents)
        )
        await refresh_dnc(ledger, client, account=connection.account, now=now)
    return entry, created


async def remove(
    ledger: Ledger,
    connection: Connection,
    target: str,
    *,
    region: str = "IL",
    confirm: Callable[[DncEntry], bool] | None = None,
) -> DncEntry:
    """Take the entry ``target`` names (a number, else an entry id) off the list.

    ``confirm(entry)`` is asked first, when given: a no raises :class:`Declined`. A target
    that is not on the list is a ConfigError.
    """
    async with _client(connection) as client:
        entry = await operations.find_dnc_entry(client, target, region=checked_region(region))
        if entry is None:
            raise ConfigError(f"{target} is not on the do-not-call list; see `dialer dnc list`")
        if confirm is not None and not confirm(entry):
            raise Declined(f"not confirmed: {entry.phone_number} stays on the do-not-call list")
        await client.delete_dnc(entry.id)
        await refresh_dnc(ledger, client, account=connection.account, now=connection.clock.now())
    return entry
