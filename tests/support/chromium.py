"""Debian's headless chromium (no browser download): the DOM it builds of a page, and the visible text."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def dump_dom(url: str, profile: Path, *flags: str) -> subprocess.CompletedProcess:
    """Chromium's ``--dump-dom`` of ``url`` on a fresh ``profile``, with ``flags`` after the usual ones."""
    shutil.rmtree(profile, ignore_errors=True)
    profile.mkdir(parents=True)
    return subprocess.run(
        [str(CHROMIUM), *FLAGS, *flags, f"--user-data-dir={profile}", "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def visible_text(markup: str) -> str:
    """The text of ``markup`` without its tags, runs of white space as one space."""
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", markup)))
