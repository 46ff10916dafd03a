"""Lead intake against its floor: ``.venv/bin/python -m benchmarks.bench_intake [ROWS]``.

The floor is what any intake must do: pandas reading the same CSV with every column as text,
writing the same rows to SQLite (``executemany``, one transaction) and writing the per-row
status CSV. Our path adds reading with encoding detection, column mapping, normalization,
dedupe, DNC screening and every zone each number may ring in. Targets (issue #12): at most
1.5x the floor and at most 1 GB peak memory for the CSV; the 100,000 row workbook, measured
the same way against calamine reading it alone, keeps its earlier 2x.

Both paths write the same (classified) rows, so the writes are timed once, in our run, and
counted in both. Each path runs in a fresh subprocess, so peak memory (``ru_maxrss``) is
that path's own.
Inputs are generated once (seeded) into ``benchmarks/data/`` (gitignored).
"""

from __future__ import annotations

import json
import random
import re
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

DATA = Path(__file__).resolve().parent / "data"
AGENT = "5b0c8f4e-1d2a-4c3b-9e7f-0a1b2c3d4e5f"
OTHER_AGENT = "00000000-0000-4000-8000-000000000001"
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
COLUMNS = ["row", "phone_raw", "phone", "status", "reason", "timezone"]
FIELDS = ["var.LeadName", "var.OrderNumber", "meta.contact_id"]
RATIO_TARGET = {"csv": 1.5, "xlsx": 2.0}
MEMORY_TARGET_MB = 1024


# --------------------------------------------------------------------------- inputs


def _mobile_prefixes() -> list[str]:
    """Three-digit Israeli mobile prefixes that phonenumbers accepts with any 6 digits."""
    pattern = re.compile(r"5(?:[0-2][02-9]|[36]\d|[49][2-9]|8[3-7])")
    return [p for p in (f"5{i:02d}" for i in range(100)) if pattern.fullmatch(p)]


def _typed(national: str, rng: random.Random) -> str:
    """One of the ways people type an Israeli number."""
    a, b, c = national[:2], national[2:5], national[5:]
    forms = (
        f"0{a}-{b}-{c}",
        f"0{national}",
        f"972{national}",
        f"+972{national}",
        f"+972 {a}-{b}-{c}",
        f"+972 (0){a}-{b}{c}",
        f"00972{national}",
        f"'0{national}",
        f"0{a} {b} {c}",
        f"{national}.0",
        f"\u200f0{a}\u2011{b}\u2011{c}",
    )
    return rng.choice(forms)


def _phone_cells(rows: int, rng: random.Random) -> tuple[list[str], list[str]]:
    """Messy phone cells: 10% repeats of earlier numbers, ~3% invalid, 1% blank, 2% foreign."""
    prefixes = _mobile_prefixes()
    seen: list[str] = []
    cells: list[str] = []
    for _ in range(rows):
        roll = rng.random()
        if roll < 0.10 and seen:
            cells.append(_typed(rng.choice(seen), rng))
        elif roll < 0.11:
            cells.append("")
        elif roll < 0.13:
            cells.append(f"+1 212 {rng.randint(200, 999)} {rng.randint(0, 9999):04d}")
        elif roll < 0.16:
            cells.append(rng.choice(("n/a", "050-12", f"0{rng.randint(10**6, 10**7)}", "+999 1")))
        else:
            national = f"{rng.choice(prefixes)}{rng.randint(0, 999999):06d}"
            seen.append(national)
            cells.append(_typed(national, rng))
    return cells, seen


def sheet_csv(rows: int) -> Path:
    """The benchmark CSV (cached)."""
    path = DATA / f"intake-{rows}.csv"
    if not path.exists():
        rng = random.Random(rows)
        frame = pd.DataFrame(
            {
                "Full Name": [f"Lead {i}" for i in range(rows)],
                "Phone": _phone_cells(rows, rng)[0],
                "Order #": [f"ORD-{i}" for i in range(rows)],
                "CRM Contact": [f"CRM-{rng.randint(0, 10**6)}" for _ in range(rows)],
            }
        )
        DATA.mkdir(parents=True, exist_ok=True)
        frame.to_csv(path, index=False)
    return path


