"""The command line's execution headline: each outcome counted once, one attention line. (Refusals in one
line, exit statuses and the CLI in its own process: tests/integration.)"""

from __future__ import annotations

import pandas as pd

from momentum.run import attention_line, execution_headline


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
