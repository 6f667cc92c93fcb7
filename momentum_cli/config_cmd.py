"""``momentum config``: every setting, its value and where the value comes from (secrets masked)."""

from __future__ import annotations

import json
import os
from typing import Any

import typer

from momentum_cli.options import SETS, STORE, parse_sets

MASK = "***"


def config_rows(overrides: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per setting: name, value (``***`` for a secret that is set), source."""
    from momentum.settings import SECRET_FIELDS, setting_sources
    from momentum_cli.preflight import checked_settings

    settings = checked_settings(**overrides)
    sources = setting_sources(os.environ, overrides)
    values = settings.model_dump(mode="json")
    return [
        {
            "setting": name,
            "value": (MASK if values[name] is not None else None) if name in SECRET_FIELDS else values[name],
            "source": sources[name],
        }
        for name in values
    ]


def unknown_variables() -> list[dict[str, Any]]:
    """The ``MOMENTUM_*`` variables that name no setting, each with the nearest setting names."""
    from momentum.settings import ENV_PREFIX, closest_settings, unknown_environment

    return [
        {"variable": key, "closest": closest_settings(key[len(ENV_PREFIX) :])}
        for key in unknown_environment(os.environ)
    ]


def config(
    store: str | None = STORE,
    set_: list[str] = SETS,
    as_json: bool = typer.Option(False, "--json", help="Print the settings as one JSON object"),
) -> None:
    """Print every setting, its value and where it came from (default, environment MOMENTUM_*, flag or
    --set); secrets show as ***. A MOMENTUM_* variable that names no setting is listed with the nearest
    names (it is otherwise ignored)."""
    overrides = {"store_url": store, **parse_sets(set_)}
    rows, unknown = config_rows(overrides), unknown_variables()
    if as_json:
        typer.echo(json.dumps({"settings": rows, "unknown_environment": unknown}))
        return
    width = max(len(row["setting"]) for row in rows)
    for row in rows:
        value = "unset" if row["value"] is None else json.dumps(row["value"])
        typer.echo(f"{row['setting']:<{width}}  {value:<34} {row['source']}")
    for item in unknown:
        near = " or ".join(item["closest"]) or "no setting near it"
        typer.echo(
            f"warning: {item['variable']} is no setting and is ignored (did you mean {near}?)", err=True
        )
