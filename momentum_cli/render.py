"""Plain-text rendering of run summaries and tables for the terminal."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from momentum.run import RebalanceInfo, RunSummary


def table(rows: list[dict[str, Any]], columns: list[str] | None = None, empty: str = "  (none)") -> str:
    if not rows:
        return empty
    import pandas as pd

    frame = pd.DataFrame(rows)
    if columns:
        frame = frame[[c for c in columns if c in frame.columns]]
    return frame.to_string(index=False, float_format=lambda v: f"{v:,.4f}")


def _rebalance_note(reb: RebalanceInfo) -> str:
    """Why orders were (or were not) planned on this run."""
    if not reb.executed:
        return " (plan and execution skipped: only_on_schedule)"
    if reb.caught_up:
        return f" (caught up the rebalance of {reb.signal_session})"
    if not reb.is_signal_session:
        return " (a manual run rebalances at as_of; --only-on-schedule trades only on signal sessions)"
    return ""


def _stored(summary: RunSummary, name: str):
    """A dataset the run stored (its traded version: ``signal_<name>`` when it caught one up), or None
    when the store cannot be read from here (a summary from another machine)."""
    from momentum.store import DatasetRef, StoreError, VersionedStore

    info = summary.datasets.get(f"signal_{name}") or summary.datasets.get(name)
    if info is None:
        return None
    try:
        return VersionedStore(summary.store).read(DatasetRef(name, info.as_of, info.version))
    except (StoreError, OSError):
        return None


def eligibility_line(scores) -> str:
    """``466 of 500 symbols eligible (34 with too little history)``: who can be ranked, and why not."""
    excluded = scores.loc[~scores["eligible"].astype(bool), "reason"].fillna("").value_counts()
    why = ", ".join(f"{count} {reason or 'excluded'}" for reason, count in excluded.items())
    return f"{int(scores['eligible'].sum())} of {len(scores)} symbols eligible" + (f" ({why})" if why else "")


def warning_lines(validation) -> list[str]:
    """Each validation warning (a check that found something without blocking), with its message."""
    failed = validation[
        (validation["severity"] == "warning")
        & (validation["status"] != "passed")
        & (validation["symbol"] == "")
    ]
    return [f"  [{row.check}] {row.message}" for row in failed.itertuples(index=False)]


def _header(summary: RunSummary) -> list[str]:
    """Data, validation and calendar: what the run read and when it trades."""
    data, val, reb = summary.data, summary.validation, summary.rebalance
    scores, validation = _stored(summary, "scores"), _stored(summary, "validation")
    return [
        f"momentum run as of {summary.as_of}",
        f"data: {summary.provider} provider, {data.symbols} symbols with bars in the window read, "
        f"{data.start} .. {data.end} ({data.rows} bars)",
        f"validation: passed; quarantined: {', '.join(val.quarantined) or 'none'}; warnings: {val.warnings}",
        *(warning_lines(validation) if validation is not None else []),
        *([f"universe: {eligibility_line(scores)}"] if scores is not None else []),
        *(f"warning: {text}" for text in summary.warnings),
        f"rebalance: as_of {'IS' if reb.is_signal_session else 'is not'} a signal session; "
        f"next signal session {reb.next_signal_session}" + _rebalance_note(reb),
    ]


def _trading(summary: RunSummary) -> list[str]:
    """Orders, execution, fills and the account, for the parts the run has."""
    from momentum.run import attention_line

    lines: list[str] = []
    if summary.orders is not None:
        lines += [
            "",
            f"orders ({summary.broker} broker):",
            table(summary.orders, ["client_order_id", "side", "symbol", "qty", "ref_price", "est_value"]),
        ]
    if (ex := summary.execution) is not None:
        lines += [
            "",
            f"execution: {ex.filled} of {ex.orders} orders filled"
            + (f", {ex.queued} queued for {_auction_of(ex.queued_for)}" if ex.queued else "")
            + (f"; {attention_line(ex)}: {ex.headline}" if ex.attention else ""),
        ]
        if summary.shortfall is not None:
            lines += [str(summary.shortfall["note"])]
    if summary.fills is not None:
        lines += [
            "fills:",
            table(
                summary.fills, ["symbol", "side", "qty", "status", "filled_qty", "filled_avg_price", "note"]
            ),
        ]
    if (account := summary.account) is not None:
        lines += ["", f"account value: ${account.value:,.2f} (cash ${account.cash:,.2f})"]
        if account.plan_differences and not (ex is not None and ex.queued):
            lines += ["positions differing from the plan:", table(account.plan_differences)]
    return lines


def _auction_of(sessions: str) -> str:
    """``the auction of 2022-12-01`` (or ``their auction`` when an earlier run queued them)."""
    return f"the auction of {sessions}" if sessions else "their auction"


def run_text(summary: RunSummary) -> str:
    """The human summary of one run."""
    reb = summary.rebalance
    at = f" at the signal session {reb.signal_session}" if reb.caught_up else ""
    lines = [
        *_header(summary),
        "",
        f"ranking (top by 12-1 momentum){at}; higher momentum is better, lower fip is smoother "
        "(qmom keeps the smoothest of the strongest):",
        table(summary.ranking, ["symbol", "momentum", "fip", "eligible", "selected", "reason"]),
        "",
        f"target portfolio{at}:",
        table(summary.target_portfolio),
        *_trading(summary),
    ]
    lines += ["", "stored:"] + [f"  {name:<11} {d.version}  {d.path}" for name, d in summary.datasets.items()]
    return "\n".join(lines)