def dnc_entries(rows: int, *, count: int = 100_000) -> Path:
    """A company DNC list of ``count`` entries: global, scoped, expired (cached, JSON lines)."""
    path = DATA / f"dnc-{count}-for-{rows}.jsonl"
    if not path.exists():
        listed = _phone_cells(rows, random.Random(rows))[1]  # the sheet's own numbers
        rng = random.Random(count)
        prefixes = _mobile_prefixes()
        DATA.mkdir(parents=True, exist_ok=True)
        with path.open("w") as handle:
            for i in range(count):
                national = rng.choice(listed) if i % 2 else None
                national = national or f"{rng.choice(prefixes)}{rng.randint(0, 999999):06d}"
                number = f"+972{national}"
                entry = {"id": str(i), "phone_number": number, "agent_ids": [], "expires_at": None}
                if i % 5 == 1:
                    entry["agent_ids"] = [rng.choice((AGENT, OTHER_AGENT))]
                if i % 7 == 2:
                    entry["expires_at"] = (NOW + timedelta(days=rng.randint(-30, 30))).isoformat()
                handle.write(json.dumps(entry) + "\n")
    return path


def sheet_xlsx(rows: int = 100_000) -> Path:
    """A workbook with numbers stored as numbers in some phone cells (cached)."""
    path = DATA / f"intake-{rows}.xlsx"
    if not path.exists():
        from openpyxl import Workbook

        rng = random.Random(rows + 1)
        book = Workbook(write_only=True)
        sheet = book.create_sheet("Leads")
        sheet.append(["Full Name", "Phone", "Order #", "CRM Contact"])
        for i, cell in enumerate(_phone_cells(rows, rng)[0]):
            value: Any = int(cell[:-2]) if cell.endswith(".0") else cell
            sheet.append([f"Lead {i}", value, f"ORD-{i}", rng.randint(0, 10**6)])
        DATA.mkdir(parents=True, exist_ok=True)
        book.save(path)
    return path


# --------------------------------------------------------------------------- the paths


def _write_sqlite(frame: pd.DataFrame, target: Path) -> None:
    """The ledger-shaped write: one executemany in one transaction."""
    names = COLUMNS + FIELDS
    rows = list(zip(*(frame[c].tolist() for c in names), strict=True))
    with sqlite3.connect(target) as db:
        db.execute(f"CREATE TABLE leads ({', '.join(f'c{i}' for i in range(len(names)))})")
        db.executemany(f"INSERT INTO leads VALUES ({', '.join('?' * len(names))})", rows)
    db.close()


def _write_status(frame: pd.DataFrame, target: Path) -> None:
    """The per-row status CSV of ``dialer validate``."""
    frame[["row", "phone_raw", "phone", "status", "reason"]].to_csv(target, index=False)


def floor_csv(csv_path: Path, _: Path, out: Path) -> dict[str, float]:
    """The floor's own part: pandas reads the CSV with every column as text."""
    start = time.perf_counter()
    pd.read_csv(csv_path, dtype=str, engine="pyarrow", keep_default_na=False)
    return {"read": time.perf_counter() - start}


def ours_csv(csv_path: Path, dnc_path: Path, out: Path) -> dict[str, float]:
    """``dialer validate``'s work (read, map, classify), then the two writes both paths do."""
    from dialer.leads import classify, load_leads

    start = time.perf_counter()
    campaign = _campaign(csv_path)
    frame = classify(load_leads(campaign), campaign, dnc=_dnc_index(dnc_path), now=NOW)
    intake = time.perf_counter()
    _write_sqlite(frame, out / "leads.db")
    written = time.perf_counter()
    _write_status(frame, out / "statuses.csv")
    done = time.perf_counter()
    return {"intake": intake - start, "sqlite": written - intake, "status_csv": done - written}


def _campaign(leads: Path) -> Any:
    """The benchmark campaign, as a campaign file would give it."""
    from dialer.config import Campaign

    return Campaign.model_validate(
        {
            "name": "bench",
            "agent_id": AGENT,
            "from": "+972552234567",
            "leads": str(leads),
            "columns": {
                "phone": "Phone",
                "variables": {"LeadName": "Full Name", "OrderNumber": "Order #"},
                "metadata": {"contact_id": "CRM Contact"},
            },
        }
    )


