"""One run of the pipeline: the catch-up rule, the run contracts, the run summary and its artifacts, the
trade notification."""

from __future__ import annotations

from momentum.run._artifacts import browsable_url, run_artifacts, summary_artifact, validation_report_key
from momentum.run._catchup import is_executed, latest_signal_session, owed_rebalance
from momentum.run._contracts import RebalanceInfo, RunRefs, RunSummary, ScoredRefs
from momentum.run._notice import REBALANCE_EXECUTED, trade_notice
from momentum.run._summary import attention_line, execution_headline, run_summary

__all__ = [
    "REBALANCE_EXECUTED",
    "RebalanceInfo",
    "RunRefs",
    "RunSummary",
    "ScoredRefs",
    "attention_line",
    "browsable_url",
    "execution_headline",
    "is_executed",
    "latest_signal_session",
    "owed_rebalance",
    "run_artifacts",
    "run_summary",
    "summary_artifact",
    "trade_notice",
    "validation_report_key",
]
