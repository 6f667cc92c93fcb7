"""Signals and selection pinned on small hand-computed cases, plus invariants (hypothesis)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from momentum.strategy import (
    StrategyParams,
    holdings_count,
    longest_flat_run,
    score_at,
    score_signals,
    signals_at,
    symbol_ranks,
    trailing_window,
)

LB, SKIP = 10, 2  # small windows keep hand computations readable


def closes(columns: dict[str, list[float]]) -> pd.DataFrame:
    n = max(len(v) for v in columns.values())
    index = pd.bdate_range("2022-01-03", periods=n)
    return pd.DataFrame({k: [np.nan] * (n - len(v)) + list(v) for k, v in columns.items()}, index=index)


def momentum_signals(frame: pd.DataFrame) -> pd.DataFrame:
    """The signals at the frame's last session (:func:`signals_at` at one row), indexed by symbol."""
    values = frame.to_numpy(dtype="float64")
    arrays = signals_at(values, np.array([len(values) - 1]), None, LB, SKIP)
    return pd.DataFrame({name: column[0] for name, column in arrays.items()}, index=frame.columns)


def test_momentum_is_close_t_minus_skip_over_close_t_minus_lookback():
    prices = [float(p) for p in range(100, 111)]  # 11 closes = lookback + 1
    out = momentum_signals(closes({"A": prices}))
    assert out.loc["A", "momentum"] == pytest.approx(prices[LB - SKIP] / prices[0] - 1)  # 108/100 - 1
    assert out.loc["A", "history"] == 11


def test_fip_counts_flat_days_in_the_denominator_only():
    # path t-10..t-2 (9 closes, 8 returns): up, up, flat, down, up, flat, up, up -> 5 up, 1 down, 2 flat
    path = [100, 101, 102, 102, 101, 103, 103, 104, 105]
    prices = path + [50.0, 50.0]  # t-1 and t: outside the fip window, must not matter
    fip = momentum_signals(closes({"A": prices})).loc["A", "fip"]
    assert fip == pytest.approx(1 * (1 / 8 - 5 / 8))  # sign(mom)=+1


def test_fip_sign_follows_momentum():
    path = [100, 99, 98, 98, 97, 96, 97, 95, 94]  # momentum < 0, 6 down, 1 up, 1 flat
    fip = momentum_signals(closes({"A": path + [1.0, 1.0]})).loc["A", "fip"]
    assert fip == pytest.approx(-1 * (6 / 8 - 1 / 8))


def test_windows_count_each_symbols_own_sessions():
    """A symbol listed mid-window has too little history; a gap does not shift its window."""
    full = [float(p) for p in range(100, 115)]
    late = [float(p) for p in range(200, 206)]
    frame = closes({"A": full, "B": late})
    out = momentum_signals(frame)
    assert out.loc["B", "history"] == 6 and np.isnan(out.loc["B", "momentum"])
    gappy = frame.copy()
    gappy.iloc[5, 0] = np.nan  # one missing bar of A: its own last 11 closes are used
    own = gappy["A"].dropna().to_numpy()[-(LB + 1) :]
    assert momentum_signals(gappy).loc["A", "momentum"] == pytest.approx(own[LB - SKIP] / own[0] - 1)


def test_no_close_at_t_means_no_signal():
    frame = closes({"A": [float(p) for p in range(100, 112)], "B": [float(p) for p in range(50, 62)]})
    frame.iloc[-1, 1] = np.nan
    out = momentum_signals(frame)
    assert out.loc["B", "history"] == 0 and np.isnan(out.loc["B", "momentum"])


def test_longest_flat_run():
    window = np.array([[1.0, 1], [1, 2], [1, 2], [2, 2], [2, 3]])
    assert list(longest_flat_run(window)) == [2, 2]


def test_holdings_rule():
    rule = {"min_holdings": 5, "fraction": 0.05}
    assert holdings_count(500, **rule) == 25 and holdings_count(20, **rule) == 5
    assert holdings_count(3, **rule) == 3
    assert holdings_count(510, **rule) == 26  # 25.5 rounds half up
    assert holdings_count(500, **rule, fixed=10) == 10


