"""Handlers for calls, call requests, agents, phone numbers, billing and the index
(docs/api.md §3–§12). Each takes the sandbox :class:`Context` and an :class:`ApiRequest`."""

from __future__ import annotations

import json as jsonlib
from typing import Any

from dialer.clock import isoformat
from dialer.sandbox.auth import refuse_agent_limited
from dialer.sandbox.calls_body import is_uuid
from dialer.sandbox.calls_query import CallsQuery, known_dispositions
from dialer.sandbox.context import Context, api_key
from dialer.sandbox.failure import Fail
from dialer.sandbox.http import ApiReply, ApiRequest, json
from dialer.sandbox.idempotency import check_key, fingerprint

MAX_BODY_BYTES = 65_536


def path_id(request: ApiRequest, name: str) -> str:
    """A UUID from the path, or 404 RESOURCE_ID_INVALID."""
    value = request.match_info[name]
    if not is_uuid(value):
        raise Fail(404, "RESOURCE_ID_INVALID", f"{value!r} is not a valid id")
    return value


def read_json(request: ApiRequest, *, limit: int | None = None) -> Any:
    """The request's JSON body; 413 beyond ``limit`` bytes, 400 when it is not JSON."""
    if limit is not None and len(request.body) > limit:
        raise Fail(413, "REQUEST_BODY_TOO_LARGE", f"The body is larger than {limit} bytes")
    try:
        return jsonlib.loads(request.body or b"null")
    except ValueError as exc:
        raise Fail(400, "BAD_REQUEST", f"The body is not valid JSON: {exc}") from exc


# -- POST /calls ----------------------------------------------------------------------------


async def create_call(ctx: Context, request: ApiRequest) -> ApiReply:
    """Place an outbound call, replaying the stored answer for a repeated Idempotency-Key."""
    body = read_json(request, limit=MAX_BODY_BYTES)
    idem_key = request.headers.get("Idempotency-Key")
    if idem_key is None:
        status, answer = await _place(ctx, request, body)
        return json(answer, status=status)
    check_key(idem_key)
    record = ctx.idempotency.begin(idem_key, fingerprint(body), ctx.clock.time())
    if record is not None:
        headers = {"Idempotency-Replayed": "true"}
        return json(record.body, status=record.status or 200, headers=headers)
    try:
        status, answer = await _place(ctx, request, body)
    except BaseException:
        ctx.idempotency.abandon(idem_key)  # no effect happened: the key is free again
        raise
    # Stored before the pipeline may lose the answer, so a retry replays it (never re-dials).
    ctx.idempotency.finish(idem_key, status, answer)
    return json(answer, status=status)


async def _place(ctx: Context, request: ApiRequest, body: Any) -> tuple[int, dict[str, Any]]:
    """Validate, take the configured processing latency, then act."""
    placement = ctx.parser.parse(body, api_key(request))
    if ctx.faults.latency_seconds and ctx.faults.applies("POST", "/calls"):
        # While this waits the key is claimed: a concurrent duplicate gets 409 IN_PROGRESS.
        await ctx.clock.sleep(ctx.faults.latency_seconds)
    return ctx.world.place(placement)


# -- calls and call requests ----------------------------------------------------------------


async def list_calls(ctx: Context, request: ApiRequest) -> ApiReply:
    """GET /calls: filtered, newest first, paged."""
    params = request.query
    if len(params) != len(set(params)):
        raise Fail(400, "CALLS_QUERY_INVALID", "Each query parameter may be given once")
    dispositions = known_dispositions(ctx.config.scenario.dispositions)
    query = CallsQuery(params, agents=ctx.world.agents, dispositions=dispositions)
    # The indexes only narrow what the query's filters then look at: a sync by
    # updated_since costs the calls changed since, not every call ever made.
    calls = ctx.world.calls.candidates(updated_since=query.updated_since, callee=query.callee)
    allowed = api_key(request).agent_ids
    if allowed is not None:
        calls = [c for c in calls if c["agent_id"] in allowed]
    return json(query.page(calls))


