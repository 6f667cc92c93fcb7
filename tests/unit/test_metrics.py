"""Performance metrics: cross-checked against empyrical (empyrical-reloaded) and scipy on random and on
real (embedded) returns, and on hand-made curves."""

from __future__ import annotations

import math

import empyrical as ep
import numpy as np
import pandas as pd
import pytest
import scipy.stats

import momentum.backtest._metrics as m
from momentum.backtest import all_metrics, curves_table, run_backtest, tear_sheet
from momentum.calendar import nyse_sessions
from momentum.providers import bars_to_wide
from momentum.providers.embedded import EmbeddedProvider
from momentum.strategy import EQUAL_WEIGHT, StrategyParams


def _returns(seed: int, n: int = 1500, mean: float = 0.0004, vol: float = 0.012) -> pd.Series:
    days = nyse_sessions("2010-01-01", "2030-12-31")[:n]
    return pd.Series(np.random.default_rng(seed).normal(mean, vol, n), index=days)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_metrics_agree_with_empyrical(seed):
    r, b = _returns(seed), _returns(seed + 100, mean=0.0003, vol=0.01)
    r = r + 0.6 * b  # correlated with the benchmark
    equity = 1e5 * (1 + r).cumprod()
    assert m.cagr(r) == pytest.approx(ep.cagr(r), rel=1e-10)
    assert m.volatility(r) == pytest.approx(ep.annual_volatility(r), rel=1e-10)
    assert m.sharpe(r) == pytest.approx(ep.sharpe_ratio(r), rel=1e-10)
    assert m.sortino(r) == pytest.approx(ep.sortino_ratio(r), rel=1e-10)
    assert m.max_drawdown(equity) == pytest.approx(ep.max_drawdown(r), rel=1e-10)
    assert m.calmar(r, m.max_drawdown(equity)) == pytest.approx(ep.calmar_ratio(r), rel=1e-10)
    alpha, beta = ep.alpha_beta(r, b)
    assert m.beta_alpha(r, b) == pytest.approx((beta, alpha), rel=1e-9)
    yearly = ep.aggregate_returns(r, "yearly")
    np.testing.assert_allclose(m.yearly_returns(r).to_numpy(), yearly.to_numpy(), rtol=1e-10)


def test_equity_curve_helpers_match_returns():
    r = _returns(5, n=600)
    equity = 250.0 * (1 + r).cumprod()
    equity = pd.concat([pd.Series([250.0], index=[r.index[0] - pd.Timedelta(days=1)]), equity])
    np.testing.assert_allclose(m.returns_of(equity).to_numpy(), r.to_numpy(), rtol=0, atol=1e-14)
    got = m.performance(equity)
    assert got["total_return"] == pytest.approx(equity.iloc[-1] / 250.0 - 1)
    assert got["cagr"] == pytest.approx(ep.cagr(r), rel=1e-10)
    assert "beta" not in got and "hit_rate" not in got  # relative metrics need a benchmark


def test_drawdown_periods_on_a_hand_made_curve():
    days = pd.bdate_range("2021-01-01", periods=8)
    equity = pd.Series([100, 120, 90, 60, 80, 119, 121, 110.0], index=days)
    assert m.max_drawdown(equity) == pytest.approx(60 / 120 - 1)
    periods = m.drawdown_periods(equity)
    assert list(periods.columns) == ["start", "trough", "recovery", "depth", "length"]
    assert periods.iloc[0][["start", "trough", "recovery", "length"]].tolist() == [
        days[1],
        days[3],
        days[6],
        5,
    ]
    assert periods.iloc[0]["depth"] == pytest.approx(60 / 120 - 1)
    assert periods.iloc[1][["start", "trough", "length"]].tolist() == [days[6], days[7], 1]
    assert pd.isna(periods.iloc[1]["recovery"]) and periods.iloc[1]["depth"] == pytest.approx(110 / 121 - 1)
    assert m.drawdown(equity).iloc[[0, 1, 6]].tolist() == [0.0, 0.0, 0.0]
    got = m.performance(equity.iloc[:6])
    assert (got["max_drawdown_peak"], got["max_drawdown_trough"], got["max_drawdown_recovery"]) == (
        days[1],
        days[3],
        None,
    )
    rising = pd.Series([1.0, 2.0, 3.0], index=days[:3])
    assert m.max_drawdown(rising) == 0.0 and m.drawdown_periods(rising).empty
    assert m.performance(rising)["max_drawdown_peak"] is None


def test_beta_alpha_hit_rate_and_years_by_construction():
    b = _returns(7, n=800)
    levered = 2 * b
    beta, alpha = m.beta_alpha(levered, b)
    assert beta == pytest.approx(2.0) and alpha == pytest.approx(0.0, abs=1e-12)
    beta, alpha = m.beta_alpha(b + 0.0001, b)
    assert beta == pytest.approx(1.0) and alpha == pytest.approx(1.0001**252 - 1, rel=1e-9)
    assert m.monthly_hit_rate(b + 0.0001, b) == 1.0 and m.monthly_hit_rate(b - 0.0001, b) == 0.0
    months = b.index.to_period("M")
    odd = pd.Series(np.where(months.month % 2 == 1, 0.001, -0.001), index=b.index)
    rate = m.monthly_hit_rate(b + odd, b)
    assert rate == pytest.approx(float((months.unique().month % 2 == 1).mean()))
    years = m.yearly_returns(b)
    assert list(years.index) == sorted(set(b.index.year))
    assert years.iloc[0] == pytest.approx((1 + b[b.index.year == years.index[0]]).prod() - 1)


