"""What every figure of the report means, in one place (the page lists them; docs/backtest.md mirrors
them). r: a series' simple daily returns, b: the benchmark's (the provider's index, or equal weight for
the relative figures of the tear sheet), n: sessions; risk-free rate 0; 252 sessions a year."""

from __future__ import annotations

CONVENTIONS = (
    "Returns are simple daily returns of consecutive sessions, as fractions (the page shows percent). "
    "The risk-free rate is 0. Annualised figures scale by 252 sessions a year. Standard deviations are "
    "sample ones (ddof 1). The tests check these definitions against empyrical-reloaded."
)
DEFINITIONS = {
    "total_return": "last equity / first equity - 1.",
    "cagr": "compound annual growth rate: prod(1 + r) ^ (252 / n) - 1.",
    "volatility": "annualised volatility: std(r) x sqrt(252).",
    "sharpe": "annualised Sharpe ratio: mean(r) / std(r) x sqrt(252) (risk-free rate 0).",
    "sortino": "annualised Sortino ratio: mean(r) x 252 / (sqrt(mean(min(r, 0)^2)) x sqrt(252)).",
    "max_drawdown": "the deepest fall below a running peak: min of equity / running peak - 1.",
    "max_drawdown_peak": "the session of the peak before the deepest drawdown.",
    "max_drawdown_trough": "the lowest session of the deepest drawdown.",
    "max_drawdown_recovery": "the first session back at or above that peak (– if never).",
    "calmar": "cagr / |max_drawdown|.",
    "best_year": "the calendar year with the highest compounded return (first and last may be partial).",
    "best_year_return": "that year's compounded return: prod(1 + r) - 1 over its sessions.",
    "worst_year": "the calendar year with the lowest compounded return.",
    "worst_year_return": "that year's compounded return.",
    "beta": "cov(r, b) / var(b) against the provider's index.",
    "alpha": "annualised alpha against the index: (1 + mean(r - beta x b)) ^ 252 - 1.",
    "hit_rate": "fraction of calendar months whose compounded return beat the index's.",
    "turnover": "mean per rebalance of (bought + sold) / 2 / equity before trading (a full swap = 1).",
    "avg_holdings": "mean number of names held per session from the first fill on.",
    "rebalances": "number of rebalances.",
    "final_equity": "equity at the last session, in dollars.",
    "excess_vs_equal_weight": "cagr - the equal weight's cagr (strategies only).",
    "information_ratio": "annualised information ratio against equal weight: "
    "mean(r - b) / std(r - b) x sqrt(252) (strategies only).",
    "tracking_error": "annualised tracking error against equal weight: std(r - b) x sqrt(252).",
    "skew": "sample skewness of daily returns (adjusted Fisher-Pearson; negative: a longer left tail).",
    "kurtosis": "sample excess kurtosis of daily returns (0 for a normal distribution; above: fat tails).",
    "var_95": "95 % daily historical value at risk: the 5th percentile of daily returns, the loss "
    "not exceeded on 95 % of sessions (linear interpolation).",
    "worst drawdowns": "the five deepest falls below a running peak: start (the peak session), trough, "
    "recovery (the first session back at the peak; – if not yet), depth (trough / peak - 1) and length "
    "(sessions from the start to the recovery, or to the last session).",
    "monthly returns": "each calendar month's compounded return prod(1 + r) - 1 (first and last months "
    "may be partial).",
    "rolling 12-month return": "equity / equity 252 sessions earlier - 1.",
    "rolling Sharpe and volatility": "sharpe and volatility over each trailing 252 sessions "
    "(12 months), from the first full window.",
}
