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

from dialer.clock import Clock, ScaledClock
from dialer.sandbox import catalog, pipeline, routes, routes_dnc
from dialer.sandbox.auth import ApiKey
from dialer.sandbox.calls_body import CallsBodyParser
from dialer.sandbox.context import Context
from dialer.sandbox.failure import error_reply
from dialer.sandbox.faults import Faults
from dialer.sandbox.http import ApiReply, ApiRequest, Router
from dialer.sandbox.inprocess import InProcessTransport
from dialer.sandbox.ratelimit import RateLimiter
from dialer.sandbox.scheduler import Scheduler
from dialer.sandbox.settings import SandboxConfig
from dialer.sandbox.world import World

#: Where an in-process sandbox "lives": clients need a base URL; no request ever leaves.
IN_PROCESS_URL = "http://sandbox.in-process"
_SANDBOX: web.AppKey[Sandbox] = web.AppKey("sandbox")


def build_router() -> Router:
    """Every route of the API the sandbox serves."""
    router = Router()
    router.add("GET", "/", routes.index)
    router.add("POST", "/calls", routes.create_call)
    router.add("GET", "/calls", routes.list_calls)
    router.add("GET", "/calls/{call_id}", routes.get_call)
    router.add("GET", "/call-requests/{request_id}", routes.get_call_request)
    router.add("POST", "/call-requests/{request_id}/cancel", routes.cancel_call_request)
    router.add("GET", "/agents", routes.list_agents)
    router.add("GET", "/agents/{agent_id}", routes.get_agent)
    router.add("GET", "/phone-numbers", routes.list_phone_numbers)
    router.add("GET", "/billing", routes.get_billing)
    router.add("GET", "/do-not-call", routes_dnc.list_dnc)
    router.add("POST", "/do-not-call", routes_dnc.add_dnc)
    router.add("GET", "/do-not-call/{entry_id}", routes_dnc.get_dnc)
    router.add("PATCH", "/do-not-call/{entry_id}", routes_dnc.update_dnc)
    router.add("DELETE", "/do-not-call/{entry_id}", routes_dnc.delete_dnc)
    return router


def build_app(sandbox: Sandbox) -> web.Application:
    """The aiohttp application: every path goes to the sandbox's own pipeline."""
    app = web.Application(client_max_size=4 * 1024 * 1024)
    app[_SANDBOX] = sandbox
    app.router.add_route("*", "/{tail:.*}", _over_http)
    return app


async def _over_http(request: web.Request) -> web.StreamResponse:
    """Turn an aiohttp request into an :class:`ApiRequest` and the answer back."""
    sandbox = request.app[_SANDBOX]
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        reply = error_reply(413, "PAYLOAD_TOO_LARGE", "The request body is too large")
    else:
        reply = await sandbox.handle(
            ApiRequest(
                method=request.method,
                path=request.rel_url.raw_path,
                query=request.query,
                headers=request.headers,
                body=body,
            )
        )
    response = web.Response(status=reply.status, body=reply.body, headers=reply.headers)
    if reply.drop and request.transport is not None:
        request.transport.close()  # the effect happened; the client gets no answer
    return response


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Sandbox:
    """A Yappr-compatible API; ``async with Sandbox(config) as sb`` serves it on 127.0.0.1.

    ``start(listen=False)`` runs it with no socket at all: clients reach it through
    :meth:`transport` (in the same process), on whatever ``clock`` it was given, e.g. the
    :class:`~dialer.clock.ManualClock` of a deterministic simulation.
    """

    def __init__(
        self,
        config: SandboxConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Clock | None = None,
    ) -> None:
        self.config = config or SandboxConfig()
        self.host, self.port = host, port
        self.clock: Clock = clock or ScaledClock(self.config.time_scale, start=self.config.start)
        self.scheduler = Scheduler(self.clock)
        self.world = World(self.config, self.clock, self.scheduler)
        self.faults: Faults = self.config.faults
        self.faults.seed(self.config.seed)
        self.api_key = catalog.TEST_API_KEY
        self.router = build_router()
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
        self.listening = False

    async def handle(self, request: ApiRequest) -> ApiReply:
        """Answer one request, exactly as the server would."""
        return await pipeline.handle(self.ctx, self.router, request)

    def transport(self) -> InProcessTransport:
        """A client transport straight to this sandbox: no socket, no wall-clock wait."""
        return InProcessTransport(self.handle)

    async def start(self, *, listen: bool = True) -> None:
        """Start the clock-driven scheduler and, with ``listen``, serve HTTP on host:port."""
        if listen:
            self._runner = web.AppRunner(build_app(self), access_log=None, shutdown_timeout=0.5)
            await self._runner.setup()
            site = web.TCPSite(self._runner, self.host, self.port)
            await site.start()
            self.port = int(self._runner.addresses[0][1])
            self.listening = True
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
        """``http://127.0.0.1:PORT`` once listening (a placeholder URL when in-process)."""
        return f"http://{self.host}:{self.port}" if self.listening else IN_PROCESS_URL

    @property
    def carrier_legs(self) -> list[str]:
        """Every ``to`` that really got dialled, in order (DNC blocks add none)."""
        return self.world.carrier_legs

    @property
    def most_live(self) -> int:
        """The most calls that were live at once on the company's lines."""
        return self.world.most_live

    @property
    def calls(self) -> Mapping[str, dict[str, Any]]:
        """Call id -> the call object as GET /calls/{id} returns it (read-only view)."""
        return MappingProxyType(self.world.calls.rows)

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
