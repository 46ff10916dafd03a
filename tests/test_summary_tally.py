"""The run's summary comes from the ledger's aggregates (no row loaded); it must say exactly
what the same figures computed from every lead and attempt row say, whatever the rows hold:
NULL and empty values, ties in attempt numbers and start times, other campaigns."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from dialer import reports
from dialer.models import LeadStatus
from dialer.store import Ledger

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
STAMPS = [None, "", "2026-03-02T10:00:00.000Z", "2026-03-02T10:05:00.000Z"]

lead = st.tuples(st.sampled_from([s.value for s in LeadStatus]), st.integers(0, 3))
attempt = st.fixed_dictionaries(
    {
        "lead": st.integers(0, 7),
        "number": st.integers(1, 3),
        "started_at": st.sampled_from(STAMPS[2:]),
        "shape": st.sampled_from([None, "", "dialed", "rejected", "stopped", "dnc_blocked"]),
        "outcome": st.sampled_from([None, "completed", "transferred", "no_answer", "busy"]),
        "duration_seconds": st.sampled_from([None, 0.0, 12.3, 61.5]),
        "cost_cents": st.sampled_from([None, 0.0, 12.0, 24.5]),
        "call_id": st.sampled_from([None, "", "call-x"]),
        "analysis_status": st.sampled_from([None, "", "pending", "done", "failed"]),
        "disposition": st.sampled_from([None, "", "Interested", "Voicemail"]),
        "ended_at": st.sampled_from(STAMPS),
        "updated_at": st.sampled_from(STAMPS[2:]),
        "campaign": st.sampled_from(["a", "a", "a", "b"]),
    }
)


def _ledger(leads: list[tuple[str, int]], attempts: list[dict[str, Any]]) -> Ledger:
    """An in-memory ledger with campaigns "a" and "b" holding these rows as they are."""
    ledger = Ledger(":memory:")
    for name in ("a", "b"):
        ledger.create_campaign(
            name=name,
            agent_id="agent",
            settings={},
            campaign_file=None,
            leads_file="leads.csv",
            leads_sha256="0",
            variable_names=[],
            metadata_names=[],
            rows=[],
            now=NOW,
        )
    for row, (status, tries) in enumerate(leads or [("pending", 0)]):
        ledger.db.execute(
            "INSERT INTO leads (campaign, row, phone_raw, phone, timezone, status, reason,"
            " attempts, fields) VALUES ('a', ?, '', '', '', ?, '', ?, '[]')",
            [row, status, tries],
        )
    ids = [r[0] for r in ledger.db.execute("SELECT id FROM leads ORDER BY id")]
    for n, a in enumerate(attempts):
        columns = {k: v for k, v in a.items() if k != "lead"}
        columns |= {"id": f"attempt-{n}", "lead_id": ids[a["lead"] % len(ids)]}
        columns |= {"phone": "+972530000000", "from_number": "+972552234567", "body": "{}"}
        names = ", ".join(columns)
        marks = ", ".join("?" * len(columns))
        ledger.db.execute(
            f"INSERT INTO attempts ({names}) VALUES ({marks})", list(columns.values())
        )
    return ledger


@settings(max_examples=150, deadline=None)
@given(leads=st.lists(lead, max_size=8), attempts=st.lists(attempt, max_size=20))
def test_the_summary_from_aggregates_equals_the_summary_from_rows(
    leads: list[tuple[str, int]], attempts: list[dict[str, Any]]
) -> None:
    ledger = _ledger(leads, attempts)
    try:
        record = ledger.campaign("a")
        assert record is not None
        from_rows = reports.summarise(
            record, ledger.leads_of("a"), ledger.attempts_of("a"), now=NOW
        )
        assert reports.summary(ledger, "a", now=NOW) == from_rows
    finally:
        ledger.close()


def test_the_last_attempt_decides_the_disposition() -> None:
    """A lead's disposition is its highest-numbered attempt's; of two with the same number
    (a try the window took back), the later one's."""
    stamp = STAMPS[2:]
    base = {k: None for k in ("shape", "outcome", "duration_seconds", "cost_cents", "call_id")}
    base |= {"analysis_status": None, "ended_at": None, "updated_at": stamp[0], "campaign": "a"}
    rows = [
        base | {"lead": 0, "number": 2, "started_at": stamp[0], "disposition": "Interested"},
        base | {"lead": 0, "number": 1, "started_at": stamp[1], "disposition": "Voicemail"},
        base | {"lead": 1, "number": 1, "started_at": stamp[0], "disposition": "Voicemail"},
        base | {"lead": 1, "number": 1, "started_at": stamp[1], "disposition": "Interested"},
    ]
    ledger = _ledger([("completed", 2), ("completed", 1)], rows)
    try:
        assert reports.summary(ledger, "a", now=NOW)["dispositions"] == {"Interested": 2}
    finally:
        ledger.close()
