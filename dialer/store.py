"""The SQLite ledger: every campaign, every lead, every attempt, and the DNC cache.

Durability is the point of this module. The database runs in WAL mode. New attempts are
committed with ``synchronous=FULL`` (fsync before the commit returns): a committed attempt
survives a power cut, and that commit happens *before* its POST leaves (docs/design.md promise 1).
Other writes (answers, outcomes) use ``synchronous=NORMAL``: they survive a crash of the
process, and what a power cut could take back is re-learned from the API on resume (an
attempt found ``dialing`` is reconciled; a ``live`` call is synced again). Since WAL frames
are written in order, the next FULL commit makes every earlier one durable too.

Every lead status change is checked against :mod:`dialer.state` and guarded by the status
it is expected to have, so two writers (or a bug) can never move a lead along a path the
state machine forbids.

sqlite3 exceptions are mapped to :class:`dialer.errors.LedgerError` here and nowhere else.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import sqlite3
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from dialer.clock import isoformat, parse_instant
from dialer.errors import LedgerError, SchemaTooNewError
from dialer.models import CALL_OUTCOMES, AttemptFacts, LeadMove, LeadStatus, RateWindow
from dialer.state import IN_FLIGHT, OPEN, can_move

SCHEMA_VERSION = 5

_SCHEMA_V1 = """
CREATE TABLE IF NOT EXISTS campaigns (
    name TEXT PRIMARY KEY,
    agent_id TEXT NOT NULL,
    settings TEXT NOT NULL,          -- the campaign file as JSON (no secrets live there)
    campaign_file TEXT,
    leads_file TEXT NOT NULL,
    leads_sha256 TEXT NOT NULL,
    variable_names TEXT NOT NULL,    -- JSON list, report column order
    metadata_names TEXT NOT NULL,    -- JSON list
    state TEXT NOT NULL,             -- ready | running | interrupted | stopped | finished
    state_reason TEXT,
    created_at TEXT NOT NULL,
    started_at TEXT,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS leads (
    id INTEGER PRIMARY KEY,
    campaign TEXT NOT NULL REFERENCES campaigns(name),
    row INTEGER NOT NULL,
    phone_raw TEXT NOT NULL,
    phone TEXT NOT NULL,
    timezone TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    last_outcome TEXT,
    fields TEXT NOT NULL,            -- JSON [variables..., metadata...] in campaign column order
    updated_at TEXT
);
CREATE INDEX IF NOT EXISTS leads_by_status_row ON leads(campaign, status, row);
CREATE INDEX IF NOT EXISTS leads_by_status_due ON leads(campaign, status, next_attempt_at);
CREATE TABLE IF NOT EXISTS attempts (
    id TEXT PRIMARY KEY,             -- the attempt id, sent as Idempotency-Key
    campaign TEXT NOT NULL,
    lead_id INTEGER NOT NULL REFERENCES leads(id),
    number INTEGER NOT NULL,         -- 1 for the first attempt on this lead
    phone TEXT NOT NULL,
    from_number TEXT NOT NULL,
    body TEXT NOT NULL,              -- the exact request body, resent byte for byte
    started_at TEXT NOT NULL,
    http_status INTEGER,
    shape TEXT,                      -- dialed | dnc_blocked | queued | scheduled | workflow |
                                     -- handed_back | rejected | stopped | reconciled
    call_id TEXT,
    request_id TEXT,
    queue_id TEXT,
    call_status TEXT,
    outcome TEXT,
    failure_code TEXT,
    error_message TEXT,
    ended_by TEXT,
    disconnect_reason TEXT,
    duration_seconds REAL,
    disposition TEXT,
    summary TEXT,
    cost_cents REAL,
    answered_at TEXT,
    ended_at TEXT,
    call_updated_at TEXT,
    held_until TEXT,                 -- a platform hold (202) expires at this time
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS attempts_by_lead ON attempts(lead_id);
CREATE INDEX IF NOT EXISTS attempts_by_phone ON attempts(phone, started_at);
CREATE INDEX IF NOT EXISTS attempts_by_call ON attempts(call_id);
CREATE TABLE IF NOT EXISTS dnc_entries (
    account TEXT NOT NULL,
    id TEXT NOT NULL,
    phone_number TEXT NOT NULL,
    agent_ids TEXT NOT NULL,         -- JSON list; empty = global
    expires_at TEXT,
    reason TEXT,
    source TEXT,
    PRIMARY KEY (account, id)
);
CREATE TABLE IF NOT EXISTS dnc_syncs (
    account TEXT PRIMARY KEY,
    fetched_at TEXT NOT NULL,
    entries INTEGER NOT NULL
);
"""

# v2: what the AI learned on each call (its analysis), and what the call cost.
_SCHEMA_V2 = """
ALTER TABLE attempts ADD COLUMN disposition_id TEXT;
ALTER TABLE attempts ADD COLUMN extracted_data TEXT;      -- JSON object, as the API gave it
ALTER TABLE attempts ADD COLUMN analysis_status TEXT;  -- pending|done|skipped|failed|stuck
ALTER TABLE attempts ADD COLUMN analysis_reason TEXT;
ALTER TABLE attempts ADD COLUMN cost_status TEXT;         -- pending | charged | not_charged
ALTER TABLE attempts ADD COLUMN recording_url TEXT;
ALTER TABLE attempts ADD COLUMN transcript TEXT;          -- only with --with-transcripts
CREATE INDEX IF NOT EXISTS attempts_awaiting_analysis ON attempts(campaign, analysis_status);
CREATE TABLE IF NOT EXISTS opt_outs (   -- callers who asked not to be called, for the DNC list
    phone TEXT NOT NULL,
    campaign TEXT NOT NULL,
    call_id TEXT NOT NULL,
    noted_at TEXT NOT NULL,
    added_at TEXT,                      -- when POST /do-not-call took it (NULL: still to do)
    PRIMARY KEY (phone, call_id)
);
"""

# v3: several campaigns on one account: which account a campaign runs on (a one-way
# fingerprint, never the key), and what a person asked of it from another terminal.
_SCHEMA_V3 = """
ALTER TABLE campaigns ADD COLUMN account TEXT;
ALTER TABLE campaigns ADD COLUMN control TEXT NOT NULL DEFAULT 'run';  -- run | pause | stop
CREATE INDEX IF NOT EXISTS attempts_by_phone_campaign ON attempts(phone, campaign, started_at);
"""

# v4: the opt-outs still to put on the company DNC list, found without reading every opt-out
# this ledger ever noted (the follower asks on every round).
_SCHEMA_V4 = """
CREATE INDEX IF NOT EXISTS opt_outs_to_add ON opt_outs(phone, call_id) WHERE added_at IS NULL;
"""

# v5: what a process last knew of its account's rate window when little of it was left, so
# the next process (after a crash) does not spend a window that is already spent.
_SCHEMA_V5 = """
CREATE TABLE IF NOT EXISTS rate_windows (
    account TEXT PRIMARY KEY,
    reset REAL NOT NULL,              -- the window's end, a Unix time on the API's clock
    remaining INTEGER NOT NULL,       -- what was left of it, less the requests in flight
    rate_limit INTEGER NOT NULL,
    noted_at TEXT NOT NULL
);
"""

#: Migration scripts by the version they bring the ledger to.
_MIGRATIONS = {1: _SCHEMA_V1, 2: _SCHEMA_V2, 3: _SCHEMA_V3, 4: _SCHEMA_V4, 5: _SCHEMA_V5}


@dataclass(frozen=True, slots=True)
class CampaignRecord:
    """One campaign as the ledger knows it."""

    name: str
    agent_id: str
    settings: dict[str, Any]
    campaign_file: str | None
    leads_file: str
    leads_sha256: str
    variable_names: list[str]
    metadata_names: list[str]
    state: str
    state_reason: str | None
    created_at: str
    started_at: str | None
    account: str | None = None
    control: str = "run"


@dataclass(frozen=True, slots=True)
class LeadRecord:
    """One lead: what the dispatcher needs to decide and place its next call."""

    id: int
    row: int
    phone: str
    timezone: str
    status: LeadStatus
    attempts: int
    next_attempt_at: str | None
    fields: list[str]


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """One attempt row (a subset of its columns: what following and reconciling need)."""

    id: str
    lead_id: int
    number: int
    phone: str
    from_number: str
    body: str
    started_at: datetime
    shape: str | None
    call_id: str | None
    request_id: str | None
    queue_id: str | None
    lead_status: LeadStatus
    held_until: datetime | None = None
    zones: str = ""  # the lead's possible time zones (its calling window is checked in all)
    due: datetime | None = None  # the lead's next_attempt_at (a resend's time)
    analysis_status: str | None = None
    ended_at: datetime | None = None  # when its call ended (the API's clock)
    lead_updated_at: datetime | None = None  # when its lead last moved


@dataclass(frozen=True, slots=True)
class Tally:
    """What a campaign's summary counts (see ``dialer.reports.summary``), as figures: from
    the ledger's aggregates (:meth:`Ledger.tally`), or from rows already in memory."""

    statuses: dict[str, int]  # leads per status
    called: int  # leads with at least one attempt
    reached: int  # leads with an attempt whose outcome is one of ``reached``
    calls_placed: int  # attempts whose shape is not one of ``not_placed``
    talk_seconds: float
    costs: int  # attempts whose cost is known
    cost_cents: float  # what those cost together
    cost_pending: int  # attempts with a call id and no cost yet
    analyses: dict[str, int]  # attempts per analysis status
    dispositions: dict[str, int]  # leads per disposition of their last attempt
    first_started: str | None
    last_activity: str | None  # the latest ended_at (else updated_at) of any attempt


@dataclass(frozen=True, slots=True)
class AttemptStart:
    """A new attempt to commit before its POST leaves."""

    id: str
    lead_id: int
    number: int
    phone: str
    from_number: str
    body: str


class Ledger:
    """The campaign ledger in one SQLite file. Not thread-safe: one event loop owns it."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        with _mapped(self.path, "open"):
            conn = sqlite3.connect(str(self.path), timeout=5.0, isolation_level=None)
            self.db = sqlite_utils.Database(conn)
            self._configure()
            self._migrate()

    def close(self) -> None:
        """Close the connection (checkpointing the WAL)."""
        self.db.conn.close()

    @contextmanager
    def lease(self, name: str) -> Iterator[None]:
        """Hold campaign ``name`` for this process: a second ``run``/``resume`` of it is
        refused instead of racing the first over the same leads. An OS file lock, so a
        killed process never leaves a stale lease behind."""
        with self._lock_file(name) as held:
            if not held:
                raise LedgerError(
                    f"{self.path}: campaign {name!r} is being run by another dialer process; "
                    "wait for it to finish or stop it, then resume"
                )
            yield

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema ---------------------------------------------------------------------------

    def _configure(self) -> None:
        """WAL for concurrent readers (``dialer status``), FULL sync so commits survive power."""
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.execute("PRAGMA busy_timeout=5000")

    def _migrate(self) -> None:
        """Bring the schema to :data:`SCHEMA_VERSION`; refuse a ledger from a newer dialer."""
        version = int(self.db.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise SchemaTooNewError(
                f"{self.path}: ledger schema version {version} is newer than this dialer "
                f"understands ({SCHEMA_VERSION}); upgrade dialer to use it"
            )
        for target in range(version + 1, SCHEMA_VERSION + 1):
            script = _MIGRATIONS[target] + f"PRAGMA user_version={target};"
            with _mapped(self.path, f"bring the ledger schema to version {target}"):
                self.db.conn.executescript("BEGIN;" + script + "COMMIT;")

    @contextmanager
    def batch(self, what: str) -> Iterator[None]:
        """Several updates in one transaction (each one's own is a savepoint inside it).
        Never across an ``await``: a commit-before-POST made meanwhile would only be a
        savepoint, not durable, when its POST leaves."""
        if self.db.conn.in_transaction:
            raise LedgerError(f"{self.path}: a batch inside another transaction ({what})")
        with self._write(what):
            yield

    @contextmanager
    def _write(self, what: str, *, durable: bool = False) -> Iterator[None]:
        """One transaction, with sqlite3 errors mapped to LedgerError naming the file.

        ``durable``: fsync before returning (the commit survives a power cut).
        """
        if durable and self.db.conn.in_transaction:
            # inside another transaction this commit would be a savepoint: not durable
            raise LedgerError(f"{self.path}: cannot {what} durably inside another transaction")
        with _mapped(self.path, what):
            if durable:
                self.db.execute("PRAGMA synchronous=FULL")
            try:
                with self.db.atomic():
                    yield
            finally:
                if durable:
                    self.db.execute("PRAGMA synchronous=NORMAL")

    # -- campaigns -------------------------------------------------------------------------

    def campaign(self, name: str) -> CampaignRecord | None:
        """The campaign called ``name``, or None."""
        rows = list(self.db.query("SELECT * FROM campaigns WHERE name = ?", [name]))
        return _campaign_record(rows[0]) if rows else None

    def campaign_names(self) -> list[str]:
        """Every campaign in the ledger, oldest first."""
        return [r["name"] for r in self.db.query("SELECT name FROM campaigns ORDER BY rowid")]

    def create_campaign(
        self,
        *,
        name: str,
        agent_id: str,
        settings: dict[str, Any],
        campaign_file: str | None,
        leads_file: str,
        leads_sha256: str,
        variable_names: Sequence[str],
        metadata_names: Sequence[str],
        rows: Iterable[tuple[Any, ...]],
        now: datetime,
    ) -> int:
        """Create a campaign and import its classified leads in one transaction.

        ``rows`` yields ``(row, phone_raw, phone, timezone, status, reason, fields_json)``.
        Either the campaign and all its leads land, or nothing does.
        """
        stamp = isoformat(now)
        with self._write(f"import campaign {name!r}"):
            self.db.execute(
                "INSERT INTO campaigns (name, agent_id, settings, campaign_file, leads_file,"
                " leads_sha256, variable_names, metadata_names, state, created_at, updated_at)"
                " VALUES (?,?,?,?,?,?,?,?,'ready',?,?)",
                [
                    name,
                    agent_id,
                    json.dumps(settings, default=str),
                    campaign_file,
                    leads_file,
                    leads_sha256,
                    json.dumps(list(variable_names)),
                    json.dumps(list(metadata_names)),
                    stamp,
                    stamp,
                ],
            )
            cursor = self.db.conn.executemany(
                "INSERT INTO leads (campaign, row, phone_raw, phone, timezone, status, reason,"
                " fields) VALUES (?,?,?,?,?,?,?,?)",
                ((name, *row) for row in rows),
            )
            return int(cursor.rowcount)

    def set_campaign_state(
        self, name: str, state: str, *, now: datetime, reason: str | None = None
    ) -> None:
        """Record where the campaign stands (running, interrupted, stopped, finished)."""
        stamp = isoformat(now)
        with self._write(f"update campaign {name!r}"):
            self.db.execute(
                "UPDATE campaigns SET state = ?, state_reason = ?, updated_at = ?,"
                " started_at = COALESCE(started_at, CASE WHEN ? = 'running' THEN ? END)"
                " WHERE name = ?",
                [state, reason, stamp, state, stamp, name],
            )

    def set_start_at(self, name: str, start_at: datetime) -> None:
        """``--start-at``: nothing of the campaign is placed before ``start_at``."""
        record = self.campaign(name)
        if record is None:
            raise LedgerError(f"no campaign {name!r} in {self.path}")
        settings = record.settings | {"start_at": isoformat(start_at)}
        with self._write(f"update campaign {name!r}"):
            self.db.execute(
                "UPDATE campaigns SET settings = ? WHERE name = ?",
                [json.dumps(settings, default=str), name],
            )

    def set_control(self, name: str, control: str, *, now: datetime) -> None:
        """What a person asks of a campaign (``run``, ``pause``, ``stop``); the process that
        dispatches the account reads it within seconds."""
        with self._write(f"update campaign {name!r}"):
            self.db.execute(
                "UPDATE campaigns SET control = ?, updated_at = ? WHERE name = ?",
                [control, isoformat(now), name],
            )

    def join_account(self, name: str, account: str, *, now: datetime) -> None:
        """Mark a campaign to be dispatched on ``account`` (a fingerprint, never the key):
        ``queued`` until the process dispatching the account starts it."""
        with self._write(f"update campaign {name!r}"):
            self.db.execute(
                "UPDATE campaigns SET account = ?, control = 'run', updated_at = ?,"
                " state = CASE WHEN state = 'running' THEN state ELSE 'queued' END"
                " WHERE name = ?",
                [account, isoformat(now), name],
            )

    def campaigns_to_dispatch(self, account: str) -> list[tuple[str, str]]:
        """(name, control) of the campaigns of ``account`` a dispatcher must run: those a
        person wants run that are not finished, and those paused or stopped whose calls are
        still in flight (they are followed to their end, and hold lines until then)."""
        marks = ",".join("?" * len(IN_FLIGHT))
        sql = (
            "SELECT name, control FROM campaigns c WHERE account = ? AND state != 'finished'"
            " AND (control = 'run' OR EXISTS (SELECT 1 FROM leads l WHERE l.campaign = c.name"
            f" AND l.status IN ({marks}))) ORDER BY rowid"
        )
        rows = self.db.execute(sql, [account, *IN_FLIGHT])
        return [(str(name), str(control)) for name, control in rows]

    def controls(self, names: Collection[str]) -> dict[str, str]:
        """The control of each campaign named."""
        marks = ",".join("?" * len(names))
        sql = f"SELECT name, control FROM campaigns WHERE name IN ({marks})"
        return {str(r[0]): str(r[1]) for r in self.db.execute(sql, list(names))}

    @contextmanager
    def account_lease(self, account: str) -> Iterator[bool]:
        """Try to become the one process that dispatches ``account`` from this ledger:
        yields True if this process holds it (until the block ends), False if another does.
        An OS file lock: a killed process never leaves it behind."""
        with self._lock_file(f"account-{account}") as held:
            yield held

    @contextmanager
    def _lock_file(self, what: str) -> Iterator[bool]:
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", what)[:80]
        lock_path = self.path.with_name(f"{self.path.name}.{safe}.lock")
        with _mapped(self.path, f"lock {what}"):
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
            yield True
        finally:
            os.close(fd)

    # -- leads -----------------------------------------------------------------------------

    def counts(self, name: str) -> dict[str, int]:
        """Leads per status."""
        sql = "SELECT status, count(*) AS n FROM leads WHERE campaign = ? GROUP BY status"
        return {r["status"]: int(r["n"]) for r in self.db.query(sql, [name])}

    def in_flight(self, name: str) -> int:
        """Leads holding a line of the live-call cap (dialing, live, platform-queued)."""
        marks = ",".join("?" * len(IN_FLIGHT))
        sql = f"SELECT count(*) FROM leads WHERE campaign = ? AND status IN ({marks})"
        return int(self.db.execute(sql, [name, *IN_FLIGHT]).fetchone()[0])

    def in_flight_on(self, account: str, *, exclude: Collection[str]) -> int:
        """Leads holding a line on ``account`` in its campaigns other than ``exclude``."""
        marks = ",".join("?" * len(IN_FLIGHT))
        sql = (
            "SELECT count(*) FROM leads l JOIN campaigns c ON c.name = l.campaign"
            f" WHERE c.account = ? AND l.status IN ({marks})"
        )
        args: list[Any] = [account, *IN_FLIGHT]
        if exclude:
            sql += f" AND c.name NOT IN ({','.join('?' * len(exclude))})"
            args += list(exclude)
        return int(self.db.execute(sql, args).fetchone()[0])

    def due_leads(self, name: str, *, now: datetime, limit: int) -> list[LeadRecord]:
        """Leads that may be claimed at ``now``: due retries and openings first (oldest due
        first), then never-called leads in sheet order. Each query walks one index. A retry
        whose last call's analysis is still pending waits for it (an opt-out cancels it)."""
        columns = "id, row, phone, timezone, status, attempts, next_attempt_at, fields"
        waiting = (
            f"SELECT {columns} FROM leads WHERE campaign = ? AND status = ?"
            f" AND next_attempt_at <= ? AND {_NOT_AWAITING_ANALYSIS}"
            " ORDER BY next_attempt_at LIMIT ?"
        )
        found: list[dict[str, Any]] = []
        for status in (LeadStatus.RETRY_WAIT, LeadStatus.SCHEDULED):
            args = [name, status.value, isoformat(now), limit - len(found)]
            found += self.db.execute_returning_dicts(waiting, args)
        if len(found) < limit:
            fresh = (
                f"SELECT {columns} FROM leads WHERE campaign = ? AND status = 'pending'"
                " ORDER BY row LIMIT ?"
            )
            found += self.db.execute_returning_dicts(fresh, [name, limit - len(found)])
        return [_lead_record(r) for r in found]

    def next_due(self, name: str, *, resends: bool = False) -> datetime | None:
        """The earliest time a waiting lead becomes claimable (``datetime.min`` if a lead is
        pending now), or None if no lead waits to be called. A retry held for its last call's
        analysis is not counted (see :meth:`retries_awaiting_analysis`). With ``resends``,
        leads waiting to be resent under their key count too (a running dispatcher keeps
        their times itself)."""
        pending = self.db.execute(
            "SELECT 1 FROM leads WHERE campaign = ? AND status = 'pending' LIMIT 1", [name]
        ).fetchone()
        if pending:
            return datetime.min.replace(tzinfo=UTC)
        times: list[datetime] = []
        waiting = [LeadStatus.RETRY_WAIT, LeadStatus.SCHEDULED]
        for status in waiting + ([LeadStatus.RESEND_WAIT] if resends else []):
            ready = self.db.execute(
                "SELECT min(next_attempt_at) FROM leads WHERE campaign = ? AND status = ?"
                f" AND {_NOT_AWAITING_ANALYSIS}",
                [name, status.value],
            ).fetchone()[0]
            times += [parse_instant(ready)] if ready else []
        return min(times) if times else None

    def retries_awaiting_analysis(self, name: str) -> int:
        """Retries that wait for their last call's analysis (a "Do Not Call" cancels them)."""
        # From the (few) attempts whose analysis is pending, not from every waiting retry.
        sql = (
            "SELECT count(DISTINCT a.lead_id) FROM attempts a JOIN leads l ON l.id = a.lead_id"
            " WHERE a.campaign = ? AND a.analysis_status = 'pending' AND l.status = 'retry_wait'"
        )
        return int(self.db.execute(sql, [name]).fetchone()[0])

    def move_lead(self, lead_id: int, move: LeadMove, *, now: datetime) -> None:
        """Move one lead, refusing a move the state machine forbids."""
        with self._write(f"update lead {lead_id}"):
            self._move(lead_id, move, now, None)

    def _move(self, lead_id: int, move: LeadMove, now: datetime, last_outcome: str | None) -> None:
        """The guarded UPDATE; call inside a transaction."""
        if not can_move(move.old, move.new):
            raise LedgerError(f"lead {lead_id}: refusing illegal move {move.old} -> {move.new}")
        due = isoformat(move.next_attempt_at) if move.next_attempt_at else None
        uncount = 1 if move.uncount else 0
        cursor = self.db.execute(
            "UPDATE leads SET status = ?, reason = ?, next_attempt_at = ?,"
            " last_outcome = COALESCE(?, last_outcome), attempts = attempts - ?,"
            " updated_at = ? WHERE id = ? AND status = ?",
            [move.new, move.reason, due, last_outcome, uncount, isoformat(now), lead_id, move.old],
        )
        if cursor.rowcount != 1:
            raise LedgerError(f"lead {lead_id}: expected status {move.old}; it changed underneath")

    def schedule_zone(
        self, name: str, *, zones: str, opening: datetime, reason: str, now: datetime
    ) -> int:
        """Every lead of ``name`` in ``zones`` that is due now but whose window is closed
        goes to ``scheduled`` for ``opening``, in one statement (a run started after hours
        does not schedule a hundred thousand leads one by one). Returns how many moved."""
        stamp = isoformat(now)
        with self._write(f"schedule leads of {name!r}"):
            cursor = self.db.execute(
                "UPDATE leads SET status = 'scheduled', reason = ?, next_attempt_at = ?,"
                " updated_at = ? WHERE campaign = ? AND timezone = ? AND (status = 'pending'"
                " OR (status IN ('scheduled', 'retry_wait') AND next_attempt_at <= ?))",
                [reason, isoformat(opening), stamp, name, zones, stamp],
            )
            return int(cursor.rowcount)

    def lead_status(self, lead_id: int) -> LeadStatus:
        """The lead's current status."""
        row = self.db.execute("SELECT status FROM leads WHERE id = ?", [lead_id]).fetchone()
        return LeadStatus(row[0])

    # -- attempts --------------------------------------------------------------------------

    def begin_attempts(
        self, starts: Sequence[tuple[AttemptStart, LeadStatus]], *, now: datetime
    ) -> None:
        """Commit attempts as ``dialing`` before any of their POSTs leaves (one fsync)."""
        stamp = isoformat(now)
        with self._write("record new attempts", durable=True):
            for start, old in starts:
                self._move(start.lead_id, LeadMove(old, LeadStatus.DIALING, "dialing"), now, None)
                self.db.execute(
                    "UPDATE leads SET attempts = attempts + 1 WHERE id = ?", [start.lead_id]
                )
                self.db.execute(
                    "INSERT INTO attempts (id, campaign, lead_id, number, phone, from_number,"
                    " body, started_at, updated_at)"
                    " SELECT ?, campaign, id, ?, ?, ?, ?, ?, ? FROM leads WHERE id = ?",
                    [
                        start.id,
                        start.number,
                        start.phone,
                        start.from_number,
                        start.body,
                        stamp,
                        stamp,
                        start.lead_id,
                    ],
                )

    def record(
        self,
        attempt_id: str,
        *,
        lead_id: int,
        now: datetime,
        facts: AttemptFacts | None = None,
        move: LeadMove | None = None,
        opt_out: str | None = None,
    ) -> None:
        """Write what we learned about an attempt and, in the same transaction, its lead's
        move (the attempt's outcome becomes the lead's last outcome) and, with ``opt_out``
        (the number), a note to put the number on the company DNC list."""
        with self._write(f"update attempt {attempt_id}"):
            columns = facts.columns() if facts is not None else {}
            if columns:
                self._update_attempt_row(attempt_id, now, columns)
            if move is not None:
                self._move(lead_id, move, now, columns.get("outcome"))
            if opt_out is not None:
                self.db.execute(
                    "INSERT OR IGNORE INTO opt_outs (phone, campaign, call_id, noted_at)"
                    " SELECT ?, campaign, coalesce(call_id, id), ? FROM attempts WHERE id = ?",
                    [opt_out, isoformat(now), attempt_id],
                )

    def opted_out_numbers(self) -> list[str]:
        """Every number a callee asked, on any campaign of this ledger, not to be called on."""
        return [str(r[0]) for r in self.db.execute("SELECT DISTINCT phone FROM opt_outs")]

    def opt_outs_to_add(self) -> list[tuple[str, str]]:
        """(number, call id) of opt-outs not yet on the company DNC list."""
        rows = self.db.execute("SELECT phone, call_id FROM opt_outs WHERE added_at IS NULL")
        return [(str(phone), str(call_id)) for phone, call_id in rows]

    def opt_out_added(self, phone: str, *, now: datetime) -> None:
        """The number is on the company DNC list now."""
        with self._write("record an opt-out"):
            self.db.execute(
                "UPDATE opt_outs SET added_at = ? WHERE phone = ? AND added_at IS NULL",
                [isoformat(now), phone],
            )

    def _update_attempt_row(self, attempt_id: str, now: datetime, columns: dict[str, Any]) -> None:
        """Set the given columns (names come from :class:`AttemptFacts`, never from input)."""
        values = {k: _sql_value(v) for k, v in columns.items()} | {"updated_at": isoformat(now)}
        sets = ", ".join(f"{column} = ?" for column in values)
        self.db.execute(f"UPDATE attempts SET {sets} WHERE id = ?", [*values.values(), attempt_id])

    def open_attempts(self, name: str) -> list[AttemptRecord]:
        """The latest attempt of every lead whose call may still be going on, may still be
        resent, or is unknown."""
        marks = ",".join("?" * len(OPEN))
        sql = (
            f"SELECT {_ATTEMPT_COLUMNS} FROM leads l JOIN attempts a ON a.rowid ="
            " (SELECT max(rowid) FROM attempts WHERE lead_id = l.id)"
            f" WHERE l.campaign = ? AND l.status IN ({marks})"
        )
        rows = self.db.execute_returning_dicts(sql, [name, *sorted(OPEN)])
        return [_attempt_record(r) for r in rows]

    def awaiting_analysis_count(self, name: str) -> int:
        """How many ended calls of the campaign still wait for their analysis."""
        sql = (
            "SELECT count(*) FROM attempts WHERE campaign = ? AND analysis_status = 'pending'"
            " AND outcome IS NOT NULL"
        )
        return int(self.db.execute(sql, [name]).fetchone()[0])

    def attempt(self, attempt_id: str) -> AttemptRecord:
        """One attempt (with its lead's status and zones)."""
        sql = (
            f"SELECT {_ATTEMPT_COLUMNS} FROM attempts a JOIN leads l ON l.id = a.lead_id"
            " WHERE a.id = ?"
        )
        rows = self.db.execute_returning_dicts(sql, [attempt_id])
        if not rows:
            raise LedgerError(f"attempt {attempt_id} is not in the ledger")
        return _attempt_record(rows[0])

    def awaiting_analysis(self, name: str) -> list[AttemptRecord]:
        """Attempts whose call is over but whose analysis is not final yet (the follow list:
        it lives here, so it survives any interruption)."""
        sql = (
            f"SELECT {_ATTEMPT_COLUMNS} FROM attempts a JOIN leads l ON l.id = a.lead_id"
            " WHERE a.campaign = ? AND a.analysis_status = 'pending' AND a.outcome IS NOT NULL"
        )
        return [_attempt_record(r) for r in self.db.execute_returning_dicts(sql, [name])]

    def attempts_made(self, name: str) -> int:
        """How many attempts the campaign has (every row, those given back too)."""
        sql = "SELECT count(*) FROM attempts WHERE campaign = ?"
        return int(self.db.execute(sql, [name]).fetchone()[0])

    def tally(self, name: str, *, reached: Collection[str], not_placed: Collection[str]) -> Tally:
        """A campaign's figures from aggregates: memory and rows read do not grow with the
        campaign, unlike loading every lead and attempt (the end of every run shows them)."""
        statuses: dict[str, int] = {}
        called = 0
        leads = "SELECT status, count(*), total(attempts > 0) FROM leads WHERE campaign = ?"
        for status, n, with_attempts in self.db.execute(leads + " GROUP BY status", [name]):
            statuses[str(status)] = int(n)
            called += int(with_attempts)
        reached_in, placed_in = _marks(reached), _marks(not_placed)
        row = self.db.execute(
            "SELECT count(DISTINCT CASE WHEN outcome IN"
            f" ({reached_in}) THEN lead_id END),"
            f" total(shape IS NULL OR shape NOT IN ({placed_in})),"
            " total(duration_seconds), count(cost_cents), total(cost_cents),"
            " total(coalesce(call_id, '') != '' AND cost_cents IS NULL),"
            " min(nullif(started_at, '')),"
            " max(nullif(coalesce(nullif(ended_at, ''), updated_at), ''))"
            " FROM attempts WHERE campaign = ?",
            [*reached, *not_placed, name],
        ).fetchone()
        return Tally(
            statuses=statuses,
            called=called,
            reached=int(row[0]),
            calls_placed=int(row[1]),
            talk_seconds=float(row[2]),
            costs=int(row[3]),
            cost_cents=float(row[4]),
            cost_pending=int(row[5]),
            analyses=self._analyses(name),
            dispositions=self._last_dispositions(name),
            first_started=row[6],
            last_activity=row[7],
        )

    def _analyses(self, name: str) -> dict[str, int]:
        sql = (
            "SELECT analysis_status, count(*) FROM attempts WHERE campaign = ?"
            " AND coalesce(analysis_status, '') != '' GROUP BY analysis_status"
        )
        return {str(status): int(n) for status, n in self.db.execute(sql, [name])}

    def _last_dispositions(self, name: str) -> dict[str, int]:
        """Leads per disposition of their last attempt: the highest number, and of equal
        numbers the one started last."""
        sql = (
            "SELECT disposition, count(*) FROM (SELECT disposition, row_number() OVER"
            " (PARTITION BY lead_id ORDER BY number DESC, started_at DESC, rowid DESC) AS k"
            " FROM attempts WHERE campaign = ?)"
            " WHERE k = 1 AND coalesce(disposition, '') != '' GROUP BY disposition"
        )
        return {str(label): int(n) for label, n in self.db.execute(sql, [name])}

    def attempts_of(self, name: str) -> list[dict[str, Any]]:
        """Every attempt of a campaign, in the order they started (for reports)."""
        sql = "SELECT * FROM attempts WHERE campaign = ? ORDER BY started_at, rowid"
        return list(self.db.query(sql, [name]))

    def leads_of(self, name: str) -> list[dict[str, Any]]:
        """Every lead of a campaign in sheet order (for reports)."""
        return list(self.db.query("SELECT * FROM leads WHERE campaign = ? ORDER BY row", [name]))

    def claimed_elsewhere(
        self, phone: str, *, exclude: str, since: datetime, started: datetime
    ) -> tuple[str, str] | None:
        """(campaign, started_at) of an attempt another campaign made on ``phone`` that may
        have dialled it: one since ``since``, or one of a campaign that ran while ours did (it
        is not finished, or finished after ours ``started``): two campaigns running together
        never both call a number (``dialer stop`` finishes one a person gave up on). None when
        there is none. An attempt whose answer is unknown counts: it may have rung."""
        sql = (
            "SELECT a.campaign, a.started_at FROM attempts a JOIN campaigns c"
            " ON c.name = a.campaign WHERE a.phone = ? AND a.campaign != ?"
            " AND (a.shape IS NULL OR a.shape NOT IN ('rejected', 'stopped', 'not_sent'))"
            " AND (a.started_at >= ? OR c.state != 'finished' OR c.updated_at >= ?)"
            " ORDER BY a.started_at LIMIT 1"
        )
        args = [phone, exclude, isoformat(since), isoformat(started)]
        row = self.db.execute(sql, args).fetchone()
        return (str(row[0]), str(row[1])) if row else None

    def cancel_unclaimed(self, name: str, *, reason: str, now: datetime) -> int:
        """A person stopped the campaign: every lead not yet called (nor in a call) ends
        ``cancelled`` with ``reason``. Returns how many."""
        with self._write(f"stop campaign {name!r}"):
            cursor = self.db.execute(
                "UPDATE leads SET status = 'cancelled', reason = ?, next_attempt_at = NULL,"
                " updated_at = ? WHERE campaign = ? AND status IN"
                " ('pending', 'scheduled', 'retry_wait')",
                [reason, isoformat(now), name],
            )
            return int(cursor.rowcount)

    def recent_numbers(self, *, since: datetime, exclude: str) -> dict[str, str]:
        """Numbers dialed by other campaigns since ``since``: E.164 -> campaign name."""
        sql = (
            "SELECT phone, campaign FROM attempts WHERE started_at >= ? AND campaign != ?"
            " AND shape IS NOT NULL AND shape NOT IN ('rejected', 'stopped', 'not_sent')"
        )
        return {r[0]: r[1] for r in self.db.execute(sql, [isoformat(since), exclude])}

    # -- DNC cache -------------------------------------------------------------------------

    def replace_dnc(
        self, account: str, entries: Iterable[dict[str, Any]], *, fetched_at: datetime
    ) -> int:
        """Replace the cached DNC list of ``account`` with a fresh copy, atomically."""
        with self._write("refresh the DNC cache"):
            self.db.execute("DELETE FROM dnc_entries WHERE account = ?", [account])
            cursor = self.db.conn.executemany(
                "INSERT OR REPLACE INTO dnc_entries (account, id, phone_number, agent_ids,"
                " expires_at, reason, source) VALUES (?,?,?,?,?,?,?)",
                (_dnc_row(account, e) for e in entries),
            )
            count = int(cursor.rowcount)
            self.db.execute(
                "INSERT OR REPLACE INTO dnc_syncs (account, fetched_at, entries) VALUES (?,?,?)",
                [account, isoformat(fetched_at), count],
            )
            return count

    def invalidate_dnc(self, account: str) -> None:
        """Mark the cached list stale so the next run fetches it (after we added to it)."""
        with self._write("mark the DNC cache stale"):
            self.db.execute("DELETE FROM dnc_syncs WHERE account = ?", [account])

    def note_rate_window(self, account: str, window: RateWindow, *, now: datetime) -> None:
        """Remember what is left of ``account``'s current rate window (see :meth:`rate_window`)."""
        with self._write("note the rate window"):
            self.db.execute(
                "INSERT OR REPLACE INTO rate_windows (account, reset, remaining, rate_limit,"
                " noted_at) VALUES (?,?,?,?,?)",
                [account, window.reset, window.remaining, window.limit, isoformat(now)],
            )

    def rate_window(self, account: str) -> RateWindow | None:
        """What the last process on ``account`` knew of its rate window when little was left
        (it may be long over: the reader compares ``reset`` with the API's clock)."""
        row = self.db.execute(
            "SELECT reset, remaining, rate_limit FROM rate_windows WHERE account = ?", [account]
        ).fetchone()
        return RateWindow(float(row[0]), int(row[1]), int(row[2])) if row else None

    def dnc_fetched_at(self, account: str) -> datetime | None:
        """When the cached list of ``account`` was fetched, or None if never."""
        row = self.db.execute(
            "SELECT fetched_at FROM dnc_syncs WHERE account = ?", [account]
        ).fetchone()
        return parse_instant(row[0]) if row else None

    def dnc_entries(self, account: str) -> list[dict[str, Any]]:
        """The cached entries of ``account`` (agent_ids decoded, expires_at parsed)."""
        rows = self.db.query("SELECT * FROM dnc_entries WHERE account = ?", [account])
        return [
            {
                **r,
                "agent_ids": json.loads(r["agent_ids"]),
                "expires_at": parse_instant(r["expires_at"]) if r["expires_at"] else None,
            }
            for r in rows
        ]

    # -- reports and operations -------------------------------------------------------------

    def recycle_candidates(
        self, name: str, statuses: Collection[str], dispositions: Collection[str] = ()
    ) -> list[dict[str, Any]]:
        """Finished leads ``dialer retry`` may recycle: status in ``statuses``, or exhausted
        with a last outcome in them, or whose last call's disposition is one of
        ``dispositions`` (any case); with that call's disposition and analysis status."""
        finished = sorted(s.value for s in RECYCLABLE_STATUSES)
        marks = ",".join("?" * len(finished))
        sql = (
            "SELECT l.id, l.row, l.phone, l.status, l.last_outcome, a.disposition,"
            " a.analysis_status FROM leads l"
            " LEFT JOIN attempts a ON a.lead_id = l.id AND a.number = l.attempts"
            f" WHERE l.campaign = ? AND l.status IN ({marks}) ORDER BY l.row"
        )
        labels = {label.strip().casefold() for label in dispositions}
        rows = self.db.execute_returning_dicts(sql, [name, *finished])
        return [lead for lead in rows if _recycle_match(lead, statuses, labels)]

    def recycle(
        self,
        name: str,
        statuses: Collection[str],
        *,
        at: datetime,
        now: datetime,
        skip: Collection[int] = (),
        dispositions: Collection[str] = (),
    ) -> int:
        """Move the recycle candidates (less ``skip``) to ``retry_wait`` due ``at``, in one
        transaction; attempt counts are kept. Returns how many moved."""
        moved = 0
        with self._write(f"recycle leads of {name!r}"):
            for lead in self.recycle_candidates(name, statuses, dispositions):
                if lead["id"] in skip:
                    continue
                old = LeadStatus(lead["status"])
                was = lead["last_outcome"] if old == LeadStatus.EXHAUSTED else old.value
                reason = f"retry round after {was}"
                self._move(lead["id"], LeadMove(old, LeadStatus.RETRY_WAIT, reason, at), now, None)
                moved += 1
        return moved

    def placed_calls(self, *, exclude: str) -> list[dict[str, Any]]:
        """Every call the other campaigns placed (an attempt with a call id): its campaign,
        duration and cost, for the preflight estimate."""
        sql = (
            "SELECT campaign, duration_seconds, cost_cents FROM attempts"
            " WHERE campaign != ? AND call_id IS NOT NULL"
        )
        return self.db.execute_returning_dicts(sql, [exclude])

    def dnc_accounts(self) -> list[str]:
        """Every account whose DNC list is cached here."""
        return [r[0] for r in self.db.execute("SELECT account FROM dnc_syncs ORDER BY account")]


#: Leads ``dialer retry`` may put back in line: a finished call's outcome, or exhausted.
RECYCLABLE_STATUSES = frozenset(CALL_OUTCOMES | {LeadStatus.EXHAUSTED})


def _recycle_match(lead: dict[str, Any], statuses: Collection[str], labels: set[str]) -> bool:
    """A finished lead asked for by status, by an exhausted lead's last outcome, or by its
    last call's disposition (``labels`` casefolded)."""
    status = lead["status"]
    if status in statuses or (status == "exhausted" and lead["last_outcome"] in statuses):
        return True
    return str(lead["disposition"] or "").strip().casefold() in labels


def _dnc_row(account: str, entry: dict[str, Any]) -> tuple[Any, ...]:
    expires = entry.get("expires_at")
    return (
        account,
        str(entry["id"]),
        entry["phone_number"],
        json.dumps(sorted(entry.get("agent_ids") or [])),
        isoformat(expires) if isinstance(expires, datetime) else expires,
        entry.get("reason"),
        entry.get("source"),
    )


def _marks(values: Collection[str]) -> str:
    """``?,?,?`` for an IN list (SQLite takes an empty one too)."""
    return ",".join("?" * len(values))


def _sql_value(value: Any) -> Any:
    """Datetimes become ISO strings; enums their value; dicts JSON."""
    if isinstance(value, datetime):
        return isoformat(value)
    if isinstance(value, dict):
        return json.dumps(value, default=str)
    return value


def _campaign_record(row: dict[str, Any]) -> CampaignRecord:
    return CampaignRecord(
        name=row["name"],
        agent_id=row["agent_id"],
        settings=json.loads(row["settings"]),
        campaign_file=row["campaign_file"],
        leads_file=row["leads_file"],
        leads_sha256=row["leads_sha256"],
        variable_names=json.loads(row["variable_names"]),
        metadata_names=json.loads(row["metadata_names"]),
        state=row["state"],
        state_reason=row["state_reason"],
        created_at=row["created_at"],
        started_at=row["started_at"],
        account=row.get("account"),
        control=row.get("control") or "run",
    )


def _lead_record(row: dict[str, Any]) -> LeadRecord:
    return LeadRecord(
        id=int(row["id"]),
        row=int(row["row"]),
        phone=row["phone"],
        timezone=row["timezone"],
        status=LeadStatus(row["status"]),
        attempts=int(row["attempts"]),
        next_attempt_at=row["next_attempt_at"],
        fields=json.loads(row["fields"]),
    )


_ATTEMPT_COLUMNS = (
    "a.id, a.lead_id, a.number, a.phone, a.from_number, a.body, a.started_at, a.shape,"
    " a.call_id, a.request_id, a.queue_id, a.held_until, a.analysis_status, a.ended_at,"
    " l.status AS lead_status, l.timezone AS zones, l.next_attempt_at AS due,"
    " l.updated_at AS lead_updated_at"
)

#: A lead whose latest attempt waits for its analysis is not claimed for a retry yet.
_NOT_AWAITING_ANALYSIS = (
    "NOT EXISTS (SELECT 1 FROM attempts a WHERE a.lead_id = leads.id"
    " AND a.analysis_status = 'pending' AND a.outcome IS NOT NULL)"
)


def _attempt_record(row: dict[str, Any]) -> AttemptRecord:
    return AttemptRecord(
        id=row["id"],
        lead_id=int(row["lead_id"]),
        number=int(row["number"]),
        phone=row["phone"],
        from_number=row["from_number"],
        body=row["body"],
        started_at=parse_instant(row["started_at"]),
        shape=row["shape"],
        call_id=row["call_id"],
        request_id=row["request_id"],
        queue_id=row["queue_id"],
        lead_status=LeadStatus(row["lead_status"]),
        held_until=parse_instant(row["held_until"]) if row.get("held_until") else None,
        zones=row.get("zones") or "",
        due=parse_instant(row["due"]) if row.get("due") else None,
        analysis_status=row.get("analysis_status"),
        ended_at=_instant(row.get("ended_at")),
        lead_updated_at=_instant(row.get("lead_updated_at")),
    )


def _instant(text: str | None) -> datetime | None:
    return parse_instant(text) if text else None


@contextmanager
def _mapped(path: Path, what: str) -> Iterator[None]:
    """Turn sqlite3 errors into one LedgerError line saying what failed, where, what to do."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        raise LedgerError(f"{path}: could not {what}: {exc}{_advice(str(exc))}") from exc
    except sqlite3.DatabaseError as exc:
        raise LedgerError(f"{path}: could not {what}: {exc} (is it a dialer ledger?)") from exc


def _advice(message: str) -> str:
    """What a person can do about a common SQLite failure."""
    lowered = message.lower()
    if "locked" in lowered or "busy" in lowered:
        return "; another process is writing the ledger: wait for it or stop it, then resume"
    if "readonly" in lowered or "read-only" in lowered:
        return "; the ledger is read-only: fix its permissions, then resume"
    if "full" in lowered:
        return "; the disk is full: free space, then resume (nothing was lost)"
    if "unable to open" in lowered:
        return "; check that the folder exists and is writable"
    return ""
