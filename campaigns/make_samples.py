"""Generate the example lead sheets deterministically: ``python campaigns/make_samples.py``.

The demo's sheet is package data (``dialer/samples/``, so an installed ``dialer demo`` has it);
``campaigns/demo*`` are links to those files. The spring-renewals example lives here.

The sheets look like what people really export: Hebrew and English names, numbers typed
every way (dashes, spaces, ``+972 (0)``, ``00972``, a leading apostrophe, Excel's ``.0``),
a few foreign numbers, some invalid ones, some duplicates and a few blanks.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
SAMPLES = HERE.parent / "dialer" / "samples"
SEED = 20260301

FIRST_HE = ["נועה", "יוסי", "מיכל", "אבי", "שירה", "דני", "תמר", "איתי", "רונית", "עומר"]
LAST_HE = ["כהן", "לוי", "מזרחי", "פרץ", "ביטון", "אברהם", "פרידמן", "שפירא", "דהן", "אזולאי"]
FIRST_EN = ["Noa", "Yossi", "Michal", "Avi", "Sarah", "David", "Tamar", "Eitan", "Rachel", "Omer"]
LAST_EN = ["Cohen", "Levi", "Mizrahi", "Peretz", "Friedman", "Shapiro", "Katz", "Golan"]
MOBILE_PREFIXES = ["52", "53", "54", "55", "58"]
FOREIGN = ["+1 212 736 0147", "+44 20 7946 0321", "+33 1 42 68 53 00", "+49 30 12345678"]
INVALID = ["12345", "050-123", "n/a", "אין", "+972 12", "0000000000", "+999 123 4567"]


def mobile(rng: random.Random) -> str:
    """A valid Israeli mobile number's national digits (without the leading 0)."""
    import phonenumbers

    while True:
        national = f"{rng.choice(MOBILE_PREFIXES)}{rng.randint(2, 9)}{rng.randint(0, 999999):06d}"
        if phonenumbers.is_valid_number(phonenumbers.parse(national, "IL")):
            return national


def typed(national: str, rng: random.Random) -> str:
    """One of the ways a person types an Israeli mobile number."""
    a, b, c = national[:2], national[2:5], national[5:]
    forms = [
        f"0{a}-{b}-{c}",
        f"0{a}{b}{c}",
        f"0{a}-{b}{c}",
        f"972{national}",
        f"+972{national}",
        f"+972 {a}-{b}-{c}",
        f"+972 (0){a}-{b}-{c}",
        f"00972{national}",
        f"'0{national}",
        f"0{a} {b} {c}",
        f"\u200f0{a}\u2011{b}\u2011{c}",
        f"0{a}\u00a0{b}\u00a0{c}",
    ]
    return rng.choice(forms)


def name(rng: random.Random) -> str:
    """A Hebrew or English full name."""
    if rng.random() < 0.6:
        return f"{rng.choice(FIRST_HE)} {rng.choice(LAST_HE)}"
    return f"{rng.choice(FIRST_EN)} {rng.choice(LAST_EN)}"


def phone_cell(rng: random.Random, seen: list[str]) -> str:
    """A phone cell: mostly valid, some foreign, invalid, blank or repeated."""
    roll = rng.random()
    if roll < 0.06 and seen:
        return typed(rng.choice(seen), rng)  # the same person, typed differently
    if roll < 0.10:
        return rng.choice(FOREIGN)
    if roll < 0.15:
        return rng.choice(INVALID)
    if roll < 0.17:
        return ""
    national = mobile(rng)
    seen.append(national)
    return typed(national, rng)


def demo_rows(rng: random.Random, count: int) -> list[list[str]]:
    """Rows for ``demo-leads.csv``."""
    seen: list[str] = []
    return [
        [name(rng), phone_cell(rng, seen), f"ORD-{10000 + i}", f"CRM-{rng.randint(1, 99999):05d}"]
        for i in range(count)
    ]


def write_demo(rng: random.Random) -> None:
    """``demo-leads.csv``: UTF-8 with a BOM, as Excel saves it."""
    with (SAMPLES / "demo-leads.csv").open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Full Name", " Phone ", "Order #", "CRM Contact"])
        writer.writerows(demo_rows(rng, 300))


def write_renewals(rng: random.Random) -> list[str]:
    """``spring-renewals.xlsx`` (Hebrew headers, some numbers stored as numbers)."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "לקוחות"
    sheet.append(["שם מלא", "טלפון", "מספר חוזה", "מזהה לקוח"])
    numbers: list[str] = []
    for i in range(100):
        national = mobile(rng)
        numbers.append(national)
        cell: object = int(national) if rng.random() < 0.4 else typed(national, rng)
        if i % 37 == 5:
            cell = "לא ידוע"
        sheet.append([name(rng), cell, f"C-{2026000 + i}", rng.randint(100000, 999999)])
    book.save(HERE / "spring-renewals.xlsx")
    return numbers


def write_suppression(rng: random.Random, numbers: list[str]) -> None:
    """``suppress.txt``: a few of the renewal numbers, in assorted formats, with comments."""
    lines = ["# numbers that asked not to be called (legal, 2026-02)", ""]
    lines += [typed(n, rng) for n in rng.sample(numbers, 6)]
    lines += ["", "# old list", "not a number", "052-000"]
    (HERE / "suppress.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    """Write every sample sheet (the demo's into the package, the others next to this script)."""
    rng = random.Random(SEED)
    write_demo(rng)
    write_suppression(rng, write_renewals(rng))


if __name__ == "__main__":
    main()
