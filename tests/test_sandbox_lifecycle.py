"""Call lifecycles driven by the scenario, at a high time scale, and the scenario itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dialer.errors import ConfigError
from dialer.sandbox import AGENT_ID, FROM_NUMBERS, Sandbox, Scenario

TO = "+972501234567"
#: Plain conversations always analysed: no failed, stuck or transcript-less analyses.
SMOOTH = {"analysis_failed_rate": 0.0, "analysis_stuck_rate": 0.0, "no_transcript_rate": 0.0}


async def dial(http: Any, sb: Sandbox, to: str = TO) -> dict[str, Any]:
    payload = {"agent_id": AGENT_ID, "to": to, "from": FROM_NUMBERS[0]}
    async with http(sb).post("/calls", json=payload) as resp:
        assert resp.status == 201
        answer: dict[str, Any] = await resp.json()
        return answer


async def settled(sb: Sandbox, call_id: str, eventually: Any) -> dict[str, Any]:
    """Wait until the call's analysis is no longer pending."""
    await eventually(lambda: sb.calls[call_id]["analysis"]["status"] != "pending")
    return dict(sb.calls[call_id])


ENDINGS = [
    # outcome, status, ended_by, disconnect_reason, failure code, disposition, analysis
    ("completed", "completed", "agent", "Completed", None, "custom", "done"),
    ("voicemail", "completed", "system", "Voicemail detected", None, "Voicemail", "done"),
    ("opt_out", "completed", "caller", "Completed", None, "Do Not Call", "done"),
    ("transferred", "transferred", "agent", "Completed", None, "Transferred to a Person", "done"),
    ("hung_up", "completed", "caller", "Completed", None, None, "skipped"),
    ("no_answer", "no_answer", "system", "No answer", "no_answer", "No Answer", "skipped"),
    ("busy", "failed", "system", "Busy", "busy", "Failed", "skipped"),
    ("failed", "failed", "system", "Failed", "unreachable", "Failed", "skipped"),
]


@pytest.mark.parametrize(
    ("outcome", "status", "ended_by", "reason", "failure", "disposition", "analysis"), ENDINGS
)
async def test_each_outcome_ends_with_the_contract_fields(
    make_sandbox: Any,
    http: Any,
    eventually: Any,
    outcome: str,
    status: str,
    ended_by: str,
    reason: str,
    failure: str | None,
    disposition: str | None,
    analysis: str,
) -> None:
    sb = await make_sandbox(scenario=Scenario(overrides={TO: outcome}, **SMOOTH))
    call = await settled(sb, (await dial(http, sb))["id"], eventually)
    assert (call["status"], call["ended_by"], call["disconnect_reason"]) == (
        status,
        ended_by,
        reason,
    )
    assert (call["failure"] or {}).get("code") == failure
    if failure:
        assert call["failure"]["stage"] == "dialing" and call["failure"]["at"]
    label = (call.get("disposition") or {}).get("label")
    custom = ("Interested", "Not Interested", "Call Back Later", "Wrong Number")
    assert label in custom if disposition == "custom" else label == disposition
    assert call["analysis"]["status"] == analysis
    assert ("summary" in call) == ("extracted_data" in call) == (analysis == "done")
    assert call["ended_at"] >= call["started_at"] and call["updated_at"] >= call["ended_at"]
    connected = status in ("completed", "transferred")
    assert (call["duration_seconds"] > 0) == connected
    assert (call["recording_url"] is not None) == connected
    await eventually(lambda: sb.calls[call["id"]]["cost_status"] != "pending")
    cost = sb.calls[call["id"]]
    assert (cost["cost_status"], cost["cost_cents"] > 0) == (
        ("charged", True) if connected else ("not_charged", False)
    )


