"""The backtest flow: history -> variants (strategy, for qmom the plain-momentum baseline, and the
equal-weight benchmark) -> store.

With ``sweep`` ({setting: [values]}) every combination runs as its own task on the flow's task runner
and one comparison table is written instead. The runner is a thread pool by default; ``flow_with``
swaps in ``prefect_dask.DaskTaskRunner`` (an optional install) to fan a sweep out on a Dask cluster.
"""

from __future__ import annotations

from typing import Any, Literal

from prefect import Flow, flow
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from momentum.backtest import sweep_variants
from momentum.settings import Settings, flow_timeout_seconds
from momentum.strategy import EQUAL_WEIGHT
from tasks.backtest import (
    load_history,
    run_equal_weight,
    run_variant,
    store_backtest,
    store_sweep,
    sweep_variant,
)

BASELINE = "momentum"


# Prefect types a flow's runner as TaskRunner[PrefectFuture] (invariant), which its own thread pool runner
# (TaskRunner[PrefectConcurrentFuture]) does not fit.
@flow(
    name="backtest",
    log_prints=True,
    task_runner=ThreadPoolTaskRunner(),  # type: ignore[arg-type]
    timeout_seconds=flow_timeout_seconds(),
)
def backtest(
    start: str | None = None,
    end: str | None = None,
    store_url: str | None = None,
    provider: Literal["embedded", "synthetic", "alpaca", "files"] | None = None,
    strategy: Literal["qmom", "momentum"] | None = None,
    holdings: int | None = None,
    cost_bps: float | None = None,
    slippage_bps: float = 0.0,
    fractional: bool | None = None,
    initial_cash: float | None = None,
    order_timing: Literal["close", "open", "market"] | None = None,
    report_dir: str | None = None,
    overrides: dict[str, Any] | None = None,
    sweep: dict[str, list] | None = None,
) -> dict:
    """Backtest the live strategy from ``start`` to ``end`` (default: the data's range); returns the summary.

    Parameters left empty come from ``MOMENTUM_*`` settings; ``overrides`` sets any other setting.
    """
    settings = Settings().with_overrides(
        overrides,
        store_url=store_url,
        provider=provider,
        strategy=strategy,
        holdings=holdings,
        cost_bps=cost_bps,
        fractional=fractional,
        initial_cash=initial_cash,
        order_timing=order_timing,
    )
    prices, benchmark = load_history(settings, end, sweep)
    if sweep:
        swept = [
            sweep_variant.submit(settings, variant, prices, benchmark, (start, end, slippage_bps))
            for variant in sweep_variants(sweep)
        ]
        return store_sweep(settings, [f.result() for f in swept], sweep, slippage_bps, report_dir)
    names = [settings.strategy] + ([BASELINE] if settings.strategy != BASELINE else [])
    futures = {
        name: run_variant.submit(
            settings.with_overrides(strategy=name), prices, benchmark, start, end, slippage_bps
        )
        for name in names
    }
    futures[EQUAL_WEIGHT] = run_equal_weight.submit(settings, prices, benchmark, start, end, slippage_bps)
    return store_backtest(
        settings, {name: f.result() for name, f in futures.items()}, slippage_bps, report_dir
    )


def task_runner(kind: str = "thread", address: str | None = None) -> TaskRunner[Any]:
    """``thread`` (default) or ``dask``: ``address`` names a running scheduler, else a local cluster."""
    if kind == "thread":
        return ThreadPoolTaskRunner()
    if kind == "dask":
        try:
            from prefect_dask import DaskTaskRunner
        except ImportError as exc:
            raise RuntimeError("the dask task runner needs prefect-dask: pip install prefect-dask") from exc
        return DaskTaskRunner(address=address)
    raise ValueError(f"unknown task runner {kind!r}; expected 'thread' or 'dask'")


def flow_with(kind: str = "thread", address: str | None = None) -> Flow[..., dict]:
    """The ``backtest`` flow on the chosen task runner."""
    return backtest.with_options(task_runner=task_runner(kind, address))
