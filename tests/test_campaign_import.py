"""Importing a classified sheet into the ledger."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dialer import campaign as ops
from dialer.campaign import intake
from dialer.config import load_campaign
from dialer.dnc import DncIndex
from dialer.store import Ledger
from tests.dialing import numbers, write_campaign

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def test_a_sheet_imported_in_chunks_lands_row_for_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Import builds the ledger's rows a chunk at a time (memory stays flat for a large
    sheet): across chunk boundaries every row lands once, in order, with its own fields."""
    phones = numbers(7)
    toml = write_campaign(tmp_path, [*phones[:3], "not a number", phones[0], *phones[3:]])
    campaign = load_campaign(toml)
    stored = {}
    for chunk in (3, 10_000):
        monkeypatch.setattr(intake, "IMPORT_CHUNK", chunk)
        with Ledger(tmp_path / f"chunk-{chunk}.db") as ledger:
            frame = ops.classify_campaign(
                campaign, ledger=ledger, index=DncIndex([]), now=NOW, leads=None
            )
            ops.import_campaign(
                campaign,
                frame,
                ledger=ledger,
                leads_file=campaign.leads,
                campaign_file=toml,
                now=NOW,
            )
            stored[chunk] = [
                (lead["row"], lead["phone"], lead["status"], json.loads(lead["fields"]))
                for lead in ledger.leads_of(campaign.name)
            ]
    assert stored[3] == stored[10_000]
    assert [row for row, *_ in stored[3]] == list(range(1, 10))
    assert [status for _, _, status, _ in stored[3]].count("pending") == 7
    assert stored[3][8] == (9, phones[6], "pending", ["ליד 8", "crm-8"])
