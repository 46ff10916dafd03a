"""The SQLite ledger: import, guarded moves, attempts, DNC cache, schema versions."""

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dialer.errors import LedgerError, SchemaTooNewError
from dialer.models import AttemptFacts, LeadMove, LeadStatus, RateWindow
from dialer.store import SCHEMA_VERSION, AttemptStart, Ledger

S = LeadStatus
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def _import(ledger: Ledger, rows: int = 5) -> None:
    ledger.create_campaign(
        name="c1",
        agent_id="agent",
        settings={"name": "c1"},
        campaign_file="c1.toml",
        leads_file="leads.csv",
        leads_sha256="abc",
        variable_names=["LeadName"],
        metadata_names=[],
        rows=[
            (i, f"050-000-000{i}", f"+97250000000{i}", "Asia/Jerusalem", "pending", "", '["n"]')
            for i in range(1, rows + 1)
        ],
        now=NOW,
    )


def test_import_counts_and_claims_in_sheet_order(tmp_path: Path) -> None:
    with Ledger(tmp_path / "l.db") as ledger:
        _import(ledger)
        assert ledger.counts("c1") == {"pending": 5}
        due = ledger.due_leads("c1", now=NOW, limit=3)
        assert [lead.row for lead in due] == [1, 2, 3]
        assert due[0].fields == ["n"]
        assert ledger.campaign_names() == ["c1"]


def test_an_illegal_move_is_refused_and_nothing_changes(tmp_path: Path) -> None:
    with Ledger(tmp_path / "l.db") as ledger:
        _import(ledger, rows=1)
        lead = ledger.due_leads("c1", now=NOW, limit=1)[0]
        with pytest.raises(LedgerError, match="illegal move pending -> completed"):
            ledger.move_lead(lead.id, LeadMove(S.PENDING, S.COMPLETED, "x"), now=NOW)
        with pytest.raises(LedgerError, match="changed underneath"):
            ledger.move_lead(lead.id, LeadMove(S.RETRY_WAIT, S.DIALING, "x"), now=NOW)
        assert ledger.lead_status(lead.id) == S.PENDING


def test_attempt_is_committed_before_the_call_and_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    with Ledger(path) as ledger:
        _import(ledger, rows=2)
        lead = ledger.due_leads("c1", now=NOW, limit=1)[0]
        start = AttemptStart("att-1", lead.id, 1, lead.phone, "+972552234567", '{"to":"x"}')
        ledger.begin_attempts([(start, S.PENDING)], now=NOW)
    with Ledger(path) as ledger:
        open_attempts = ledger.open_attempts("c1")
        assert [(a.id, a.lead_status, a.body) for a in open_attempts] == [
            ("att-1", S.DIALING, '{"to":"x"}')
        ]
        assert ledger.in_flight("c1") == 1
        assert [lead.row for lead in ledger.due_leads("c1", now=NOW, limit=5)] == [2]


def test_retry_wait_leads_come_due_at_their_time(tmp_path: Path) -> None:
    with Ledger(tmp_path / "l.db") as ledger:
        _import(ledger, rows=1)
        lead = ledger.due_leads("c1", now=NOW, limit=1)[0]
        start = AttemptStart("a", lead.id, 1, lead.phone, "+972552234567", "{}")
        ledger.begin_attempts([(start, S.PENDING)], now=NOW)
        later = NOW + timedelta(hours=1)
        ledger.record(
            "a",
            lead_id=lead.id,
            now=NOW,
            facts=AttemptFacts(outcome="no_answer"),
            move=LeadMove(S.DIALING, S.RETRY_WAIT, "no_answer; retry 2", later),
        )
        assert ledger.due_leads("c1", now=NOW, limit=5) == []
        assert ledger.next_due("c1") == later
        assert [lead.attempts for lead in ledger.due_leads("c1", now=later, limit=5)] == [1]


