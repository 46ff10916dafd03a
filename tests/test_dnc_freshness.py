"""DNC cache freshness at intake: a fetch time in the future is not a fresh cache."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from dialer import campaign as ops
from dialer.config import load_campaign
from dialer.errors import DncStaleError
from dialer.sandbox import Sandbox
from dialer.store import Ledger
from tests.dialing import connection, numbers, write_campaign

ENTRY = {"id": "1", "phone_number": "+972531000001", "agent_ids": [], "expires_at": None}


async def test_future_fetch_time_is_stale_without_a_key(tmp_path: Path, sandbox: Sandbox) -> None:
    now = sandbox.clock.now().replace(microsecond=0)
    with Ledger(tmp_path / "ledger.db") as ledger:
        ledger.replace_dnc("acct", [ENTRY], fetched_at=now + timedelta(hours=3))
        with pytest.raises(DncStaleError, match=r"is stamped 3 h in the future and no API key"):
            await ops.ensure_fresh_dnc(
                ledger, None, account="acct", max_age=timedelta(minutes=60), now=now
            )


async def test_future_fetch_time_is_refreshed_at_intake(tmp_path: Path, sandbox: Sandbox) -> None:
    now = sandbox.clock.now().replace(microsecond=0)
    campaign = load_campaign(write_campaign(tmp_path, numbers(2)))
    conn = connection(sandbox)
    with Ledger(tmp_path / "ledger.db") as ledger:
        ledger.replace_dnc(conn.account, [ENTRY], fetched_at=now + timedelta(minutes=5))
        index = await ops.fresh_dnc_index(ledger, campaign, connection=conn, now=now)
        assert ledger.dnc_fetched_at(conn.account) == now
        # the stale copy's entry is gone: the list now is the sandbox's (empty) one
        assert index.match("+972531000001", agent_id=campaign.agent_id, now=now) is None


async def test_recent_past_fetch_is_used_as_is(tmp_path: Path, sandbox: Sandbox) -> None:
    now = sandbox.clock.now().replace(microsecond=0)
    campaign = load_campaign(write_campaign(tmp_path, numbers(2)))
    conn = connection(sandbox)
    fetched = now - timedelta(minutes=59)
    with Ledger(tmp_path / "ledger.db") as ledger:
        ledger.replace_dnc(conn.account, [ENTRY], fetched_at=fetched)
        index = await ops.fresh_dnc_index(ledger, campaign, connection=conn, now=now)
        assert ledger.dnc_fetched_at(conn.account) == fetched
        assert index.match("+972531000001", agent_id=campaign.agent_id, now=now) is not None