async def get_call(ctx: Context, request: ApiRequest) -> ApiReply:
    """GET /calls/{id}."""
    call_id = path_id(request, "call_id")
    call = ctx.world.calls.get(call_id)
    if call is None:
        raise Fail(404, "NOT_FOUND", f"No call {call_id} in this workspace")
    return json(call)


async def get_call_request(ctx: Context, request: ApiRequest) -> ApiReply:
    """GET /call-requests/{id}."""
    return json(ctx.world.requests.get(path_id(request, "request_id")))


async def cancel_call_request(ctx: Context, request: ApiRequest) -> ApiReply:
    """POST /call-requests/{id}/cancel."""
    return json(ctx.world.requests.cancel(path_id(request, "request_id")))


# -- agents, numbers, billing, index --------------------------------------------------------


def _page_params(request: ApiRequest) -> tuple[int, int]:
    """``limit`` (1–100, default 20) and ``offset`` for GET /agents; nothing else allowed."""
    unknown = sorted(set(request.query) - {"limit", "offset"})
    if unknown:
        raise Fail(400, "BAD_REQUEST", f"Unknown query parameter(s): {', '.join(unknown)}")
    limit, offset = request.query.get("limit", "20"), request.query.get("offset", "0")
    if not (limit.isdigit() and 1 <= int(limit) <= 100 and offset.isdigit()):
        raise Fail(400, "BAD_REQUEST", "limit must be 1-100 and offset a whole number")
    return int(limit), int(offset)


async def list_agents(ctx: Context, request: ApiRequest) -> ApiReply:
    """GET /agents with the pagination envelope."""
    limit, offset = _page_params(request)
    agents = list(ctx.world.agents.values())
    data = agents[offset : offset + limit]
    more = offset + len(data) < len(agents)
    page = {"total": len(agents), "limit": limit, "offset": offset, "has_more": more}
    return json({"data": data, "pagination": page})


async def get_agent(ctx: Context, request: ApiRequest) -> ApiReply:
    """GET /agents/{id}."""
    agent_id = path_id(request, "agent_id")
    agent = ctx.world.agents.get(agent_id)
    if agent is None:
        raise Fail(404, "NOT_FOUND", f"No agent {agent_id} in this workspace")
    return json(agent)


async def list_phone_numbers(ctx: Context, request: ApiRequest) -> ApiReply:
    """GET /phone-numbers: the company's numbers, active or not."""
    refuse_agent_limited(api_key(request), "phone numbers")
    return json({"data": list(ctx.world.numbers.values())})


async def get_billing(ctx: Context, request: ApiRequest) -> ApiReply:
    """GET /billing: balance, payment method, suspension, monthly budget and spend (§12)."""
    return json(ctx.world.billing())


async def index(ctx: Context, request: ApiRequest) -> ApiReply:
    """GET /: the endpoint list and the sandbox's settings (no auth, not rate limited)."""
    sandbox = {
        "time_scale": ctx.clock.scale,
        "now": isoformat(ctx.clock.now()),
        "rate_limit": ctx.limiter.limit,
        "capacity": ctx.config.capacity,
    }
    return json({"name": "Yappr API sandbox", "endpoints": ENDPOINTS, "sandbox": sandbox})


ENDPOINTS = [
    "POST /calls",
    "GET /calls",
    "GET /calls/{id}",
    "GET /call-requests/{id}",
    "POST /call-requests/{id}/cancel",
    "GET /agents",
    "GET /agents/{id}",
    "GET /phone-numbers",
    "GET /do-not-call",
    "GET /do-not-call/{id}",
    "POST /do-not-call",
    "PATCH /do-not-call/{id}",
    "DELETE /do-not-call/{id}",
    "GET /billing",
]
