"""The sandbox's post-call analysis: timing, dispositions, extracted data, cost, and the
skipped / failed / stuck cases, on the real sandbox (scaled clock) and as pure draws."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from dialer.clock import isoformat, parse_instant
from dialer.errors import ConfigError
from dialer.sandbox import AGENT_ID, FROM_NUMBERS, Sandbox, Scenario
from dialer.sandbox.analysis import analyse_call
from tests.dialing import numbers

TO = "+972501234567"
SMOOTH = {"analysis_failed_rate": 0.0, "analysis_stuck_rate": 0.0, "no_transcript_rate": 0.0}
DEFAULT_FIELDS = ["interest", "callback_requested", "callback_time", "quantity"]


async def dial(http: Any, sb: Sandbox, to: str = TO) -> str:
    payload = {"agent_id": AGENT_ID, "to": to, "from": FROM_NUMBERS[0]}
    async with http(sb).post("/calls", json=payload) as resp:
        assert resp.status == 201
        call_id: str = (await resp.json())["id"]
        return call_id


async def settled(sb: Sandbox, call_id: str, eventually: Any) -> dict[str, Any]:
    await eventually(lambda: sb.calls[call_id]["analysis"]["status"] != "pending")
    return dict(sb.calls[call_id])


async def get(http: Any, sb: Sandbox, path: str, **params: str) -> tuple[int, Any]:
    async with http(sb).get(path, params=params) as resp:
        return resp.status, await resp.json()


async def settle_all(sb: Sandbox, ids: list[str], eventually: Any) -> list[dict[str, Any]]:
    return [await settled(sb, call_id, eventually) for call_id in ids]


def seconds_between(earlier: str, later: str) -> float:
    return (parse_instant(later) - parse_instant(earlier)).total_seconds()


# -- timing, cost and updated_at ------------------------------------------------------------


async def test_talked_calls_are_analysed_60_to_120_s_after_they_end(
    make_sandbox: Any, http: Any, eventually: Any
) -> None:
    sb = await make_sandbox(time_scale=500.0, scenario=Scenario(weights={"completed": 1}, **SMOOTH))
    ids = [await dial(http, sb, to) for to in numbers(6, start=40)]
    calls = [await settled(sb, call_id, eventually) for call_id in ids]
    delays = [seconds_between(c["ended_at"], c["analysis"]["completed_at"]) for c in calls]
    # Never early; late only by the scheduler's lag (a few ms of wall time on a busy machine).
    assert all(60 <= d <= 135 for d in delays), delays
    assert len({round(d) for d in delays}) > 1  # picked per call
    for call in calls:
        assert call["updated_at"] == call["analysis"]["completed_at"]
        assert call["disposition"]["label"] and call["disposition"]["id"]
        assert call["summary"] and list(call["extracted_data"]) == DEFAULT_FIELDS


async def test_the_charge_lands_without_bumping_updated_at_and_syncs_see_the_analysis(
    make_sandbox: Any, http: Any, eventually: Any
) -> None:
    scenario = Scenario(
        overrides={TO: "completed"},
        talk_seconds=(30, 30),
        cost_settle_seconds=(5, 5),
        analysis_seconds=(100, 100),
        **SMOOTH,
    )
    sb = await make_sandbox(time_scale=200.0, scenario=scenario)
    call_id = await dial(http, sb)
    await eventually(lambda: sb.calls[call_id]["status"] == "completed")
    ended = dict(sb.calls[call_id])
    assert (ended["cost_status"], ended["cost_cents"]) == ("pending", None)
    await eventually(lambda: sb.calls[call_id]["cost_status"] == "charged")
    charged = sb.calls[call_id]
    assert charged["cost_cents"] == 12 and charged["analysis"]["status"] == "pending"
    assert charged["updated_at"] == ended["updated_at"] == ended["ended_at"]
    since = isoformat(parse_instant(ended["updated_at"]) + timedelta(milliseconds=1))
    assert (await get(http, sb, "/calls", updated_since=since))[1]["pagination"]["total"] == 0

    await settled(sb, call_id, eventually)
    status, page = await get(http, sb, "/calls", updated_since=since)
    assert status == 200 and [c["id"] for c in page["data"]] == [call_id]
    row = page["data"][0]
    assert (row["cost_status"], row["cost_cents"], row["analysis"]["status"]) == (
        "charged",
        12,
        "done",
    )
    assert row["summary"] and row["disposition"]["label"] and row["recording_url"]


async def test_never_connected_calls_end_with_their_analysis_and_no_charge(
    make_sandbox: Any, http: Any, eventually: Any
) -> None:
    sb = await make_sandbox(scenario=Scenario(overrides={TO: "no_answer"}))
    call_id = await dial(http, sb)
    await eventually(lambda: sb.calls[call_id]["status"] == "no_answer")
    call = sb.calls[call_id]
    assert call["analysis"]["status"] == "skipped"
    assert call["analysis"]["reason"] == "call_did_not_complete"
    assert call["analysis"]["completed_at"] == call["ended_at"] == call["updated_at"]
    assert call["disposition"]["label"] == "No Answer"
    assert (call["cost_status"], call["cost_cents"], call["recording_url"]) == (
        "not_charged",
        0,
        None,
    )
    assert "summary" not in call and "extracted_data" not in call


# -- skipped, failed, stuck -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("rates", "status", "reasons", "label"),
    [
        (
            {"analysis_failed_rate": 1.0},
            "failed",
            {"analysis_failed", "analysis_unavailable"},
            "Unclassified",
        ),
        ({"no_transcript_rate": 1.0}, "skipped", {"no_transcript"}, None),
    ],
)
async def test_analyses_that_fail_or_find_no_transcript(
    make_sandbox: Any,
    http: Any,
    eventually: Any,
    rates: dict[str, float],
    status: str,
    reasons: set[str],
    label: str | None,
) -> None:
    scenario = Scenario(weights={"completed": 1}, **{**SMOOTH, **rates})
    sb = await make_sandbox(scenario=scenario)
    calls = await settle_all(sb, [await dial(http, sb, to) for to in numbers(6)], eventually)
    assert {c["analysis"]["status"] for c in calls} == {status}
    assert {c["analysis"]["reason"] for c in calls} <= reasons
    assert {(c.get("disposition") or {}).get("label") for c in calls} == {label}
    assert not any("summary" in c or "extracted_data" in c for c in calls)
    assert all(c["cost_status"] == "charged" for c in calls)  # the call still cost money


async def test_a_stuck_analysis_stays_pending(
    make_sandbox: Any, http: Any, eventually: Any
) -> None:
    scenario = Scenario(overrides={TO: "completed"}, **{**SMOOTH, "analysis_stuck_rate": 1.0})
    sb = await make_sandbox(time_scale=5000.0, scenario=scenario)
    call_id = await dial(http, sb)
    await eventually(lambda: sb.calls[call_id]["status"] == "completed")
    ended = parse_instant(sb.calls[call_id]["ended_at"])
    await eventually(lambda: sb.clock.now() > ended + timedelta(minutes=15))
    call = sb.calls[call_id]
    assert call["analysis"] == {"status": "pending", "reason": None, "completed_at": None}
    assert "disposition" not in call and call["cost_status"] == "charged"


async def test_a_caller_who_hangs_up_at_once_is_too_short_to_analyse(
    make_sandbox: Any, http: Any, eventually: Any
) -> None:
    sb = await make_sandbox(scenario=Scenario(overrides={TO: "hung_up"}))
    call = await settled(sb, await dial(http, sb), eventually)
    assert call["duration_seconds"] < 3 and call["ended_by"] == "caller"
    assert call["analysis"]["reason"] == "call_too_short" and "disposition" not in call


def test_default_rates_of_trouble_are_what_the_scenario_says() -> None:
    scenario = Scenario()
    found = Counter(
        "stuck" if a is None else (a.status, a.reason)
        for a in (analyse_call(scenario, 1, f"c{i}", "completed", 60.0) for i in range(4000))
    )
    assert 0.005 < found["stuck"] / 4000 < 0.02
    failed = found["failed", "analysis_failed"] + found["failed", "analysis_unavailable"]
    assert 0.02 < failed / 4000 < 0.045
    assert 0.01 < found["skipped", "no_transcript"] / 4000 < 0.035
    assert found["done", None] / 4000 > 0.9


# -- dispositions and extracted data --------------------------------------------------------


def test_default_extracted_values_agree_with_the_disposition() -> None:
    scenario = Scenario(**SMOOTH)
    seen: dict[str, Counter[Any]] = {name: Counter() for name in DEFAULT_FIELDS}
    labels: Counter[str] = Counter()
    for i in range(600):
        analysis = analyse_call(scenario, 7, f"call-{i}", "completed", 60.0)
        assert analysis is not None and analysis.extracted is not None
        data, label = dict(analysis.extracted), str(analysis.disposition)
        labels[label] += 1
        assert list(data) == DEFAULT_FIELDS
        for name, value in data.items():
            seen[name][value] += 1
        assert (
            data["interest"]
            in {
                "Interested": {"high", "medium", None},
                "Not Interested": {"low", "none", None},
                "Call Back Later": {"medium", "low", None},
                "Wrong Number": {None},
            }[label]
        )
        assert data["callback_requested"] in {
            "Call Back Later": {True, None},
            "Not Interested": {False, None},
            "Wrong Number": {None},
        }.get(label, {True, False, None})
        assert data["callback_time"] is None or label == "Call Back Later"
        assert data["quantity"] is None or (label == "Interested" and 1 <= data["quantity"] <= 20)
        assert isinstance(data["quantity"], int | None)
        assert str(analysis.summary).strip()
    assert set(labels) == {"Interested", "Not Interested", "Call Back Later", "Wrong Number"}
    assert labels["Not Interested"] > labels["Wrong Number"]  # the configured shares
    assert all(len(values) >= 3 for values in seen.values())  # values vary, nulls included


@pytest.mark.parametrize(
    ("outcome", "label"),
    [
        ("voicemail", "Voicemail"),
        ("opt_out", "Do Not Call"),
        ("transferred", "Transferred to a Person"),
    ],
)
def test_outcomes_named_by_their_disposition_keep_it(outcome: str, label: str) -> None:
    scenario = Scenario(**{**SMOOTH, "analysis_failed_rate": 1.0})  # conversations only
    for i in range(50):
        analysis = analyse_call(scenario, 1, f"c{i}", outcome, 20.0)
        assert analysis is not None and analysis.disposition == label
        assert analysis.extracted is not None and list(analysis.extracted) == DEFAULT_FIELDS
        if outcome == "voicemail":  # nobody spoke: nothing was said
            assert set(analysis.extracted.values()) == {None} and analysis.transcript is None
        if outcome == "opt_out":
            assert analysis.extracted["interest"] in ("none", None)


def test_analyses_are_repeatable_for_a_seed() -> None:
    scenario = Scenario()
    first = [analyse_call(scenario, 3, f"c{i}", "completed", 45.0) for i in range(40)]
    assert first == [analyse_call(scenario, 3, f"c{i}", "completed", 45.0) for i in range(40)]
    assert first != [analyse_call(scenario, 4, f"c{i}", "completed", 45.0) for i in range(40)]


async def test_the_same_seed_gives_the_same_calls_in_two_sandboxes(
    make_sandbox: Any, http: Any, eventually: Any
) -> None:
    runs = []
    for _ in range(2):
        sb = await make_sandbox(seed=5, scenario=Scenario(weights={"completed": 1}, **SMOOTH))
        calls = await settle_all(sb, [await dial(http, sb, to) for to in numbers(4)], eventually)
        runs.append([(c["id"], c["disposition"], c["summary"], c["extracted_data"]) for c in calls])
    assert runs[0] == runs[1]


SCENARIO_TOML = """
analysis_failed_rate = 0
analysis_stuck_rate = 0
no_transcript_rate = 0
dispositions = ["Renewing"]

