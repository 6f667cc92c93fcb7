"""The README's usage block, run as written, in order, in a fresh folder (what a newcomer does first).

Lines that need what a test machine does not have are left out, each with its reason in ``EXCEPTED``; a
``<version>`` placeholder is filled with a version that ``momentum store ls orders --json`` lists.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXCEPTED = {
    "momentum run --provider alpaca": "needs real Alpaca keys and the network",
    "momentum run --store s3://my-bucket/momentum": "needs AWS credentials and a bucket",
    "momentum run --provider files --set files_path=s3://my-bucket/bars": "needs AWS credentials, a bucket",
    "momentum ingest --provider alpaca --start 2016-01-01": "needs real Alpaca keys and the network",
    "momentum backtest --provider alpaca": "needs real Alpaca keys and the network",
    "momentum serve": "runs until Ctrl-C (tests/e2e/test_serve.py starts and stops it)",
    "momentum serve --provider alpaca --broker alpaca": "runs until Ctrl-C and needs real Alpaca keys "
    "(tests/e2e/test_serve_settings.py and test_quickstart.py run it against the stand-ins)",
}


def usage_lines() -> list[str]:
    """The commands of the README's usage block, comments removed, in order."""
    text = (ROOT / "README.md").read_text()
    block = re.search(r"## Usage\s+```bash\n(.*?)```", text, re.S)
    assert block, "README.md has no usage block"
    lines = [line.split("  #")[0].strip() for line in block.group(1).splitlines()]
    return [line for line in lines if line]


def shell(line: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PREFECT_", "MOMENTUM_"))}
    env.update(
        PREFECT_HOME=str(cwd / "prefect-home"),
        AWS_EC2_METADATA_DISABLED="true",
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
    )
    return subprocess.run(
        ["bash", "-c", line],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,  # the slowest line (a 500-symbol synthetic run) takes well under a minute
        stdin=subprocess.DEVNULL,
    )


def test_every_readme_usage_line_runs_in_order_on_a_fresh_folder(tmp_path):
    lines = usage_lines()
    assert set(EXCEPTED) <= set(lines), "an excepted line is no longer in the README"
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    for line in lines:
        if line in EXCEPTED:
            continue
        if "<version>" in line:
            listed = json.loads(shell("momentum store ls orders --json", tmp_path).stdout)
            line = line.replace("<version>", listed[-1]["version"])
        done = shell(line, tmp_path)
        assert done.returncode == 0, f"{line}\n{done.stderr[-2000:]}"
        assert "Traceback" not in done.stderr, line
