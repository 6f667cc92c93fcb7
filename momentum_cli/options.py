"""What several commands share: parsing ``--set key=value`` values, and the options they declare alike."""

from __future__ import annotations

import json
from typing import Any

import typer

from momentum_cli.preflight import default_of
from momentum_cli.tool import fail

# Options declared alike by several commands (typer reads each declaration afresh for every command).
STORE = typer.Option(
    None, "--store", help=f"Store URL: a folder or s3://bucket/prefix {default_of('store_url')}"
)
PROVIDER = typer.Option(
    None, "--provider", metavar="NAME", help=f"embedded | synthetic | alpaca | files {default_of('provider')}"
)
BROKER = typer.Option(None, "--broker", metavar="NAME", help=f"paper | alpaca {default_of('broker')}")
SETS = typer.Option([], "--set", help="Any other setting, key=value (repeatable)")


def parse_value(text: str) -> Any:
    """A flag value: JSON when it parses (numbers, true/false, lists), else the string itself."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_sets(pairs: list[str]) -> dict[str, Any]:
    """``key=value`` pairs -> overrides."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            fail(f"--set expects key=value, got {pair!r}", "--set", "e.g. --set lookback=126")
        out[key.strip()] = parse_value(value)
    return out
