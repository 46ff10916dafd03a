"""The HTML report: one self-contained page a manager can open, mail or archive.

Sections: the summary; charts of outcomes, hours, attempts and durations; what the calls found
out (dispositions, one small chart per extracted field: value counts for categories and
booleans, a histogram for numbers); cost (total, per reached lead, per disposition); and the
lead table, whose search covers every column, the call summaries included.

No network fetch of any kind: the CSS, the script and the SVG charts (drawn here) are inline.
Every text from the ledger is escaped: ``html.escape`` in markup, and the lead table's data is
JSON with ``<``, ``>`` and ``&`` written as ``\\u`` escapes, rendered by the script with
``textContent`` only, so a lead named ``</script><script>…`` stays text.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, tzinfo
from functools import lru_cache
from html import escape
from itertools import pairwise
from typing import IO, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dialer.clock import parse_instant
from dialer.reports import REACHED, ReportData, cost_text, dollars, plain, summary_lines

#: The table shows at most this many matching leads at once (the search covers all of them).
SHOWN_ROWS = 500

#: Call-duration bins, seconds: (label, upper bound exclusive).
DURATION_BINS = (
    ("<30 s", 30),
    ("30–60 s", 60),
    ("1–2 min", 120),
    ("2–3 min", 180),
    ("3–5 min", 300),
    ("5–10 min", 600),
    ("10+ min", float("inf")),
)

#: Bars of one value-count chart: the largest this many values, then the rest as one bar.
TOP_VALUES = 8
#: Bins of a number histogram (whole numbers spanning fewer get one bar each).
HISTOGRAM_BINS = 8
NOT_SAID = "(not said)"

#: Colour group of each protected disposition (docs/api.md §5); the workspace's own are "other".
_DISPOSITION_GROUPS = {
    "Interested": "good",
    "Transferred to a Person": "good",
    "Call Back Later": "warn",
    "Voicemail": "warn",
    "No Answer": "warn",
    "Not Interested": "bad",
    "Do Not Call": "bad",
    "Failed": "bad",
}

#: Colour group of each status in the outcome chart.
_GROUPS = {
    "completed": "good",
    "transferred": "good",
    "voicemail": "warn",
    "no_answer": "warn",
    "busy": "warn",
    "exhausted": "warn",
    "failed": "bad",
    "rejected": "bad",
    "unknown": "bad",
}


def write_html(data: ReportData, handle: IO[bytes]) -> None:
    """Write the page (UTF-8) into ``handle``."""
    handle.write(render(data).encode("utf-8"))


def render(data: ReportData) -> str:
    """The whole page as a string."""
    title = f"Campaign report: {data.record.name}"
    return _PAGE.format(
        title=escape(title),
        css=_CSS,
        banner=_banner(data.summary),
        summary=_summary_block(data.summary),
        charts=_charts(data),
        analysis=_analysis_section(data),
        cost=_cost_section(data),
        header="".join(f"<th>{escape(c)}</th>" for c in data.columns),
        total=len(data.rows),
        data=_script_json(
            {
                "rows": [[plain(v) for v in row] for row in data.rows],
                "wide": [i for i, c in enumerate(data.columns) if c == "summary"],
            }
        ),
        script=_SCRIPT.replace("__LIMIT__", str(SHOWN_ROWS)),
    )


def _script_json(value: Any) -> str:
    """JSON safe inside a <script> element: no tag or entity can start in it."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _banner(stats: Mapping[str, Any]) -> str:
    generated = escape(str(stats["generated_at"]))
    if not stats["still_running"]:
        return f'<p class="meta">Generated {generated}.</p>'
    return (
        f'<p class="running" role="status">This campaign is still running: the figures below '
        f"are what was known at {generated}. Export the report again when it has finished.</p>"
    )


def _summary_block(stats: Mapping[str, Any]) -> str:
    items = "".join(
        f"<div><dt>{escape(label)}</dt><dd>{escape(value)}</dd></div>"
        for label, value in summary_lines(stats)
    )
    return f'<dl class="summary">{items}</dl>'


