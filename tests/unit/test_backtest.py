"""The backtest engine against hand-written references, costs, delistings and timing; its report page,
plots and the sweep's parsing. (Live parity, the flow, CLI, sweep and notebook: tests/integration.)"""

from __future__ import annotations

from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from momentum.backtest import (
    BacktestConfig,
    all_metrics,
    curves_table,
    metrics_table,
    percent,
    plot_drawdown,
    plot_equity,
    plot_holdings_turnover,
    plot_monthly_returns,
    plot_rolling,
    plot_rolling_risk,
    plot_yearly,
    rebalances_table,
    render_html,
    render_pngs,
    run_backtest,
    tear_sheet,
)
from momentum.backtest._metrics import monthly_returns, returns_of
from momentum.calendar import nyse_sessions, session_offset
from momentum.providers import bars_to_wide
from momentum.providers.synthetic import synthetic_panel
from momentum.strategy import EQUAL_WEIGHT, StrategyParams
from tests.support.backtest import assert_report


@pytest.fixture(scope="module")
def synthetic():
    """60 symbols x 900 sessions with late listings and delistings (the five best 12-month performers at
    session 500 stop trading in the quarter after); benchmark = the equal-weight index."""
    wide = bars_to_wide(synthetic_panel(60, 900, seed=11))
    winners = (wide.iloc[500] / wide.iloc[248]).nlargest(5).index
    for k, symbol in enumerate(winners):
        wide.iloc[520 + 7 * k :, wide.columns.get_loc(symbol)] = np.nan
    return wide, (1 + wide.pct_change().mean(axis=1).fillna(0)).cumprod() * 100


# --- accounting against hand-written references ---------------------------------------------------


def _reference_curve(closes: pd.DataFrame, result, initial_cash: float) -> pd.Series:
    """Day-by-day loop, fractional shares, trades at the signal close, no costs: at each rebalance
    sell what stopped trading, then hold floor(1e6 x weight x equity / close) / 1e6 shares of each pick."""
    prices = closes.ffill()
    picks = {
        r.signal_date: r.selected.split(",") if r.selected else [] for r in result.rebalances.itertuples()
    }
    cash, shares, curve = initial_cash, {}, {}
    for day in result.equity.index:
        row = prices.loc[day]
        if day in picks:
            for symbol in [s for s in shares if np.isnan(closes.at[day, s])]:
                cash += shares.pop(symbol) * row[symbol]
            equity = cash + sum(q * row[s] for s, q in shares.items())
            shares = {s: np.floor(equity / len(picks[day]) / row[s] * 1e6) / 1e6 for s in picks[day]}
            cash = equity - sum(q * row[s] for s, q in shares.items())
        curve[day] = cash + sum(q * row[s] for s, q in shares.items())
    return pd.Series(curve)


def test_zero_cost_equity_equals_a_hand_written_reference(synthetic):
    closes, benchmark = synthetic
    config = BacktestConfig(trade_offset=0, fractional=True, min_order_value=0.0, initial_cash=250_000.0)
    result = run_backtest(
        closes, params=StrategyParams(strategy="qmom", holdings=6), config=config, benchmark=benchmark
    )
    assert (result.trades["reason"] == "delisted").any()  # the panel exercises delistings too
    reference = _reference_curve(closes, result, 250_000.0)
    assert result.final_equity == pytest.approx(reference.iloc[-1], rel=1e-9)
    np.testing.assert_allclose(result.equity.to_numpy(), reference.to_numpy(), rtol=1e-9)


