"""Performance metrics over daily returns: pure functions, fractions (0.05 = 5 %), 252 sessions a year.

Conventions (the same as empyrical, which the tests check them against): returns are simple daily
returns of consecutive sessions; the risk-free rate is 0; volatility uses the sample standard deviation
(ddof=1); annualised figures scale by 252 sessions. See ``docs/backtest.md`` for every definition.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

SESSIONS_PER_YEAR = 252


def returns_of(equity: pd.Series) -> pd.Series:
    """Simple daily returns of an equity curve (the first session has none)."""
    return equity.pct_change().iloc[1:]


def cagr(returns: pd.Series) -> float:
    """Compound annual growth rate: ``prod(1 + r) ** (252 / sessions) - 1``."""
    if not len(returns):
        return float("nan")
    return float(np.prod(1.0 + returns.to_numpy()) ** (SESSIONS_PER_YEAR / len(returns)) - 1.0)


def volatility(returns: pd.Series) -> float:
    """Annualised volatility: sample standard deviation of daily returns x sqrt(252)."""
    return float(returns.std(ddof=1) * math.sqrt(SESSIONS_PER_YEAR))


def sharpe(returns: pd.Series) -> float:
    """Annualised Sharpe ratio with a zero risk-free rate: mean / std x sqrt(252)."""
    std = returns.std(ddof=1)
    return float(returns.mean() / std * math.sqrt(SESSIONS_PER_YEAR)) if std > 0 else float("nan")


def sortino(returns: pd.Series) -> float:
    """Annualised Sortino ratio: mean x 252 / (sqrt(mean(min(r, 0)^2)) x sqrt(252))."""
    downside = math.sqrt(float(np.mean(np.minimum(returns.to_numpy(), 0.0) ** 2)))
    if downside == 0:
        return float("nan")
    return float(returns.mean() * SESSIONS_PER_YEAR / (downside * math.sqrt(SESSIONS_PER_YEAR)))


def drawdown(equity: pd.Series) -> pd.Series:
    """Fraction below the running peak at each session (0 at a new high, negative below it)."""
    return equity / equity.cummax() - 1.0


def max_drawdown(equity: pd.Series) -> dict:
    """The deepest drawdown (negative fraction) with its peak, trough and recovery sessions.

    ``recovery`` is the first session after the trough back at or above the peak, None if never.
    """
    dd = drawdown(equity)
    trough = dd.idxmin()
    peak = equity.loc[:trough].idxmax()
    after = equity.loc[trough:]
    recovered = after[after >= equity.loc[peak]]
    return {
        "max_drawdown": float(dd.min()),
        "max_drawdown_peak": peak,
        "max_drawdown_trough": trough,
        "max_drawdown_recovery": recovered.index[0] if len(recovered) else None,
    }


def calmar(returns: pd.Series, max_dd: float) -> float:
    """CAGR divided by the magnitude of the maximum drawdown."""
    return cagr(returns) / abs(max_dd) if max_dd < 0 else float("nan")


def beta_alpha(returns: pd.Series, benchmark: pd.Series) -> tuple[float, float]:
    """Beta = cov(r, b) / var(b); alpha = (1 + mean(r - beta x b)) ** 252 - 1 (annualised)."""
    r, b = returns.to_numpy(), benchmark.to_numpy()
    beta = float(np.cov(r, b, ddof=1)[0, 1] / np.var(b, ddof=1))
    return beta, float((1.0 + np.mean(r - beta * b)) ** SESSIONS_PER_YEAR - 1.0)


def yearly_returns(returns: pd.Series) -> pd.Series:
    """Compounded return of each calendar year (the first and last years may be partial)."""
    return (1.0 + returns).groupby(returns.index.year).prod() - 1.0


def monthly_hit_rate(returns: pd.Series, benchmark: pd.Series) -> float:
    """Fraction of calendar months in which the compounded return beat the benchmark's."""
    months = [returns.index.year, returns.index.month]
    mine = (1.0 + returns).groupby(months).prod()
    theirs = (1.0 + benchmark).groupby(months).prod()
    return float((mine > theirs).mean())


def performance(equity: pd.Series, benchmark: pd.Series | None = None) -> dict:
    """Every curve metric of an equity curve (dollars per session), against ``benchmark`` when given."""
    returns = returns_of(equity)
    dd = max_drawdown(equity)
    years = yearly_returns(returns)
    out = {
        "total_return": float(equity.iloc[-1] / equity.iloc[0] - 1.0),
        "cagr": cagr(returns),
        "volatility": volatility(returns),
        "sharpe": sharpe(returns),
        "sortino": sortino(returns),
        **dd,
        "calmar": calmar(returns, dd["max_drawdown"]),
        "best_year": int(years.idxmax()),
        "best_year_return": float(years.max()),
        "worst_year": int(years.idxmin()),
        "worst_year_return": float(years.min()),
    }
    if benchmark is not None:
        bench = returns_of(benchmark).reindex(returns.index).fillna(0.0)
        out["beta"], out["alpha"] = beta_alpha(returns, bench)
        out["hit_rate"] = monthly_hit_rate(returns, bench)
    return out