async def test_a_call_moves_ringing_in_progress_completed(
    make_sandbox: Any, http: Any, eventually: Any
) -> None:
    scenario = Scenario(overrides={TO: "completed"}, ring_seconds=(5, 5), talk_seconds=(60, 60))
    sb = await make_sandbox(time_scale=200.0, scenario=scenario)
    call_id = (await dial(http, sb))["id"]
    seen: list[str] = []

    def watch() -> bool:
        call = sb.calls[call_id]
        if not seen or seen[-1] != call["status"]:
            seen.append(call["status"])
        return call["status"] == "completed"

    await eventually(watch)
    assert seen == ["ringing", "in_progress", "completed"]
    call = sb.calls[call_id]
    assert call["duration_seconds"] == 60.0
    assert call["analysis"]["status"] == "pending" and "disposition" not in call
    assert (call["cost_status"], call["cost_cents"]) == ("pending", None)
    assert [step["status"] for step in call["timeline"]] == seen


async def test_an_opt_out_puts_the_number_on_the_dnc_list(
    make_sandbox: Any, http: Any, eventually: Any
) -> None:
    sb = await make_sandbox(scenario=Scenario(overrides={TO: "opt_out"}))
    await settled(sb, (await dial(http, sb))["id"], eventually)
    async with http(sb).post(
        "/calls", json={"agent_id": AGENT_ID, "to": TO, "from": FROM_NUMBERS[0]}
    ) as resp:
        assert resp.status == 200 and (await resp.json())["status"] == "dnc_blocked"
    assert sb.carrier_legs == [TO]


async def test_overrides_by_attempt(make_sandbox: Any, http: Any, eventually: Any) -> None:
    sb = await make_sandbox(
        scenario=Scenario(overrides={TO: ["no_answer", "busy", "completed"]}, **SMOOTH)
    )
    statuses = []
    for _ in range(4):
        call = await settled(sb, (await dial(http, sb))["id"], eventually)
        statuses.append((call["status"], (call["failure"] or {}).get("code")))
    assert statuses == [
        ("no_answer", "no_answer"),
        ("failed", "busy"),
        ("completed", None),
        ("completed", None),  # the last entry repeats
    ]


async def test_capacity_counts_ringing_and_live_calls(
    make_sandbox: Any, http: Any, eventually: Any
) -> None:
    sb = await make_sandbox(capacity=3)
    numbers = [f"+9725012340{i:02d}" for i in range(40)]
    async with http(sb) as session:
        for to in numbers:
            payload = {"agent_id": AGENT_ID, "to": to, "from": FROM_NUMBERS[0]}
            async with session.post("/calls", json=payload) as resp:
                assert resp.status in (201, 202)
            assert sb.world.live <= 3
    await eventually(lambda: len(sb.carrier_legs) == 40, within=10)
    assert sorted(sb.carrier_legs) == numbers  # each dialled exactly once


def test_outcomes_are_deterministic_for_a_seed() -> None:
    scenario = Scenario()
    numbers = [f"+9725012345{i:02d}" for i in range(50)]
    first = [scenario.outcome(3, n, 0) for n in numbers]
    assert first == [scenario.outcome(3, n, 0) for n in numbers]
    assert first != [scenario.outcome(4, n, 0) for n in numbers]
    assert len(set(first)) >= 3


def test_scenario_loads_from_toml(tmp_path: Path) -> None:
    path = tmp_path / "scenario.toml"
    path.write_text(
        "ring_seconds = [1, 2]\nhanded_back_rate = 0.1\n[weights]\ncompleted = 1\n"
        '[overrides]\n"+972501234567" = ["busy", "completed"]\n'
    )
    scenario = Scenario.from_toml(path)
    assert scenario.ring_seconds == (1, 2) and scenario.weights == {"completed": 1}
    assert scenario.outcome(1, TO, 0) == "busy"
    assert scenario.outcome(1, "+972501234568", 0) == "completed"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("ring_secs = [1, 2]\n", "unknown key"),
        ("[weights]\nanswered = 1\n", "unknown outcome"),
        ("[weights]\ncompleted = 0\n", "more than 0"),
        ("ring_seconds = [1, \n", "cannot read"),
    ],
)
def test_bad_scenario_files_name_the_problem(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "scenario.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=words):
        Scenario.from_toml(path)


def test_the_shipped_example_scenario_loads() -> None:
    path = Path(__file__).parent.parent / "dialer" / "sandbox" / "scenario.example.toml"
    scenario = Scenario.from_toml(path)
    assert scenario.outcome(1, "+972501110002", 2) == "completed"
    assert scenario == Scenario(overrides=scenario.overrides)  # the rest are the defaults
