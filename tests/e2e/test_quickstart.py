"""docs/quickstart.md, walked command by command against the Alpaca stand-ins.

Every ``$ `` line of the document runs as written, in bash, in one of two terminals (the second opens in
the first one's directory, without its exports), and prints what the document shows below it (``...``
stands for anything; ports, paths and URLs are this test's). Only the environment differs from a
user's: git clones this checkout in place of the GitHub URL; pip installs the package without resolving
its dependencies again (they come from the test environment on PYTHONPATH, and the ``prefect`` command
is the test environment's: tests/e2e/test_install.py and .ci/run prove the resolution); HOME is a
temporary folder; the keys, the Alpaca URLs and the server's port are the stand-ins'.
"""

from __future__ import annotations

import os
import re
import site
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from momentum.calendar import last_closed_session
from momentum_cli.local_stack import REPO_ROOT, free_port
from tests.support.alpaca_auction import evening
from tests.support.alpaca_data_server import AlpacaDataServer, sp500_market
from tests.support.alpaca_server import AlpacaServer
from tests.support.leaks import canaries
from tests.support.serve_process import ServeProcess, clean_env

DOC = REPO_ROOT / "docs" / "quickstart.md"
CLONE_URL = "https://github.com/OWNER/momentum.git"
SECOND_TERMINAL = "In a second terminal"


def documented(text: str) -> list[tuple[str, list[str], int]]:
    """Each ``$ command`` with the output lines shown under it and its terminal (1 or 2)."""
    second = text.index(SECOND_TERMINAL)
    out: list[tuple[str, list[str], int]] = []
    for block in re.finditer(r"```console\n(.*?)```", text, re.S):
        for line in block.group(1).splitlines():
            if line.startswith("$ "):
                out.append((line[2:], [], 2 if block.start() > second else 1))
            else:
                out[-1][1].append(line)
    return out


def assert_prints(command: str, shown: list[str], printed: str, words: dict[str, str]) -> None:
    """Each line shown under ``command`` matches a printed line (see :func:`line_regex`)."""
    lines = printed.splitlines()
    for line in (s for s in shown if s.strip() != "..."):
        regex = line_regex(line, words)
        assert any(regex.fullmatch(out) for out in lines), f"{command}: no line like {line!r} in:\n{printed}"


def line_regex(line: str, words: dict[str, str]) -> re.Pattern:
    """A documented output line as a regex: ``...`` is anything, a number any number, a weekday any and
    the New York zone either; ``words`` (the document's URLs and paths) become this test's."""
    marks = {chr(0xE000 + i): here for i, here in enumerate(words.values())}
    for mark, doc_word in zip(marks, words, strict=True):
        line = line.replace(doc_word, mark)
    text = re.sub(r"\d+", r"\\d+", re.escape(line).replace(re.escape("..."), ".*"))
    text = re.sub(r"\b(Mon|Tue|Wed|Thu|Fri)\b", "[A-Z][a-z]{2}", text).replace("EST", "E[SD]T")
    for mark, here in marks.items():
        text = text.replace(mark, re.escape(here))
    return re.compile(text)


class Terminal:
    """A bash terminal: each command runs in the directory and environment the previous one left."""

    def __init__(self, cwd: Path, env: dict[str, str], fixed: dict[str, str]) -> None:
        self.cwd, self.env, self.fixed = cwd, {**env, **fixed}, fixed

    def run(self, command: str, timeout: float = 600) -> str:
        state = self.cwd / ".." / f".terminal-{os.getpid()}"
        script = f'{command}\nstatus=$?\npwd > "{state}.cwd"; env -0 > "{state}.env"; exit $status\n'
        done = subprocess.run(
            ["bash", "-c", script],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert done.returncode == 0, f"{command} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
        self.cwd = Path(Path(f"{state}.cwd").read_text().strip())
        pairs = Path(f"{state}.env").read_text().split("\0")
        self.env = {**dict(p.split("=", 1) for p in pairs if "=" in p), **self.fixed}
        return done.stdout + done.stderr


@pytest.fixture(scope="module")
def stand_ins():
    keys = canaries()
    bars = sp500_market(last_closed_session(pd.Timestamp.now(tz="UTC")), n_sessions=273)
    closes = bars[bars["date"] == bars["date"].max()].set_index("symbol")["adj_close"].to_dict()
    with AlpacaDataServer(bars, *keys) as market, AlpacaServer(*keys, prices=closes) as broker:
        broker.set_time(evening())  # the daily run's hour: on-close orders are accepted
        yield market, broker, keys


def test_the_quickstart_trades_paper_on_live_data_as_documented(stand_ins, tmp_path):
    market, broker, keys = stand_ins
    steps = documented(DOC.read_text())
    assert len(steps) <= 10
    home, port = tmp_path / "home", free_port()
    home.mkdir()
    fixed = {
        "HOME": str(home),
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": f"url.{REPO_ROOT}.insteadOf",
        "GIT_CONFIG_VALUE_0": CLONE_URL,
        "PIP_NO_DEPS": "1",
        "PIP_NO_BUILD_ISOLATION": "1",
        # a path in a .pth file: the test environment's own editable finder (same module name) never
        # shadows the clone's
        "PIP_CONFIG_SETTINGS": "editable_mode=compat",
        "PYTHONPATH": os.pathsep.join(site.getsitepackages()),
        "PREFECT_SERVER_API_PORT": str(port),
        "MOMENTUM_ALPACA_DATA_URL": market.base_url,
        "MOMENTUM_ALPACA_BASE_URL": broker.base_url,
    }
    words = {
        "http://127.0.0.1:4200": f"http://127.0.0.1:{port}",
        "https://data.alpaca.markets": market.base_url,
        "https://paper-api.alpaca.markets": broker.base_url,
        "/home/you": str(home),
    }
    first = Terminal(tmp_path, clean_env(home / ".momentum" / "prefect"), fixed)
    first.env.pop("PREFECT_HOME")
    serve, second = None, None
    try:
        for command, shown, terminal in steps:
            if command.startswith("momentum serve"):
                serve = ServeProcess.from_command(command, first.env, first.cwd)
                assert_prints(command, shown, "\n".join(serve.wait_ready()), words)
                continue
            if terminal == 2 and second is None:
                second = Terminal(first.cwd, {**clean_env(home), "HOME": str(home)}, fixed)
                second.env.pop("PREFECT_HOME")
            shell = second if terminal == 2 else first
            printed = shell.run(command)
            if "MOMENTUM_ALPACA_KEY_ID" in shell.env:  # the documented placeholders -> the stand-ins' keys
                shell.fixed = {
                    **shell.fixed,
                    "MOMENTUM_ALPACA_KEY_ID": keys[0],
                    "MOMENTUM_ALPACA_SECRET_KEY": keys[1],
                }
                shell.env.update(shell.fixed)
            if "PREFECT_API_URL" in shell.env:
                shell.fixed = {**shell.fixed, "PREFECT_API_URL": f"http://127.0.0.1:{port}/api"}
                shell.env.update(shell.fixed)
            assert_prints(command, shown, printed, words)
    finally:
        if serve is not None:
            assert serve.stop() == 0, "\n".join(serve.lines)
    assert serve is not None and second is not None
    assert broker.posts, "the paper account received no order"
