"""The DNC rule as a table, the index, and suppression files."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from dialer.dnc import DncEntry, DncIndex, blocks, read_suppression_file
from dialer.errors import InputError

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
AGENT, OTHER = "agent-a", "agent-b"
NUMBER = "+972522345678"


@pytest.mark.parametrize(
    ("agents", "expires_at", "blocked"),
    [
        ((), None, True),  # global, permanent
        ((AGENT,), None, True),  # scoped to this agent
        ((OTHER,), None, False),  # scoped to another agent
        ((AGENT, OTHER), None, True),
        ((), NOW - timedelta(seconds=1), False),  # expired
        ((), NOW, False),  # expires exactly now: no longer blocks
        ((), NOW + timedelta(days=1), True),  # future expiry
        ((OTHER,), NOW + timedelta(days=1), False),
    ],
)
def test_rule(agents: tuple[str, ...], expires_at: datetime | None, blocked: bool) -> None:
    entry = DncEntry("1", NUMBER, frozenset(agents), expires_at)
    assert blocks(entry, agent_id=AGENT, now=NOW) is blocked
    index = DncIndex([entry])
    assert (index.match(NUMBER, agent_id=AGENT, now=NOW) is not None) is blocked


def test_blocked_reasons_for_a_column() -> None:
    index = DncIndex(
        [
            DncEntry("1", "+972522345671", reason="asked on call"),
            DncEntry("2", "+972522345672", frozenset({AGENT})),
            DncEntry("3", "+972522345673", frozenset({OTHER})),
            DncEntry("4", "+972522345674", expires_at=NOW - timedelta(days=1)),
        ],
        suppressed={"+972522345675": "suppress.txt"},
    )
    phones = pd.Series([f"+97252234567{i}" for i in range(1, 7)], index=range(10, 16), dtype="str")
    reasons = index.blocked(phones, agent_id=AGENT, now=NOW)
    assert reasons.index.tolist() == list(range(10, 16))
    assert reasons.tolist() == [
        "dnc: cache (global): asked on call",
        "dnc: cache (agent)",
        "",
        "",
        "dnc: suppression file suppress.txt",
        "",
    ]
    assert index.match_reason("+972522345676", agent_id=AGENT, now=NOW) is None


def test_suppression_file_any_format(tmp_path: Path) -> None:
    path = tmp_path / "suppress.txt"
    path.write_text("# opt-outs\n\n052-234-5678\n+972 53 333 4444  # called twice\nnonsense\n")
    assert read_suppression_file(path, region="IL") == {"+972522345678", "+972533334444"}


def test_suppression_file_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"missing\.txt: suppression file not found"):
        read_suppression_file(tmp_path / "missing.txt", region="IL")
    binary = tmp_path / "blob.txt"
    binary.write_bytes(b"\x00\x01\x02binary")
    with pytest.raises(InputError, match=r"blob\.txt: suppression file is binary"):
        read_suppression_file(binary, region="IL")