[weights]
completed = 1

[[extracted_fields]]
name = "plan"
type = "category"
choices = ["basic", "pro"]
unsaid_rate = 0

[[extracted_fields]]
name = "seats"
type = "integer"
range = [2, 5]
unsaid_rate = 0

[[extracted_fields]]
name = "wants_invoice"
type = "boolean"
unsaid_rate = 0

[[extracted_fields]]
name = "discount"
type = "number"
range = [0, 0.5]
unsaid_rate = 0

[[extracted_fields]]
name = "notes"
type = "string"
by_disposition = { "*" = [] }
"""


async def test_a_scenario_file_configures_the_extracted_fields(
    make_sandbox: Any, http: Any, eventually: Any, tmp_path: Path
) -> None:
    path = tmp_path / "scenario.toml"
    path.write_text(SCENARIO_TOML, encoding="utf-8")
    sb = await make_sandbox(scenario=Scenario.from_toml(path))
    calls = await settle_all(sb, [await dial(http, sb, to) for to in numbers(5)], eventually)
    for call in calls:
        data = call["extracted_data"]
        assert list(data) == ["plan", "seats", "wants_invoice", "discount", "notes"]
        assert data["plan"] in ("basic", "pro") and data["seats"] in range(2, 6)
        assert isinstance(data["wants_invoice"], bool) and 0 <= data["discount"] <= 0.5
        assert data["notes"] is None
        assert call["disposition"]["label"] == "Renewing"
    status, agent = await get(http, sb, f"/agents/{AGENT_ID}")
    assert status == 200
    assert [(p["name"], p["type"]) for p in agent["extraction_parameters"]] == [
        ("plan", "category"),
        ("seats", "integer"),
        ("wants_invoice", "boolean"),
        ("discount", "number"),
        ("notes", "string"),
    ]
    assert agent["extraction_parameters"][0]["choices"] == ["basic", "pro"]
    by_label = await get(http, sb, "/calls", disposition="Renewing")
    by_id = await get(http, sb, "/calls", disposition_id=calls[0]["disposition"]["id"])
    assert by_label[1]["pagination"]["total"] == by_id[1]["pagination"]["total"] == 5
    unknown = await get(http, sb, "/calls", disposition_id="not-an-id")
    assert (unknown[0], unknown[1]["code"]) == (404, "CALL_DISPOSITION_UNKNOWN")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('[[extracted_fields]]\nname = "x"\ntype = "date"\n', "unknown type 'date'"),
        ('[[extracted_fields]]\nname = "x"\ntype = "category"\n', "needs its choices"),
        ('[[extracted_fields]]\nname = "x"\ntype = "number"\nrange = [5, 1]\n', "low <= high"),
        ('[[extracted_fields]]\nname = "x"\nunsaid = 0.1\n', r"extracted_fields\[0\]: unknown key"),
        ("analysis_failed_rate = 0.7\nanalysis_stuck_rate = 0.5\n", "at most 1"),
        ("analysis_seconds = [120, 60]\n", "analysis_seconds must be"),
        ('[[extracted_fields]]\nname = "x"\n[[extracted_fields]]\nname = "x"\n', "unique"),
    ],
)
def test_bad_analysis_settings_name_the_problem(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "scenario.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=words):
        Scenario.from_toml(path)


def test_one_number_for_analysis_seconds_means_always_that_long(tmp_path: Path) -> None:
    path = tmp_path / "scenario.toml"
    path.write_text("analysis_seconds = 30\n", encoding="utf-8")
    assert Scenario.from_toml(path).analysis_seconds == (30, 30)