def _equal_weight_reference(
    closes: pd.DataFrame, members, days: pd.DatetimeIndex, initial_cash: float
) -> pd.Series:
    """Day-by-day loop, fractional shares, trades at the signal close, no costs: at each rebalance day
    sell everything, then hold floor(1e6 x equity / n / close) / 1e6 shares of each of the n universe
    members with a close that day."""
    prices = closes.ffill()
    cash, shares, curve = initial_cash, {}, {}
    for day in closes.loc[days[0] :].index:
        row = prices.loc[day]
        if day in days:
            cash += sum(q * row[s] for s, q in shares.items())
            picks = [s for s in sorted(members(day)) if not np.isnan(closes.at[day, s])]
            shares = {s: np.floor(cash / len(picks) / row[s] * 1e6) / 1e6 for s in picks}
            cash -= sum(q * row[s] for s, q in shares.items())
        curve[day] = cash + sum(q * row[s] for s, q in shares.items())
    return pd.Series(curve)


def test_equal_weight_curve_equals_an_independent_computation(synthetic):
    closes, benchmark = synthetic
    universe = lambda day: set(closes.columns[: 35 if day.month < 7 else 50])  # noqa: E731 - changes twice a year
    config = BacktestConfig(trade_offset=0, fractional=True, min_order_value=0.0, initial_cash=250_000.0)
    params = StrategyParams(strategy="qmom", holdings=6, regime_filter=True).equal_weight()
    assert params.strategy == EQUAL_WEIGHT and not params.regime_filter and params.lookback == 252
    result = run_backtest(closes, params=params, config=config, members=universe, benchmark=benchmark)
    days = pd.DatetimeIndex(result.rebalances["signal_date"])
    reference = _equal_weight_reference(closes, universe, days, 250_000.0)
    assert (result.trades["reason"] == "delisted").any() and result.holdings.max() == 50
    expected = [",".join(s for s in sorted(universe(d)) if not np.isnan(closes.at[d, s])) for d in days]
    assert result.rebalances["selected"].tolist() == expected  # names without a full window included
    np.testing.assert_allclose(result.equity.loc[days[0] :].to_numpy(), reference.to_numpy(), rtol=1e-9)
    assert result.final_equity == pytest.approx(reference.iloc[-1], rel=1e-9)


def _replay(closes: pd.DataFrame, result, initial_cash: float, with_costs: bool) -> float:
    """Final equity from the recorded fills alone: cash flows of every fill, then the last holdings."""
    signed = np.where(result.trades["side"] == "buy", 1.0, -1.0) * result.trades["qty"]
    cash = initial_cash - float((signed * result.trades["price"]).sum())
    cash -= float(result.trades["cost"].sum()) if with_costs else 0.0
    held = signed.groupby(result.trades["symbol"]).sum()
    last = closes.ffill().loc[result.equity.index[-1]]
    return cash + float((held * last[held.index]).sum())


def test_whole_shares_next_session_fills_replay_exactly(synthetic):
    closes, benchmark = synthetic
    result = run_backtest(
        closes,
        params=StrategyParams(strategy="momentum", holdings=5),
        config=BacktestConfig(trade_offset=1),
        benchmark=benchmark,
    )
    assert (result.trades["qty"] % 1 == 0).all()
    assert result.final_equity == pytest.approx(_replay(closes, result, 100_000.0, True), rel=1e-9)
    # planned at the signal close, filled at the trade close: only buys are ever cut, never increased
    fills = result.trades[result.trades["reason"] == "rebalance"]
    assert (fills["qty"] <= fills["planned_qty"]).all()
    assert (fills.loc[fills["qty"] < fills["planned_qty"], "side"] == "buy").all()
    assert (result.cash >= -1e-6).all()


def test_costs_follow_the_documented_convention(synthetic):
    closes, benchmark = synthetic
    config = BacktestConfig(cost_bps=10.0, slippage_bps=5.0, fractional=True)
    result = run_backtest(closes, params=StrategyParams(holdings=5), config=config, benchmark=benchmark)
    trades = result.trades
    np.testing.assert_allclose(trades["cost"], 15e-4 * trades["qty"] * trades["price"], rtol=1e-12)
    np.testing.assert_allclose(trades["notional"], trades["qty"] * trades["price"], rtol=1e-12)
    assert result.final_equity == pytest.approx(_replay(closes, result, 100_000.0, True), rel=1e-9)
    # the same fills without costs end exactly the total cost higher
    assert _replay(closes, result, 100_000.0, False) - result.final_equity == pytest.approx(
        trades["cost"].sum(), rel=1e-9
    )
    assert result.rebalances["costs"].sum() == pytest.approx(trades["cost"].sum())
    free = run_backtest(
        closes, params=StrategyParams(holdings=5), config=BacktestConfig(fractional=True), benchmark=benchmark
    )
    assert free.final_equity > result.final_equity
    assert (result.cash >= -1e-6).all()


