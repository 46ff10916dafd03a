"""How to reach the API: where it is, the key, the clock, and a client with one rate budget.

:func:`connection_from_env` reads ``YAPPR_BASE_URL`` and ``YAPPR_API_KEY``; :func:`account_of`
is what the ledger files an account under (a fingerprint, never the key);
:func:`with_server_clock` shares the clock of a ``dialer sandbox`` in another process; and
:func:`open_client` opens a client whose every request spends one rate budget.
"""

from __future__ import annotations

import hashlib
import os
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Protocol
from urllib.parse import urlsplit

from dialer.api.client import YapprClient
from dialer.api.ratelimit import RateBudget
from dialer.api.retry import Backoff
from dialer.api.transport import Transport
from dialer.clock import Clock, ScaledClock, SystemClock, parse_instant
from dialer.errors import ApiError, ConfigError
from dialer.store import Ledger

DEFAULT_BASE_URL = "https://api.goyappr.com"


class Stoppable(Protocol):
    """What a signal handler needs of a run: a way to ask it to drain and end."""

    def request_stop(self) -> None:
        """Stop claiming; requests in flight finish and are recorded."""
        ...


@dataclass(frozen=True, slots=True)
class Connection:
    """How to reach the API. ``api_key`` is held in memory only, never written anywhere."""

    base_url: str
    api_key: str | None
    clock: Clock
    account: str  # what the DNC cache is filed under: the base URL, never the key
    transport: Transport | None = None  # default: aiohttp (the sandbox's in-process one in tests)
    seed: int | None = None  # retry jitter made repeatable (simulations); None: random

    def __repr__(self) -> str:
        return f"Connection(base_url={self.base_url!r}, api_key=<hidden>)"


def connection_from_env(clock: Clock | None = None) -> Connection:
    """``YAPPR_BASE_URL`` and ``YAPPR_API_KEY`` from the environment."""
    base_url = os.environ.get("YAPPR_BASE_URL", DEFAULT_BASE_URL).rstrip("/")
    api_key = os.environ.get("YAPPR_API_KEY") or None
    return Connection(
        base_url, api_key, clock or SystemClock(), account=account_of(base_url, api_key)
    )


def account_of(base_url: str, api_key: str | None) -> str:
    """What the ledger files an account under: a one-way fingerprint of the API and the key
    (the key itself is never written anywhere). Two keys are two accounts."""
    secret = f"{base_url}\n{api_key or ''}".encode()
    return "acct-" + hashlib.sha256(secret).hexdigest()[:16]


_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


async def with_server_clock(connection: Connection) -> Connection:
    """Share the clock of a ``dialer sandbox`` running in another process.

    Only a server on this machine is asked (GET /); a sandbox answers with its time scale
    and current time, and every wait, Retry-After and Reset is then read on that clock.
    The real API is never asked and keeps the system clock.
    """
    host = urlsplit(connection.base_url).hostname or ""
    if host not in _LOOPBACK_HOSTS or not connection.api_key:
        return connection
    async with open_client(connection, requests_per_minute=60) as client:
        try:
            info = (await client.server_info()).get("sandbox")
        except ApiError:
            return connection
    if not isinstance(info, dict) or not info.get("time_scale") or not info.get("now"):
        return connection
    clock = ScaledClock(float(info["time_scale"]), start=parse_instant(str(info["now"])))
    return replace(connection, clock=clock)


@asynccontextmanager
async def open_client(
    connection: Connection, *, requests_per_minute: int, ledger: Ledger | None = None
) -> AsyncIterator[YapprClient]:
    """A client with one rate budget for every request of this run. With a ``ledger``, the
    budget starts from what the last process on the account left of its rate window, and
    notes what it leaves itself (docs/design.md §2, promise 3)."""
    if not connection.api_key:
        raise ConfigError(
            "YAPPR_API_KEY is not set: export your Yappr API key, or add --sandbox to try "
            "the campaign against the built-in sandbox"
        )
    account, clock = connection.account, connection.clock
    budget = RateBudget(
        requests_per_minute=requests_per_minute,
        clock=clock,
        recalled=ledger.rate_window(account) if ledger else None,
        remember=(
            (lambda w: ledger.note_rate_window(account, w, now=clock.now())) if ledger else None
        ),
    )
    async with YapprClient(
        base_url=connection.base_url,
        api_key=connection.api_key,
        clock=connection.clock,
        budget=budget,
        transport=connection.transport,
        backoff=Backoff(rng=random.Random(connection.seed)),
    ) as client:
        yield client
