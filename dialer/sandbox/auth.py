"""API keys of the sandbox workspace and the checks every request passes (docs/api.md §1)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dialer.sandbox.catalog import ALL_SCOPES
from dialer.sandbox.failure import Fail


@dataclass(frozen=True)
class ApiKey:
    """One key: its scopes, the agents it is limited to (None: all) and its expiry."""

    secret: str
    scopes: frozenset[str] = ALL_SCOPES
    agent_ids: frozenset[str] | None = None
    expires_at: datetime | None = None

    @property
    def agent_limited(self) -> bool:
        """An agent-limited key (R4): only its agents' calls, no DNC or phone numbers."""
        return self.agent_ids is not None


def authenticate(header: str | None, keys: dict[str, ApiKey], now: datetime) -> ApiKey:
    """The key behind an ``Authorization`` header, or a 401 naming what is wrong."""
    if not header:
        raise Fail(401, "MISSING_KEY", "Missing API key: send 'Authorization: Bearer <key>'")
    scheme, _, secret = header.partition(" ")
    key = keys.get(secret.strip()) if scheme.lower() == "bearer" else None
    if key is None:
        raise Fail(401, "INVALID_KEY", "Invalid API key: it is unknown or was revoked")
    if key.expires_at is not None and key.expires_at <= now:
        raise Fail(401, "EXPIRED_KEY", "This API key has expired; create a new one")
    return key


def require_scope(key: ApiKey, scope: str | None, *, status: int) -> None:
    """Refuse a key without ``scope``; ``status`` is 403 (R4) or 401 (older revisions)."""
    if scope is not None and scope not in key.scopes:
        raise Fail(status, "INSUFFICIENT_SCOPE", f"This API key lacks the '{scope}' scope")


def refuse_agent_limited(key: ApiKey, what: str) -> None:
    """Agent-limited keys cannot read the DNC list or the phone numbers (R4)."""
    if key.agent_limited:
        raise Fail(403, "API_KEY_AGENT_SCOPED", f"An agent-limited API key cannot access {what}")
