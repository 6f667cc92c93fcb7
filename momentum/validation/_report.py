"""Self-contained HTML rendering of a validation result."""

from __future__ import annotations

import html

import pandas as pd

from momentum.validation._checks import ValidationResult, _day, quarantined_symbols

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1f2328;background:#fff}
h1{font-size:1.4rem;margin:0 0 .5rem}h2{font-size:1.1rem;margin:1.5rem 0 .5rem}
.badge{display:inline-block;padding:.2rem .6rem;border-radius:.3rem;font-weight:600;color:#fff}
.pass{background:#1a7f37}.fail{background:#cf222e}
.summary{font-size:1rem;margin:.6rem 0}
table{border-collapse:collapse;width:100%;font-size:.85rem}
th,td{border:1px solid #d0d7de;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}tr.status-failed.severity-error td{background:#ffebe9}
tr.status-failed.severity-warning td{background:#fff8c5}tr.status-error td{background:#ffd8d3}
tr.status-failed td.status,tr.status-error td.status{font-weight:600}td.num{text-align:right}
.muted{color:#656d76}
"""


_HEAD = (
    "<tr><th>check</th><th>level</th><th>severity</th><th>status</th>{}"
    "<th>date</th><th>failures</th><th>message</th></tr>"
)


def _rows_html(frame: pd.DataFrame, with_symbol: bool) -> str:
    """One ``<tr>`` per table row, classed by status and severity (the CSS shades the failed ones)."""
    esc = html.escape
    out = []
    for r in frame.itertuples(index=False):
        cells = [esc(r.check), esc(r.level), esc(r.severity), f'<td class="status">{esc(r.status)}</td>']
        if with_symbol:
            cells.append(esc(r.symbol))
        cells += [esc(_day(r.date)), f'<td class="num">{int(r.failures)}</td>', esc(r.message)]
        tds = "".join(c if c.startswith("<td") else f"<td>{c}</td>" for c in cells)
        out.append(f'<tr class="status-{esc(r.status)} severity-{esc(r.severity)}">{tds}</tr>')
    return "\n".join(out)


def render_html(result: ValidationResult, *, title: str) -> str:
    """A self-contained HTML report (inline CSS, no scripts, no external resources)."""
    esc = html.escape
    t = result.table
    checks = t[t["symbol"] == ""]
    findings = t[t["symbol"] != ""].sort_values(["severity", "check", "symbol"])
    badge = (
        '<span class="badge pass">PASSED</span>'
        if result.passed
        else '<span class="badge fail">FAILED</span>'
    )
    quarantined = ", ".join(result.quarantined) or "none"
    findings_table = f"<table>{_HEAD.format('<th>symbol</th>')}{_rows_html(findings, True)}</table>"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{_CSS}</style></head>
<body>
<h1>{esc(title)}</h1>
<div>{badge}</div>
<p class="summary">{esc(result.summary)}</p>
<p>Quarantined symbols: <strong>{esc(quarantined)}</strong></p>
<h2>Checks ({len(checks)})</h2>
<table>{_HEAD.format("")}
{_rows_html(checks, False)}
</table>
<h2>Findings ({len(findings)})</h2>
{'<p class="muted">none</p>' if findings.empty else findings_table}
<p class="muted">Shaded rows failed (pink: error severity, yellow: warning, red: the check itself could not\
run).
Dataset-level failures stop the run; symbol-level errors quarantine the symbol; warnings never block.</p>
</body></html>
"""


def render_markdown(
    table: pd.DataFrame, report_url: str, headline: str | None = None, limit: int = 30
) -> str:
    """A validation table in Markdown: the headline (default: checks passed, findings, quarantined
    symbols), the link to the HTML report, then the first ``limit`` checks that did not pass."""
    failed = table[table["status"] != "passed"]
    if headline is None:
        headline = (
            f"{int((table['status'] == 'passed').sum())} checks passed, {len(failed)} findings; "
            f"quarantined: {', '.join(quarantined_symbols(table)) or 'none'}"
        )
    lines = [f"**{headline}**", "", f"[HTML report]({report_url})", ""]
    if len(failed):
        lines += [
            "| check | level | severity | status | symbol | date | message |",
            "|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {r.check} | {r.level} | {r.severity} | {r.status} | {r.symbol} | {_day(r.date)} | "
            f"{str(r.message).replace('|', '/')} |"
            for r in failed.head(limit).itertuples(index=False)
        ]
    return "\n".join(lines)
