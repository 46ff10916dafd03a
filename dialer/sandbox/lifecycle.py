"""How one call's row changes over its life (CONTRACT §5): the shapes, not the timing.

The world decides *when* (scheduler events); these functions decide *what the row says*.
``busy``, ``voicemail`` and ``opt_out`` are scenario outcomes, not statuses: busy is a failed
call with ``failure.code`` busy, voicemail a completed call ended by the system with the
Voicemail disposition, opt-out a completed call the callee ended, classified "Do Not Call".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dialer.clock import isoformat

COST_CENTS_PER_MINUTE = 12
LIVE_STATUSES = frozenset({"ringing", "in_progress"})


@dataclass(frozen=True)
class Ending:
    """What the row says when a call with a given outcome ends."""

    status: str
    ended_by: str
    disconnect_reason: str
    failure_code: str | None = None
    disposition: str | None = None  # None: the analysis picks a custom disposition


ENDINGS = {
    "completed": Ending("completed", "agent", "Completed"),
    "voicemail": Ending("completed", "system", "Voicemail detected", disposition="Voicemail"),
    "transferred": Ending(
        "transferred", "agent", "Completed", disposition="Transferred to a Person"
    ),
    "opt_out": Ending("completed", "caller", "Completed", disposition="Do Not Call"),
    "no_answer": Ending("no_answer", "system", "No answer", "no_answer", "No Answer"),
    "busy": Ending("failed", "system", "Busy", "busy", "Failed"),
    "failed": Ending("failed", "system", "Failed", "unreachable", "Failed"),
}

CONNECTED_OUTCOMES = frozenset({"completed", "voicemail", "transferred", "opt_out"})


def new_call(
    call_id: str,
    *,
    agent_id: str,
    to: str,
    from_: str,
    metadata: dict[str, Any],
    now: datetime,
    status: str = "ringing",
) -> dict[str, Any]:
    """A fresh call row as GET /calls/{id} returns it."""
    stamp = isoformat(now)
    return {
        "id": call_id,
        "status": status,
        "agent_id": agent_id,
        "from": from_,
        "to": to,
        "direction": "outbound",
        "source": "api",
        "created_at": stamp,
        "updated_at": stamp,
        "started_at": stamp,
        "ended_at": None,
        "duration_seconds": None,
        "ended_by": None,
        "disconnect_reason": None,
        "failure": None,
        "analysis": {"status": "pending", "reason": None, "completed_at": None},
        "cost_cents": None,
        "cost_status": "pending",
        "recording_url": None,
        "transcript": None,
        "metadata": metadata,
        "lead": None,
        "timeline": [{"status": status, "at": stamp}],
    }


def touch(call: dict[str, Any], now: datetime) -> None:
    """Bump ``updated_at``: every change of a row goes through here."""
    call["updated_at"] = isoformat(now)


def set_status(call: dict[str, Any], status: str, now: datetime) -> None:
    """Move the call to ``status`` and note it on the timeline."""
    call["status"] = status
    call["timeline"].append({"status": status, "at": isoformat(now)})
    touch(call, now)


def answer(call: dict[str, Any], now: datetime) -> None:
    """The callee picked up: ringing -> in_progress."""
    set_status(call, "in_progress", now)


def finish(
    call: dict[str, Any], outcome: str, talk: float, now: datetime, *, failure_code: str
) -> None:
    """End the call with ``outcome`` after ``talk`` seconds of conversation (0: never connected)."""
    ending = ENDINGS[outcome]
    set_status(call, ending.status, now)
    call["ended_at"] = isoformat(now)
    call["duration_seconds"] = round(talk, 1)
    # ended_by and disconnect_reason: first write wins (CONTRACT §5).
    call["ended_by"] = call["ended_by"] or ending.ended_by
    call["disconnect_reason"] = call["disconnect_reason"] or ending.disconnect_reason
    if ending.failure_code is not None:
        code = failure_code if outcome == "failed" else ending.failure_code
        reason = ending.disconnect_reason
        call["failure"] = {"code": code, "reason": reason, "stage": "dialing", "at": isoformat(now)}
    if ending.status == "transferred":
        call["transferred_at"] = isoformat(now)
        call["transfer_target"] = "+972500000000"
    charged = outcome in CONNECTED_OUTCOMES
    call["cost_cents"] = math.ceil(talk / 60) * COST_CENTS_PER_MINUTE if charged else 0
    call["cost_status"] = "charged" if charged else "not_charged"


def analyse(call: dict[str, Any], outcome: str, custom: str, now: datetime) -> None:
    """The post-call analysis finished: done (with summary and disposition) or skipped."""
    ending = ENDINGS[outcome]
    talk = float(call["duration_seconds"] or 0)
    analysis: dict[str, Any] = {"status": "done", "reason": None, "completed_at": isoformat(now)}
    if outcome not in CONNECTED_OUTCOMES:
        # Never connected: nothing to analyse; the platform still labels it by name.
        analysis.update(status="skipped", reason="call_did_not_complete")
        call["disposition"] = ending.disposition
    elif talk < 3:
        analysis.update(status="skipped", reason="call_too_short")
    else:
        call["disposition"] = ending.disposition or custom
        call["summary"] = f"Sandbox call to {call['to']}: {outcome.replace('_', ' ')}."
    call["analysis"] = analysis
    touch(call, now)


def dnc_blocked_call(
    call_id: str,
    *,
    agent_id: str,
    to: str,
    from_: str,
    metadata: dict[str, Any],
    now: datetime,
) -> dict[str, Any]:
    """The row written when a DNC entry stops a call: never dialled, never charged."""
    call = new_call(
        call_id,
        agent_id=agent_id,
        to=to,
        from_=from_,
        metadata=metadata,
        now=now,
        status="dnc_blocked",
    )
    call.update(
        ended_at=call["started_at"],
        duration_seconds=0,
        ended_by="system",
        cost_cents=0,
        cost_status="not_charged",
        analysis={"status": "skipped", "reason": "call_did_not_complete", "completed_at": None},
    )
    return call
