"""The sandbox server: :class:`Sandbox` for tests and in-process runs, :func:`serve` for the CLI."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import secrets
from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType, TracebackType
from typing import Any

from aiohttp import web

from dialer.clock import ScaledClock
from dialer.sandbox import catalog, routes, routes_dnc
from dialer.sandbox.auth import ApiKey
from dialer.sandbox.calls_body import CallsBodyParser
from dialer.sandbox.context import CONTEXT, Context
from dialer.sandbox.faults import Faults
from dialer.sandbox.pipeline import pipeline
from dialer.sandbox.ratelimit import RateLimiter
from dialer.sandbox.scheduler import Scheduler
from dialer.sandbox.settings import SandboxConfig
from dialer.sandbox.world import World


def build_app(ctx: Context) -> web.Application:
    """The aiohttp application: routes, the request pipeline and the shared context."""
    app = web.Application(middlewares=[pipeline], client_max_size=4 * 1024 * 1024)
    app[CONTEXT] = ctx
    add = app.router
    add.add_get("/", routes.index)
    add.add_post("/calls", routes.create_call)
    add.add_get("/calls", routes.list_calls)
    add.add_get("/calls/{call_id}", routes.get_call)
    add.add_get("/call-requests/{request_id}", routes.get_call_request)
    add.add_post("/call-requests/{request_id}/cancel", routes.cancel_call_request)
    add.add_get("/agents", routes.list_agents)
    add.add_get("/agents/{agent_id}", routes.get_agent)
    add.add_get("/phone-numbers", routes.list_phone_numbers)
    add.add_get("/do-not-call", routes_dnc.list_dnc)
    add.add_post("/do-not-call", routes_dnc.add_dnc)
    add.add_get("/do-not-call/{entry_id}", routes_dnc.get_dnc)
    add.add_patch("/do-not-call/{entry_id}", routes_dnc.update_dnc)
    add.add_delete("/do-not-call/{entry_id}", routes_dnc.delete_dnc)
    add.add_get("/billing", routes.get_billing)
    return app


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Sandbox:
    """A Yappr-compatible API on 127.0.0.1; use ``async with Sandbox(config) as sb``."""

    def __init__(
        self, config: SandboxConfig | None = None, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.config = config or SandboxConfig()
        self.host, self.port = host, port
        self.clock = ScaledClock(self.config.time_scale, start=self.config.start)
        self.scheduler = Scheduler(self.clock)
        self.world = World(self.config, self.clock, self.scheduler)
        self.faults: Faults = self.config.faults
        self.faults.seed(self.config.seed)
        self.api_key = catalog.TEST_API_KEY
        self.ctx = Context(
            config=self.config,
            clock=self.clock,
            world=self.world,
            keys={self.api_key: ApiKey(self.api_key)},
            limiter=RateLimiter(self.clock, self.config.rate_limit),
            faults=self.faults,
            parser=CallsBodyParser(
                self.world.agents, self.world.numbers, legacy_codes=self.config.legacy_codes
            ),
        )
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        """Bind and start serving, and start the clock-driven scheduler."""
        self._runner = web.AppRunner(build_app(self.ctx), access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        self.scheduler.start()

    async def stop(self) -> None:
        """Stop the scheduler and the server; safe to call twice."""
        await self.scheduler.stop()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> Sandbox:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- what tests and the CLI read ------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` once started."""
        return f"http://{self.host}:{self.port}"

    @property
    def carrier_legs(self) -> list[str]:
        """Every ``to`` that really got dialled, in order (DNC blocks add none)."""
        return self.world.carrier_legs

    @property
    def calls(self) -> Mapping[str, dict[str, Any]]:
        """Call id -> the call object as GET /calls/{id} returns it (read-only view)."""
        return MappingProxyType(self.world.calls)

    @property
    def status_counts(self) -> Counter[int]:
        """How many answers of each HTTP status were given."""
        return self.ctx.status_counts

    @property
    def request_count(self) -> int:
        """Requests answered (the unauthenticated index excluded)."""
        return self.ctx.request_count

    # -- knobs ----------------------------------------------------------------------------

    def add_key(
        self,
        *,
        scopes: set[str] | frozenset[str] | None = None,
        agent_ids: set[str] | frozenset[str] | tuple[str, ...] | None = None,
        expires_at: datetime | None = None,
    ) -> str:
        """Mint another key (own rate window); None scopes means every scope."""
        secret = f"ypr_test_{secrets.token_hex(12)}"
        self.ctx.keys[secret] = ApiKey(
            secret,
            scopes=frozenset(catalog.ALL_SCOPES if scopes is None else scopes),
            agent_ids=None if agent_ids is None else frozenset(agent_ids),
            expires_at=expires_at,
        )
        return secret

    def set_rate_limit(self, limit: int) -> None:
        """Change the per-key limit now; the headers of the next answer show it."""
        self.ctx.limiter.limit = limit

    def add_dnc(
        self,
        phone: str,
        *,
        agent_ids: tuple[str, ...] | list[str] = (),
        expires_at: datetime | None = None,
        reason: str | None = "asked",
    ) -> str:
        """Put a number on the DNC list as a person in the dashboard would; returns its id."""
        entry, _ = self.world.dnc.add(
            phone,
            now=self.clock.now(),
            reason=reason,
            expires_at=expires_at,
            agent_ids=list(agent_ids),
            source="manual",
        )
        return entry.id

    def set_balance(self, cents: int | None) -> None:
        """Set the balance (None: unlimited); under 300 cents POST /calls answers 402."""
        self.world.balance_cents = cents


def banner(sb: Sandbox) -> str:
    """What ``dialer sandbox`` prints on start: where it is and how to try it."""
    body = json.dumps(
        {"agent_id": catalog.AGENT_ID, "to": "+972501234567", "from": catalog.FROM_NUMBERS[0]}
    )
    lines = [
        f"Yappr sandbox listening on {sb.base_url}  (time x{sb.clock.scale:g}, "
        f"{sb.ctx.limiter.limit} req/min per key, {sb.config.capacity} lines)",
        f"API key:            {sb.api_key}",
        f"Agent (prompt):     {catalog.AGENT_ID}",
        f"Agent (prompt B):   {catalog.AGENT_B_ID}",
        f"Agent (workflow):   {catalog.WORKFLOW_AGENT_ID}",
        f"From numbers:       {', '.join(catalog.FROM_NUMBERS)}",
        "",
        "Try it:",
        f"  curl -s {sb.base_url}/calls -H 'Authorization: Bearer {sb.api_key}' \\",
        "    -H 'Content-Type: application/json' -H 'Idempotency-Key: try-1' \\",
        f"    -d '{body}'",
        "",
        f"  export YAPPR_BASE_URL={sb.base_url} YAPPR_API_KEY={sb.api_key}",
        "Press Ctrl-C to stop.",
    ]
    return "\n".join(lines)


async def serve(
    config: SandboxConfig,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    allow_remote: bool = False,
) -> None:
    """Serve the sandbox until cancelled, after printing the banner."""
    if not (allow_remote or is_loopback(host)):
        raise ValueError(f"refusing to listen on {host}: not a loopback address (allow_remote)")
    async with Sandbox(config, host=host, port=port) as sb:
        print(banner(sb), flush=True)
        await asyncio.Event().wait()
