"""The path every API request takes before and after its handler.

Order: route -> auth (401s count nowhere) -> forced 429 storm -> rate limit (every other request
uses a slot; a 429 executes nothing) -> latency -> scope -> 5xx fault before any effect ->
handler -> lost-answer fault after the effect. ``X-RateLimit-*`` headers go on every counted
answer, and every answer carries the sandbox clock's ``Date``.
"""

from __future__ import annotations

from email.utils import formatdate

from dialer.sandbox.auth import authenticate, require_scope
from dialer.sandbox.context import Context, api_key
from dialer.sandbox.failure import Fail, error_reply
from dialer.sandbox.http import ApiReply, ApiRequest, Handler, Router

#: The scope each route needs (docs/api.md §1); routes missing here need only a valid key.
SCOPES = {
    ("POST", "/calls"): "calls:create",
    ("GET", "/calls"): "calls:read",
    ("GET", "/calls/{call_id}"): "calls:read",
    ("GET", "/call-requests/{request_id}"): "calls:read",
    ("POST", "/call-requests/{request_id}/cancel"): "calls:create",
    ("GET", "/agents"): "agents:read",
    ("GET", "/agents/{agent_id}"): "agents:read",
    ("GET", "/phone-numbers"): "phone_numbers:search",
    ("GET", "/do-not-call"): "do_not_call:read",
    ("GET", "/do-not-call/{entry_id}"): "do_not_call:read",
    ("POST", "/do-not-call"): "do_not_call:manage",
    ("PATCH", "/do-not-call/{entry_id}"): "do_not_call:manage",
    ("DELETE", "/do-not-call/{entry_id}"): "do_not_call:manage",
    ("GET", "/billing"): "billing:read",
}


async def handle(ctx: Context, router: Router, request: ApiRequest) -> ApiReply:
    """Answer one request (the index ``GET /`` is neither authenticated nor counted)."""
    handler = router.resolve(request)
    if request.path.rstrip("/") == "" and request.method == "GET" and handler is not None:
        reply = await handler(ctx, request)
    else:
        reply = await _limited(ctx, request, handler)
        if reply.drop:
            ctx.dropped_connections += 1
        else:
            ctx.answered(reply.status)
    reply.headers.setdefault("Date", formatdate(ctx.clock.time(), usegmt=True))
    return reply


async def _limited(ctx: Context, request: ApiRequest, handler: Handler | None) -> ApiReply:
    """Authenticate, then charge the key's rate window (or refuse with 429)."""
    try:
        request.key = authenticate(request.headers.get("Authorization"), ctx.keys, ctx.clock.now())
    except Fail as fail:
        return fail.reply()
    route = request.route or request.path
    storm = ctx.faults.applies(request.method, route) and ctx.faults.take_storm()
    slot = (
        ctx.limiter.exhausted(request.key.secret) if storm else ctx.limiter.take(request.key.secret)
    )
    if not slot.allowed:
        message = f"Rate limit of {slot.limit} requests per minute reached; retry later"
        return error_reply(429, "RATE_LIMIT", message, headers=slot.headers())
    reply = await _faulty(ctx, request, handler, route)
    reply.headers.update(slot.headers())
    return reply


async def _faulty(
    ctx: Context, request: ApiRequest, handler: Handler | None, route: str
) -> ApiReply:
    """Check the scope, run the handler, and inject the faults configured for this route."""
    faulty = ctx.faults.applies(request.method, route)
    if faulty and ctx.faults.latency_seconds and (request.method, route) != ("POST", "/calls"):
        await ctx.clock.sleep(ctx.faults.latency_seconds)  # POST /calls waits inside (see there)
    try:
        if handler is None:
            raise _no_route(request)
        scope = SCOPES.get((request.method, route))
        require_scope(api_key(request), scope, status=ctx.config.scope_error_status)
        if faulty and ctx.faults.server_error():
            raise Fail(503, "SERVICE_UNAVAILABLE", "Temporary failure; nothing was done. Retry.")
        reply = await handler(ctx, request)
    except Fail as fail:
        return fail.reply()
    if faulty and ctx.faults.answer_delay_seconds:
        await ctx.clock.sleep(ctx.faults.answer_delay_seconds)  # the effect is done already
    if faulty and reply.status < 400:
        return _lose(ctx, reply)
    return reply


def _no_route(request: ApiRequest) -> Fail:
    """405 when the path exists for another method, else 404."""
    if request.route:
        return Fail(405, "METHOD_NOT_ALLOWED", f"{request.method} is not allowed here")
    return Fail(404, "NOT_FOUND", f"No route {request.method} {request.path}")


def _lose(ctx: Context, reply: ApiReply) -> ApiReply:
    """After the effect: maybe answer 503 anyway, or close the connection with no answer."""
    lost = ctx.faults.lost_answer()
    if lost == "503":
        message = "Temporary failure; the outcome is unknown. Retry with the same Idempotency-Key."
        return error_reply(503, "SERVICE_UNAVAILABLE", message)
    if lost == "drop":
        reply.drop = True
    return reply
