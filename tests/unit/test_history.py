"""History fetched once: the pure planning/merge rules, and updates of the store's ``history`` dataset."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from momentum.calendar import nyse_sessions
from momentum.errors import PermanentError
from momentum.history import (
    OVERLAP,
    Coverage,
    Fetch,
    NoHistoryError,
    benchmark_split,
    merge_history,
    new_sessions,
    plan_fetches,
    read_history,
    readjusted_symbols,
    split_by_year,
    target_coverage,
    update_history,
)
from momentum.store import VersionedStore

T = pd.Timestamp
SESSIONS = nyse_sessions("2015-01-01", "2023-12-31")


def panel(symbols=("AAA", "BBB", "CCC"), start="2020-01-01", end="2022-06-30", seed=1) -> pd.DataFrame:
    dates = nyse_sessions(start, end)
    rng = np.random.default_rng(seed)
    frames = [
        pd.DataFrame(
            {
                "date": dates,
                "symbol": s,
                "adj_close": 50 * np.exp(np.cumsum(rng.normal(0, 0.01, len(dates)))),
                "volume": rng.integers(1, 1000, len(dates)).astype(float),
            }
        )
        for s in symbols
    ]
    bars = pd.concat(frames, ignore_index=True)
    bars["date"] = bars["date"].astype("datetime64[ns]")
    return bars.sort_values(["date", "symbol"], ignore_index=True)


class FakeProvider:
    """An in-memory provider that records each call (one call = one request here)."""

    name = "fake"

    def __init__(self, bars: pd.DataFrame) -> None:
        self.panel, self.calls = bars, []

    @property
    def requests_sent(self) -> int:
        return len(self.calls)

    def bars(self, start, end, symbols=None):
        self.calls.append(Fetch(tuple(symbols), T(start), T(end)))
        rows = self.panel[
            (self.panel["date"] >= T(start))
            & (self.panel["date"] <= T(end))
            & self.panel["symbol"].isin(list(symbols))
        ]
        return rows.reset_index(drop=True)


# --- pure rules ------------------------------------------------------------------------------------


def test_first_backfill_fetches_everything_once():
    target = target_coverage(None, ["B", "A"], T("2016-01-01"), T("2022-06-30"))
    assert plan_fetches(None, target, SESSIONS) == [Fetch(("A", "B"), T("2016-01-01"), T("2022-06-30"))]


def test_nothing_new_means_no_fetch():
    stored = Coverage(T("2016-01-01"), T("2022-06-30"), frozenset({"A", "B"}))
    assert (
        plan_fetches(stored, target_coverage(stored, ["A", "B"], T("2016-01-01"), T("2022-06-30")), SESSIONS)
        == []
    )
    # an earlier end or a later start is already covered
    assert (
        plan_fetches(stored, target_coverage(stored, ["A"], T("2018-01-01"), T("2021-01-04")), SESSIONS) == []
    )


def test_later_end_fetches_the_new_sessions_with_an_overlap():
    stored = Coverage(T("2016-01-01"), T("2022-06-30"), frozenset({"A", "B"}))
    fetches = plan_fetches(
        stored, target_coverage(stored, ["A", "B"], T("2016-01-01"), T("2022-07-08")), SESSIONS
    )
    overlap = SESSIONS[SESSIONS <= T("2022-06-30")][-OVERLAP]
    assert fetches == [Fetch(("A", "B"), overlap, T("2022-07-08"))] and overlap == T("2022-06-24")


def test_new_symbols_get_their_whole_range_and_an_earlier_start_the_gap():
    stored = Coverage(T("2016-01-04"), T("2022-06-30"), frozenset({"A"}))
    target = target_coverage(stored, ["A", "N"], T("2015-06-01"), T("2022-06-30"))
    assert target == Coverage(T("2015-06-01"), T("2022-06-30"), frozenset({"A", "N"}))
    assert plan_fetches(stored, target, SESSIONS) == [
        Fetch(("N",), T("2015-06-01"), T("2022-06-30")),
        Fetch(("A",), T("2015-06-01"), T("2015-12-31")),
    ]


def test_readjusted_symbols_are_those_whose_overlap_moved():
    stored = panel()
    fetched = stored[stored["date"] >= T("2022-06-01")].copy()
    assert readjusted_symbols(stored, fetched) == []
    fetched.loc[fetched["symbol"] == "BBB", "adj_close"] *= 0.995  # a 0.5 % dividend re-adjusts BBB's past
    fetched.loc[fetched["symbol"] == "CCC", "adj_close"] *= 1 + 1e-9  # float noise is not a re-adjustment
    assert readjusted_symbols(stored, fetched) == ["BBB"]
    assert readjusted_symbols(stored, fetched, rtol=0.01) == []


def test_merge_keeps_stored_bars_adds_new_and_replaces_refetched():
    full = panel()
    stored = full[full["date"] <= T("2022-03-31")].reset_index(drop=True)
    fetched = full[full["date"] >= T("2022-03-25")].copy()
    fetched["adj_close"] += 1e-12  # equal within tolerance: the stored value stays
    merged = merge_history(stored, fetched)
    assert len(merged) == len(full) and merged[["date", "symbol"]].equals(full[["date", "symbol"]])
    assert merged[merged["date"] <= T("2022-03-31")]["adj_close"].tolist() == stored["adj_close"].tolist()
    again = full[full["symbol"] == "AAA"].assign(adj_close=lambda f: f["adj_close"] * 2)
    replaced = merge_history(stored, pd.concat([fetched[fetched["symbol"] != "AAA"], again]), ["AAA"])
    assert replaced[replaced["symbol"] == "AAA"]["adj_close"].tolist() == again["adj_close"].tolist()
    assert len(replaced) == len(full)


def test_split_by_year_sessions_and_benchmark():
    bars = panel(("AAA", "SPY"))
    parts = split_by_year(bars)
    assert list(parts) == ["year=2020", "year=2021", "year=2022"]
    assert pd.concat(parts.values(), ignore_index=True).equals(bars)
    assert all(set(p["date"].dt.year) == {int(k[5:])} for k, p in parts.items())
    stored = Coverage(T("2020-01-01"), T("2021-12-31"), frozenset({"AAA"}))
    assert new_sessions(stored, bars[bars["date"] >= T("2021-12-27")]) == len(
        nyse_sessions("2022-01-01", "2022-06-30")
    )
    others, level = benchmark_split(bars, "SPY")
    assert set(others["symbol"]) == {"AAA"} and level.index.equals(pd.DatetimeIndex(bars["date"].unique()))


# --- updates of the store --------------------------------------------------------------------------


def test_backfill_then_nothing_then_new_sessions(store_url):
    store, full = VersionedStore(store_url), panel(end="2022-12-30")
    provider = FakeProvider(full[full["date"] <= T("2022-06-30")])
    first = update_history(store, provider, ["AAA", "BBB", "CCC", "ZZZ"], T("2020-01-01"), T("2022-06-30"))
    assert first.summary() | {"version": None} == {
        "as_of": "2022-06-30",
        "version": None,
        "start": "2020-01-01",
        "end": "2022-06-30",
        "symbols": 4,
        "sessions_fetched": len(nyse_sessions("2020-01-01", "2022-06-30")),
        "readjusted": [],
        "requests": 1,
        "path": f"{store.url}/history/as_of=2022-06-30/v={first.ref.version}/",
    }
    pd.testing.assert_frame_equal(read_history(store, first.ref), provider.panel)

    again = update_history(store, provider, ["AAA", "BBB", "CCC", "ZZZ"], T("2020-01-01"), T("2022-06-30"))
    assert again.ref == first.ref and again.requests == 0 and len(provider.calls) == 1

    provider.panel = full
    later = update_history(store, provider, ["AAA", "BBB", "CCC", "ZZZ"], T("2020-01-01"), T("2022-12-30"))
    assert provider.calls[-1] == Fetch(("AAA", "BBB", "CCC", "ZZZ"), T("2022-06-24"), T("2022-12-30"))
    assert later.sessions_fetched == len(nyse_sessions("2022-07-01", "2022-12-30")) and later.readjusted == ()
    pd.testing.assert_frame_equal(read_history(store, later.ref), full)
    base, manifest = store.manifest(first.ref), store.manifest(later.ref)
    assert {k: manifest.parts[k] for k in ("year=2020", "year=2021")} == {
        k: base.parts[k] for k in ("year=2020", "year=2021")
    }  # untouched years: the same objects
    assert manifest.parts["year=2022"] != base.parts["year=2022"]
    pd.testing.assert_frame_equal(
        read_history(store, later.ref, T("2021-03-31")),
        full[full["date"] <= T("2021-03-31")].reset_index(drop=True),
    )


def test_a_readjusted_symbol_is_fetched_again_alone(tmp_path):
    store, full = VersionedStore(str(tmp_path)), panel(end="2022-12-30")
    provider = FakeProvider(full[full["date"] <= T("2022-06-30")])
    update_history(store, provider, ["AAA", "BBB", "CCC"], T("2020-01-01"), T("2022-06-30"))
    adjusted = full.copy()
    before = adjusted["date"] < T("2022-08-01")  # BBB goes ex-dividend on 2022-08-01: its past scales down
    adjusted.loc[before & (adjusted["symbol"] == "BBB"), "adj_close"] *= 0.99
    provider.panel = adjusted
    update = update_history(store, provider, ["AAA", "BBB", "CCC"], T("2020-01-01"), T("2022-12-30"))
    assert update.readjusted == ("BBB",) and update.requests == 2
    assert provider.calls[-1] == Fetch(("BBB",), T("2020-01-01"), T("2022-12-30"))
    assert store.manifest(update.ref).params["readjusted"] == ["BBB"]
    pd.testing.assert_frame_equal(read_history(store, update.ref), adjusted)


def test_a_new_member_is_backfilled_and_an_empty_first_answer_refused(tmp_path):
    store, full = VersionedStore(str(tmp_path)), panel()
    provider = FakeProvider(full)
    with pytest.raises(
        NoHistoryError, match="fake returned no bars for 1 symbols over 2020-01-01..2022-06-30"
    ):
        update_history(store, provider, ["NOPE"], T("2020-01-01"), T("2022-06-30"))
    with pytest.raises(PermanentError, match="start 2022-07-01 is after its end 2022-06-30"):
        update_history(store, provider, ["AAA"], T("2022-07-01"), T("2022-06-30"))
    update_history(store, provider, ["AAA", "BBB"], T("2020-01-01"), T("2022-06-30"))
    update = update_history(store, provider, ["AAA", "BBB", "CCC"], T("2020-01-01"), T("2022-06-30"))
    assert (
        provider.calls[-1] == Fetch(("CCC",), T("2020-01-01"), T("2022-06-30"))
        and update.sessions_fetched == 0
    )
    pd.testing.assert_frame_equal(read_history(store, update.ref), full)
    unknown = update_history(store, provider, ["AAA", "BBB", "CCC", "NOPE"], T("2020-01-01"), T("2022-06-30"))
    assert provider.calls[-1].symbols == ("NOPE",) and unknown.ref != update.ref
    assert store.manifest(unknown.ref).parts == store.manifest(update.ref).parts  # nothing new to store
    calls = len(provider.calls)
    again = update_history(store, provider, ["AAA", "BBB", "CCC", "NOPE"], T("2020-01-01"), T("2022-06-30"))
    assert again.ref == unknown.ref and len(provider.calls) == calls  # NOPE was asked for once, not every run


def test_a_refetched_symbol_leaves_none_of_its_old_bars_behind(tmp_path):
    store = VersionedStore(str(tmp_path))
    full = pd.concat([panel(("AAA",)), panel(("BBB",), start="2021-01-01")], ignore_index=True)
    full = full.sort_values(["date", "symbol"], ignore_index=True)
    provider = FakeProvider(full[full["date"] <= T("2022-03-31")])
    update_history(store, provider, ["AAA", "BBB"], T("2020-01-01"), T("2022-03-31"))
    restated = full[full["date"] >= T("2021-01-01")].copy()  # AAA's 2020 is gone, the rest re-adjusted
    restated.loc[restated["symbol"] == "AAA", "adj_close"] *= 0.98
    provider.panel = restated.reset_index(drop=True)
    update = update_history(store, provider, ["AAA", "BBB"], T("2020-01-01"), T("2022-06-30"))
    assert update.readjusted == ("AAA",)
    assert sorted(store.manifest(update.ref).parts) == ["year=2021", "year=2022"]
    pd.testing.assert_frame_equal(read_history(store, update.ref), provider.panel)


def test_members_between_counts_everyone_in_the_range(tmp_path):
    from momentum.history import members_between
    from momentum.universe import UniverseSpec

    sp500 = UniverseSpec(provider="alpaca")
    in_2018 = members_between(sp500, T("2018-01-02"), T("2018-12-31"), "SPY")
    later = members_between(sp500, T("2019-01-02"), T("2019-12-31"), "SPY")
    assert "RRC" in in_2018 and "RRC" not in later  # left the index on 2018-06-18
    assert {"SPY", "BRK.B", "AAPL"} <= set(later) and 500 <= len(later) <= 540
    universe = tmp_path / "universe.csv"
    universe.write_text("symbol,start,end\nAAA,2020-01-01,2020-06-30\nBRK-B,2021-01-01,\n")
    listed = UniverseSpec(provider="alpaca", universe="file", universe_file=str(universe))
    assert members_between(listed, T("2020-03-02"), T("2020-12-31"), "QQQ") == ["AAA", "QQQ"]
    assert members_between(listed, T("2020-03-02"), T("2021-03-01"), "QQQ") == ["AAA", "BRK.B", "QQQ"]
    with pytest.raises(PermanentError, match="universe 'all' names no symbols to backfill"):
        members_between(
            UniverseSpec(provider="alpaca", universe="all"), T("2020-01-02"), T("2020-12-31"), "SPY"
        )
