"""The backtest report in Debian's headless chromium: the page ``momentum backtest --report`` writes on
the embedded data opens offline and shows the tear sheet (the verdict against equal weight first, the
tear sheet's figures in the metrics table, the worst drawdowns, the rolling-risk and monthly-returns
plots, the definitions)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from momentum_cli.app import app
from tests.support.chromium import CHROMIUM, dump_dom, visible_text

pytestmark = pytest.mark.usefixtures("prefect_api")


def dom_of(page: Path, profile: Path) -> str:
    """The DOM chromium builds from ``page`` (a file URL, a fresh profile)."""
    done = dump_dom(page.as_uri(), profile)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def text_of(element_id: str, dom: str) -> str:
    """The visible text of the element with ``element_id`` (up to its first closing tag of that kind)."""
    found = re.search(rf'<(\w+)[^>]*id="{element_id}"[^>]*>(.*?)</\1>', dom, re.S)
    assert found, f"#{element_id} is missing from the page"
    return visible_text(found.group(2)).strip()


def test_report_shows_the_tear_sheet_in_chromium(tmp_path):
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing (apt-get install -y chromium)"
    folder = tmp_path / "report"
    args = ["backtest", "--store", str(tmp_path / "store"), "--report", str(folder), "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    dom = dom_of(folder / "backtest.html", tmp_path / "profile")

    first = re.search(r'<body>\s*<h1>[^<]*</h1>\s*<p id="verdict">', dom)
    assert first, "the page does not open with the verdict"
    verdict = text_of("verdict", dom)
    assert verdict == summary["tear_sheet"]["versus_equal_weight"]["sentence"]
    ours, equal = summary["metrics"], summary["compared"]["equal_weight"]
    assert verdict.startswith(f"{summary['strategy']} ")
    for name, label in (("cagr", "CAGR"), ("sharpe", "Sharpe")):
        verb = "beat" if ours[name] > equal[name] else "lost to"
        assert f"{verb} equal weight on {label} (" in verdict
    metrics = text_of("metrics", dom)
    for name in ("information_ratio", "tracking_error", "skew", "kurtosis", "var_95"):
        assert name in metrics and f'id="definition-{name}"' in dom
    drawdowns = text_of("worst-drawdowns", dom)
    worst = summary["tear_sheet"]["series"][summary["strategy"]]["worst_drawdowns"]
    assert len(worst) == 5 and all(d["start"] in drawdowns and d["trough"] in drawdowns for d in worst)
    for plot in ("plot-rolling_risk", "plot-monthly_returns"):
        assert re.search(rf'<img id="{plot}"[^>]*src="data:image/png;base64,', dom), plot
    assert "risk-free rate is 0" in text_of("definitions", dom) and "252" in text_of("definitions", dom)
