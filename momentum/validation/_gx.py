"""GX plumbing: ephemeral context, outcomes of checks, expectation specs, the stage runner, locators."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from momentum.validation._checks import CHECKS, NULL_SYMBOL, _day


def _gx() -> Any:
    import great_expectations as gx  # heavy (~4 s): imported on first validation, not with momentum

    return gx


def _gxe() -> Any:
    from great_expectations import expectations as gxe

    return gxe


def _new_context() -> Any:
    gx = _gx()
    context = gx.get_context(
        mode="ephemeral"
    )  # mode= always: GX_CLOUD_* variables could pick a cloud context
    try:
        from great_expectations.data_context.types.base import ProgressBarsConfig

        context.variables.progress_bars = ProgressBarsConfig(globally=False)
    except Exception:  # pragma: no cover - cosmetic only
        pass
    return context


def _exception_message(result: Any) -> str | None:
    if result is None:
        return "expectation produced no result"
    info = getattr(result, "exception_info", None) or {}
    if info.get("raised_exception"):
        return str(info.get("exception_message") or "exception")
    for value in info.values():
        if isinstance(value, dict) and value.get("raised_exception"):
            return str(value.get("exception_message") or "exception")
    return None


# --------------------------------------------------------------------------------------------- outcomes


@dataclass
class _Finding:
    symbol: str
    date: pd.Timestamp
    failures: int
    detail: str


@dataclass
class _Outcome:
    status: str = "passed"
    short: list[str] = field(default_factory=list)
    findings: dict[str, _Finding] = field(default_factory=dict)
    failures: int = 0
    date: pd.Timestamp = pd.NaT

    def fail(self, short: str = "", *, failures: int = 1, date: Any = pd.NaT, status: str = "failed") -> None:
        if status == "error" or self.status == "passed":
            self.status = status
        if short:
            self.short.append(short)
        self.failures += failures
        if not pd.isna(date) and (pd.isna(self.date) or date < self.date):
            self.date = pd.Timestamp(date)

    def add(self, symbol: str, date: Any, failures: int, detail: str) -> None:
        date = pd.NaT if date is None or pd.isna(date) else pd.Timestamp(date)
        old = self.findings.get(symbol)
        if old is None:
            self.findings[symbol] = _Finding(symbol, date, int(failures), detail)
            return
        dates = [x for x in (old.date, date) if not pd.isna(x)]
        details = old.detail if detail in old.detail else f"{old.detail}; {detail}"
        self.findings[symbol] = _Finding(
            symbol, min(dates) if dates else pd.NaT, old.failures + int(failures), details
        )


@dataclass
class _Spec:
    check: str
    expectation: Any
    locate: Callable[[Any, _Outcome], None]  # fills the outcome of a failed expectation


def _spec_factory(stage: str) -> Callable[..., _Spec]:
    counter = itertools.count()

    def make(check: str, kind: str, locate: Callable[[Any, _Outcome], None], **kwargs: Any) -> _Spec:
        info = CHECKS[check]
        cls = getattr(_gxe(), kind)
        key = f"{stage}:{check}:{next(counter)}"
        expectation = cls(
            meta={"key": key, "check": check},
            severity=info.severity if info.severity == "warning" else "critical",
            **kwargs,
        )
        return _Spec(check, expectation, locate)

    return make


_RESULT_FORMAT = {
    "result_format": "COMPLETE",
    "exclude_unexpected_values": True,
    "return_unexpected_index_query": False,
    "partial_unexpected_count": 0,
}


def _run(
    context: Any, stage: str, frame: pd.DataFrame, specs: Sequence[_Spec], outcomes: dict[str, _Outcome]
) -> None:
    """Validate ``frame`` against the specs in one GX run; fold each result into ``outcomes``."""
    gx = _gx()
    batch = (
        context.data_sources.add_pandas(stage)
        .add_dataframe_asset(stage)
        .add_batch_definition_whole_dataframe(stage)
    )
    suite = context.suites.add(gx.ExpectationSuite(name=stage, expectations=[s.expectation for s in specs]))
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=stage, data=batch, suite=suite)
    )
    run = definition.run(batch_parameters={"dataframe": frame}, result_format=_RESULT_FORMAT)
    by_key = {r.expectation_config.meta.get("key"): r for r in run.results}
    for spec in specs:
        outcome = outcomes.setdefault(spec.check, _Outcome())
        result: Any = by_key.get(spec.expectation.meta["key"])
        message = _exception_message(result)
        if message is not None:
            outcome.fail(
                f"expectation {type(spec.expectation).__name__} raised: {message.splitlines()[0][:200]}",
                status="error",
            )
        elif not result.success:
            spec.locate(result, outcome)


def _unexpected(result: Any) -> np.ndarray:
    return np.asarray((result.result or {}).get("unexpected_index_list") or [], dtype=np.int64)


def _rows_locator(
    frame: pd.DataFrame, detail: str, date_col: str = "date"
) -> Callable[[Any, _Outcome], None]:
    """Findings from a map expectation: offending rows grouped by symbol (count, first date)."""

    def locate(result: Any, outcome: _Outcome) -> None:
        idx = _unexpected(result)
        if not len(idx):
            outcome.fail(detail)
            return
        rows = pd.DataFrame(
            {"symbol": frame["symbol"].to_numpy(dtype=object)[idx], "date": frame[date_col].to_numpy()[idx]}
        )
        rows["symbol"] = rows["symbol"].where(rows["symbol"].notna(), NULL_SYMBOL).astype(str)
        grouped = rows.groupby("symbol", sort=True)["date"].agg(["min", "size"])
        first = grouped["min"].min()
        for symbol, row in grouped.iterrows():
            outcome.add(symbol, row["min"], int(row["size"]), detail)
        top = grouped.sort_values("min").index[0] if grouped["min"].notna().any() else grouped.index[0]
        where = " ".join(x for x in (top, _day(grouped.loc[top, "min"])) if x)
        outcome.fail(
            f"{detail}: {len(idx)} row(s) in {len(grouped)} symbol(s), first {where}",
            failures=len(idx),
            date=first,
        )

    return locate


def _symbols_locator(summary: pd.DataFrame, name: str) -> Callable[[Any, _Outcome], None]:
    """Findings from the per-symbol frame: columns ``{name}_n``, ``{name}_date``, ``{name}_detail``."""

    def locate(result: Any, outcome: _Outcome) -> None:
        idx = _unexpected(result)
        part = summary.iloc[idx]
        for row in part.itertuples(index=False):
            outcome.add(
                row.symbol,
                getattr(row, f"{name}_date"),
                max(int(getattr(row, f"{name}_n")), 1),
                getattr(row, f"{name}_detail") or "",
            )
        if len(part):
            first = part.sort_values([f"{name}_date", "symbol"]).iloc[0]
            outcome.fail(
                f"{len(part)} symbol(s), first {first['symbol']} {_day(first[f'{name}_date'])}: "
                f"{first[f'{name}_detail']}",
                failures=int(np.maximum(part[f"{name}_n"].to_numpy(), 1).sum()),
                date=part[f"{name}_date"].min(),
            )
        else:
            outcome.fail("failed without naming symbols")

    return locate
