"""Workflow call requests (docs/api.md §4): POST /calls for a workflow agent answers 202 with a
``request_id``; the request then moves queued/scheduled -> preparing -> ready -> dispatching ->
dispatched (``call_id`` set), or ends failed / expired / cancelled and never dials.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from dialer.clock import isoformat, parse_instant
from dialer.sandbox.calls_body import Placement
from dialer.sandbox.failure import Fail

if TYPE_CHECKING:
    from dialer.sandbox.world import World

CANCELLABLE = frozenset({"queued", "scheduled", "preparing", "ready"})
FINAL = frozenset({"failed", "expired", "cancelled", "dispatched"})
PUBLIC_FIELDS = (
    "id",
    "run_id",
    "status",
    "preparation_status",
    "workflow_revision_id",
    "call_id",
    "expires_at",
    "error_code",
    "agent_id",
    "to",
    "from",
    "created_at",
    "updated_at",
)


class CallRequests:
    """Every call request of the workspace, and the steps that move them."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.rows: dict[str, dict[str, Any]] = {}
        self._placements: dict[str, Placement] = {}

    def submit(self, placement: Placement) -> dict[str, Any]:
        """Create a request; the 202 body POST /calls answers for a workflow agent."""
        world, now = self.world, self.world.clock.now()
        opening = now if world.window_open(now) else self._opening()
        start = opening.timestamp()
        request_id = world.new_id()
        row: dict[str, Any] = {
            "id": request_id,
            "run_id": world.new_id(),
            "status": "queued" if opening == now else "scheduled",
            "preparation_status": "pending",
            "workflow_revision_id": placement.workflow_revision_id,
            "call_id": None,
            "expires_at": isoformat(_at(start + world.config.queue_ttl_seconds)),
            "error_code": None,
            "agent_id": placement.agent_id,
            "to": placement.to,
            "from": placement.from_,
            "created_at": isoformat(now),
            "updated_at": isoformat(now),
        }
        self.rows[request_id] = row
        self._placements[request_id] = placement
        self._next_step(request_id, at=start)
        body = {k: row[k] for k in ("id", "run_id", "call_id", "status", "preparation_status")}
        body.update(request_id=request_id, agent_id=placement.agent_id, to=placement.to)
        body.update({"from": placement.from_, "queued_at": isoformat(now)})
        body["expires_at"] = row["expires_at"]
        if row["status"] == "scheduled":
            body["scheduled_for"] = isoformat(opening)
        return body

    def _opening(self) -> datetime:
        """The next window opening (the request is scheduled for it)."""
        window = self.world.config.call_window
        opening = window.next_opening(self.world.clock.now()) if window else None
        if opening is None:
            raise Fail(422, "OUTSIDE_CALL_WINDOW", "The call window never opens; check its days")
        return opening

    def get(self, request_id: str) -> dict[str, Any]:
        """The request as GET /call-requests/{id} shows it."""
        row = self.rows.get(request_id)
        if row is None:
            raise Fail(404, "WORKFLOW_REQUEST_NOT_FOUND", f"No call request {request_id}")
        return {k: row[k] for k in PUBLIC_FIELDS}

    def cancel(self, request_id: str) -> dict[str, Any]:
        """Cancel before placement starts; idempotent; 409 once dispatching has begun."""
        row = self.rows.get(request_id)
        if row is None:
            raise Fail(404, "WORKFLOW_REQUEST_NOT_FOUND", f"No call request {request_id}")
        if row["status"] in CANCELLABLE:
            self._set(row, "cancelled")
        elif row["status"] not in ("cancelled", "failed", "expired"):
            raise Fail(
                409, "WORKFLOW_DISPATCH_ALREADY_CLAIMED", "Placement of this call has started"
            )
        return self.get(request_id)

    # -- steps ----------------------------------------------------------------------------

    def _next_step(self, request_id: str, *, at: float | None = None) -> None:
        step = self.world.scenario.request_step_seconds
        due = (self.world.clock.time() if at is None else at) + step
        self.world.scheduler.at(due, lambda: self._step(request_id))

    def _step(self, request_id: str) -> None:
        """Move one request one state forward (a cancelled or final request stays put)."""
        row = self.rows[request_id]
        status = row["status"]
        if status in ("queued", "scheduled"):
            self._set(row, "preparing", preparation="preparing")
            self._next_step(request_id)
        elif status == "preparing":
            self._prepared(row)
        elif status == "ready":
            self._dispatch(row)

    def _prepared(self, row: dict[str, Any]) -> None:
        """Preparation ends: ready, or failed/expired when the scenario says so."""
        world, scenario = self.world, self.world.scenario
        seed = world.config.seed
        if scenario.chance(scenario.request_fail_rate, seed, "rq-fail", row["id"]):
            self.failed(row["id"], "request_failed")
        elif scenario.chance(scenario.request_expire_rate, seed, "rq-expire", row["id"]):
            self._set(row, "expired", preparation="ready", error="request_expired")
        else:
            self._set(row, "ready", preparation="ready")
            self._next_step(row["id"])

    def _dispatch(self, row: dict[str, Any]) -> None:
        """Claim placement; the call is dialled through the line queue like any other."""
        self._set(row, "dispatching")
        world = self.world
        item = world.waiting_entry(self._placements[row["id"]])
        item.request_id = row["id"]
        item.mark_queued = world.live >= world.config.capacity or bool(world.waiting)
        item.expires_at = parse_instant(row["expires_at"]).timestamp()
        world.waiting.append(item)
        world.drain()

    # -- outcomes, called by the world ----------------------------------------------------

    def dispatched(self, request_id: str | None, call_id: str) -> None:
        """The request's call was dialled."""
        if request_id is not None:
            row = self.rows[request_id]
            row["call_id"] = call_id
            self._set(row, "dispatched")

    def failed(self, request_id: str, code: str) -> None:
        """The request died before dialling (a DNC hit at dispatch, or the scenario)."""
        self._set(self.rows[request_id], "failed", preparation="failed", error=code)

    def expired(self, request_id: str | None) -> None:
        """The request waited past its ``expires_at``; no call is placed."""
        if request_id is not None:
            self._set(self.rows[request_id], "expired", error="request_expired")

    def _set(
        self,
        row: dict[str, Any],
        status: str,
        *,
        preparation: str | None = None,
        error: str | None = None,
    ) -> None:
        row["status"] = status
        if preparation is not None:
            row["preparation_status"] = preparation
        if error is not None:
            row["error_code"] = error
        row["updated_at"] = isoformat(self.world.clock.now())


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)
