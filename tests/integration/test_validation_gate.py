"""The validation gate inside the real flow: dataset-level failures block every order,
symbol-level failures quarantine the symbol and the run goes on without it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from flows.rebalance import rebalance
from momentum.providers.synthetic import SyntheticProvider
from momentum.store import VersionedStore
from momentum_cli.app import app
from tasks.validate import ValidationFailed

pytestmark = pytest.mark.usefixtures("prefect_api")
SYNTHETIC = {
    "provider": "synthetic",
    "overrides": {"synthetic_symbols": 12, "synthetic_sessions": 300, "synthetic_seed": 3},
}
VICTIM = "S0001"


def _last(bars: pd.DataFrame, symbol: str = VICTIM, back: int = 1) -> pd.Index:
    return bars.index[bars["symbol"] == symbol][-back:]


def nan_close(b):
    b.loc[_last(b), "adj_close"] = np.nan
    return b


def zero_close(b):
    b.loc[_last(b), "adj_close"] = 0.0
    return b


def negative_close(b):
    b.loc[_last(b, back=3), "adj_close"] = -5.0
    return b


def missing_session(b):
    return b.drop(_last(b, back=40)[:1])


def stale_run(b):
    rows = _last(b, back=40)[:30]
    b.loc[rows, "adj_close"] = b.loc[rows[0], "adj_close"]
    return b


def unadjusted_split(b):
    """A 2:1 split on a quiet day that the feed did not adjust: every price halves from then on."""
    rows = _last(b, back=21)
    scale = b.loc[rows[0], "adj_close"] / 2 / b.loc[rows[1], "adj_close"]
    b.loc[rows[1:], ["adj_close", "close", "open", "high", "low"]] *= scale
    return b


def ohlc_inconsistent(b):
    row = _last(b)
    b.loc[row, "high"] = b.loc[row, "low"] * 0.5
    return b


def duplicated_rows(b):
    return pd.concat([b, b.tail(3)], ignore_index=True)


def unsorted_rows(b):
    return b.sample(frac=1.0, random_state=1).reset_index(drop=True)


def weekend_row(b):
    extra = b.iloc[[-1]].copy()
    extra["date"] = pd.Timestamp("2024-12-28")  # a Saturday
    return pd.concat([b, extra], ignore_index=True).sort_values(["date", "symbol"], ignore_index=True)


def wrong_dtypes(b):
    b["adj_close"] = b["adj_close"].map(lambda v: f"{v:.2f}")
    return b


def empty_frame(b):
    return b.iloc[0:0]


def one_symbol(b):
    return b[b["symbol"] == VICTIM].reset_index(drop=True)


def stale_feed(b):
    return b[b["date"] < b["date"].max()].reset_index(drop=True)


DATASET_LEVEL = [
    duplicated_rows,
    unsorted_rows,
    weekend_row,
    wrong_dtypes,
    empty_frame,
    one_symbol,
    stale_feed,
]
SYMBOL_LEVEL = [
    nan_close,
    zero_close,
    negative_close,
    missing_session,
    stale_run,
    unadjusted_split,
    ohlc_inconsistent,
]


def corrupt_provider(monkeypatch, mutate):
    real = SyntheticProvider.bars
    monkeypatch.setattr(
        SyntheticProvider,
        "bars",
        lambda self, start, end, symbols=None: mutate(real(self, start, end, symbols).copy()),
    )


@pytest.mark.parametrize("mutate", DATASET_LEVEL, ids=lambda f: f.__name__)
def test_dataset_level_failure_ends_the_run_before_any_order(mutate, tmp_path, monkeypatch):
    corrupt_provider(monkeypatch, mutate)
    url = str(tmp_path / "store")
    state = rebalance(store_url=url, return_state=True, **SYNTHETIC)
    assert state.is_failed()
    with pytest.raises(ValidationFailed, match="validation failed: failed: "):
        state.result()
    store = VersionedStore(url)
    assert store.refs("validation") and not store.refs("scores") and not store.refs("orders")
    assert not store.refs("paper_ledger")


@pytest.mark.parametrize("mutate", SYMBOL_LEVEL, ids=lambda f: f.__name__)
def test_symbol_level_failure_quarantines_and_the_run_goes_on(mutate, tmp_path, monkeypatch):
    corrupt_provider(monkeypatch, mutate)
    summary = rebalance(store_url=str(tmp_path / "store"), **SYNTHETIC)
    assert summary["validation"]["quarantined"] == [VICTIM]
    assert VICTIM not in {t["symbol"] for t in summary["target_portfolio"]}
    assert VICTIM not in {o["symbol"] for o in summary["orders"]}
    scores = VersionedStore(str(tmp_path / "store"))
    table = scores.read(scores.resolve("scores").ref).set_index("symbol")
    assert table.loc[VICTIM, "reason"] == "quarantined by validation" and summary["fills"]


def test_cli_validate_reports_and_exits_nonzero(tmp_path):
    good = SyntheticProvider(n_symbols=6, n_sessions=300, seed=2)
    bars = good.bars(None, good.last_session())
    path = tmp_path / "bars.csv"
    bars.to_csv(path, index=False)
    ok = CliRunner().invoke(app, ["validate", str(path)])
    assert ok.exit_code == 0 and ok.stdout.startswith("passed")
    duplicated_rows(bars).to_parquet(tmp_path / "bad.parquet")
    bad = CliRunner().invoke(app, ["validate", str(tmp_path / "bad.parquet"), "--json"])
    assert bad.exit_code == 1
    import json

    outcome = json.loads(bad.stdout)
    assert outcome["passed"] is False and outcome["summary"].startswith("failed: unique_date_symbol")
    assert {f["check"] for f in outcome["findings"]} >= {"unique_date_symbol"}
