"""``momentum backtest``: run the backtest flow and print a summary, a sweep table or ``--json``."""

from __future__ import annotations

import json
from typing import Any, Optional

import typer

from momentum_cli.options import SETS, STORE, parse_sets, parse_value
from momentum_cli.preflight import default_of
from momentum_cli.progress import VERBOSE, flow_output
from momentum_cli.render import table

SHOWN = [
    "cagr",
    "volatility",
    "sharpe",
    "sortino",
    "max_drawdown",
    "max_drawdown_peak",
    "max_drawdown_trough",
    "calmar",
    "beta",
    "alpha",
    "hit_rate",
    "excess_vs_equal_weight",
    "best_year",
    "worst_year",
    "turnover",
    "avg_holdings",
    "final_equity",
]


def parse_sweep(items: list[str]) -> dict[str, list]:
    """``name=v1,v2`` items -> {name: [v1, v2]}; values parse as JSON (``2/5/8/11`` -> [2, 5, 8, 11])."""
    out: dict[str, list] = {}
    for item in items:
        name, sep, values = item.partition("=")
        if not sep or not values:
            raise typer.BadParameter(f"--sweep expects name=v1,v2,..., got {item!r}", param_hint="--sweep")
        out[name.strip()] = [_value(v.strip()) for v in values.split(",")]
    return out


def _value(text: str) -> Any:
    return [parse_value(part) for part in text.split("/")] if "/" in text else parse_value(text)


def summary_text(summary: dict[str, Any]) -> str:
    """The human summary of a backtest (or of a sweep)."""
    if "sweep" in summary:
        columns = ["variant", "cagr", "sharpe", "max_drawdown", "turnover", "final_equity"]
        return "\n".join(
            [
                f"backtest sweep: {len(summary['sweep'])} variants (best Sharpe first)",
                table(summary["sweep"], columns),
                "",
                "stored: " + summary["datasets"]["backtest_sweep"]["path"],
            ]
        )
    series = {summary["strategy"]: summary["metrics"], **summary["compared"]}
    rows = [{"metric": name, **{s: m.get(name) for s, m in series.items()}} for name in SHOWN]
    last = summary["rebalances"][-1] if summary["rebalances"] else None
    lines = [
        f"backtest {summary['strategy']} on {summary['provider']} data, "
        f"{summary['start']} .. {summary['end']}",
        f"final equity: ${summary['final_equity']:,.2f} over {len(summary['rebalances'])} rebalances",
        f"order timing {summary['order_timing']}; assumed cost {summary['assumed_cost']['bps']:g} bps of "
        f"traded notional, ${summary['assumed_cost']['dollars']:,.2f} charged",
    ]
    verdict = summary["tear_sheet"]["versus_equal_weight"]
    lines += ([verdict["sentence"]] if verdict else []) + ["", table(rows)]
    lines += [f"{name}: {m['label']}" for name, m in summary["compared"].items() if m.get("label")]
    if last:
        lines += [
            "",
            f"last rebalance: signal {last['signal_date']}, trade {last['trade_date']}: "
            f"{', '.join(last['selected'])}",
        ]
    lines += ["", f"report: {summary['report']}"] + (
        [f"report folder: {summary['report_dir']}"] if summary.get("report_dir") else []
    )
    lines += ["stored:"] + [
        f"  {name:<20} {d['version']}  {d['path']}" for name, d in summary["datasets"].items()
    ]
    return "\n".join(lines)


def backtest(
    start: Optional[str] = typer.Option(
        None, "--start", help="First session YYYY-MM-DD (default: first full scoring window)"
    ),
    end: Optional[str] = typer.Option(
        None, "--end", help="Last session YYYY-MM-DD (default: last session in the data)"
    ),
    provider: Optional[str] = typer.Option(
        None, "--provider", help=f"embedded | synthetic | alpaca | files {default_of('provider')}"
    ),
    strategy: Optional[str] = typer.Option(
        None,
        "--strategy",
        help=f"qmom | momentum (qmom also runs momentum as baseline) {default_of('strategy')}",
    ),
    holdings: Optional[int] = typer.Option(
        None,
        "--holdings",
        help="Fixed number of names "
        "(default: the holdings rule, max(min_holdings, holdings_fraction of eligible))",
    ),
    cost_bps: Optional[float] = typer.Option(
        None, "--cost-bps", help=f"Commission, basis points of traded notional {default_of('cost_bps')}"
    ),
    slippage_bps: float = typer.Option(
        0.0, "--slippage-bps", help="Slippage, basis points of traded notional"
    ),
    fractional: Optional[bool] = typer.Option(
        None, "--fractional/--whole-shares", help=f"Fractional or whole shares {default_of('fractional')}"
    ),
    initial_cash: Optional[float] = typer.Option(
        None, "--initial-cash", help=f"Starting cash in dollars {default_of('initial_cash')}"
    ),
    order_timing: Optional[str] = typer.Option(
        None,
        "--order-timing",
        help="close | open (the trade session's adjusted open; needs bars with opens) | market "
        f"{default_of('order_timing')}",
    ),
    report: Optional[str] = typer.Option(
        None, "--report", help="Also write backtest.html and the PNGs to this folder"
    ),
    store: Optional[str] = STORE,
    sweep: list[str] = typer.Option(
        [], "--sweep", help="Sweep a setting: name=v1,v2 (repeatable; months as 2/5/8/11)"
    ),
    task_runner: str = typer.Option("thread", "--task-runner", help="thread | dask (needs prefect-dask)"),
    dask_address: Optional[str] = typer.Option(
        None, "--dask-address", help="Dask scheduler address (default: a local cluster)"
    ),
    set_: list[str] = SETS,
    as_json: bool = typer.Option(
        False, "--json", help="Print the metrics, final equity and rebalances as one JSON object"
    ),
    verbose: bool = VERBOSE,
) -> None:
    """Backtest the live strategy over history; store the results and an HTML report."""
    from momentum_cli.preflight import check_backtest

    overrides = parse_sets(set_)
    swept = parse_sweep(sweep) or None
    named = {
        "provider": provider,
        "strategy": strategy,
        "holdings": holdings,
        "cost_bps": cost_bps,
        "fractional": fractional,
        "initial_cash": initial_cash,
        "order_timing": order_timing,
    }
    check_backtest(start, end, task_runner, swept, store_url=store, **named, **overrides)
    from flows.backtest import flow_with
    from momentum_cli.prefect_api import flow_runs_api

    with flow_runs_api(), flow_output(verbose):
        summary = flow_with(task_runner, dask_address)(
            start=start,
            end=end,
            store_url=store,
            **named,
            slippage_bps=slippage_bps,
            report_dir=report,
            overrides=overrides,
            sweep=swept,
        )
    typer.echo(json.dumps(summary, default=str) if as_json else summary_text(summary))
