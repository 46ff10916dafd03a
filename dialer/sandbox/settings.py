"""SandboxConfig: every knob of the sandbox, with its default, in one place."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from dialer.sandbox.faults import Faults
from dialer.sandbox.scenario import Scenario
from dialer.sandbox.window import CallWindow


@dataclass
class SandboxConfig:
    """How the sandbox behaves; times are clock seconds, the clock runs ``time_scale`` x."""

    time_scale: float = 1.0
    rate_limit: int = 60  # requests per key per clock minute
    capacity: int = 10  # the company's max_concurrent_calls
    scenario: Scenario = field(default_factory=Scenario)
    seed: int = 1
    call_window: CallWindow | None = None  # None: calls may be placed at any time
    start: datetime | None = None  # the clock's origin (default: now)
    faults: Faults = field(default_factory=Faults)
    scope_error_status: int = 403  # R4; 401 emulates the older revisions
    legacy_codes: bool = False  # answer INVALID_TO_NUMBER instead of invalid_destination
    # -- billing (docs/api.md §12, GET /billing) --
    balance_cents: int | None = 10_000_000  # $100,000; None: unlimited; under 300 -> 402
    billing_error: str | None = None  # force 402: "BILLING_ERROR" or "SPEND_BUDGET_REACHED"
    has_payment_method: bool = True  # False -> 402 BILLING_ERROR
    is_suspended: bool = False  # True -> 402 BILLING_ERROR
    monthly_budget_cents: int | None = None  # spent -> 402 SPEND_BUDGET_REACHED
    queue_ttl_seconds: float = 24 * 3600  # how long a capacity-queued call may wait
    opt_out_adds_dnc: bool = True  # a "Do Not Call" disposition adds the number to the DNC list
