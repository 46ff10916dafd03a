"""The sandbox's call table: GET /calls by ``updated_since`` or ``callee`` reads an index, and
answers exactly what a scan of every call would, whatever happened to the calls meanwhile
(answered, ended, analysed, charged without a new ``updated_at``, queued, DNC-blocked)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dialer.clock import ManualClock, isoformat
from dialer.sandbox import AGENT_ID, FROM_NUMBERS, Sandbox, SandboxConfig, Scenario
from dialer.sandbox.calls_query import CallsQuery, known_dispositions
from dialer.sandbox.calltable import CallTable
from dialer.sandbox.http import ApiRequest

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
NUMBERS = [f"+97253000000{i}" for i in range(6)]
#: Calls that end, settle their cost and finish their analysis within a few clock seconds,
#: so a short story sees every kind of change; a third of them opt out (-> DNC-blocked rows).
QUICK = Scenario(
    ring_seconds=(0.5, 2.0),
    talk_seconds=(3.5, 6.0),
    no_answer_seconds=2.0,
    analysis_seconds=(0.5, 5.0),
    cost_settle_seconds=(0.5, 5.0),
    weights={"completed": 3, "no_answer": 2, "busy": 1, "voicemail": 1, "opt_out": 2},
)

Step = tuple[str, int, float]
steps = st.lists(
    st.one_of(
        st.tuples(st.just("post"), st.integers(0, len(NUMBERS) - 1), st.just(0.0)),
        st.tuples(st.just("wait"), st.just(0), st.sampled_from([0.0, 0.0004, 0.3, 1.0, 2.5])),
        st.tuples(st.just("sync"), st.integers(0, len(NUMBERS) - 1), st.floats(0.0, 12.0)),
    ),
    max_size=40,
)


def _request(sb: Sandbox, method: str, path: str, **kwargs: Any) -> ApiRequest:
    headers = {"Authorization": f"Bearer {sb.api_key}", "Content-Type": "application/json"}
    return ApiRequest.build(method, path, headers=headers | kwargs.pop("headers", {}), **kwargs)


def _full_scan(sb: Sandbox, params: dict[str, str]) -> Any:
    """What GET /calls answered before the indexes: the filters over every call."""
    dispositions = known_dispositions(sb.config.scenario.dispositions)
    query = CallsQuery(params, agents=sb.world.agents, dispositions=dispositions)
    return json.loads(json.dumps(query.page(list(reversed(list(sb.calls.values()))))))


async def _story(actions: list[Step]) -> tuple[int, int]:
    """Play ``actions`` on an in-process sandbox; every sync is checked against a full scan.
    Returns how many syncs found something, and how many calls were made."""
    clock = ManualClock(START)
    sb = Sandbox(SandboxConfig(seed=7, capacity=2, scenario=QUICK), clock=clock)
    found = 0
    for n, (kind, number, seconds) in enumerate(actions):
        if kind == "post":
            body = {"agent_id": AGENT_ID, "to": NUMBERS[number], "from": FROM_NUMBERS[0]}
            request = _request(
                sb,
                "POST",
                "/calls",
                body=json.dumps(body).encode(),
                headers={"Idempotency-Key": f"k{n}"},
            )
            assert (await sb.handle(request)).status in (200, 201, 202)
        elif kind == "wait":
            clock.advance(seconds)
            sb.scheduler.run_due()
        else:
            found += await _check_sync(sb, clock.now() - timedelta(seconds=seconds), number)
    assert sb.world.calls.ordered  # the sandbox's clock never runs back: indexes were read
    return found, len(sb.calls)


async def _check_sync(sb: Sandbox, since: datetime, number: int) -> int:
    """A sync page, a second page, and a callee look-up, each against the full scan."""
    asked = [
        {"updated_since": isoformat(since), "limit": "3"},
        {"updated_since": isoformat(since), "limit": "3", "offset": "3"},
        {"updated_since": isoformat(since), "agent_id": AGENT_ID, "limit": "100"},
        {"callee": NUMBERS[number], "from": isoformat(since - timedelta(seconds=5))},
        {"callee": NUMBERS[number], "updated_since": isoformat(since)},
    ]
    hits = 0
    for params in asked:
        reply = await sb.handle(_request(sb, "GET", "/calls", query=params))
        if reply.status == 400:  # an offset past the end: the scan refuses it too
            assert params.get("offset")
            continue
        assert reply.status == 200
        assert json.loads(reply.body) == _full_scan(sb, params), params
        hits += bool(json.loads(reply.body)["data"])
    return hits


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(actions=steps)
def test_updated_since_and_callee_answer_what_a_full_scan_would(actions: list[Step]) -> None:
    asyncio.run(_story(actions))


def test_a_sync_sees_a_late_analysis_but_not_a_late_cost_alone() -> None:
    """Analyses bump ``updated_at``; a settled cost does not (docs/api.md §5): the sync shows
    the one and, like the scan, not the other."""
    clock = ManualClock(START)
    only_talk = Scenario(
        ring_seconds=(1.0, 1.0),
        talk_seconds=(4.0, 4.0),
        analysis_seconds=(9.0, 9.0),  # analysed 14 s after the POST
        cost_settle_seconds=(3.0, 3.0),  # charged 8 s after it
        weights={"completed": 1},
        analysis_stuck_rate=0.0,
        analysis_failed_rate=0.0,
        no_transcript_rate=0.0,
    )
    sb = Sandbox(SandboxConfig(seed=7, scenario=only_talk), clock=clock)

    async def main() -> list[tuple[str, str, str]]:
        body = json.dumps({"agent_id": AGENT_ID, "to": NUMBERS[0], "from": FROM_NUMBERS[0]})
        await sb.handle(_request(sb, "POST", "/calls", body=body.encode()))
        shown = []
        for _ in range(40):
            since = clock.now() + timedelta(milliseconds=1)  # what the last sync did not see
            clock.advance(0.5)
            sb.scheduler.run_due()
            params = {"updated_since": isoformat(since)}
            reply = json.loads((await sb.handle(_request(sb, "GET", "/calls", query=params))).body)
            assert reply == _full_scan(sb, params)
            shown += [
                (c["status"], c["cost_status"], c["analysis"]["status"]) for c in reply["data"]
            ]
        return shown

    assert asyncio.run(main()) == [
        ("in_progress", "pending", "pending"),
        ("completed", "pending", "pending"),
        ("completed", "charged", "done"),  # the cost came along with the analysis
    ]
    assert sb.world.calls.ordered


# -- the table itself, with any timestamps (also ones that go back) ---------------------------

stamps = st.sampled_from([f"2026-03-02T10:00:0{i}.000Z" for i in range(6)])
table_ops = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.integers(0, 9), stamps),
        st.tuples(st.just("change"), st.integers(0, 9), stamps),
        st.tuples(st.just("keep"), st.integers(0, 9), stamps),
        st.tuples(st.just("query"), st.integers(0, 9), stamps),
    ),
    max_size=60,
)


@given(ops=table_ops)
def test_the_table_answers_like_a_scan_even_when_updated_at_goes_back(
    ops: list[tuple[str, int, str]],
) -> None:
    table = CallTable()
    for kind, n, stamp in ops:
        call_id = f"call-{n}"
        if kind == "add" and call_id not in table:
            table.add({"id": call_id, "to": NUMBERS[n % 3], "updated_at": stamp})
        elif kind == "change" and call_id in table:
            with table.changing(call_id) as row:
                row["updated_at"] = stamp
        elif kind == "keep" and call_id in table:
            with table.changing(call_id) as row:
                row["cost_cents"] = 12  # a change that does not move updated_at
        elif kind == "query":
            rows = list(reversed(list(table.values())))
            assert table.updated_since(stamp) == [r for r in rows if r["updated_at"] >= stamp]
            number = NUMBERS[n % 3]
            assert table.to_callee(number) == [r for r in rows if r["to"] == number]


def test_a_call_id_is_added_once() -> None:
    table = CallTable()
    table.add({"id": "a", "to": NUMBERS[0], "updated_at": "2026-03-02T10:00:00.000Z"})
    try:
        table.add({"id": "a", "to": NUMBERS[0], "updated_at": "2026-03-02T10:00:01.000Z"})
    except ValueError as error:
        assert "call a" in str(error)
    else:
        raise AssertionError("a second row with the same id was taken")
    assert len(table) == 1 and table["a"]["updated_at"].endswith("00.000Z")


def test_an_updated_at_that_goes_back_turns_the_index_off() -> None:
    table = CallTable()
    table.add({"id": "a", "to": NUMBERS[0], "updated_at": "2026-03-02T10:00:05.000Z"})
    table.add({"id": "b", "to": NUMBERS[0], "updated_at": "2026-03-02T10:00:06.000Z"})
    assert table.ordered
    with table.changing("b") as row:
        row["updated_at"] = "2026-03-02T10:00:01.000Z"
    assert not table.ordered
    assert [r["id"] for r in table.updated_since("2026-03-02T10:00:02.000Z")] == ["a"]