def test_a_resend_waits_in_the_status_but_is_no_lead_to_claim(tmp_path: Path) -> None:
    """A lead waiting to be resent under its key is the dispatcher's to resend: it is never
    claimed as a new call, and only ``dialer status`` counts its time as the next opening."""
    with Ledger(tmp_path / "l.db") as ledger:
        _import(ledger, rows=1)
        lead = ledger.due_leads("c1", now=NOW, limit=1)[0]
        start = AttemptStart("a", lead.id, 1, lead.phone, "+972552234567", "{}")
        ledger.begin_attempts([(start, S.PENDING)], now=NOW)
        later = NOW + timedelta(hours=9)
        move = LeadMove(S.DIALING, S.RESEND_WAIT, "answer lost; resent at the opening", later)
        ledger.record("a", lead_id=lead.id, now=NOW, facts=AttemptFacts(), move=move)
        assert ledger.due_leads("c1", now=later, limit=5) == []
        assert ledger.next_due("c1") is None
        assert ledger.next_due("c1", resends=True) == later


def test_a_ledger_from_a_newer_dialer_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    Ledger(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version=99")
    with pytest.raises(SchemaTooNewError, match="schema version 99 is newer"):
        Ledger(path)


def test_a_ledger_of_the_first_version_is_upgraded_with_its_leads(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    with Ledger(path) as ledger:
        _import(ledger, rows=2)
    with sqlite3.connect(path) as conn:  # back to what a version-1 dialer left behind
        _back_to_version_2(conn)
        conn.execute("DROP INDEX attempts_awaiting_analysis")
        conn.execute("DROP TABLE opt_outs")
        for column in ("disposition_id", "extracted_data", "analysis_status", "analysis_reason"):
            conn.execute(f"ALTER TABLE attempts DROP COLUMN {column}")
        for column in ("cost_status", "recording_url", "transcript"):
            conn.execute(f"ALTER TABLE attempts DROP COLUMN {column}")
        conn.execute("PRAGMA user_version=1")
    with Ledger(path) as ledger:
        assert ledger.counts("c1") == {"pending": 2}
        columns = {row[1] for row in ledger.db.execute("PRAGMA table_info(attempts)")}
        assert {"extracted_data", "analysis_status", "cost_status", "recording_url"} <= columns
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert _indexes(conn, "opt_outs") >= {"opt_outs_to_add"}
        campaign_columns = {row[1] for row in conn.execute("PRAGMA table_info(campaigns)")}
        assert {"account", "control"} <= campaign_columns


def test_a_ledger_of_the_second_version_gets_the_opt_out_index(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    with Ledger(path) as ledger:
        _import(ledger, rows=1)
        ledger.db.execute(
            "INSERT INTO opt_outs (phone, campaign, call_id, noted_at) VALUES (?, 'c1', 'x', ?)",
            ["+972500000001", NOW.isoformat()],
        )
    with sqlite3.connect(path) as conn:  # what a version-2 dialer left behind
        _back_to_version_2(conn)
        conn.execute("PRAGMA user_version=2")
    with Ledger(path) as ledger:
        assert ledger.opt_outs_to_add() == [("+972500000001", "x")]
        plan = " ".join(
            row[3]
            for row in ledger.db.execute(
                "EXPLAIN QUERY PLAN SELECT phone, call_id FROM opt_outs WHERE added_at IS NULL"
            )
        )
        assert "opt_outs_to_add" in plan  # not a scan of every opt-out ever noted
        ledger.opt_out_added("+972500000001", now=NOW)
        assert ledger.opt_outs_to_add() == []
        assert ledger.campaign("c1") is not None  # the campaign row gained its new columns
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def _back_to_version_2(conn: sqlite3.Connection) -> None:
    """Undo what versions 3, 4 and 5 added."""
    conn.execute("DROP TABLE rate_windows")
    conn.execute("DROP INDEX opt_outs_to_add")
    conn.execute("DROP INDEX attempts_by_phone_campaign")
    for column in ("account", "control"):
        conn.execute(f"ALTER TABLE campaigns DROP COLUMN {column}")


def test_the_rate_window_a_process_leaves_is_kept_per_account(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    with Ledger(path) as ledger:
        assert ledger.rate_window("acct-a") is None
        ledger.note_rate_window("acct-a", RateWindow(1_800_000_060.0, 3, 60), now=NOW)
        ledger.note_rate_window("acct-a", RateWindow(1_800_000_060.0, 1, 60), now=NOW)
        ledger.note_rate_window("acct-b", RateWindow(1_800_000_120.0, 0, 10), now=NOW)
    with Ledger(path) as ledger:  # the next process
        assert ledger.rate_window("acct-a") == RateWindow(1_800_000_060.0, 1, 60)
        assert ledger.rate_window("acct-b") == RateWindow(1_800_000_120.0, 0, 10)
    with sqlite3.connect(path) as conn:
        assert "rate_windows" in {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}


def _indexes(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA index_list({table})")}


def test_retries_awaiting_analysis_counts_waiting_leads_whose_call_is_not_analysed(
    tmp_path: Path,
) -> None:
    """Counted from the attempts whose analysis is pending: a lead once however many such
    attempts it has, only while it waits for a retry, only of this campaign."""
    with Ledger(tmp_path / "l.db") as ledger:
        _import(ledger, rows=5)
        leads = ledger.due_leads("c1", now=NOW, limit=5)
        analysis = {1: ["pending", "pending"], 2: ["done"], 3: ["pending"], 4: [None], 5: []}
        for lead in leads:
            for n, status in enumerate(analysis[lead.row], start=1):
                ledger.db.execute(
                    "INSERT INTO attempts (id, campaign, lead_id, number, phone, from_number,"
                    " body, started_at, updated_at, analysis_status)"
                    " VALUES (?, 'c1', ?, ?, '', '', '{}', ?, ?, ?)",
                    [f"{lead.row}-{n}", lead.id, n, NOW.isoformat(), NOW.isoformat(), status],
                )
        waiting = {
            1: S.RETRY_WAIT,
            2: S.RETRY_WAIT,
            3: S.NO_ANSWER,
            4: S.RETRY_WAIT,
            5: S.RETRY_WAIT,
        }
        for lead in leads:
            ledger.db.execute(
                "UPDATE leads SET status = ? WHERE id = ?", [waiting[lead.row], lead.id]
            )
        assert ledger.retries_awaiting_analysis("c1") == 1  # row 1 only
        assert ledger.retries_awaiting_analysis("other") == 0


def test_a_file_that_is_not_a_ledger_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(LedgerError, match=r"notes\.db"):
        Ledger(path)


def test_dnc_cache_is_replaced_whole(tmp_path: Path) -> None:
    with Ledger(tmp_path / "l.db") as ledger:
        entry = {"id": "e1", "phone_number": "+972501234567", "agent_ids": ["a"], "reason": "x"}
        ledger.replace_dnc("acct", [entry], fetched_at=NOW)
        ledger.replace_dnc("acct", [{**entry, "id": "e2"}], fetched_at=NOW)
        cached = ledger.dnc_entries("acct")
        assert [(e["id"], e["agent_ids"]) for e in cached] == [("e2", ["a"])]
        assert ledger.dnc_fetched_at("acct") == NOW
        assert ledger.dnc_fetched_at("other") is None


def test_an_attempt_is_never_begun_inside_a_batch(tmp_path: Path) -> None:
    """A batch groups synced updates in one transaction; the commit that must be on disk
    before a POST leaves cannot hide in it as a mere savepoint."""
    with Ledger(tmp_path / "l.db") as ledger:
        _import(ledger, rows=1)
        lead = ledger.due_leads("c1", now=NOW, limit=1)[0]
        start = AttemptStart("a", lead.id, 1, lead.phone, "+972552234567", "{}")
        with pytest.raises(LedgerError, match="durably"), ledger.batch("sync"):
            ledger.begin_attempts([(start, S.PENDING)], now=NOW)
        assert ledger.counts("c1") == {"pending": 1}  # the batch rolled back: nothing begun
        with pytest.raises(LedgerError, match="batch inside"), ledger.batch("a"), ledger.batch("b"):
            pass
