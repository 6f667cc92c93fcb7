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


def max_drawdown(equity: pd.Series) -> float:
    """The deepest fall below a running peak, a negative fraction (0 if the curve never fell)."""
    return float(drawdown(equity).min())


def drawdown_periods(equity: pd.Series) -> pd.DataFrame:
    """Every drawdown of an equity curve, deepest first, one row each.

    ``start``: the peak (the last session at the high before the fall); ``trough``: the lowest session;
    ``recovery``: the first session back at or above the peak (NaT if never); ``depth``: the fall from
    the peak to the trough (negative fraction); ``length``: sessions from the start to the recovery (to
    the last session if not recovered).
    """
    dd = drawdown(equity)
    under = dd < 0
    period = (under & ~under.shift(1, fill_value=False)).cumsum().where(under)
    position = pd.Series(np.arange(len(dd)), index=dd.index)
    first = position.groupby(period).min().to_numpy()
    last = position.groupby(period).max().to_numpy()
    recovered = last + 1 < len(dd)
    end = np.where(recovered, last + 1, len(dd) - 1)
    out = pd.DataFrame(
        {
            "start": dd.index[first - 1],  # the session before the first one under water: the peak
            "trough": dd.groupby(period).idxmin().to_numpy(),
            "recovery": dd.index[end].where(recovered, pd.NaT),
            "depth": dd.groupby(period).min().to_numpy(),
            "length": end - (first - 1),
        }
    )
    return out.sort_values(["depth", "start"], ignore_index=True)


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


def tracking_error(returns: pd.Series, benchmark: pd.Series) -> float:
    """Annualised volatility of the active return ``r - b``: std(r - b) x sqrt(252)."""
    return volatility(returns - benchmark)


def information_ratio(returns: pd.Series, benchmark: pd.Series) -> float:
    """Annualised mean active return over its volatility: mean(r - b) / std(r - b) x sqrt(252)."""
    return sharpe(returns - benchmark)


def skew(returns: pd.Series) -> float:
    """Sample skewness of daily returns (adjusted Fisher-Pearson; negative: a longer left tail)."""
    return float(returns.skew())


def excess_kurtosis(returns: pd.Series) -> float:
    """Sample excess kurtosis of daily returns (0 for a normal distribution; positive: fat tails)."""
    return float(returns.kurt())


def value_at_risk(returns: pd.Series, confidence: float = 0.95) -> float:
    """Daily historical VaR: the ``1 - confidence`` quantile of daily returns (a negative fraction, the
    loss not exceeded on ``confidence`` of the sessions; linear interpolation between sessions)."""
    return float(returns.quantile(1.0 - confidence))


def rolling_sharpe(returns: pd.Series, window: int = SESSIONS_PER_YEAR) -> pd.Series:
    """Annualised Sharpe ratio of each trailing ``window`` sessions (NaN until the window is full)."""
    rolling = returns.rolling(window)
    return rolling.mean() / rolling.std(ddof=1) * math.sqrt(SESSIONS_PER_YEAR)


def rolling_volatility(returns: pd.Series, window: int = SESSIONS_PER_YEAR) -> pd.Series:
    """Annualised volatility of each trailing ``window`` sessions (NaN until the window is full)."""
    return returns.rolling(window).std(ddof=1) * math.sqrt(SESSIONS_PER_YEAR)


def monthly_returns(returns: pd.Series) -> pd.DataFrame:
    """Compounded return of each calendar month: one row per year, columns 1..12 (NaN: no sessions)."""
    months = (1.0 + returns).groupby([returns.index.year, returns.index.month]).prod() - 1.0
    return months.unstack().reindex(columns=range(1, 13)).rename_axis(index="year", columns="month")


def _worst_drawdown(equity: pd.Series) -> dict:
    """The deepest drawdown's peak, trough and recovery sessions (None where there is none)."""
    names = ("max_drawdown_peak", "max_drawdown_trough", "max_drawdown_recovery")
    periods = drawdown_periods(equity)
    if not len(periods):
        return dict.fromkeys(names, None)
    worst = periods.iloc[0]
    recovery = None if pd.isna(worst["recovery"]) else worst["recovery"]
    return dict(zip(names, (worst["start"], worst["trough"], recovery), strict=True))


def performance(equity: pd.Series, benchmark: pd.Series | None = None) -> dict:
    """Every curve metric of an equity curve (dollars per session), against ``benchmark`` when given."""
    returns = returns_of(equity)
    max_dd = max_drawdown(equity)
    years = yearly_returns(returns)
    out = {
        "total_return": float(equity.iloc[-1] / equity.iloc[0] - 1.0),
        "cagr": cagr(returns),
        "volatility": volatility(returns),
        "sharpe": sharpe(returns),
        "sortino": sortino(returns),
        "max_drawdown": max_dd,
        **_worst_drawdown(equity),
        "calmar": calmar(returns, max_dd),
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