# --- delistings, timing, holdings ------------------------------------------------------------------


def _trending_panel() -> pd.DataFrame:
    """Six symbols with steady, distinct trends; A, the strongest, stops trading on 2019-07-15."""
    days = nyse_sessions("2017-01-01", "2020-06-30")
    t = np.arange(len(days))[:, None]
    drift = np.array([0.0030, 0.0020, 0.0015, 0.0010, 0.0005, 0.0001])
    wiggle = 0.004 * np.sin(t * np.array([0.7, 1.1, 1.3, 1.7, 1.9, 2.3]))
    closes = pd.DataFrame(50 * np.exp(drift * t + wiggle), index=days, columns=list("ABCDEF"))
    closes.loc["2019-07-16":, "A"] = np.nan
    return closes


def test_a_delisted_holding_is_sold_at_its_last_close():
    closes = _trending_panel()
    result = run_backtest(
        closes, params=StrategyParams(strategy="momentum", holdings=2), config=BacktestConfig(cost_bps=10.0)
    )
    assert "A" in result.rebalances.set_index("signal_date").loc["2019-05-31", "selected"].split(",")
    sale = result.trades[result.trades["reason"] == "delisted"]
    assert list(sale["symbol"]) == ["A"] and sale.iloc[0]["trade_date"] == pd.Timestamp("2019-08-30")
    assert sale.iloc[0]["price"] == closes.loc["2019-07-15", "A"]
    held_a = (
        result.trades.query("symbol == 'A'")
        .assign(signed=lambda f: np.where(f["side"] == "buy", 1, -1) * f["qty"])["signed"]
        .sum()
    )
    assert held_a == 0
    # valued at its last close while nobody can trade it: no jump in equity at the delisting
    gap = result.equity.loc["2019-07-12":"2019-07-17"].pct_change().abs().max()
    assert gap < 0.02
    after = result.rebalances[result.rebalances["signal_date"] > "2019-07-15"]
    assert not after["selected"].str.contains("A").any()


def test_a_rebalance_session_missing_from_the_closes_is_an_error_not_a_guess():
    closes = _trending_panel().drop(index=[pd.Timestamp("2019-08-30"), pd.Timestamp("2019-09-03")])
    with pytest.raises(ValueError, match="rebalance session.*2019-08-30, 2019-09-03"):
        run_backtest(closes, params=StrategyParams(strategy="momentum", holdings=2))


def test_trades_at_the_offset_session_close_and_never_look_ahead():
    closes = _trending_panel()
    params, config = StrategyParams(strategy="momentum", holdings=3), BacktestConfig(trade_offset=2)
    result = run_backtest(closes, params=params, config=config)
    for row in result.rebalances.itertuples():
        assert row.trade_date == session_offset(row.signal_date, 2)
        plan = result.orders[result.orders["signal_date"] == row.signal_date]
        assert (plan["ref_price"].to_numpy() == closes.loc[row.signal_date, plan["symbol"]].to_numpy()).all()
    fills = result.trades[result.trades["reason"] == "rebalance"]
    assert all(
        p == closes.at[d, s]
        for d, s, p in zip(fills["trade_date"], fills["symbol"], fills["price"], strict=True)
    )
    cut = result.rebalances["signal_date"].iloc[4]
    changed = closes.copy()
    changed.loc[changed.index > cut] *= np.linspace(0.2, 3.0, closes.shape[1])  # rewrite the future
    again = run_backtest(changed, params=params, config=config)
    before = lambda r: r.rebalances[r.rebalances["signal_date"] <= cut]  # noqa: E731
    pd.testing.assert_frame_equal(
        before(result)[["selected", "cash_before"]], before(again)[["selected", "cash_before"]]
    )
    pd.testing.assert_frame_equal(
        result.orders[result.orders["signal_date"] <= cut], again.orders[again.orders["signal_date"] <= cut]
    )