# -- charts ---------------------------------------------------------------------------------


def _charts(data: ReportData) -> str:
    hours = calls_by_hour(data)
    per_lead = attempts_per_lead(data.leads)
    durations = duration_bins(data)
    figures = [
        ("Outcome breakdown (leads)", bars(data.summary["outcomes"], colours=_GROUPS)),
        (
            "Calls and answers by hour of day (callee's local time)",
            bar_chart(
                [f"{h:02d}" for h in range(24)], [("calls", hours[0]), ("answered", hours[1])]
            ),
        ),
        (
            "Attempts per lead",
            bar_chart([str(k) for k in per_lead], [("leads", list(per_lead.values()))]),
        ),
        ("Call duration", bar_chart([b[0] for b in DURATION_BINS], [("calls", durations)])),
    ]
    return _figures(figures)


def _figures(figures: Sequence[tuple[str, str]]) -> str:
    return "".join(
        f"<figure><figcaption>{escape(caption)}</figcaption>{svg}</figure>"
        for caption, svg in figures
    )


# -- what the calls found out ---------------------------------------------------------------


def _analysis_section(data: ReportData) -> str:
    """The disposition breakdown and one chart per extracted field."""
    dispositions = data.summary["dispositions"]
    if not dispositions and not data.extracted_keys:
        return '<p class="empty">No call analysis has arrived yet.</p>'
    figures = [
        ("Dispositions (each lead's last call)", bars(dispositions, colours=_DISPOSITION_GROUPS))
    ]
    for key in data.extracted_keys:
        values = extracted_values(data, key)
        unsaid = sum(1 for v in values if v is None)
        caption = f"extracted.{key} ({len(values):,} leads, {unsaid:,} not said)"
        figures.append((caption, field_chart(values)))
    return f'<div class="charts">{_figures(figures)}</div>'


def extracted_values(data: ReportData, key: str) -> list[Any]:
    """``key``'s value on each lead whose last call has extracted data (None: not said)."""
    values = []
    for chain in data.history.values():
        extracted = chain[-1].get("extracted_data") if chain else None
        if isinstance(extracted, dict):
            values.append(extracted.get(key))
    return values


def field_kind(values: Sequence[Any]) -> str:
    """``boolean``, ``number`` or ``category``, from the values the calls gave."""
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return "boolean"
    if present and all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return "number"
    return "category"


def field_chart(values: Sequence[Any]) -> str:
    """A histogram for numbers; value counts (not-said included) for anything else."""
    if field_kind(values) == "number":
        labels, counts = histogram([float(v) for v in values if v is not None])
        return bar_chart(labels, [("leads", counts)])
    return bars(value_counts(values), colours={NOT_SAID: "other"}, default="s0")


def value_counts(values: Sequence[Any]) -> dict[str, int]:
    """How many leads gave each value, largest first; the tail beyond TOP_VALUES as one."""
    counts = Counter(NOT_SAID if v is None else str(plain(v)) for v in values)
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    shown = dict(ranked[:TOP_VALUES])
    rest = ranked[TOP_VALUES:]
    if rest:
        shown[f"{len(rest):,} other values"] = sum(n for _, n in rest)
    return shown


def histogram(numbers: Sequence[float]) -> tuple[list[str], list[int]]:
    """Bin labels and counts: one bin per whole number over a short span, bins of whole
    numbers over a longer one, else equal bins."""
    if not numbers:
        return [], []
    low, high = min(numbers), max(numbers)
    if all(n.is_integer() for n in numbers):
        return _whole_bins([int(n) for n in numbers], int(low), int(high))
    width = (high - low) / HISTOGRAM_BINS or 1.0
    counts = [0] * HISTOGRAM_BINS
    for n in numbers:
        counts[min(int((n - low) / width), HISTOGRAM_BINS - 1)] += 1
    edges = [low + i * width for i in range(HISTOGRAM_BINS + 1)]
    return [f"{_number(a)}–{_number(b)}" for a, b in pairwise(edges)], counts


