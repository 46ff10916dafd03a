"""GET /calls filters and paging, GET /calls/{id}, agents and phone numbers."""

from __future__ import annotations

from typing import Any

import pytest

from dialer.sandbox import (
    AGENT_B_ID,
    AGENT_ID,
    FROM_NUMBERS,
    INACTIVE_FROM_NUMBER,
    WORKFLOW_AGENT_ID,
    Sandbox,
)

NUMBERS = [f"+97250123450{i}" for i in range(5)]


async def get(session: Any, path: str, **params: str) -> tuple[int, Any]:
    async with session.get(path, params=params) as resp:
        return resp.status, await resp.json()


@pytest.fixture
async def five_calls(make_sandbox: Any, http: Any) -> Sandbox:
    """Five ringing calls (real-time clock, so they stay ringing during the test): three by
    agent A from line 1, two by agent B from line 2."""
    sandbox = await make_sandbox(time_scale=1.0)
    session = http(sandbox)
    for i, to in enumerate(NUMBERS):
        agent, line = (AGENT_ID, FROM_NUMBERS[0]) if i < 3 else (AGENT_B_ID, FROM_NUMBERS[1])
        payload = {"agent_id": agent, "to": to, "from": line, "metadata": {"row": i}}
        async with session.post("/calls", json=payload) as resp:
            assert resp.status == 201
    return sandbox


async def test_list_is_newest_first_with_the_envelope(five_calls: Sandbox, http: Any) -> None:
    status, page = await get(http(five_calls), "/calls")
    assert status == 200
    assert [c["to"] for c in page["data"]] == NUMBERS[::-1]
    assert page["pagination"] == {
        "total": 5,
        "limit": 20,
        "offset": 0,
        "has_more": False,
        "next_cursor": None,
    }
    assert page["data"][0]["metadata"] == {"row": 4}


async def test_paging_walks_every_call_once(five_calls: Sandbox, http: Any) -> None:
    session, seen, offset = http(five_calls), [], 0
    while True:
        _, page = await get(session, "/calls", limit="2", offset=str(offset))
        seen += [c["id"] for c in page["data"]]
        if not page["pagination"]["has_more"]:
            break
        offset += 2
    assert len(seen) == len(set(seen)) == 5


@pytest.mark.parametrize(
    ("params", "count"),
    [
        ({"agent_id": AGENT_ID}, 3),
        ({"agent_id": AGENT_B_ID}, 2),
        ({"agent_id": WORKFLOW_AGENT_ID}, 0),
        ({"callee": NUMBERS[0]}, 1),
        ({"caller": FROM_NUMBERS[1]}, 2),
        ({"status": "ringing"}, 5),
        ({"status": "completed"}, 0),
        ({"direction": "outbound"}, 5),
        ({"direction": "inbound"}, 0),
        ({"source": "api"}, 5),
        ({"from": "2000-01-01T00:00:00Z"}, 5),
        ({"to": "2000-01-01"}, 0),
        ({"from": "2999-01-01"}, 0),
        ({"updated_since": "2000-01-01T00:00:00+00:00"}, 5),
        ({"updated_since": "2999-01-01T00:00:00Z"}, 0),
        ({"disposition": "Voicemail"}, 0),
    ],
)
async def test_filters(five_calls: Sandbox, http: Any, params: dict[str, str], count: int) -> None:
    _, page = await get(http(five_calls), "/calls", **params)
    assert page["pagination"]["total"] == count


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ("?metadata.row=1", 400, "CALLS_QUERY_INVALID"),
        ("?limit=0", 400, "CALLS_QUERY_INVALID"),
        ("?limit=101", 400, "CALLS_QUERY_INVALID"),
        ("?limit=ten", 400, "CALLS_QUERY_INVALID"),
        ("?offset=-1", 400, "CALLS_QUERY_INVALID"),
        ("?offset=5", 400, "CALLS_QUERY_INVALID"),  # past the end
        ("?status=in-progress", 400, "CALLS_QUERY_INVALID"),
        ("?status=scheduled", 400, "CALLS_QUERY_INVALID"),
        ("?direction=sideways", 400, "CALLS_QUERY_INVALID"),
        ("?source=crm", 400, "CALLS_QUERY_INVALID"),
        ("?callee=0501234567", 400, "CALLS_QUERY_INVALID"),
        ("?from=yesterday", 400, "CALLS_QUERY_INVALID"),
        ("?updated_since=", 400, "CALLS_QUERY_INVALID"),
        ("?status=ringing&status=completed", 400, "CALLS_QUERY_INVALID"),
        ("?agent_id=abc", 400, "CALLS_QUERY_INVALID"),
        ("?agent_id=00000000-0000-4000-8000-000000000000", 404, "CALL_AGENT_UNKNOWN"),
        ("?disposition=Maybe", 404, "CALL_DISPOSITION_UNKNOWN"),
        ("?cursor=abc", 400, "CALLS_CURSOR_INVALID"),
    ],
)
async def test_bad_queries_are_refused(
    five_calls: Sandbox, http: Any, query: str, status: int, code: str
) -> None:
    async with http(five_calls).get("/calls" + query) as resp:
        assert (resp.status, (await resp.json())["code"]) == (status, code)


async def test_offset_zero_on_an_empty_list_is_fine(sandbox: Sandbox, http: Any) -> None:
    status, page = await get(http(sandbox), "/calls")
    assert (status, page["data"], page["pagination"]["total"]) == (200, [], 0)


async def test_get_one_call(five_calls: Sandbox, http: Any) -> None:
    session = http(five_calls)
    call_id = next(iter(five_calls.calls))
    status, call = await get(session, f"/calls/{call_id}")
    assert status == 200 and call == five_calls.calls[call_id]
    assert await get(session, "/calls/12") == (
        404,
        {"error": "'12' is not a valid id", "code": "RESOURCE_ID_INVALID"},
    )
    status, answer = await get(session, "/calls/00000000-0000-4000-8000-000000000000")
    assert (status, answer["code"]) == (404, "NOT_FOUND")


async def test_agents_and_phone_numbers(sandbox: Sandbox, http: Any) -> None:
    session = http(sandbox)
    _, agents = await get(session, "/agents", limit="2")
    assert agents["pagination"]["total"] == 5 and agents["pagination"]["has_more"]
    _, workflow = await get(session, f"/agents/{WORKFLOW_AGENT_ID}")
    assert workflow["type"] == "workflow" and "system_prompt" not in workflow
    assert workflow["published_workflow_revision_id"]
    _, numbers = await get(session, "/phone-numbers")
    by_number = {n["number"]: n for n in numbers["data"]}
    assert by_number[FROM_NUMBERS[0]]["outbound_agent_id"] == AGENT_ID
    assert by_number[FROM_NUMBERS[1]]["outbound_agent_id"] is None
    assert by_number[INACTIVE_FROM_NUMBER]["status"] == "pending_requirements"
    assert (await get(session, "/agents", page="2"))[0] == 400