def test_curves_holdings_and_turnover(synthetic):
    closes, benchmark = synthetic
    result = run_backtest(
        closes,
        params=StrategyParams(holdings=5),
        config=BacktestConfig(start=pd.Timestamp("2022-07-01")),
        benchmark=benchmark,
    )
    first = result.rebalances.iloc[0]
    assert result.equity.index[0] == pd.Timestamp("2022-07-01")
    assert (result.equity.loc[: first.trade_date - pd.Timedelta(days=1)] == 100_000.0).all()
    assert result.benchmark.iloc[0] == pytest.approx(100_000.0)
    assert result.holdings.loc[first.trade_date :].between(1, 5).all()
    assert first.turnover == pytest.approx(first.bought / 2 / 100_000.0)
    metrics = result.metrics()
    assert metrics["rebalances"] == len(result.rebalances) and 1 <= metrics["avg_holdings"] <= 5
    assert metrics["turnover"] == pytest.approx(result.rebalances["turnover"].mean())


# --- report, plots, sweep parsing -----------------------------------------------------------------


def test_report_has_every_plot_inline(synthetic):
    closes, benchmark = synthetic
    results = {
        name: run_backtest(closes, params=StrategyParams(strategy=name, holdings=4), benchmark=benchmark)
        for name in ("qmom", "momentum")
    }
    curves, rebalances = curves_table(results), rebalances_table(results)
    assert set(curves["series"]) == {"qmom", "momentum", "benchmark"}
    pngs = render_pngs(curves, rebalances)
    tables = {
        "backtest_equity": curves,
        "backtest_rebalances": rebalances,
        "backtest_metrics": metrics_table({n: r.metrics() for n, r in results.items()}),
    }
    page = render_html("synthetic", tables, pngs)
    assert_report(page)
    assert "qmom" in page and "momentum" in page and "hit_rate" in page
    assert 'id="verdict"' not in page  # no equal weight to beat


@pytest.fixture(scope="module")
def versus_equal_weight(synthetic):
    """qmom with 4 holdings and its equal-weight comparison on the synthetic market, by series name."""
    closes, benchmark = synthetic
    params = StrategyParams(strategy="qmom", holdings=4)
    return {
        "qmom": run_backtest(closes, params=params, benchmark=benchmark),
        EQUAL_WEIGHT: run_backtest(closes, params=params.equal_weight(), benchmark=benchmark),
    }


