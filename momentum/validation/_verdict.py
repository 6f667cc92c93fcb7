"""The verdict: the outcomes of every check folded into the result table, the blocking checks, the
quarantine limit and the one-line summary."""

from __future__ import annotations

from typing import Any

import pandas as pd

from momentum.validation._checks import (
    CHECKS,
    NULL_SYMBOL,
    TABLE_COLUMNS,
    ValidationResult,
    _day,
    quarantined_symbols,
)
from momentum.validation._gx import _Finding, _Outcome


def _check_record(check: str, o: _Outcome) -> dict[str, Any]:
    """The summary row of one check (``symbol == ''``): its status, first date and total failures."""
    info = CHECKS[check]
    text = (
        "; ".join(dict.fromkeys(o.short))
        if o.short
        else (f"passed ({info.description})" if o.status == "passed" else o.status)
    )
    return {
        "check": check,
        "level": info.level,
        "severity": info.severity,
        "status": o.status,
        "symbol": "",
        "date": o.date,
        "failures": int(o.failures),
        "message": f"{check}: {text}",
    }


def _finding_record(check: str, f: _Finding) -> dict[str, Any]:
    """One (check, symbol) finding row, with the check's level and severity."""
    info = CHECKS[check]
    where = " ".join(x for x in (f.symbol, _day(f.date)) if x)
    return {
        "check": check,
        "level": info.level,
        "severity": info.severity,
        "status": "failed",
        "symbol": f.symbol,
        "date": f.date,
        "failures": f.failures,
        "message": f"{check}: {where}: {f.detail}" if where else f"{check}: {f.detail}",
    }


def _table(outcomes: dict[str, _Outcome]) -> pd.DataFrame:
    """One summary row per check followed by its findings sorted by symbol, in ``TABLE_COLUMNS``
    (``date`` datetime64[ns], ``failures`` int64, the rest str)."""
    records: list[dict[str, Any]] = []
    for check, o in outcomes.items():
        records.append(_check_record(check, o))
        records.extend(_finding_record(check, o.findings[symbol]) for symbol in sorted(o.findings))
    table = pd.DataFrame.from_records(records, columns=list(TABLE_COLUMNS))
    table["date"] = pd.to_datetime(table["date"]).astype("datetime64[ns]")
    table["failures"] = table["failures"].astype("int64")
    for col in ("check", "level", "severity", "status", "symbol", "message"):
        table[col] = table[col].astype(str)
    return table


def _blocking(outcomes: dict[str, _Outcome]) -> list[str]:
    """The error checks that stop the run: failed dataset checks and symbol checks that raised."""
    out = []
    for check, o in outcomes.items():
        info = CHECKS[check]
        if o.status == "passed" or info.severity != "error":
            continue
        if info.level == "dataset" or o.status == "error":
            out.append(check)
    return out


def _quarantine_limit(
    outcomes: dict[str, _Outcome], n_symbols: int, max_quarantine_fraction: float
) -> _Outcome:
    """Fails when the symbol-level errors quarantine more than ``max_quarantine_fraction`` of the symbols."""
    quarantined = {
        s
        for c, o in outcomes.items()
        if CHECKS[c].level == "symbol" and CHECKS[c].severity == "error"
        for s in o.findings
        if s and s != NULL_SYMBOL
    }
    limit = _Outcome()
    text = f"{len(quarantined)} of {n_symbols} symbols quarantined"
    if n_symbols and len(quarantined) / n_symbols > max_quarantine_fraction:
        limit.fail(
            f"{text} ({len(quarantined) / n_symbols:.0%} > {max_quarantine_fraction:.0%}): "
            + ", ".join(sorted(quarantined)[:20]),
            failures=len(quarantined),
        )
    else:
        limit.short.append(f"passed, {text} (limit {max_quarantine_fraction:.0%})")
    return limit


def _failed_summary(outcomes: dict[str, _Outcome], blocking: list[str]) -> str:
    """``failed: `` and the first 4 blocking checks with what they found."""
    parts = [f"{c} ({'; '.join(dict.fromkeys(outcomes[c].short)) or outcomes[c].status})" for c in blocking]
    return "failed: " + "; ".join(parts[:4]) + (f"; +{len(parts) - 4} more" if len(parts) > 4 else "")


def _quarantine_reasons(outcomes: dict[str, _Outcome], quarantined: tuple[str, ...]) -> str:
    """``SYM: check+check, ...``: the symbol-level errors that quarantine each symbol."""
    reasons = {
        s: [
            c
            for c, o in outcomes.items()
            if s in o.findings and CHECKS[c].level == "symbol" and CHECKS[c].severity == "error"
        ]
        for s in quarantined
    }
    return ", ".join(f"{s}: {'+'.join(reasons[s])}" for s in quarantined)


def _passed_summary(
    outcomes: dict[str, _Outcome], quarantined: tuple[str, ...], n_symbols: int, n_sessions: int
) -> str:
    """``passed`` (or ``passed with quarantine``): the counts, why each symbol is quarantined and how
    many warning checks did not pass."""
    why = _quarantine_reasons(outcomes, quarantined)
    warnings = sum(1 for c, o in outcomes.items() if CHECKS[c].severity == "warning" and o.status != "passed")
    verdict = "passed with quarantine" if quarantined else "passed"
    return (
        f"{verdict}: {n_symbols} symbols, {n_sessions} sessions, {len(quarantined)} quarantined"
        + (f" ({why})" if quarantined else "")
        + (f", {warnings} warning check(s)" if warnings else "")
    )


def _result(outcomes: dict[str, _Outcome], *, n_symbols: int, n_sessions: int) -> ValidationResult:
    """The result of the run: passed unless a check blocks, the table, the quarantine, the summary."""
    table = _table(outcomes)
    blocking = _blocking(outcomes)
    quarantined = tuple(quarantined_symbols(table))
    if blocking:
        return ValidationResult(False, table, quarantined, _failed_summary(outcomes, blocking))
    summary = _passed_summary(outcomes, quarantined, n_symbols, n_sessions)
    return ValidationResult(True, table, quarantined, summary)
