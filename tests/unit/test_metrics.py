"""Performance metrics: cross-checked against empyrical (empyrical-reloaded) and on hand-made curves."""

from __future__ import annotations

import empyrical as ep
import numpy as np
import pandas as pd
import pytest

import momentum.backtest._metrics as m
from momentum.calendar import nyse_sessions


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
    assert m.max_drawdown(equity)["max_drawdown"] == pytest.approx(ep.max_drawdown(r), rel=1e-10)
    assert m.calmar(r, m.max_drawdown(equity)["max_drawdown"]) == pytest.approx(ep.calmar_ratio(r), rel=1e-10)
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


def test_drawdown_dates_on_a_hand_made_curve():
    days = pd.bdate_range("2021-01-01", periods=8)
    equity = pd.Series([100, 120, 90, 60, 80, 119, 121, 110.0], index=days)
    dd = m.max_drawdown(equity)
    assert dd["max_drawdown"] == pytest.approx(60 / 120 - 1)
    assert (dd["max_drawdown_peak"], dd["max_drawdown_trough"], dd["max_drawdown_recovery"]) == (
        days[1],
        days[3],
        days[6],
    )
    never = m.max_drawdown(equity.iloc[:6])
    assert never["max_drawdown_recovery"] is None
    assert m.drawdown(equity).iloc[[0, 1, 6]].tolist() == [0.0, 0.0, 0.0]


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
