"""What ``momentum serve``'s deployments run with, and the start-up lines that say so.

The settings are ``momentum run``'s: the ``MOMENTUM_*`` environment, then the flags and ``--set``. The
ones that differ from the defaults become ``MOMENTUM_*`` variables of the work pool (so every run of
every deployment uses them); the Alpaca keys never do: they become the Secret blocks that prefect.yaml's
pull step (:func:`tasks.secrets.secret_blocks_to_env`) loads into a run's environment.
"""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from momentum.brokers import check_live_opt_in
from momentum.settings import SECRET_FIELDS, Settings
from momentum_cli.preflight import checked_settings
from tasks.secrets import DEFAULT_BLOCKS

SCHEDULED = "daily"


@dataclass(frozen=True)
class ServePlan:
    """The checked settings of the scheduled runs and the run's live opt-in."""

    settings: Settings
    live: bool = False

    @property
    def env(self) -> dict[str, str]:
        """The non-secret settings that differ from the defaults, as ``MOMENTUM_*`` variables (the store
        is the stack's own variable)."""
        defaults = Settings.model_construct().model_dump(mode="json")
        return {
            f"MOMENTUM_{name.upper()}": value if isinstance(value, str) else json.dumps(value)
            for name, value in self.settings.public().items()
            if name != "store_url" and value is not None and value != defaults.get(name)
        }

    @property
    def secret_blocks(self) -> dict[str, str]:
        """Secret block name -> the key from the environment (only the keys that are set)."""
        out = {}
        for variable, block in DEFAULT_BLOCKS.items():
            field = variable.removeprefix("MOMENTUM_").lower()
            value = getattr(self.settings, field) if field in SECRET_FIELDS else None
            if value is not None:
                out[block] = value.get_secret_value()
        return out

    def trading(self) -> str:
        """Paper or live, and where; raises LiveTradingRefused for a live endpoint without both opt-ins."""
        settings = self.settings
        if settings.broker == "paper":
            return "paper (simulated fills at the close, kept in the store)"
        live = check_live_opt_in(settings.alpaca_base_url, settings.live_trading, self.live)
        return f"{'LIVE (real money)' if live else 'paper'} account at {settings.alpaca_base_url}"

    def data(self) -> str:
        source = {"alpaca": f"Alpaca market data at {self.settings.alpaca_data_url}"}.get(
            self.settings.provider, f"{self.settings.provider} data"
        )
        return f"{self.settings.provider} ({source})"

    def keys(self) -> str:
        blocks = ", ".join(DEFAULT_BLOCKS.values())
        if self.secret_blocks:
            return f"from {', '.join(DEFAULT_BLOCKS)} into the Secret blocks {blocks}"
        return f"none in the environment (runs use the Secret blocks {blocks} if they exist)"


def serve_plan(named: dict[str, Any], overrides: dict[str, Any], live: bool) -> ServePlan:
    """The flags and ``--set`` over the environment, checked as ``momentum run`` checks them; refuses a
    live endpoint without both opt-ins before anything starts."""
    plan = ServePlan(checked_settings(**named, **overrides), live)
    plan.trading()
    return plan


def other_settings(plan: ServePlan) -> str:
    """The pool's settings beyond those the provider and broker lines show, ``name=value``, or
    ``defaults``."""
    shown = {"provider", "broker"}
    shown |= {"alpaca_data_url"} if plan.settings.provider == "alpaca" else set()
    shown |= {"alpaca_base_url"} if plan.settings.broker == "alpaca" else set()
    names = {variable: variable.removeprefix("MOMENTUM_").lower() for variable in plan.env}
    rest = [f"{names[k]}={v}" for k, v in plan.env.items() if names[k] not in shown]
    return ", ".join(rest) or "defaults"


def _api(api_url: str, path: str, body: dict[str, Any] | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{api_url}{path}", data=data, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.load(answer)


def next_run(api_url: str, flow: str, deployment: str = SCHEDULED) -> str:
    """When the server will start ``flow/deployment`` next, in its schedule's time zone (the server
    schedules its runs now rather than at its next scheduler loop)."""
    found = _api(api_url, f"/deployments/name/{flow}/{deployment}")
    _api(api_url, f"/deployments/{found['id']}/schedule", {})
    runs = _api(
        api_url,
        "/flow_runs/filter",
        {
            "flow_runs": {
                "deployment_id": {"any_": [found["id"]]},
                "state": {"type": {"any_": ["SCHEDULED"]}},
            },
            "sort": "EXPECTED_START_TIME_ASC",
            "limit": 1,
        },
    )
    if not runs:
        return "none scheduled (the schedule is paused or has ended)"
    schedule = found["schedules"][0]["schedule"]
    when = datetime.fromisoformat(runs[0]["expected_start_time"])
    when = when.astimezone(ZoneInfo(schedule.get("timezone") or "UTC"))
    return f"{flow}/{deployment} at {when:%a %Y-%m-%d %H:%M %Z} ({schedule.get('cron', 'its schedule')})"