def _dnc_index(path: Path) -> Any:
    """The DNC index, built from the cached entries as the ledger would hand them over."""
    from dialer.dnc import DncEntry, DncIndex

    entries = []
    for line in path.read_text().splitlines():
        e = json.loads(line)
        expires = datetime.fromisoformat(e["expires_at"]) if e["expires_at"] else None
        entries.append(
            DncEntry(e["id"], e["phone_number"], frozenset(e["agent_ids"]), expires, None, "api")
        )
    return DncIndex(entries)


def floor_xlsx(path: Path, _: Path, out: Path) -> dict[str, float]:
    """calamine reads the sheet, nothing more."""
    from python_calamine import CalamineWorkbook

    start = time.perf_counter()
    CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    return {"read": time.perf_counter() - start}


def ours_xlsx(path: Path, _: Path, out: Path) -> dict[str, float]:
    """``read_sheet``: calamine plus text conversion and header handling."""
    from dialer.leads import read_sheet

    start = time.perf_counter()
    read_sheet(path)
    return {"intake": time.perf_counter() - start}


PATHS: dict[str, Callable[[Path, Path, Path], dict[str, float]]] = {
    f.__name__: f for f in (floor_csv, ours_csv, floor_xlsx, ours_xlsx)
}


# --------------------------------------------------------------------------- measuring


def _child(name: str, sheet: Path, dnc: Path) -> None:
    """Run one path in this process; print its phase times and peak memory as JSON."""
    with tempfile.TemporaryDirectory() as tmp:
        times = PATHS[name](sheet, dnc, Path(tmp))
    times["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(times))


def _measure(name: str, sheet: Path, dnc: Path, *, repeat: int = 3) -> dict[str, float]:
    """The fastest of ``repeat`` fresh-process runs of one path."""
    runs = []
    for _ in range(repeat):
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.bench_intake",
                "--child",
                name,
                str(sheet),
                str(dnc),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return min(runs, key=lambda r: sum(v for k, v in r.items() if k != "peak_mb"))


def _compare(
    label: str, floor: str, ours: str, sheet: Path, dnc: Path, *, target: float
) -> dict[str, Any]:
    """One line of the report. Both paths write the same rows, so the writes our run timed
    count in the floor too: floor = its read + those writes; ours = intake + those writes."""
    base = _measure(floor, sheet, dnc)
    mine = _measure(ours, sheet, dnc)
    writes = mine.get("sqlite", 0.0) + mine.get("status_csv", 0.0)
    floor_s = base["read"] + writes
    ours_s = mine["intake"] + writes
    ratio = ours_s / floor_s
    return {
        "name": label,
        "floor_read_s": round(base["read"], 3),
        "intake_s": round(mine["intake"], 3),
        "writes_s": round(writes, 3),
        "floor_s": round(floor_s, 3),
        "ours_s": round(ours_s, 3),
        "ratio": round(ratio, 2),
        "target_ratio": target,
        "peak_mb": round(mine["peak_mb"]),
        "target_peak_mb": MEMORY_TARGET_MB,
        "ok": ratio <= target and mine["peak_mb"] <= MEMORY_TARGET_MB,
    }


def run(*, rows: int = 1_000_000) -> list[dict[str, Any]]:
    """Measure intake of ``rows`` CSV rows and of a 100,000-row workbook; print and return."""
    dnc = dnc_entries(rows)
    csv_target, xlsx_target = RATIO_TARGET["csv"], RATIO_TARGET["xlsx"]
    results = [
        _compare(
            f"intake csv {rows:,} rows",
            "floor_csv",
            "ours_csv",
            sheet_csv(rows),
            dnc,
            target=csv_target,
        ),
        _compare(
            "read xlsx 100,000 rows",
            "floor_xlsx",
            "ours_xlsx",
            sheet_xlsx(),
            dnc,
            target=xlsx_target,
        ),
    ]
    for r in results:
        print(
            f"{r['name']}: floor {r['floor_s']:.2f}s (read {r['floor_read_s']:.2f}s), "
            f"ours {r['ours_s']:.2f}s (intake {r['intake_s']:.2f}s), writes {r['writes_s']:.2f}s, "
            f"ratio {r['ratio']:.2f}x (target <= {r['target_ratio']}x), "
            f"peak {r['peak_mb']} MB (target <= {MEMORY_TARGET_MB} MB) "
            f"{'OK' if r['ok'] else 'MISSED'}"
        )
    return results


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]))
    else:
        run(rows=int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
