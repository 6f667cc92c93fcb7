"""The symbols a live run fetches: the universe at as_of and the held positions (the benchmark symbol
is fetched on its own, into the ``benchmark`` dataset).

Symbols are in Alpaca's spelling (``BRK.B``). The S&P 500 universe comes from the membership data;
past its last date the latest known membership is used, and far past it the run refuses to trade
(:mod:`momentum.universe`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from momentum.errors import PermanentError
from momentum.universe._file import symbol_key
from momentum.universe._freshness import membership_freshness
from momentum.universe._membership import file_membership, members_at, sp500_members
from momentum.universe._spec import UniverseSpec


def file_symbols(path: str) -> list[str]:
    """The symbols a universe file names (the file's own parser checks the rest)."""
    symbols = []
    for line in Path(path).read_text().splitlines():
        first = line.split("#", 1)[0].split(",", 1)[0].strip().upper()
        if first and first != "SYMBOL":
            symbols.append(first)
    return list(dict.fromkeys(symbols))


def universe_at(spec: UniverseSpec, as_of: pd.Timestamp) -> list[str]:
    """The configured universe's members on ``as_of`` in Alpaca's spelling (needs no data: it says
    what to fetch)."""
    kind = spec.kind
    if kind == "sp500":
        membership_freshness(as_of)
        return sp500_members(as_of)["symbol"].tolist()
    if kind == "file":
        symbols = file_symbols(str(spec.universe_file))
        members = members_at(
            file_membership(str(spec.universe_file), symbols, pd.DatetimeIndex([as_of])), as_of
        )
        return sorted({symbol_key(s) for s in members})
    raise PermanentError(
        f"universe {spec.universe!r} names no symbols for provider {spec.provider!r} "
        "(set universe=sp500 or universe=file with universe_file=PATH)"
    )


def run_symbols(universe: Iterable[str], held: Iterable[str]) -> list[str]:
    """Universe + held positions, in Alpaca's spelling, sorted and unique."""
    return sorted({symbol_key(s) for s in [*universe, *held] if s and s.strip()})
