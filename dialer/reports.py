"""Campaign reports: what happened to every input row, as CSV, XLSX, JSON or one HTML page.

The report is read from the ledger only, so it can be written at any time, also while a run is
going on (it then says so). Rows come out in sheet order, one per input row (docs/design.md §6);
the call columns are those of the lead's last attempt.

Columns: docs/design.md §6's, then the campaign's variable and metadata columns, then what the
calls found out (:data:`ANALYSIS_COLUMNS`, then one ``extracted.<key>`` per extracted field,
in the order the keys first appear in the campaign). New columns go last so that every
existing column keeps its place, and because the set of extracted keys can grow while a
campaign runs: only the end of the row ever moves. ``cost_cents`` is what the lead cost over
all its calls; the other call columns are its last call's.

In CSV and XLSX a boolean is ``true``/``false``, a nested value (object or list) is its JSON
text, and a whole number is written without ``.0``. The JSON report keeps ``extracted_data``
nested, per lead and per attempt.

Spreadsheet safety (docs/design.md promise 6): a text cell a spreadsheet would run as a formula
(it starts with ``=``, ``+``, ``-``, ``@``, tab or carriage return) gets a leading apostrophe.
The one exception is a phone number in the ``phone``/``phone_raw`` columns that is exactly
``+`` and 8 to 15 digits: it is written as is, because an apostrophe would corrupt the number
for anyone who loads the file programmatically, and a bare ``+digits`` is not a formula that
can call anything. In XLSX every text cell is stored with the string type (so nothing is ever
evaluated) and phone cells carry Excel's "quote prefix" style, which keeps them text on edit.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import re
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import pandas as pd
from rich.table import Table

from dialer.campaign.overview import find_campaign
from dialer.clock import isoformat
from dialer.errors import ConfigError, InputError
from dialer.store import CampaignRecord, Ledger, Tally

FORMATS = (".csv", ".xlsx", ".json", ".html")

#: docs/design.md §6, in this order; the campaign's variable and metadata columns follow.
BASE_COLUMNS = (
    "row",
    "phone_raw",
    "phone",
    "status",
    "reason",
    "attempts",
    "call_id",
    "call_status",
    "failure_code",
    "duration_seconds",
    "ended_by",
    "disconnect_reason",
    "disposition",
    "first_attempt_at",
    "last_attempt_at",
)
_CALL_COLUMNS = BASE_COLUMNS[6:13]
#: After the campaign's own columns: the lead's zones, then its last call's analysis.
ANALYSIS_COLUMNS = ("zones", "summary", "analysis_status", "cost_cents")
EXTRACTED_PREFIX = "extracted."
PHONE_COLUMNS = frozenset({"phone", "phone_raw"})

#: A person took the call.
REACHED = frozenset({"completed", "transferred"})
#: A call for the lead may be going on right now.
IN_FLIGHT = frozenset({"dialing", "live", "platform_queued"})
#: Attempt shapes that never placed a call.
_NOT_PLACED = frozenset({"rejected", "stopped", "dnc_blocked"})

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PHONE = re.compile(r"^\+[0-9]{8,15}$")


@dataclass(frozen=True, slots=True)
class ReportData:
    """Everything a report shows, read once from the ledger."""

    record: CampaignRecord
    columns: list[str]
    rows: list[list[Any]]
    leads: list[dict[str, Any]]
    history: dict[int, list[dict[str, Any]]]  # lead id -> its attempts, oldest first
    summary: dict[str, Any]
    extracted_keys: list[str]  # ``extracted_data`` is decoded in every attempt of history


# -- reading -------------------------------------------------------------------------------


def collect(ledger: Ledger, name: str, *, now: datetime | None = None) -> ReportData:
    """Read a campaign's leads and attempts; an unknown name lists the ledger's campaigns."""
    record = find_campaign(ledger, name)
    leads = ledger.leads_of(name)
    attempts = [decode_extracted(a) for a in ledger.attempts_of(name)]
    history: dict[int, list[dict[str, Any]]] = {}
    for attempt in attempts:
        history.setdefault(int(attempt["lead_id"]), []).append(attempt)
    for chain in history.values():
        chain.sort(key=lambda a: int(a["number"]))
    keys = extracted_keys(attempts)
    tail = [*ANALYSIS_COLUMNS, *(EXTRACTED_PREFIX + key for key in keys)]
    columns = [*BASE_COLUMNS, *extra_columns(record, also=tail), *tail]
    rows = [report_row(lead, history.get(int(lead["id"]), []), keys) for lead in leads]
    stats = summarise(record, leads, attempts, now=now or datetime.now(UTC))
    return ReportData(record, columns, rows, leads, history, stats, keys)


def decode_extracted(attempt: dict[str, Any]) -> dict[str, Any]:
    """The attempt with ``extracted_data`` as the object the API gave (kept as text if the
    ledger somehow holds something that is not JSON: nothing is lost)."""
    text = attempt.get("extracted_data")
    if isinstance(text, str):
        with contextlib.suppress(ValueError):
            attempt["extracted_data"] = json.loads(text)
    return attempt


def extracted_keys(attempts: Sequence[Mapping[str, Any]]) -> list[str]:
    """Every extracted key of the campaign, in the order the keys first appear."""
    keys: dict[str, None] = {}
    for attempt in attempts:
        data = attempt.get("extracted_data")
        if isinstance(data, dict):
            keys.update(dict.fromkeys(str(key) for key in data))
    return list(keys)


def extra_columns(record: CampaignRecord, *, also: Sequence[str] = ()) -> list[str]:
    """The variable then metadata column names; a clash (with ours, ``also``, or the JSON
    report's ``extracted_data``) gets its kind appended."""
    taken = {*BASE_COLUMNS, *also, "extracted_data"}
    names: list[str] = []
    for kind, group in (("variable", record.variable_names), ("metadata", record.metadata_names)):
        for name in group:
            unique = name if name not in taken else f"{name} ({kind})"
            taken.add(unique)
            names.append(unique)
    return names


def report_row(
    lead: Mapping[str, Any], attempts: Sequence[Mapping[str, Any]], keys: Sequence[str] = ()
) -> list[Any]:
    """One report row: the lead, its last attempt's call fields, its sheet fields, then what
    its calls found out (values as they are: writers format them)."""
    last = attempts[-1] if attempts else {}
    started = [a["started_at"] for a in attempts]
    data = last.get("extracted_data")
    extracted = data if isinstance(data, dict) else {}
    return [
        lead["row"],
        lead["phone_raw"],
        lead["phone"],
        lead["status"],
        lead["reason"],
        lead["attempts"],
        *(last.get(column) for column in _CALL_COLUMNS),
        min(started) if started else None,
        max(started) if started else None,
        *json.loads(lead["fields"] or "[]"),
        lead["timezone"] or None,
        last.get("summary"),
        last.get("analysis_status"),
        lead_cost(attempts),
        *(extracted.get(key) for key in keys),
    ]


def lead_cost(attempts: Sequence[Mapping[str, Any]]) -> float | None:
    """What calling the lead cost, all its calls together; None while no cost is known."""
    known = [float(a["cost_cents"]) for a in attempts if a.get("cost_cents") is not None]
    return round(sum(known), 2) if known else None


def summary(ledger: Ledger, name: str, *, now: datetime | None = None) -> dict[str, Any]:
    """The campaign's figures (what the report's summary and ``dialer run`` show), from the
    ledger's aggregates: no lead or attempt row is loaded, whatever the campaign's size."""
    record = find_campaign(ledger, name)
    tally = ledger.tally(name, reached=REACHED, not_placed=_NOT_PLACED)
    return summary_of(record, tally, now=now or datetime.now(UTC))


def summarise(
    record: CampaignRecord,
    leads: Sequence[Mapping[str, Any]],
    attempts: Sequence[Mapping[str, Any]],
    *,
    now: datetime,
) -> dict[str, Any]:
    """The same figures from rows already in memory (a report has read them all)."""
    return summary_of(record, tally_rows(leads, attempts), now=now)


def tally_rows(leads: Sequence[Mapping[str, Any]], attempts: Sequence[Mapping[str, Any]]) -> Tally:
    """What :meth:`Ledger.tally` counts, from the rows (``attempts`` in the order they
    started)."""
    costs = [float(a["cost_cents"]) for a in attempts if a["cost_cents"] is not None]
    analyses = Counter(str(a["analysis_status"]) for a in attempts if a.get("analysis_status"))
    return Tally(
        statuses=dict(Counter(str(lead["status"]) for lead in leads)),
        called=sum(1 for lead in leads if int(lead["attempts"] or 0) > 0),
        reached=len({a["lead_id"] for a in attempts if a["outcome"] in REACHED}),
        calls_placed=sum(1 for a in attempts if a["shape"] not in _NOT_PLACED),
        talk_seconds=sum(float(a["duration_seconds"] or 0) for a in attempts),
        costs=len(costs),
        cost_cents=sum(costs),
        # placed calls whose cost is not known yet (pending, or not followed to the end)
        cost_pending=sum(1 for a in attempts if a["call_id"] and a["cost_cents"] is None),
        analyses=dict(analyses),
        dispositions=dict(last_dispositions(attempts)),
        first_started=_first(a["started_at"] for a in attempts),
        last_activity=_last_activity(attempts),
    )


def summary_of(record: CampaignRecord, tally: Tally, *, now: datetime) -> dict[str, Any]:
    """Rows, valid, called, reached, outcomes, answer rate, talk time, cost, analyses,
    dispositions, start/end."""
    statuses = Counter(tally.statuses)
    rows = sum(statuses.values())
    reached, called = tally.reached, tally.called
    running = record.state == "running" or any(statuses[s] for s in IN_FLIGHT)
    cost = round(tally.cost_cents, 2) if tally.costs else None
    return {
        "campaign": record.name,
        "state": record.state,
        "state_reason": record.state_reason,
        "still_running": running,
        "generated_at": isoformat(now),
        "rows": rows,
        "valid": rows - statuses["invalid"],
        "called": called,
        "calls_placed": tally.calls_placed,
        "reached": reached,
        "answer_rate": round(reached / called, 4) if called else None,
        "talk_seconds": round(tally.talk_seconds, 1),
        "cost_cents": cost,
        "calls_with_cost": tally.costs,
        "cost_pending": tally.cost_pending,
        "cost_per_reached_lead": (
            round(tally.cost_cents / reached, 2) if tally.costs and reached else None
        ),
        "outcomes": _by_count(statuses),
        "analyses": _by_count(tally.analyses),
        "dispositions": _by_count(tally.dispositions),
        "started_at": record.started_at or tally.first_started,
        "ended_at": None if running else tally.last_activity,
    }


def _by_count(counts: Mapping[str, int]) -> dict[str, int]:
    """Largest first, then by name."""
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def last_dispositions(attempts: Sequence[Mapping[str, Any]]) -> Counter[str]:
    """Leads per disposition of their last call (leads whose last call has none are left
    out). ``attempts`` in the order they started."""
    last: dict[Any, Mapping[str, Any]] = {}
    for attempt in attempts:
        current = last.get(attempt["lead_id"])
        if current is None or int(attempt["number"]) >= int(current["number"]):
            last[attempt["lead_id"]] = attempt
    return Counter(str(a["disposition"]) for a in last.values() if a.get("disposition"))


def _first(values: Iterator[str] | Any) -> str | None:
    present = [v for v in values if v]
    return min(present) if present else None


def _last_activity(attempts: Sequence[Mapping[str, Any]]) -> str | None:
    """When the last call ended (or the last attempt was written, if no call ended)."""
    ends = [a["ended_at"] or a["updated_at"] for a in attempts]
    present = [e for e in ends if e]
    return max(present) if present else None


# -- the summary as text --------------------------------------------------------------------


def summary_lines(stats: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The summary as (label, value) pairs a person reads, in the order they read them."""
    rate = stats["answer_rate"]
    state = str(stats["state"]) + (f" ({stats['state_reason']})" if stats["state_reason"] else "")
    lines = [
        ("campaign", str(stats["campaign"])),
        ("state", state + (" — still running: figures so far" if stats["still_running"] else "")),
        ("rows", f"{stats['rows']:,}"),
        ("valid", f"{stats['valid']:,}"),
        ("called", f"{stats['called']:,} leads ({stats['calls_placed']:,} calls)"),
        ("reached", f"{stats['reached']:,}"),
        ("answer rate", "—" if rate is None else f"{rate:.1%} of leads called"),
        ("talk time", talk_time(float(stats["talk_seconds"]))),
        ("cost", cost_text(stats)),
        ("analyses", _counts_text(stats.get("analyses", {}))),
        ("dispositions", _counts_text(stats.get("dispositions", {}))),
        ("started", str(stats["started_at"] or "—")),
        ("ended", str(stats["ended_at"] or ("still running" if stats["still_running"] else "—"))),
    ]
    return [*lines[:6], ("outcomes", _counts_text(stats["outcomes"])), *lines[6:]]


def _counts_text(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{name} {n:,}" for name, n in counts.items()) or "—"


def dollars(cents: float) -> str:
    """``$1,234.56``."""
    return f"${cents / 100:,.2f}"


def cost_text(stats: Mapping[str, Any]) -> str:
    """The total, per reached lead, and how many placed calls have no known cost yet."""
    cost, per_lead = stats["cost_cents"], stats.get("cost_per_reached_lead")
    parts = ["unknown" if cost is None else dollars(cost)]
    if per_lead is not None:
        parts.append(f"{dollars(per_lead)} per reached lead")
    if stats.get("cost_pending"):
        parts.append(f"{stats['cost_pending']:,} call(s) not priced yet")
    return " · ".join(parts)


def talk_time(seconds: float) -> str:
    """``1 h 02 min 05 s`` style."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min {secs:02d} s"
    return f"{minutes} min {secs:02d} s"


def summary_table(stats: Mapping[str, Any]) -> Table:
    """The summary as a two-column rich table (printed at the end of a run)."""
    table = Table(title=f"summary of {stats['campaign']}", title_justify="left", show_header=False)
    table.add_column("figure", style="bold")
    table.add_column("value")
    for label, value in summary_lines(stats):
        table.add_row(label, value)
    return table


# -- spreadsheet safety ---------------------------------------------------------------------


def is_phone_number(value: str) -> bool:
    """An E.164-looking ``+digits`` value, kept as is in the phone columns."""
    return bool(_PHONE.match(value))


def neutralise(value: Any, *, column: str) -> Any:
    """Prefix an apostrophe to text a spreadsheet would run as a formula (see module doc)."""
    if not isinstance(value, str) or not value.startswith(_FORMULA_START):
        return value
    if column in PHONE_COLUMNS and is_phone_number(value):
        return value
    return "'" + value


def plain(value: Any) -> Any:
    """A value as a table cell shows it: ``true``/``false``, nested values as JSON text, and
    whole numbers without ``.0`` (SQLite hands REAL columns back as floats); a missing
    value (None, or pandas' NaN) is an empty cell."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value


def spreadsheet_cell(value: Any, *, column: str) -> Any:
    """A CSV/XLSX cell: :func:`plain`, then :func:`neutralise` (also for extracted text)."""
    return neutralise(plain(value), column=column)


# -- writing --------------------------------------------------------------------------------


def export(ledger: Ledger, name: str, target: Path, *, now: datetime | None = None) -> None:
    """Write the report of campaign ``name`` to ``target``; the format comes from its suffix.

    The file is written beside ``target`` and renamed into place, owner-only (0600): a
    reader never sees half a report, and other users of the machine never see the leads.
    """
    writer = _writer_for(target)
    data = collect(ledger, name, now=now)
    with _atomic(target) as handle:
        writer(data, handle)


def _writer_for(target: Path) -> Callable[[ReportData, IO[bytes]], None]:
    from dialer import report_html

    writers: dict[str, Callable[[ReportData, IO[bytes]], None]] = {
        ".csv": write_csv,
        ".xlsx": write_xlsx,
        ".json": write_json,
        ".html": report_html.write_html,
    }
    suffix = target.suffix.lower()
    if suffix not in writers:
        raise ConfigError(
            f"{target}: unknown report format {suffix or '(no extension)'!r}; "
            f"end the name with {', '.join(FORMATS)}"
        )
    return writers[suffix]


@contextlib.contextmanager
def _atomic(target: Path) -> Iterator[IO[bytes]]:
    """A 0600 temporary file beside ``target``, renamed over it once fully written."""
    try:
        fd, temporary = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
        )
    except OSError as error:
        raise _unwritable(target, error) from error
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise _unwritable(target, error) from error
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_status_csv(frame: pd.DataFrame, target: Path) -> None:
    """``dialer validate``'s per-row statuses: atomic, owner-only, formulas neutralised."""
    columns = [str(c) for c in frame.columns]
    rows = zip(*(frame[c].tolist() for c in columns), strict=True)
    with _atomic(target) as handle:
        _write_table(handle, columns, rows)


def _unwritable(target: Path, error: OSError) -> InputError:
    why = error.strerror or str(error)
    return InputError(
        f"{target}: cannot write the report: {why}; check that the folder exists and is writable"
    )


def write_csv(data: ReportData, handle: IO[bytes]) -> None:
    """The report as CSV: one row per input row."""
    _write_table(handle, data.columns, data.rows)


def _write_table(handle: IO[bytes], columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """UTF-8 with a BOM (so Excel reads Hebrew right); every cell a :func:`spreadsheet_cell`."""
    text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
    writer = csv.writer(text)
    writer.writerow([neutralise(c, column="") for c in columns])  # metadata keys are free text
    for row in rows:
        writer.writerow([spreadsheet_cell(v, column=c) for c, v in zip(columns, row, strict=True)])
    text.flush()
    text.detach()


def write_json(data: ReportData, handle: IO[bytes]) -> None:
    """The rows, each with its full attempt history, and the summary. Extracted data stays
    one nested ``extracted_data`` object (the last call's) instead of ``extracted.*`` keys."""
    columns = json_columns(data.columns)
    leads = []
    for lead, row in zip(data.leads, data.rows, strict=True):
        chain = data.history.get(int(lead["id"]), [])
        entry = dict(zip(data.columns, row, strict=True))
        last = chain[-1].get("extracted_data") if chain else None
        entry = {c: last if c == "extracted_data" else entry[c] for c in columns}
        entry["attempt_history"] = [_attempt_view(a) for a in chain]
        leads.append(entry)
    document = {"summary": data.summary, "columns": columns, "leads": leads}
    handle.write(json.dumps(document, ensure_ascii=False, indent=1, default=str).encode())


def json_columns(columns: Sequence[str]) -> list[str]:
    """The JSON report's keys: ``extracted.*`` columns folded into one ``extracted_data``."""
    folded = [c if not c.startswith(EXTRACTED_PREFIX) else "extracted_data" for c in columns]
    return list(dict.fromkeys([*folded, "extracted_data"]))


def _attempt_view(attempt: Mapping[str, Any]) -> dict[str, Any]:
    """An attempt row without what the lead row already says (campaign, exact request body)."""
    return {k: v for k, v in attempt.items() if k not in ("campaign", "body", "lead_id")}


def write_xlsx(data: ReportData, handle: IO[bytes]) -> None:
    """Sheet "Leads" (frozen header, fitted widths) and sheet "Summary"."""
    from dialer import report_xlsx

    report_xlsx.write(data, handle)