def test_qmom_keeps_lowest_fip_of_top_2h_and_breaks_ties_by_symbol():
    symbols = np.array(["A", "C", "B", "D", "E", "F"], dtype=object)
    signals = {
        "momentum": np.array([0.5, 0.4, 0.4, 0.3, 0.1, 0.05]),
        "fip": np.array([-0.1, -0.5, -0.5, -0.9, -1.0, -1.0]),
        "history": np.full(6, 300),
        "flat_run": np.zeros(6, int),
    }

    def selection(strategy: str) -> pd.DataFrame:
        out = score_signals(
            signals,
            symbol_ranks(symbols),
            member=None,
            quarantined=None,
            to_cash=False,
            params=StrategyParams(strategy=strategy, holdings=2),
        )
        columns = {name: out[name] for name in ("in_pool", "selected", "weight")}
        return pd.DataFrame(columns, index=symbols)

    table = selection("qmom")
    assert set(table.index[table["in_pool"]]) == {"A", "B", "C", "D"}
    assert set(table.index[table["selected"]]) == {"D", "B"}  # D lowest fip; B beats C on symbol
    assert table.loc["D", "weight"] == 0.5 and table["weight"].sum() == pytest.approx(1.0)
    plain = selection("momentum")
    assert set(plain.index[plain["selected"]]) == {"A", "B"}


def test_eligibility_reasons_name_the_rule():
    rising = [float(p) for p in range(100, 115)]
    frame = closes({"A": rising, "B": rising, "C": rising, "D": rising[-5:], "E": rising})
    frame.iloc[-1, 2] = np.nan  # C: no close at t
    table = score_at(
        frame,
        members={"A", "C", "D", "E"},
        quarantined={"E"},
        params=StrategyParams(lookback=LB, skip=SKIP),
    )
    reasons = table.set_index("symbol")["reason"]
    assert reasons["A"] == "" and "member" in reasons["B"] and "no close" in reasons["C"]
    assert "history" in reasons["D"] and "quarantined" in reasons["E"]


price_panels = st.integers(min_value=0, max_value=10_000).map(
    lambda seed: pd.DataFrame(
        100 * np.exp(np.cumsum(np.random.default_rng(seed).normal(0, 0.02, (40, 8)), axis=0)).round(2),
        index=pd.bdate_range("2020-01-01", periods=40),
        columns=[f"S{i}" for i in range(8)],
    )
)
PARAMS = StrategyParams(lookback=20, skip=3, min_holdings=2)


@settings(max_examples=40, deadline=None)
@given(price_panels, st.floats(min_value=0.01, max_value=1000), st.integers(0, 7))
def test_scaling_a_symbols_prices_leaves_its_scores_unchanged(panel, factor, column):
    scaled = panel.copy()
    scaled.iloc[:, column] = scaled.iloc[:, column] * factor
    a = score_at(panel, members=None, params=PARAMS)
    b = score_at(scaled, members=None, params=PARAMS)
    pd.testing.assert_frame_equal(a, b, rtol=1e-9)


@settings(max_examples=40, deadline=None)
@given(price_panels, st.randoms(use_true_random=False))
def test_permuting_symbols_permutes_the_output(panel, rnd):
    order = list(panel.columns)
    rnd.shuffle(order)
    a = score_at(panel, members=None, params=PARAMS).set_index("symbol")
    b = score_at(panel[order], members=None, params=PARAMS).set_index("symbol")
    pd.testing.assert_frame_equal(a, b.loc[a.index])


@settings(max_examples=40, deadline=None)
@given(price_panels, st.integers(25, 39))
def test_future_rows_never_change_a_past_score(panel, t):
    as_of = panel.index[t]
    past = score_at(panel, members=None, params=PARAMS, as_of=as_of)
    noisy_future = panel.copy()
    noisy_future.iloc[t + 1 :] = noisy_future.iloc[t + 1 :] * 3.7
    noisy_future.iloc[t + 2 :, 0] = np.nan  # a delisting after t
    again = score_at(noisy_future, members=None, params=PARAMS, as_of=as_of)
    pd.testing.assert_frame_equal(past, again)


def test_no_look_ahead_on_any_embedded_rebalance_date():
    """Every signal session of the embedded history: perturbing later rows changes nothing at t."""
    from momentum.calendar import signal_sessions
    from momentum.providers import bars_to_wide
    from momentum.providers.embedded import EmbeddedProvider

    provider = EmbeddedProvider()
    wide = bars_to_wide(provider.bars(None, provider.last_session()))
    bench = provider.benchmark(None, provider.last_session())
    params = StrategyParams(regime_filter=True)
    rng = np.random.default_rng(0)
    dates = signal_sessions(wide.index[0], wide.index[-1])
    assert len(dates) > 120
    for t in dates:
        future = wide.index > t
        perturbed = wide.copy()
        perturbed.loc[future] = perturbed.loc[future] * rng.uniform(
            0.2, 5, (int(future.sum()), wide.shape[1])
        )
        bench_perturbed = bench.where(bench.index <= t, bench * 0.1)
        expected = score_at(wide, members=None, benchmark=bench, params=params, as_of=t)
        got = score_at(perturbed, members=None, benchmark=bench_perturbed, params=params, as_of=t)
        pd.testing.assert_frame_equal(expected, got)