def test_performance_against_a_benchmark():
    r, b = _returns(11), _returns(12)
    equity, bench = 1e5 * (1 + r).cumprod(), 1e5 * (1 + b).cumprod()
    got = m.performance(equity, bench)
    assert got["best_year_return"] >= got["worst_year_return"]
    assert got["best_year_return"] == pytest.approx(m.yearly_returns(m.returns_of(equity)).max())
    assert got["calmar"] == pytest.approx(got["cagr"] / abs(got["max_drawdown"]))
    assert got["beta"] == pytest.approx(m.beta_alpha(m.returns_of(equity), m.returns_of(bench))[0])
    assert 0 <= got["hit_rate"] <= 1
    flat = pd.Series(1e5, index=r.index)
    assert np.isnan(m.sharpe(m.returns_of(flat))) and np.isnan(m.sortino(m.returns_of(flat)))


# --- the tear sheet on real returns: qmom and equal weight over the embedded history ---------------


@pytest.fixture(scope="module")
def embedded():
    """qmom and equal weight backtested over the embedded history (real closes, default settings)."""
    provider = EmbeddedProvider()
    last = provider.last_session()
    closes, index = bars_to_wide(provider.bars(None, last)), provider.benchmark(None, last)
    params = StrategyParams()
    return {
        "qmom": run_backtest(closes, params=params, benchmark=index),
        EQUAL_WEIGHT: run_backtest(closes, params=params.equal_weight(), benchmark=index),
    }


def test_tear_sheet_figures_agree_with_empyrical_on_real_returns(embedded):
    equity = embedded["qmom"].equity
    r, b = m.returns_of(equity), m.returns_of(embedded[EQUAL_WEIGHT].equity)
    excess_sharpe = ep.excess_sharpe(r, b)
    assert m.information_ratio(r, b) == pytest.approx(excess_sharpe * math.sqrt(252), rel=1e-10)
    assert m.tracking_error(r, b) == pytest.approx(ep.annual_volatility(r - b), rel=1e-10)
    assert m.value_at_risk(r, 0.95) == pytest.approx(ep.value_at_risk(r, cutoff=0.05), rel=1e-12)
    assert m.skew(r) == pytest.approx(scipy.stats.skew(r, bias=False), rel=1e-9)
    assert m.excess_kurtosis(r) == pytest.approx(scipy.stats.kurtosis(r, fisher=True, bias=False), rel=1e-9)
    rolling = m.rolling_sharpe(r).dropna()
    expected = ep.roll_sharpe_ratio(r, 252)
    assert rolling.index.equals(expected.index)
    np.testing.assert_allclose(rolling.to_numpy(), expected.to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(
        m.rolling_volatility(r).dropna().to_numpy(), ep.roll_annual_volatility(r, 252).to_numpy(), rtol=1e-8
    )
    months = m.monthly_returns(r).stack()  # drops the months without sessions
    np.testing.assert_allclose(months.to_numpy(), ep.aggregate_returns(r, "monthly").to_numpy(), rtol=1e-10)
    assert m.drawdown_periods(equity)["depth"].iloc[0] == pytest.approx(ep.max_drawdown(r), rel=1e-10)


def test_drawdown_periods_partition_the_sessions_under_water(embedded):
    equity = embedded["qmom"].equity
    periods = m.drawdown_periods(equity)
    position = pd.Series(np.arange(len(equity)), index=equity.index)
    assert periods["depth"].is_monotonic_increasing and (periods["depth"] < 0).all()
    under = 0
    for p in periods.itertuples():
        end = position[p.recovery] if not pd.isna(p.recovery) else len(equity)
        window = equity.iloc[position[p.start] + 1 : end]
        assert (window < equity[p.start]).all() and window.idxmin() == p.trough
        assert p.depth == pytest.approx(equity[p.trough] / equity[p.start] - 1, rel=1e-12)
        assert p.length == min(end, len(equity) - 1) - position[p.start]
        if not pd.isna(p.recovery):
            assert equity[p.recovery] >= equity[p.start]
        under += len(window)
    assert under == int((m.drawdown(equity) < 0).sum())


def test_tear_sheet_reports_the_functions_and_the_verdict(embedded):
    curves = curves_table(embedded)
    sheet = tear_sheet(curves)
    mine, equal = sheet["series"]["qmom"], sheet["series"][EQUAL_WEIGHT]
    r, b = m.returns_of(embedded["qmom"].equity), m.returns_of(embedded[EQUAL_WEIGHT].equity)
    assert mine["information_ratio"] == m.information_ratio(r, b) and "information_ratio" not in equal
    assert mine["var_95"] == m.value_at_risk(r) and mine["kurtosis"] == m.excess_kurtosis(r)
    worst = m.drawdown_periods(embedded["qmom"].equity).head(5)
    assert [d["depth"] for d in mine["worst_drawdowns"]] == worst["depth"].tolist()
    assert [d["start"] for d in mine["worst_drawdowns"]] == [f"{d:%Y-%m-%d}" for d in worst["start"]]
    assert sum(len(v) == 12 for v in mine["monthly_returns"].values()) == len(mine["monthly_returns"])
    assert {d["date"][:7] for d in mine["rolling_12m"]} == {f"{d:%Y-%m}" for d in r.index[251:]}
    metrics = all_metrics(embedded)
    verdict = sheet["versus_equal_weight"]
    for name, label in (("cagr", "CAGR"), ("sharpe", "Sharpe")):
        got = verdict[name]
        assert (got["strategy"], got["equal_weight"]) == (metrics["qmom"][name], metrics[EQUAL_WEIGHT][name])
        verb = "beat" if got["strategy"] > got["equal_weight"] else "lost to"
        assert f"{verb} equal weight on {label}" in verdict["sentence"]
    assert verdict["sentence"].startswith("qmom ")
    assert tear_sheet(curves[curves["series"] != EQUAL_WEIGHT])["versus_equal_weight"] is None