def _whole_bins(numbers: Sequence[int], low: int, high: int) -> tuple[list[str], list[int]]:
    """At most HISTOGRAM_BINS bins of the same whole width: ``4–6`` (or ``5`` when 1 wide)."""
    width = -(-(high - low + 1) // HISTOGRAM_BINS)  # ceiling division
    starts = range(low, high + 1, width)
    counts = Counter((n - low) // width for n in numbers)
    ends = [min(a + width - 1, high) for a in starts]
    labels = [str(a) if a == b else f"{a}–{b}" for a, b in zip(starts, ends, strict=True)]
    return labels, [counts[i] for i in range(len(starts))]


def _number(value: float) -> str:
    """At most two decimals, no trailing zeros."""
    return f"{value:,.2f}".rstrip("0").rstrip(".")


# -- cost -----------------------------------------------------------------------------------


def _cost_section(data: ReportData) -> str:
    """Total and per reached lead (from the summary), then a table per disposition."""
    lines = f'<p class="costline">Cost: {escape(cost_text(data.summary))}</p>'
    rows = cost_by_disposition(data)
    if not rows:
        return lines
    body = "".join(
        f"<tr><td>{escape(label)}</td><td>{calls:,}</td><td>{escape(dollars(cents))}</td>"
        f"<td>{escape(dollars(cents / calls))}</td></tr>"
        for label, calls, cents in rows
    )
    head = "<tr><th>disposition</th><th>calls</th><th>cost</th><th>per call</th></tr>"
    return f'{lines}<table class="cost"><thead>{head}</thead><tbody>{body}</tbody></table>'


def cost_by_disposition(data: ReportData) -> list[tuple[str, int, float]]:
    """(disposition, calls with a known cost, total cents), costliest first; every call
    counts under its own disposition."""
    calls: Counter[str] = Counter()
    cents: dict[str, float] = {}
    for chain in data.history.values():
        for attempt in chain:
            if attempt.get("cost_cents") is None:
                continue
            label = str(attempt.get("disposition") or "(no disposition)")
            calls[label] += 1
            cents[label] = cents.get(label, 0.0) + float(attempt["cost_cents"])
    return sorted(((k, calls[k], cents[k]) for k in calls), key=lambda r: (-r[2], r[0]))


def calls_by_hour(data: ReportData) -> tuple[list[int], list[int]]:
    """Calls placed and calls answered (completed or transferred) per local hour 0–23."""
    calls, answered = [0] * 24, [0] * 24
    for lead in data.leads:
        # A number that may ring in several zones lists them all: take the first.
        zone = _zone(next(iter(str(lead["timezone"] or "").split()), ""))
        for attempt in data.history.get(int(lead["id"]), []):
            if attempt["shape"] in ("rejected", "stopped", "dnc_blocked"):
                continue
            hour = parse_instant(attempt["started_at"]).astimezone(zone).hour
            calls[hour] += 1
            answered[hour] += attempt["outcome"] in REACHED
    return calls, answered


@lru_cache(maxsize=256)
def _zone(name: str) -> tzinfo:
    """The lead's zone; UTC when it has none (invalid rows) or it is unknown."""
    try:
        return ZoneInfo(name) if name else UTC
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def attempts_per_lead(leads: Sequence[Mapping[str, Any]]) -> dict[int, int]:
    """How many leads had 0, 1, 2 … attempts (every count up to the largest, zeros kept)."""
    counts = Counter(int(lead["attempts"] or 0) for lead in leads)
    top = max(counts, default=0)
    return {n: counts.get(n, 0) for n in range(top + 1)}


def duration_bins(data: ReportData) -> list[int]:
    """Calls per duration bin (calls with a known duration above zero)."""
    counts = [0] * len(DURATION_BINS)
    for chain in data.history.values():
        for attempt in chain:
            seconds = attempt["duration_seconds"]
            if seconds:
                counts[next(i for i, b in enumerate(DURATION_BINS) if seconds < b[1])] += 1
    return counts


def bars(counts: Mapping[str, int], *, colours: Mapping[str, str], default: str = "other") -> str:
    """Horizontal bars, one per name, in the given order; long names are shortened."""
    if not counts:
        return '<p class="empty">None yet.</p>'
    top = max(counts.values()) or 1
    shown = {name: name if len(name) <= 28 else name[:27] + "…" for name in counts}
    row_h, bar_w = 22, 360
    label_w = min(max(120, 7 * max(len(s) for s in shown.values()) + 10), 210)
    parts = []
    for i, (name, n) in enumerate(counts.items()):
        y = 4 + i * row_h
        width = max(bar_w * n / top, 1)
        group = colours.get(name, default)
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{escape(shown[name])}</text>'
            f'<rect class="{group}" x="{label_w}" y="{y + 3}" width="{width:.1f}" height="16">'
            f"<title>{escape(name)}: {n:,}</title></rect>"
            f'<text x="{label_w + width + 4:.1f}" y="{y + 15}">{n:,}</text>'
        )
    return _svg(label_w + bar_w + 60, row_h * len(counts) + 8, "".join(parts), "breakdown")


def bar_chart(labels: Sequence[str], series: Sequence[tuple[str, Sequence[int]]]) -> str:
    """Vertical bars, one group per label, one bar per series, with a legend and a y-axis."""
    width, height, left, bottom, top = 560, 220, 40, 30, 24
    plot_w, plot_h = width - left - 10, height - top - bottom
    peak = max((v for _, values in series for v in values), default=0) or 1
    peak += peak % 2 if peak > 1 else 0  # even, so the middle tick is a whole number
    group_w = plot_w / max(len(labels), 1)
    bar_w = group_w * 0.8 / len(series)
    parts = [_axis(left, top, plot_w, plot_h, peak), _legend(series, left)]
    for i, label in enumerate(labels):
        x0 = left + i * group_w + group_w * 0.1
        for s, (name, values) in enumerate(series):
            h = plot_h * values[i] / peak
            parts.append(
                f'<rect class="s{s}" x="{x0 + s * bar_w:.1f}" y="{top + plot_h - h:.1f}" '
                f'width="{bar_w:.1f}" height="{h:.1f}">'
                f"<title>{escape(label)}: {values[i]:,} {escape(name)}</title></rect>"
            )
        parts.append(
            f'<text x="{left + (i + 0.5) * group_w:.1f}" y="{height - bottom + 14}" '
            f'text-anchor="middle" class="tick">{escape(label)}</text>'
        )
    return _svg(width, height, "".join(parts), ", ".join(name for name, _ in series))


def _axis(left: int, top: int, plot_w: int, plot_h: int, peak: int) -> str:
    """Base line, and y ticks at 0, half and the peak."""
    base = top + plot_h
    lines = [f'<line class="axis" x1="{left}" y1="{base}" x2="{left + plot_w}" y2="{base}"/>']
    for fraction in (0.0, 0.5, 1.0):
        y = top + plot_h * (1 - fraction)
        value = peak * fraction
        text = f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"
        lines.append(
            f'<line class="grid" x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}"/>'
            f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" class="tick">{text}</text>'
        )
    return "".join(lines)


def _legend(series: Sequence[tuple[str, Sequence[int]]], left: int) -> str:
    if len(series) < 2:
        return ""
    return "".join(
        f'<rect class="s{s}" x="{left + s * 100}" y="4" width="10" height="10"/>'
        f'<text x="{left + s * 100 + 14}" y="13" class="tick">{escape(name)}</text>'
        for s, (name, _) in enumerate(series)
    )


def _svg(width: float, height: float, body: str, label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'role="img" aria-label="{escape(label)}">{body}</svg>'
    )


_CSS = """
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;margin:0;
 padding:24px 32px;color:#1f2933;background:#f7f8fa}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 10px}
.meta{color:#616e7c;margin:0 0 16px}
.running{background:#fff4d6;border:1px solid #e6b800;padding:10px 14px;border-radius:6px}
.summary{display:grid;grid-template-columns:repeat(auto-fill,minmax(210px,1fr));gap:10px;margin:0}
.summary div{background:#fff;border:1px solid #e4e7eb;border-radius:6px;padding:8px 12px}
dt{color:#616e7c;font-size:12px;text-transform:uppercase;letter-spacing:.04em}
dd{margin:2px 0 0;font-weight:600}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:14px}
figure{margin:0;background:#fff;border:1px solid #e4e7eb;border-radius:6px;padding:10px}
figcaption{font-weight:600;margin-bottom:6px}
svg{width:100%;height:auto;font-size:11px;fill:#323f4b}
.s0{fill:#4c78a8}.s1{fill:#54a24b}.good{fill:#54a24b}.warn{fill:#f2a93b}.bad{fill:#e45756}
.other{fill:#9aa5b1}.axis{stroke:#7b8794}.grid{stroke:#e4e7eb}.tick{font-size:10px}
.costline{font-weight:600}
table.cost{width:auto;background:#fff;border:1px solid #e4e7eb;border-radius:6px}
table.cost td:nth-child(n+2){text-align:right}
#leads td.long{white-space:normal;min-width:280px;max-width:460px}
#search{width:340px;max-width:100%;padding:7px 10px;font-size:14px;border:1px solid #cbd2d9;
 border-radius:6px}
.tablewrap{overflow:auto;max-height:70vh;background:#fff;border:1px solid #e4e7eb;
 border-radius:6px;margin-top:8px}
table{border-collapse:collapse;font-size:12px;width:100%}
th,td{padding:4px 8px;border-bottom:1px solid #eef0f2;text-align:left;white-space:nowrap}
#leads td:nth-child(2),#leads td:nth-child(3){unicode-bidi:bidi-override;direction:ltr}
th{position:sticky;top:0;background:#f0f2f5}
"""

_SCRIPT = """
window.addEventListener("error", function (e) {
  document.body.dataset.errors = (document.body.dataset.errors || "") + e.message + ";";
});
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("lead-data").textContent);
  var rows = data.rows;
  var wide = data.wide;
  var body = document.querySelector("#leads tbody");
  var box = document.getElementById("search");
  var shown = document.getElementById("shown");
  var limit = __LIMIT__;
  var texts = rows.map(function (r) {
    return r.map(function (v) { return v === null ? "" : String(v); })
      .join("\\u0001").toLowerCase();
  });
  function cell(v, i) {
    var td = document.createElement("td");
    td.textContent = v === null ? "" : String(v);
    if (wide.indexOf(i) !== -1) { td.className = "long"; }
    return td;
  }
  function render() {
    var q = box.value.trim().toLowerCase();
    var frag = document.createDocumentFragment();
    var matched = 0;
    for (var i = 0; i < rows.length; i++) {
      if (q && texts[i].indexOf(q) === -1) { continue; }
      matched++;
      if (matched > limit) { continue; }
      var tr = document.createElement("tr");
      rows[i].forEach(function (v, j) { tr.appendChild(cell(v, j)); });
      frag.appendChild(tr);
    }
    body.replaceChildren(frag);
    shown.textContent = matched.toLocaleString() + " of " + rows.length.toLocaleString() +
      " leads match" + (matched > limit ? " (showing the first " + limit + ")" : "");
  }
  box.addEventListener("input", render);
  render();
  document.body.dataset.ready = "1";
})();
"""

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy"
 content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>{title}</title>
<style>{css}</style>
</head>
<body>
<h1>{title}</h1>
{banner}
<h2>Summary</h2>
{summary}
<h2>Charts</h2>
<div class="charts">{charts}</div>
<h2>What the calls found out</h2>
{analysis}
<h2>Cost</h2>
{cost}
<h2>Leads</h2>
<label for="search">Search leads </label>
<input id="search" type="search" placeholder="name, number, status, summary…" autocomplete="off">
<span id="shown" class="meta">{total} leads</span>
<div class="tablewrap"><table id="leads">
<thead><tr>{header}</tr></thead><tbody></tbody></table></div>
<script type="application/json" id="lead-data">{data}</script>
<script>{script}</script>
</body>
</html>
"""
