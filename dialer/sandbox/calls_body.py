"""POST /calls body rules (docs/api.md §3, §3.2, §3.4): a body in, a :class:`Placement` out.

Checks run in a fixed order so a body with several faults always gets the same answer:
shape, agent resolution (needed to know how unknown fields are refused), unknown fields,
numbers, metadata and variables, then the agent's state and the key's agent scope.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from dialer.sandbox.auth import ApiKey
from dialer.sandbox.failure import Fail

E164 = re.compile(r"^\+[1-9][0-9]{7,14}$")
FIELDS = frozenset(
    {"agent_id", "to", "from", "metadata", "variables", "workflow_revision_id", "type"}
)
RESERVED_METADATA = frozenset({"id", "direction", "agent_number", "user_number", "agent_name"})


@dataclass
class Placement:
    """A validated request to place one outbound call."""

    agent_id: str
    to: str
    from_: str
    metadata: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)
    workflow: bool = False
    workflow_revision_id: str | None = None


def is_uuid(text: object) -> bool:
    """Whether ``text`` is a UUID in its usual 36-character form."""
    if not isinstance(text, str) or len(text) != 36:
        return False
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def dialable(number: str) -> bool:
    """The API's own rule: strict E.164, and +972 numbers 12–13 characters, not ``+9720``.

    Israeli numbers starting ``+9721`` (1-700/1-800 service numbers) are undiallable too.
    """
    if not E164.match(number):
        return False
    if number.startswith("+972"):
        return len(number) in (12, 13) and number[4] not in "01"
    return True


class CallsBodyParser:
    """Validates POST /calls bodies against the workspace's agents and numbers."""

    def __init__(
        self,
        agents: dict[str, dict[str, Any]],
        numbers: dict[str, dict[str, Any]],
        *,
        legacy_codes: bool = False,
    ) -> None:
        self.agents = agents
        self.numbers = numbers
        self.to_code = "INVALID_TO_NUMBER" if legacy_codes else "invalid_destination"

    def parse(self, body: object, key: ApiKey) -> Placement:
        """The placement ``body`` asks for, or the :class:`Fail` the API answers."""
        if not isinstance(body, dict):
            raise Fail(400, "BAD_REQUEST", "The request body must be a JSON object")
        agent = self._agent_if_named(body.get("agent_id"))
        workflow = agent is not None and agent["type"] == "workflow"
        self._refuse_unknown_fields(body, workflow=workflow)
        self._check_type(body.get("type"))
        to, from_ = self._numbers(body, workflow=workflow)
        metadata = self._metadata(body.get("metadata"))
        variables = self._variables(body.get("variables"))
        if agent is None:
            agent = self._resolve_from_number(from_)
        self._check_agent(agent, body.get("workflow_revision_id"))
        self._check_key_scope(key, agent["id"], from_)
        return Placement(
            agent_id=agent["id"],
            to=to,
            from_=from_,
            metadata=metadata,
            variables=variables,
            workflow=agent["type"] == "workflow",
            workflow_revision_id=agent.get("published_workflow_revision_id"),
        )

    def _agent_if_named(self, agent_id: object) -> dict[str, Any] | None:
        """The named agent; unknown or malformed ids are 404 WORKFLOW_AGENT_UNAVAILABLE."""
        if agent_id is None:
            return None
        agent = self.agents.get(agent_id) if isinstance(agent_id, str) else None
        if agent is None:
            raise Fail(
                404,
                "WORKFLOW_AGENT_UNAVAILABLE",
                f"agent_id {agent_id!r} is not an agent of this workspace",
            )
        return agent

    def _refuse_unknown_fields(self, body: dict[str, Any], *, workflow: bool) -> None:
        unknown = sorted(set(body) - FIELDS)
        if unknown and workflow:
            raise Fail(
                422, "WORKFLOW_REQUEST_INVALID", f"Unknown property for a workflow: {unknown[0]}"
            )
        if unknown:
            raise Fail(400, "BAD_REQUEST", f"Unknown field(s) in body: {', '.join(unknown)}")

    def _check_type(self, value: object) -> None:
        # "web" mints a browser session; the sandbox only places phone calls.
        if value is not None and value != "phone":
            raise Fail(400, "BAD_REQUEST", "type must be 'phone' (or omitted) for outbound calls")

    def _numbers(self, body: dict[str, Any], *, workflow: bool) -> tuple[str, str]:
        """``to`` and ``from`` after the format, self-call and active-number rules."""
        to, from_ = body.get("to"), body.get("from")
        if workflow and (to is None or from_ is None):
            raise Fail(422, "WORKFLOW_REQUEST_INVALID", "A workflow call needs both to and from")
        if not isinstance(to, str) or not dialable(to):
            raise Fail(400, self.to_code, f"to must be a diallable E.164 number, got {to!r}")
        if not isinstance(from_, str) or not E164.match(from_):
            raise Fail(400, "INVALID_FROM_NUMBER", f"from must be E.164, got {from_!r}")
        if to == from_:
            raise Fail(400, "SELF_CALL_NOT_ALLOWED", "to and from must be different numbers")
        number = self.numbers.get(from_)
        if number is None or number["status"] != "active" or not number["is_active"]:
            raise Fail(
                400, "INVALID_FROM_NUMBER", f"from {from_} is not an active number of this company"
            )
        return to, from_

    def _metadata(self, value: object) -> dict[str, Any]:
        if value is None:
            return {}  # R2: null is treated as {}
        if not isinstance(value, dict):
            raise Fail(400, "BAD_REQUEST", "metadata must be a JSON object")
        reserved = sorted(set(value) & RESERVED_METADATA)
        if reserved:
            raise Fail(
                400,
                "INVALID_METADATA_RESERVED_KEY",
                f"metadata key {reserved[0]!r} is reserved by the platform",
            )
        return dict(value)

    def _variables(self, value: object) -> dict[str, str]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise Fail(400, "BAD_REQUEST", "variables must be an object of strings")
        out: dict[str, str] = {}
        for name, text in value.items():
            if text is not None and not isinstance(text, str):
                raise Fail(400, "BAD_REQUEST", f"variables.{name} must be a string")
            out[name] = text or ""  # R2: null becomes ""
        return out

    def _resolve_from_number(self, from_: str) -> dict[str, Any]:
        """No agent_id: the from number's outbound agent decides (R4)."""
        agent_id = self.numbers[from_]["outbound_agent_id"]
        if agent_id is None:
            raise Fail(
                422,
                "AGENT_NOT_RESOLVED",
                f"No agent_id given and {from_} has no outbound agent; send agent_id",
            )
        return self.agents[agent_id]

    def _check_agent(self, agent: dict[str, Any], pin: object) -> None:
        """Inactive/unpublished agents and misplaced or foreign revision pins."""
        workflow = agent["type"] == "workflow"
        if pin is not None and not workflow:
            raise Fail(422, "WORKFLOW_PIN_INVALID", "workflow_revision_id is for workflow agents")
        if not agent["is_active"]:
            raise Fail(409, "WORKFLOW_AGENT_INACTIVE", f"Agent {agent['id']} is not active")
        if workflow and agent["published_workflow_revision_id"] is None:
            raise Fail(409, "WORKFLOW_UNPUBLISHED", f"Agent {agent['id']} was never published")
        if pin is not None and pin != agent["published_workflow_revision_id"]:
            raise Fail(
                404, "WORKFLOW_AGENT_UNAVAILABLE", "workflow_revision_id is not this agent's"
            )

    def _check_key_scope(self, key: ApiKey, agent_id: str, from_: str) -> None:
        """An agent-limited key calls only with its agents, from numbers its agents use."""
        if key.agent_ids is None:
            return
        if agent_id not in key.agent_ids:
            raise Fail(
                403, "AGENT_OUTSIDE_KEY_SCOPE", f"This API key may not place calls for {agent_id}"
            )
        number = self.numbers[from_]
        if {number["outbound_agent_id"], number["inbound_agent_id"]}.isdisjoint(key.agent_ids):
            raise Fail(
                403, "API_KEY_AGENT_SCOPED", f"This API key's agents do not use the number {from_}"
            )
