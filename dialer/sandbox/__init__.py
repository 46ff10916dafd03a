"""A Yappr-compatible API server for demos and tests: real HTTP, no real calls, no cost.

It follows ``docs/api.md``; where the contract is silent it picks the behaviour that can never
call a person twice or call a blocked number, and says so in a comment where the choice is made.

Layout: ``catalog`` (fixed agents, numbers, key), ``settings`` (SandboxConfig), ``scenario``
(outcomes), ``faults``, ``ratelimit``, ``auth``, ``idempotency``, ``calls_body`` (POST /calls
rules), ``calls_query`` (GET /calls rules), ``dnclist``, ``window``, ``lifecycle`` (call rows),
``requests`` (workflow call requests), ``world`` (state + timing), ``scheduler`` (one task for
all timed events), ``pipeline`` (auth/limits/faults middleware), ``routes*``, ``server``.
"""

from dialer.sandbox.catalog import (
    AGENT_B_ID,
    AGENT_ID,
    FROM_NUMBERS,
    INACTIVE_AGENT_ID,
    INACTIVE_FROM_NUMBER,
    TEST_API_KEY,
    UNPUBLISHED_AGENT_ID,
    WORKFLOW_AGENT_ID,
    WORKFLOW_REVISION_ID,
)
from dialer.sandbox.faults import Faults
from dialer.sandbox.scenario import Scenario
from dialer.sandbox.server import Sandbox, banner, serve
from dialer.sandbox.settings import SandboxConfig
from dialer.sandbox.window import CallWindow

__all__ = [
    "AGENT_B_ID",
    "AGENT_ID",
    "FROM_NUMBERS",
    "INACTIVE_AGENT_ID",
    "INACTIVE_FROM_NUMBER",
    "TEST_API_KEY",
    "UNPUBLISHED_AGENT_ID",
    "WORKFLOW_AGENT_ID",
    "WORKFLOW_REVISION_ID",
    "CallWindow",
    "Faults",
    "Sandbox",
    "SandboxConfig",
    "Scenario",
    "banner",
    "serve",
]
