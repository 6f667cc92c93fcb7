"""Bring the store's ``history`` dataset up to date from a provider (the rules: :mod:`momentum.history`).

Nothing half-fetched is written: every provider call of an update completes before the one new version
is committed (its year objects first, the manifest last). Years the update does not touch are carried
over from the previous version without being read or written again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import index_constitution as ic
import pandas as pd

from momentum.calendar import nyse_sessions
from momentum.errors import PermanentError
from momentum.history._coverage import (
    HISTORY,
    Coverage,
    Fetch,
    merge_history,
    new_sessions,
    plan_fetches,
    readjusted_symbols,
    split_by_year,
    target_coverage,
    years_of,
)
from momentum.providers import PriceProvider
from momentum.store import DatasetRef, Manifest, VersionedStore
from momentum.universe import (
    UniverseSpec,
    file_membership,
    file_symbols,
    sp500_members,
    sp500_membership,
    symbol_key,
)


class NoHistoryError(PermanentError):
    """The provider returned no bars at all for a first backfill: nothing is stored, the command stops."""


@dataclass(frozen=True)
class HistoryUpdate:
    """What an update did: the committed version, its coverage, and what it cost."""

    ref: DatasetRef
    path: str
    coverage: Coverage
    sessions_fetched: int
    readjusted: tuple[str, ...]
    requests: int

    def summary(self) -> dict[str, Any]:
        """The ``momentum ingest --json`` object (see docs/data.md)."""
        return {
            "as_of": self.ref.as_of,
            "version": self.ref.version,
            "start": f"{self.coverage.start:%Y-%m-%d}",
            "end": f"{self.coverage.end:%Y-%m-%d}",
            "symbols": len(self.coverage.symbols),
            "sessions_fetched": self.sessions_fetched,
            "readjusted": list(self.readjusted),
            "requests": self.requests,
            "path": self.path,
        }


def members_between(
    spec: UniverseSpec, start: pd.Timestamp, end: pd.Timestamp, benchmark_symbol: str
) -> list[str]:
    """Symbols in the configured universe on any session of ``[start, end]`` (delisted names included),
    plus ``benchmark_symbol``, in Alpaca's spelling (``BRK.B``)."""
    kind, sessions = spec.kind, nyse_sessions(start, end)
    if kind == "sp500":
        known = {
            *ic.history("sp500")["symbol"],
            *sp500_members(start)["symbol"],
            *sp500_members(end)["symbol"],
        }
        membership = sp500_membership(sorted(known), sessions)
    elif kind == "file":
        path = str(spec.universe_file)
        membership = file_membership(path, file_symbols(path), sessions)
    else:
        raise PermanentError(
            f"universe {spec.universe!r} names no symbols to backfill for provider "
            f"{spec.provider!r} (set universe=sp500, or universe=file with universe_file=PATH)"
        )
    members = membership.columns[membership.to_numpy().any(axis=0)]
    return sorted({symbol_key(s) for s in [*members, benchmark_symbol]})


def latest_history(store: VersionedStore) -> Manifest | None:
    """The newest committed version of ``history`` (None before the first backfill)."""
    return store.latest(HISTORY)


def requests_sent(provider: PriceProvider) -> int:
    """HTTP requests the provider has made (providers that call an API count them in ``requests_sent``)."""
    return int(getattr(provider, "requests_sent", 0))


def _fetch(provider: PriceProvider, fetches: Sequence[Fetch]) -> pd.DataFrame:
    frames = [provider.bars(f.start, f.end, list(f.symbols)) for f in fetches]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(
            {
                "date": pd.Series(dtype="datetime64[ns]"),
                "symbol": pd.Series(dtype=object),
                "adj_close": pd.Series(dtype="float64"),
            }
        )
    return pd.concat(frames, ignore_index=True)


def _refetch(
    provider: PriceProvider, fetched: pd.DataFrame, readjusted: list[str], target: Coverage
) -> pd.DataFrame:
    """The fetched bars with the re-adjusted symbols' whole range fetched again."""
    again = provider.bars(target.start, target.end, readjusted)
    return pd.concat([fetched[~fetched["symbol"].isin(readjusted)], again], ignore_index=True)


