"""The sandbox's company do-not-call list: CRUD, normalisation, scoping and expiry at dial time."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from dialer.clock import isoformat
from dialer.sandbox import AGENT_B_ID, AGENT_ID, FROM_NUMBERS, Sandbox

PHONE = "+972501234567"


async def call(session: Any, payload: Any, method: str = "GET", path: str = "/do-not-call") -> Any:
    async with session.request(method, path, json=payload) as resp:
        return resp.status, await resp.json()


async def dial(session: Any, agent: str = AGENT_ID) -> str:
    """POST /calls to PHONE; the answer's status (ringing or dnc_blocked)."""
    payload = {"agent_id": agent, "to": PHONE, "from": FROM_NUMBERS[0]}
    async with session.post("/calls", json=payload) as resp:
        status: str = (await resp.json())["status"]
        return status


async def test_add_get_lookup_update_delete(sandbox: Sandbox, http: Any) -> None:
    session = http(sandbox)
    status, entry = await call(session, {"phone_number": "050-123-4567", "reason": "asked"}, "POST")
    assert status == 201
    assert entry["phone_number"] == PHONE and entry["source"] == "api"
    assert entry["agents"] == [] and entry["expires_at"] is None
    assert set(entry) == {
        "id",
        "company_id",
        "phone_number",
        "reason",
        "source",
        "expires_at",
        "agents",
        "created_by",
        "created_at",
    }
    for form in ("+972501234567", "972501234567", "0501234567", "+972 50-123-4567"):
        async with session.get("/do-not-call", params={"phone": form}) as resp:
            assert (resp.status, (await resp.json())["id"]) == (200, entry["id"])
    path = f"/do-not-call/{entry['id']}"
    assert (await call(session, None, "GET", path)) == (200, entry)
    status, updated = await call(session, {"agent_ids": [AGENT_B_ID], "reason": "x"}, "PATCH", path)
    assert status == 200 and [a["id"] for a in updated["agents"]] == [AGENT_B_ID]
    assert updated["reason"] == "x" and updated["phone_number"] == PHONE
    assert (await call(session, None, "DELETE", path))[0] == 200
    assert (await call(session, None, "GET", path))[0] == 404
    async with session.get("/do-not-call", params={"phone": PHONE}) as resp:
        assert resp.status == 404


async def test_adding_an_existing_number_returns_it_unchanged(sandbox: Sandbox, http: Any) -> None:
    session = http(sandbox)
    _, first = await call(session, {"phone_number": PHONE, "reason": "one"}, "POST")
    status, again = await call(session, {"phone_number": "0501234567", "reason": "two"}, "POST")
    assert (status, again) == (200, first)


async def test_list_is_newest_first(sandbox: Sandbox, http: Any) -> None:
    older = sandbox.add_dnc("+972501234560")
    newer = sandbox.add_dnc("+972501234561")
    _, listing = await call(http(sandbox), None)
    assert [e["id"] for e in listing["data"]] == [newer, older]
    assert listing["data"][0]["source"] == "manual"


@pytest.mark.parametrize(
    ("method", "payload", "words"),
    [
        ("POST", {}, "phone_number"),
        ("POST", {"phone_number": "call me"}, "phone_number"),
        ("POST", {"phone_number": PHONE, "expires_at": "2000-01-01T00:00:00Z"}, "future"),
        ("POST", {"phone_number": PHONE, "expires_at": "soon"}, "expires_at"),
        ("POST", {"phone_number": PHONE, "agent_ids": ["nope"]}, "agent_ids"),
        ("POST", {"phone_number": PHONE, "agent_ids": AGENT_ID}, "agent_ids"),
        ("POST", {"phone_number": PHONE, "note": "x"}, "note"),
        ("PATCH", {"phone_number": "+972501234568"}, "phone_number"),
        ("PATCH", {"expires_at": "2000-01-01T00:00:00Z"}, "future"),
        ("PATCH", {"agent_ids": ["nope"]}, "agent_ids"),
    ],
)
async def test_invalid_writes_are_400_naming_the_field(
    sandbox: Sandbox, http: Any, method: str, payload: dict[str, Any], words: str
) -> None:
    entry_id = sandbox.add_dnc("+972501234599")
    path = "/do-not-call" if method == "POST" else f"/do-not-call/{entry_id}"
    status, answer = await call(http(sandbox), payload, method, path)
    assert (status, answer["code"]) == (400, "DO_NOT_CALL_REQUEST_INVALID")
    assert words in answer["error"]
    assert len(sandbox.world.dnc.entries) == 1
    assert sandbox.world.dnc.entries[entry_id].agent_ids == []  # a refused PATCH changes nothing


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ("?phone=banana", 400, "DO_NOT_CALL_REQUEST_INVALID"),
        ("?limit=10", 400, "DO_NOT_CALL_REQUEST_INVALID"),
        ("/not-a-uuid", 404, "RESOURCE_ID_INVALID"),
        ("/00000000-0000-4000-8000-000000000000", 404, "NOT_FOUND"),
    ],
)
async def test_bad_reads(sandbox: Sandbox, http: Any, query: str, status: int, code: str) -> None:
    async with http(sandbox).get("/do-not-call" + query) as resp:
        assert (resp.status, (await resp.json())["code"]) == (status, code)


async def test_a_global_entry_blocks_every_agent(sandbox: Sandbox, http: Any) -> None:
    sandbox.add_dnc(PHONE)
    session = http(sandbox)
    assert [await dial(session, AGENT_ID), await dial(session, AGENT_B_ID)] == [
        "dnc_blocked",
        "dnc_blocked",
    ]
    assert sandbox.carrier_legs == []


async def test_a_scoped_entry_blocks_only_its_agents(sandbox: Sandbox, http: Any) -> None:
    sandbox.add_dnc(PHONE, agent_ids=(AGENT_B_ID,))
    session = http(sandbox)
    assert await dial(session, AGENT_B_ID) == "dnc_blocked"
    assert await dial(session, AGENT_ID) == "ringing"
    assert sandbox.carrier_legs == [PHONE]


async def test_patching_agents_to_empty_makes_an_entry_global(sandbox: Sandbox, http: Any) -> None:
    entry_id = sandbox.add_dnc(PHONE, agent_ids=(AGENT_B_ID,))
    session = http(sandbox)
    await call(session, {"agent_ids": []}, "PATCH", f"/do-not-call/{entry_id}")
    assert await dial(session, AGENT_ID) == "dnc_blocked"


async def test_an_expired_entry_no_longer_blocks(sandbox: Sandbox, http: Any) -> None:
    # 1000x clock: 30 clock seconds pass in 0.03 s of wall time.
    sandbox.add_dnc(PHONE, expires_at=sandbox.clock.now() + timedelta(seconds=30))
    session = http(sandbox)
    assert await dial(session) == "dnc_blocked"
    await sandbox.clock.sleep(31)
    assert await dial(session) == "ringing"


async def test_expires_at_round_trips(sandbox: Sandbox, http: Any) -> None:
    later = isoformat(sandbox.clock.now() + timedelta(days=2))
    status, entry = await call(http(sandbox), {"phone_number": PHONE, "expires_at": later}, "POST")
    assert (status, entry["expires_at"]) == (201, later)
