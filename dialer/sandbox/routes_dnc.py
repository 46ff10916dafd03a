"""Handlers for the company do-not-call list (docs/api.md §8). Every 400 is
DO_NOT_CALL_REQUEST_INVALID naming the field; agent-limited keys are refused (R4)."""

from __future__ import annotations

from typing import Any

from dialer.sandbox.auth import refuse_agent_limited
from dialer.sandbox.context import Context, api_key
from dialer.sandbox.dnclist import INVALID, DncEntry, DncList, normalize_phone
from dialer.sandbox.failure import Fail
from dialer.sandbox.http import ApiReply, ApiRequest, json
from dialer.sandbox.routes import path_id, read_json

WRITE_FIELDS = frozenset({"phone_number", "reason", "expires_at", "agent_ids"})


def _dnc(ctx: Context, request: ApiRequest) -> DncList:
    """The DNC list, after refusing agent-limited keys."""
    refuse_agent_limited(api_key(request), "the do-not-call list")
    return ctx.world.dnc


def _phone(value: object, field: str) -> str:
    phone = normalize_phone(value)
    if phone is None:
        raise Fail(400, INVALID, f"{field} is missing or not a phone number: {value!r}")
    return phone


def _entry(request: ApiRequest, dnc: DncList) -> DncEntry:
    entry_id = path_id(request, "entry_id")
    entry = dnc.entries.get(entry_id)
    if entry is None:
        raise Fail(404, "NOT_FOUND", f"No do-not-call entry {entry_id}")
    return entry


def _body(request: ApiRequest) -> dict[str, Any]:
    body = read_json(request)
    if not isinstance(body, dict):
        raise Fail(400, INVALID, "The body must be a JSON object")
    unknown = sorted(set(body) - WRITE_FIELDS)
    if unknown:
        raise Fail(400, INVALID, f"Unknown field(s): {', '.join(unknown)}")
    if not isinstance(body.get("reason"), str | None):
        raise Fail(400, INVALID, "reason must be a string")
    return body


async def list_dnc(ctx: Context, request: ApiRequest) -> ApiReply:
    """GET /do-not-call (newest first) or GET /do-not-call?phone=… (one entry or 404)."""
    dnc = _dnc(ctx, request)
    unknown = sorted(set(request.query) - {"phone"})
    if unknown:
        raise Fail(400, INVALID, f"Unknown query parameter(s): {', '.join(unknown)}")
    if "phone" not in request.query:
        return json({"data": [dnc.render(e) for e in dnc.newest_first()]})
    phone = _phone(request.query["phone"], "phone")
    entry = dnc.find(phone)
    if entry is None:
        raise Fail(404, "NOT_FOUND", f"{phone} is not on the do-not-call list")
    return json(dnc.render(entry))


async def get_dnc(ctx: Context, request: ApiRequest) -> ApiReply:
    """GET /do-not-call/{id}."""
    dnc = _dnc(ctx, request)
    return json(dnc.render(_entry(request, dnc)))


async def add_dnc(ctx: Context, request: ApiRequest) -> ApiReply:
    """POST /do-not-call: 201 new entry; an existing number answers 200, unchanged."""
    dnc = _dnc(ctx, request)
    body = _body(request)
    now = ctx.clock.now()
    phone = _phone(body.get("phone_number"), "phone_number")
    expires = dnc.parse_expiry(body.get("expires_at"), now)
    agents = dnc.parse_agent_ids(body.get("agent_ids"))
    entry, created = dnc.add(
        phone, now=now, reason=body.get("reason"), expires_at=expires, agent_ids=agents
    )
    return json(dnc.render(entry), status=201 if created else 200)


async def update_dnc(ctx: Context, request: ApiRequest) -> ApiReply:
    """PATCH /do-not-call/{id}: reason, expires_at, agent_ids; the number is immutable."""
    dnc = _dnc(ctx, request)
    entry = _entry(request, dnc)
    body = _body(request)
    if "phone_number" in body:
        raise Fail(400, INVALID, "phone_number cannot be changed; delete and add instead")
    now = ctx.clock.now()
    # Validate every field before changing any, so a refused PATCH changes nothing.
    expires = dnc.parse_expiry(body.get("expires_at"), now)
    agents = dnc.parse_agent_ids(body.get("agent_ids"))
    if "expires_at" in body:
        entry.expires_at = expires
    if "agent_ids" in body:
        entry.agent_ids = agents
    if "reason" in body:
        entry.reason = body["reason"]
    return json(dnc.render(entry))


async def delete_dnc(ctx: Context, request: ApiRequest) -> ApiReply:
    """DELETE /do-not-call/{id}: later calls to the number proceed."""
    dnc = _dnc(ctx, request)
    entry = _entry(request, dnc)
    dnc.remove(entry.id)
    return json({"id": entry.id, "deleted": True})
