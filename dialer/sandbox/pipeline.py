"""The path every API request takes before and after its handler (one aiohttp middleware).

Order: auth (401s count nowhere) -> forced 429 storm -> rate limit (every other request uses a
slot; a 429 executes nothing) -> latency -> scope -> 5xx fault before any effect -> handler ->
lost-answer fault after the effect. ``X-RateLimit-*`` headers go on every counted answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from dialer.sandbox.auth import authenticate, require_scope
from dialer.sandbox.context import KEY, Context, api_key, context
from dialer.sandbox.failure import Fail, error_response

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: The scope each route needs (CONTRACT §1); routes missing here need only a valid key.
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

GENERIC_CODES = {
    400: "BAD_REQUEST",
    402: "BILLING_ERROR",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    410: "GONE",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "UNPROCESSABLE_REQUEST",
    429: "RATE_LIMIT",
    500: "INTERNAL_ERROR",
    502: "UPSTREAM_ERROR",
    503: "SERVICE_UNAVAILABLE",
}


def route_of(request: web.Request) -> str:
    """The route template a request matched (``/calls/{call_id}``), or its path."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else request.path


@web.middleware
async def pipeline(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Run one request through auth, limits and faults; count what was answered."""
    ctx = context(request)
    if request.path == "/" and request.method == "GET":
        return await handler(request)  # the index: no auth, not counted
    response = await _limited(ctx, request, handler)
    if request.transport is None or request.transport.is_closing():
        ctx.dropped_connections += 1
    else:
        ctx.answered(response.status)
    return response


async def _limited(ctx: Context, request: web.Request, handler: Handler) -> web.StreamResponse:
    """Authenticate, then charge the key's rate window (or refuse with 429)."""
    try:
        key = authenticate(request.headers.get("Authorization"), ctx.keys, ctx.clock.now())
    except Fail as fail:
        return fail.response()
    request[KEY] = key
    route = route_of(request)
    storm = ctx.faults.applies(request.method, route) and ctx.faults.take_storm()
    slot = ctx.limiter.exhausted(key.secret) if storm else ctx.limiter.take(key.secret)
    if not slot.allowed:
        message = f"Rate limit of {slot.limit} requests per minute reached; retry later"
        return error_response(429, "RATE_LIMIT", message, headers=slot.headers())
    response = await _faulty(ctx, request, handler, route)
    response.headers.update(slot.headers())
    return response


async def _faulty(
    ctx: Context, request: web.Request, handler: Handler, route: str
) -> web.StreamResponse:
    """Check the scope, run the handler, and inject the faults configured for this route."""
    faulty = ctx.faults.applies(request.method, route)
    if faulty and ctx.faults.latency_seconds and (request.method, route) != ("POST", "/calls"):
        await ctx.clock.sleep(ctx.faults.latency_seconds)  # POST /calls waits inside (see there)
    try:
        scope = SCOPES.get((request.method, route))
        require_scope(api_key(request), scope, status=ctx.config.scope_error_status)
        if faulty and ctx.faults.server_error():
            raise Fail(503, "SERVICE_UNAVAILABLE", "Temporary failure; nothing was done. Retry.")
        response = await handler(request)
    except Fail as fail:
        return fail.response()
    except web.HTTPException as exc:
        code = GENERIC_CODES.get(exc.status, "REQUEST_FAILED")
        return error_response(exc.status, code, exc.reason)
    if faulty and response.status < 400:
        return _lose(ctx, request, response)
    return response


def _lose(ctx: Context, request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
    """After the effect: maybe answer 503 anyway, or close the connection with no answer."""
    lost = ctx.faults.lost_answer()
    if lost == "503":
        message = "Temporary failure; the outcome is unknown. Retry with the same Idempotency-Key."
        return error_response(503, "SERVICE_UNAVAILABLE", message)
    if lost == "drop" and request.transport is not None:
        request.transport.close()
    return response
