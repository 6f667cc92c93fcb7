"""The command line as a tool: every refusal is one line on stderr and exit status 1, checked before
Prefect starts where it can be; a run that leaves orders unfilled ends Failed and exits 1."""

from __future__ import annotations

import pandas as pd

from momentum.run import attention_line, execution_headline

LAST = "2022-12-28"
OWED = "2022-11-30"


def test_execution_counts_each_outcome_once():
    executions = pd.DataFrame(
        {
            "status": ["filled", "rejected", "blocked", "not_sent", "accepted", "expired"],
            "action": ["submitted", "refused", "none", "none", "submitted", "submitted"],
            "pending": [False, False, True, True, True, False],
            "note": ["", "rejected: no buying power", "blocked", "market closed", "open", "expired"],
        }
    )
    counts = execution_headline(executions)
    assert (
        counts.orders,
        counts.filled,
        counts.rejected,
        counts.not_sent,
        counts.pending,
        counts.canceled,
        counts.attention,
    ) == (6, 1, 1, 2, 1, 1, 5)
    assert counts.headline == "rejected: no buying power"
    assert (
        attention_line(counts) == "5 of 6 orders not filled (1 rejected, 1 pending, 2 not sent, 1 canceled)"
    )
