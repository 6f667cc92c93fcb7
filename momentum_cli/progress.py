"""What a flow prints on the terminal: one line per stage as it completes, on stderr (stdout stays the
summary or the ``--json`` object). Prefect's own log lines still go to the API (the UI's flow-run logs);
on the console they show only with ``--verbose``, so a failure ends in the one ``error:`` line."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

import typer

# Prefect's console handler level (its logging.yml, overridable by environment); read when prefect is
# first imported, so it is set before, and existing console handlers are adjusted too.
CONSOLE_LEVEL = "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL"
QUIET = logging.CRITICAL + 1

# Each stage task, as the run summary names what it produced.
STAGES = {
    "ingest": "data",
    "ingest-benchmark": "benchmark",
    "validate": "validation",
    "score": "ranking",
    "plan": "orders",
    "execute": "execution",
    "account": "account",
    "history-symbols": "history symbols",
    "ingest-history": "history",
    "backtest-history": "backtest data",
    "backtest-variant": "backtest",
    "backtest-equal-weight": "equal-weight benchmark",
    "backtest-store": "backtest results",
    "backtest-sweep-variant": "sweep variant",
    "backtest-sweep-table": "sweep table",
}
VERBS = {"Completed": "done", "Cached": "reused (inputs unchanged)", "Failed": "failed", "Crashed": "crashed"}


class StageLines(logging.Handler):
    """Turns Prefect's "Finished in state ..." record of each stage task into one progress line."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.started = time.monotonic()

    def emit(self, record: logging.LogRecord) -> None:
        stage = STAGES.get(getattr(record, "task_name", ""))
        message = record.getMessage()
        if stage is None or not message.startswith("Finished in state "):
            return
        state = message.removeprefix("Finished in state ").split("(")[0].strip()
        verb = VERBS.get(state, state.lower())
        typer.echo(f"[{time.monotonic() - self.started:5.1f} s] {stage}: {verb}", err=True)


def _console_handlers() -> list[logging.Handler]:
    loggers = [logging.getLogger()] + [
        logging.getLogger(name)
        for name in list(logging.root.manager.loggerDict)
        if name.startswith("prefect")
    ]
    return [h for lg in loggers for h in lg.handlers if type(h).__name__ == "PrefectConsoleHandler"]


@contextmanager
def flow_output(verbose: bool, progress: bool = True) -> Iterator[None]:
    """Around a flow call: Prefect's console logs only when ``verbose``, a line per finished stage."""
    before = os.environ.get(CONSOLE_LEVEL)
    if not verbose and before is None:
        os.environ[CONSOLE_LEVEL] = str(QUIET)
    import prefect  # noqa: F401 - its logging is configured on import, with the level above

    for handler in _console_handlers():  # left so: the temporary server also logs its stop at exit
        handler.setLevel(logging.NOTSET if verbose else QUIET)
    lines = StageLines()
    task_runs = logging.getLogger("prefect.task_runs")
    if progress and not verbose:
        task_runs.addHandler(lines)
    try:
        yield
    finally:
        task_runs.removeHandler(lines)
        if before is None:
            os.environ.pop(CONSOLE_LEVEL, None)


VERBOSE = typer.Option(
    False, "--verbose", help="Also print Prefect's log lines (they always reach the Prefect UI/API)"
)
