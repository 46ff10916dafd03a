"""The sandbox workspace: its fixed company, agents, phone numbers and the test API key.

Every id here is stable across runs so docs, campaign files and tests can name them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dialer.clock import isoformat

COMPANY_ID = "c0ffee00-5a4d-4b0c-8a11-000000000001"
USER_ID = "b0b0b0b0-1111-4222-8333-444455556666"

AGENT_ID = "5b0c8f4e-1d2a-4c3b-9e7f-0a1b2c3d4e5f"
AGENT_B_ID = "7d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6"
WORKFLOW_AGENT_ID = "9a8b7c6d-5e4f-4a3b-9c2d-1e0f2a3b4c5d"
INACTIVE_AGENT_ID = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"
UNPUBLISHED_AGENT_ID = "1a2b3c4d-5e6f-4071-8293-a4b5c6d7e8f9"
WORKFLOW_REVISION_ID = "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f"

FROM_NUMBERS = ("+972552234567", "+972552234568")
INACTIVE_FROM_NUMBER = "+972552234569"
TEST_API_KEY = "ypr_test_sandbox_4f2a9c1e7b3d5a8f"

ALL_SCOPES = frozenset(
    {
        "calls:create",
        "calls:read",
        "agents:read",
        "phone_numbers:search",
        "do_not_call:read",
        "do_not_call:manage",
        "dispositions:read",
        "leads:read",
        "billing:read",
        "call_windows:manage",
    }
)

#: Dispositions the platform seeds as protected (docs/api.md §5).
PROTECTED_DISPOSITIONS = (
    "Voicemail",
    "Do Not Call",
    "Transferred to a Person",
    "Unclassified",
    "No Answer",
    "Failed",
)


def _prompt_agent(agent_id: str, name: str, *, active: bool = True) -> dict[str, Any]:
    """A legacy/prompt agent as GET /agents/{id} shows it."""
    return {
        "id": agent_id,
        "name": name,
        "type": "prompt",
        "execution_version": "prompt_v1",
        "is_active": active,
        "system_prompt": "You are a friendly sales agent calling {{LeadName}}.",
        "flow_config": None,
        "webhook_url": None,
        "webhook_events": [],
        "tools": [],
        "published_workflow_revision_id": None,
        "max_call_duration_secs": 600,
        "extraction_parameters": [],
    }


def _workflow_agent(agent_id: str, name: str, revision: str | None) -> dict[str, Any]:
    """A workflow agent (no prompt, no webhooks); ``revision`` None means never published."""
    return {
        "id": agent_id,
        "name": name,
        "type": "workflow",
        "execution_version": "workflow_v1",
        "is_active": True,
        "published_workflow_revision_id": revision,
        "max_call_duration_secs": 600,
        "extraction_parameters": [],
    }


def agents(created: datetime) -> dict[str, dict[str, Any]]:
    """Every agent of the sandbox workspace by id, created at ``created``."""
    rows = [
        _prompt_agent(AGENT_ID, "Sales (sandbox)"),
        _prompt_agent(AGENT_B_ID, "Renewals (sandbox)"),
        _workflow_agent(WORKFLOW_AGENT_ID, "Workflow (sandbox)", WORKFLOW_REVISION_ID),
        _prompt_agent(INACTIVE_AGENT_ID, "Paused (sandbox)", active=False),
        _workflow_agent(UNPUBLISHED_AGENT_ID, "Draft workflow (sandbox)", None),
    ]
    for row in rows:
        row["created_at"] = isoformat(created)
    return {row["id"]: row for row in rows}


def _number(
    index: int, number: str, *, outbound_agent: str | None, status: str, created: datetime
) -> dict[str, Any]:
    """One company phone number as GET /phone-numbers lists it (docs/api.md §10)."""
    return {
        "id": f"e1e2e3e4-0000-4000-8000-00000000000{index}",
        "number": number,
        "friendly_name": f"Sandbox line {index}",
        "provider": "telnyx",
        "status": status,
        "is_active": status == "active",
        "inbound_agent_id": outbound_agent,
        "outbound_agent_id": outbound_agent,
        "inbound_split": None,
        "outbound_split": None,
        "country_code": "IL",
        "monthly_cost": 0,
        "created_at": isoformat(created),
        "carrier_account": "sandbox",
        "ownership_verified_at": isoformat(created),
    }


def phone_numbers(created: datetime) -> dict[str, dict[str, Any]]:
    """The company's numbers by E.164: two active lines and one still pending requirements."""
    rows = [
        _number(1, FROM_NUMBERS[0], outbound_agent=AGENT_ID, status="active", created=created),
        _number(2, FROM_NUMBERS[1], outbound_agent=None, status="active", created=created),
        _number(
            3,
            INACTIVE_FROM_NUMBER,
            outbound_agent=None,
            status="pending_requirements",
            created=created,
        ),
    ]
    return {row["number"]: row for row in rows}