@pytest.mark.parametrize(
    ("symbol", "as_of", "why"),
    [
        ("RRC", "2019-02-28", "left the index on 2018-06-18"),
        ("AMD", "2015-02-27", "out of the index 2013-09-20 .. 2017-03-20"),
        ("MSFT", "1994-05-31", "joins the index on 1994-06-01"),
    ],
)
def test_point_in_time_universe_on_the_embedded_data(symbol, as_of, why):
    """A symbol outside the index at t is never eligible at t, whatever its momentum."""
    from momentum.providers import bars_to_wide
    from momentum.providers.embedded import EmbeddedProvider
    from momentum.universe import UniverseSpec, universe_members

    wide = bars_to_wide(EmbeddedProvider().bars(None, pd.Timestamp(as_of)))
    members = universe_members(UniverseSpec(), list(wide.columns), pd.Timestamp(as_of))
    table = score_at(wide, members=members, params=StrategyParams(holdings=19), as_of=pd.Timestamp(as_of))
    row = table.set_index("symbol").loc[symbol]
    assert (
        not row["eligible"] and not row["selected"] and row["reason"] == "not a universe member at as_of"
    ), why
    assert table["selected"].sum() == min(19, table["eligible"].sum())


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 30))
def test_trailing_window_equals_each_symbols_own_last_closes(seed, length):
    """The fast path (complete tails) and the gather path agree with a per-column reference."""
    rng = np.random.default_rng(seed)
    values = rng.uniform(1, 2, (25, 6))
    values[rng.random(values.shape) < rng.uniform(0, 0.5)] = np.nan
    got = trailing_window(values, length)
    for j in range(values.shape[1]):
        own = values[~np.isnan(values[:, j]), j][-length:]
        expected = np.r_[np.full(length - len(own), np.nan), own]
        np.testing.assert_array_equal(got[:, j], expected)


def gathered_signals(values: np.ndarray, lookback: int, skip: int) -> dict[str, np.ndarray]:
    """Reference: each symbol's own last lookback+1 bars, gathered one column at a time."""
    n = values.shape[1]
    out = {
        "momentum": np.full(n, np.nan),
        "fip": np.full(n, np.nan),
        "history": np.zeros(n, int),
        "flat_run": np.zeros(n, int),
    }
    for j in range(n):
        own = values[~np.isnan(values[:, j]), j]
        if np.isnan(values[-1, j]):
            continue
        out["history"][j] = len(own)
        if len(own) < lookback + 1:
            continue
        window = own[-(lookback + 1) :]
        path = window[: lookback - skip + 1]
        momentum = window[lookback - skip] / window[0] - 1
        moves = np.diff(path)
        out["momentum"][j] = momentum
        out["fip"][j] = np.sign(momentum) * ((moves < 0).sum() - (moves > 0).sum()) / (lookback - skip)
        run = best = 0
        for a, b in zip(window[:-1], window[1:], strict=True):
            run = run + 1 if a == b else 0
            best = max(best, run)
        out["flat_run"][j] = best
    return out


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000))
def test_signals_at_many_sessions_equal_each_sessions_own_window(seed):
    """The one-pass computation over many (start, end) windows equals a per-window, per-symbol reference:
    gaps, late listings, delistings, flat runs and windows that start mid-panel included."""
    from momentum.strategy import signals_at

    rng = np.random.default_rng(seed)
    sessions, n = int(rng.integers(LB + 2, 60)), 7
    values = np.round(rng.uniform(1, 1.2, (sessions, n)), int(rng.integers(1, 4)))  # rounding makes flat days
    values[:, 0] = values[0, 0]  # a stale column
    values[rng.random(values.shape) < rng.uniform(0, 0.2)] = np.nan
    values[: int(rng.integers(0, sessions)), 1] = np.nan  # a late listing
    values[int(rng.integers(0, sessions)) :, 2] = np.nan  # a delisting
    ends = np.sort(rng.choice(sessions, size=min(sessions, 6), replace=False))
    starts = np.maximum(ends - rng.integers(0, sessions, len(ends)), 0)
    got = signals_at(values, ends, starts, LB, SKIP)
    for k, (start, end) in enumerate(zip(starts, ends, strict=True)):
        expected = gathered_signals(values[start : end + 1], LB, SKIP)
        for name, column in expected.items():
            np.testing.assert_allclose(got[name][k], column, rtol=1e-12, err_msg=f"{name} at row {end}")