def update_history(
    store: VersionedStore,
    provider: PriceProvider,
    symbols: Sequence[str],
    start: pd.Timestamp,
    end: pd.Timestamp,
    *,
    flow_run_id: str | None = None,
) -> HistoryUpdate:
    """Fetch what the store's history lacks for ``symbols`` over ``[start, end]`` and commit it as a
    version."""
    _check_range(start, end)
    base = latest_history(store)
    stored = Coverage.from_params(base.params) if base else None
    target, fetches = _to_fetch(stored, symbols, start, end)
    if not fetches:
        assert base is not None and stored is not None, "nothing to fetch: the stored history covers it"
        return HistoryUpdate(base.ref, base.path, stored, 0, (), 0)
    before = requests_sent(provider)
    fetched = _fetch(provider, fetches)
    if base is None and not len(fetched):
        raise NoHistoryError(
            f"{provider.name} returned no bars for {len(target.symbols)} symbols over "
            f"{target.start:%Y-%m-%d}..{target.end:%Y-%m-%d} (check the symbols and the range)"
        )
    merged = _merged(store, base, provider, fetched, target)
    coverage = _coverage(stored, target, merged.fetched)
    ref = _commit(store, base, coverage, merged, {"provider": provider.name}, flow_run_id)
    return HistoryUpdate(
        ref,
        store.manifest(ref).path,
        coverage,
        new_sessions(stored, merged.fetched),
        tuple(merged.readjusted),
        requests_sent(provider) - before,
    )


def _check_range(start: pd.Timestamp, end: pd.Timestamp) -> None:
    """Refuse a range that ends before it starts."""
    if pd.Timestamp(start) > pd.Timestamp(end):
        raise PermanentError(
            f"history start {start:%Y-%m-%d} is after its end {end:%Y-%m-%d} (pass --start before --end)"
        )


def _to_fetch(
    stored: Coverage | None, symbols: Sequence[str], start: pd.Timestamp, end: pd.Timestamp
) -> tuple[Coverage, list[Fetch]]:
    """The coverage the update aims at and the provider calls that bring ``stored`` to it."""
    target = target_coverage(stored, symbols, start, end)
    sessions = nyse_sessions(min(target.start, stored.start if stored else target.start), target.end)
    return target, plan_fetches(stored, target, sessions)


@dataclass(frozen=True)
class _Merged:
    """An update's bars: those ``fetched`` (re-adjusted symbols over the whole range), the new year
    ``parts``, the stored years ``read`` to make them, and the ``readjusted`` symbols."""

    fetched: pd.DataFrame
    parts: dict[str, pd.DataFrame]
    read: list[str]
    readjusted: list[str]


def _merged(
    store: VersionedStore,
    base: Manifest | None,
    provider: PriceProvider,
    fetched: pd.DataFrame,
    target: Coverage,
) -> _Merged:
    """The fetched bars merged into the stored years they fall in, or into every stored year with the
    re-adjusted symbols fetched again over the whole range."""
    read = years_of(fetched) if base else []
    old = store.read(base.ref, parts=read) if base and read else fetched.iloc[:0]
    readjusted = readjusted_symbols(old, fetched)
    if readjusted:
        assert base is not None, "re-adjusted symbols are found in bars read from the base"
        fetched, read = _refetch(provider, fetched, readjusted, target), list(base.parts)
        old = store.read(base.ref)
    return _Merged(fetched, split_by_year(merge_history(old, fetched, readjusted)), read, readjusted)


def _coverage(stored: Coverage | None, target: Coverage, fetched: pd.DataFrame) -> Coverage:
    """The new version's coverage: the target's start and symbols, to the newest session held."""
    if not len(fetched):
        assert stored is not None, "an update that fetched no bar extends a stored history"
        return Coverage(target.start, stored.end, target.symbols)
    newest = pd.Timestamp(fetched["date"].max())
    return Coverage(target.start, newest if stored is None else max(stored.end, newest), target.symbols)


def _commit(
    store: VersionedStore,
    base: Manifest | None,
    coverage: Coverage,
    merged: _Merged,
    source: dict[str, Any],
    flow_run_id: str | None,
) -> DatasetRef:
    """Commit the new year parts; the base's years not read are carried over unread. The version's
    params: the coverage, then ``source`` (the provider's name), then the re-adjusted symbols."""
    return store.write_parts(
        HISTORY,
        coverage.end,
        merged.parts,
        base=base,
        keep=[k for k in (base.parts if base else {}) if k not in merged.read],
        params={**coverage.params(), **source, "readjusted": merged.readjusted},
        flow_run_id=flow_run_id,
    )


def read_history(store: VersionedStore, ref: DatasetRef, end: pd.Timestamp | None = None) -> pd.DataFrame:
    """The bars of a committed history version, up to ``end`` (default: all)."""
    manifest = store.manifest(ref)
    keys = (
        list(manifest.parts)
        if end is None
        else [k for k in manifest.parts if int(k.split("=")[1]) <= end.year]
    )
    bars = store.read(ref, parts=keys)
    return bars if end is None else bars[bars["date"] <= end].reset_index(drop=True)
