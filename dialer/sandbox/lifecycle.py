"""How one call's row changes over its life (docs/api.md §5): the shapes, not the timing.

The world decides *when* (scheduler events); these functions decide *what the row says*.
``busy``, ``voicemail``, ``opt_out`` and ``hung_up`` are scenario outcomes, not statuses: busy
is a failed call with ``failure.code`` busy, voicemail a completed call ended by the system with
the Voicemail disposition, opt-out a completed call the callee ended, classified "Do Not Call",
hung-up a completed call the callee ended within 3 s (too short to analyse).

A talked call ends with its cost ``pending`` and its analysis ``pending``; both settle later
(:func:`charge`, :func:`analyse`). A call that never connected ends with both final: not
charged, and its analysis skipped with the platform's No Answer/Failed disposition.
"""

from __future__ import annotations

import functools
import hashlib
import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from dialer.clock import isoformat
from dialer.sandbox.analysis import Analysis

COST_CENTS_PER_MINUTE = 12
#: Disposition ids are fixed per label, so every sandbox (and every test) agrees on them.
_DISPOSITION_IDS = uuid.UUID("6d1f0a52-3c4e-4b7a-9f21-5e8d7c6b4a39")
#: Recording links are signed and expire after 7 days (docs/api.md §7: 7–8 days).
RECORDING_DAYS = 7


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
    "hung_up": Ending("completed", "caller", "Completed"),
    "no_answer": Ending("no_answer", "system", "No answer", "no_answer", "No Answer"),
    "busy": Ending("failed", "system", "Busy", "busy", "Failed"),
    "failed": Ending("failed", "system", "Failed", "unreachable", "Failed"),
}

CONNECTED_OUTCOMES = frozenset({"completed", "voicemail", "transferred", "opt_out", "hung_up"})


@functools.lru_cache(maxsize=1)
def _stamp(now: datetime) -> str:
    """``now`` in the API's form. One change writes the same instant into several fields
    (``updated_at``, the timeline, ``ended_at`` ...): they share one string, since a sandbox
    keeps every call it ever made."""
    return isoformat(now)


def disposition_ref(label: str) -> dict[str, str]:
    """A disposition as the API gives it: ``{id, label}``."""
    return {"id": str(uuid.uuid5(_DISPOSITION_IDS, label)), "label": label}


def cost_cents(talk: float) -> int:
    """What a talked call costs: every started minute."""
    return math.ceil(talk / 60) * COST_CENTS_PER_MINUTE


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
    stamp = _stamp(now)
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
    call["updated_at"] = _stamp(now)


def set_status(call: dict[str, Any], status: str, now: datetime) -> None:
    """Move the call to ``status`` and note it on the timeline."""
    call["status"] = status
    call["timeline"].append({"status": status, "at": _stamp(now)})
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
    call["ended_at"] = _stamp(now)
    call["duration_seconds"] = round(talk, 1)
    # ended_by and disconnect_reason: first write wins (docs/api.md §5).
    call["ended_by"] = call["ended_by"] or ending.ended_by
    call["disconnect_reason"] = call["disconnect_reason"] or ending.disconnect_reason
    if ending.failure_code is not None:
        code = failure_code if outcome == "failed" else ending.failure_code
        reason = ending.disconnect_reason
        call["failure"] = {"code": code, "reason": reason, "stage": "dialing", "at": _stamp(now)}
    if ending.status == "transferred":
        call["transferred_at"] = _stamp(now)
        call["transfer_target"] = "+972500000000"
    if outcome in CONNECTED_OUTCOMES:
        call["recording_url"] = recording_url(call["id"], now)
        return  # cost and analysis settle later
    call["cost_cents"] = 0
    call["cost_status"] = "not_charged"
    # Never connected: nothing to analyse; the platform still labels it by name (§5).
    assert ending.disposition is not None
    call["analysis"] = {
        "status": "skipped",
        "reason": "call_did_not_complete",
        "completed_at": _stamp(now),
    }
    call["disposition"] = disposition_ref(ending.disposition)


def recording_url(call_id: str, now: datetime) -> str:
    """A signed link that needs no auth header and expires (§7); nothing is served there."""
    expires = int((now + timedelta(days=RECORDING_DAYS)).timestamp())
    signature = hashlib.sha256(f"{call_id}:{expires}".encode()).hexdigest()[:32]
    return (
        f"https://recordings.sandbox.invalid/{call_id}.mp3?expires={expires}&signature={signature}"
    )


def charge(call: dict[str, Any], cents: int) -> None:
    """The pending cost settles. The contract says this does not bump ``updated_at`` (§5):
    a sync by ``updated_since`` sees the cost only with the call's next change."""
    call["cost_cents"] = cents
    call["cost_status"] = "charged"


def analyse(call: dict[str, Any], result: Analysis, now: datetime) -> None:
    """The post-call analysis is final: done, skipped or failed. Disposition, summary and
    extracted data appear only with what the analysis found (absent until then, §5)."""
    call["analysis"] = {
        "status": result.status,
        "reason": result.reason,
        "completed_at": _stamp(now),
    }
    if result.disposition is not None:
        call["disposition"] = disposition_ref(result.disposition)
    if result.summary is not None:
        call["summary"] = result.summary
    if result.extracted is not None:
        call["extracted_data"] = dict(result.extracted)
    call["transcript"] = result.transcript
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
