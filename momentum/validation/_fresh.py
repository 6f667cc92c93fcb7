"""The stale-data guard: orders go out only on today's data.

Run after the symbol stage, on its per-symbol last bar. With ``expected`` (the symbols a live provider
was asked for at as_of) every expected symbol must have a bar on as_of (``stale_symbol`` quarantines
one whose last bar is older) and a symbol without any bar is reported (``missing_symbol``, with the
provider's reason when it dropped it). In every case at least ``1 - max_quarantine_fraction`` of the
expected symbols (default: the symbols in the data) must have a bar on as_of, and the benchmark too,
or ``freshness`` fails naming the newest session seen and how many symbols have it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from momentum.validation._checks import _day
from momentum.validation._gx import _Outcome

ABSENT = "no bars from the provider (absent from its reply: unknown, delisted or not yet listed)"


def _close(outcome: _Outcome, what: str) -> _Outcome:
    if outcome.findings:
        first = min(outcome.findings.values(), key=lambda f: f.symbol)
        outcome.fail(
            f"{len(outcome.findings)} symbol(s), first {first.symbol}: {first.detail}",
            failures=len(outcome.findings),
            date=first.date,
        )
    else:
        outcome.short.append(f"passed ({what})")
    return outcome


def per_symbol(
    last: Mapping[str, pd.Timestamp],
    expected: Sequence[str],
    as_of: pd.Timestamp,
    rejected: Mapping[str, str],
) -> tuple[_Outcome, _Outcome]:
    """(stale_symbol, missing_symbol) outcomes over the expected symbols."""
    stale, missing = _Outcome(), _Outcome()
    for symbol in sorted(set(expected)):
        if symbol not in last:
            missing.add(symbol, pd.NaT, 1, rejected.get(symbol, ABSENT))
        elif last[symbol] < as_of:
            stale.add(
                symbol,
                last[symbol],
                1,
                f"last bar {_day(last[symbol])}, older than as_of {_day(as_of)} (stale: quarantined)",
            )
    return _close(stale, "every symbol asked for has a bar on as_of"), _close(
        missing, "every symbol asked for has bars"
    )


def coverage(
    fresh: _Outcome,
    last: Mapping[str, pd.Timestamp],
    expected: Sequence[str] | None,
    as_of: pd.Timestamp,
    max_quarantine_fraction: float,
    benchmark_last: pd.Timestamp | None,
) -> None:
    """Fail ``fresh`` when too few expected symbols, or the benchmark, have a bar on as_of."""
    universe = sorted(set(expected)) if expected is not None else sorted(last)
    have = sum(1 for s in universe if s in last and last[s] >= as_of)
    need = 1.0 - max_quarantine_fraction
    if fresh.status == "passed" and universe and have < need * len(universe) - 1e-9:
        newest = max(last.values()) if last else pd.NaT
        held = sum(1 for d in last.values() if d == newest)
        fresh.fail(
            f"only {have} of {len(universe)} symbols ({have / len(universe):.0%}) have a bar on as_of "
            f"{_day(as_of)}, need {need:.0%} (newest session {_day(newest) or 'none'}, "
            f"{held} symbol(s) have it)",
            failures=len(universe) - have,
            date=as_of,
        )
    if benchmark_last is not None and (pd.isna(benchmark_last) or benchmark_last < as_of):
        fresh.fail(
            f"the benchmark's last bar is {_day(benchmark_last) or 'missing'}, not as_of {_day(as_of)}",
            date=as_of,
        )