class _Sections(HTMLParser):
    """Ids of the page's elements in order, each table's rows (cell texts) by table id, the verdict."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.rows: dict[str, list[list[str]]] = {}
        self.verdict = ""
        self._table: str | None = None
        self._in_verdict = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.ids += [attrs["id"]] if "id" in attrs else []
        self._in_verdict = attrs.get("id") == "verdict"
        if tag == "table":
            self._table = attrs["id"]
            self.rows[self._table] = []
        elif tag == "tr" and self._table:
            self.rows[self._table].append([])
        elif tag in ("td", "th") and self._table:
            self.rows[self._table][-1].append("")

    def handle_endtag(self, tag):
        self._table = None if tag == "table" else self._table
        self._in_verdict = self._in_verdict and tag != "p"

    def handle_data(self, data):
        if self._table and self.rows[self._table] and self.rows[self._table][-1]:
            self.rows[self._table][-1][-1] += data
        if self._in_verdict:
            self.verdict += data


def test_report_opens_with_the_verdict_and_defines_every_metric(versus_equal_weight):
    results = versus_equal_weight
    curves, rebalances = curves_table(results), rebalances_table(results)
    tables = {
        "backtest_equity": curves,
        "backtest_rebalances": rebalances,
        "backtest_metrics": metrics_table(all_metrics(results)),
    }
    parser = _Sections()
    parser.feed(render_html("synthetic", tables, {}))
    sheet = tear_sheet(curves)
    assert parser.ids[:1] == ["verdict"] and parser.verdict == sheet["versus_equal_weight"]["sentence"]
    assert {"metrics", "worst-drawdowns", "definitions", "rebalances"} <= set(parser.ids)
    shown = [row[0] for row in parser.rows["metrics"][1:]]  # after the header row
    assert {"information_ratio", "tracking_error", "skew", "kurtosis", "var_95"} <= set(shown)
    assert {f"definition-{name}" for name in shown} <= set(parser.ids)
    drawdowns = parser.rows["worst-drawdowns"]
    assert drawdowns[0] == ["series", "start", "trough", "recovery", "depth", "length (sessions)"]
    assert [row[0] for row in drawdowns[1:]] == [n for n in sheet["series"] for _ in range(5)]
    worst = sheet["series"]["qmom"]["worst_drawdowns"][0]
    recovery = worst["recovery"] or "not yet"
    assert drawdowns[1][1:] == [
        worst["start"],
        worst["trough"],
        recovery,
        percent(worst["depth"]),
        str(worst["length"]),
    ]


def test_monthly_heatmap_shows_the_strategy_monthly_returns(synthetic):
    closes, benchmark = synthetic
    result = run_backtest(closes, params=StrategyParams(strategy="qmom", holdings=4), benchmark=benchmark)
    curves = curves_table({"qmom": result})
    (ax, _colorbar) = plot_monthly_returns(curves).axes
    table = monthly_returns(returns_of(result.equity))
    cells = [float(t.get_text()) for t in ax.texts]
    assert cells == [round(100 * v, 1) for v in table.to_numpy().ravel() if not np.isnan(v)]
    assert [t.get_text() for t in ax.get_yticklabels()] == [str(y) for y in table.index]
    assert "qmom" in ax.get_title()


def test_legends_are_outside_every_plot_and_the_holdings_plot_names_the_holdings(versus_equal_weight):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    results = versus_equal_weight
    curves, rebalances = curves_table(results), rebalances_table(results)
    figures = [
        plot_equity(curves),
        plot_drawdown(curves),
        plot_yearly(curves),
        plot_rolling(curves),
        plot_rolling_risk(curves),
        plot_holdings_turnover(curves, rebalances),
    ]
    for fig in figures:
        FigureCanvasAgg(fig).draw()
        renderer = fig.canvas.get_renderer()
        assert len(fig.legends) == 1 and not any(ax.get_legend() for ax in fig.axes)
        box = fig.legends[0].get_window_extent(renderer)
        for ax in fig.axes:
            assert not box.overlaps(ax.get_window_extent(renderer)), fig.axes[0].get_title()
    names, cash, _ = figures[-1].axes
    held = set(",".join(rebalances.query("series == 'qmom'")["selected"]).split(","))
    assert {t.get_text() for t in names.get_yticklabels()} == held and "qmom" in names.get_title()
    shares = {line.get_label(): line for line in cash.get_lines()}
    assert set(shares) == {"qmom", EQUAL_WEIGHT}
    for name, line in shares.items():  # from the first trade on: the all-cash start is not a cash share
        equity = results[name].equity.loc[rebalances["trade_date"].min() :]
        np.testing.assert_allclose(
            line.get_ydata(), (results[name].cash / results[name].equity).loc[equity.index]
        )
        assert 0 <= line.get_ydata().min() and line.get_ydata().max() < 1


def test_parse_sweep():
    from momentum_cli.backtest_cmd import parse_sweep

    assert parse_sweep(["lookback=126,252", "rebalance_months=2/5/8/11,3/6/9/12"]) == {
        "lookback": [126, 252],
        "rebalance_months": [[2, 5, 8, 11], [3, 6, 9, 12]],
    }
