"""One typed settings object for the whole bot (environment prefix ``MOMENTUM_``).

Values come from, in increasing precedence: defaults, ``MOMENTUM_*`` environment variables, and
explicit keyword overrides (CLI flags, flow parameters). Secrets are ``SecretStr`` so they print as
``**********`` and are excluded from :meth:`Settings.public`.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from momentum.strategy import DEFAULT_STRATEGY, StrategyParams

SECRET_FIELDS = frozenset({"alpaca_key_id", "alpaca_secret_key"})
ENV_PREFIX = "MOMENTUM_"
# MOMENTUM_* variables that are not settings: the command line's and the deployment's own.
NOT_SETTINGS = frozenset({"DEBUG", "HOME", "IMAGE", "TASK_ROLE_ARN", "NOTIFY_WEBHOOK_URL"})
# The strategy's defaults live in one place, :class:`~momentum.strategy.StrategyParams`.
_STRATEGY = StrategyParams()
# where results go and how live orders are sent: nothing a simulation reads, so never a backtest's params
NOT_BACKTESTED = frozenset(
    {"store_url", "broker", "live_trading", "alpaca_base_url", "kill_switch", "queue_when_closed"}
)


class Settings(BaseSettings):
    """Every knob of the bot. Fractions are fractions (0.05 = 5 %), costs are basis points."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    # store and data
    store_url: str = Field("momentum-store", description="Local folder or s3://bucket/prefix")
    provider: Literal["embedded", "synthetic", "alpaca", "files"] = "embedded"
    files_path: str | None = Field(
        None, description="provider files: folder or s3:// prefix of csv/parquet bars"
    )
    synthetic_symbols: int = Field(50, ge=1)
    synthetic_sessions: int = Field(1260, ge=2)
    synthetic_seed: int = 7

    # strategy
    strategy: Literal["qmom", "momentum"] = DEFAULT_STRATEGY
    lookback: int = Field(_STRATEGY.lookback, ge=2, description="sessions")
    skip: int = Field(_STRATEGY.skip, ge=0, description="sessions")
    min_holdings: int = Field(_STRATEGY.min_holdings, ge=1)
    holdings_fraction: float = Field(_STRATEGY.holdings_fraction, gt=0, le=1)
    holdings: int | None = Field(
        _STRATEGY.holdings, ge=1, description="fixed number of names; overrides the rule"
    )
    max_stale_sessions: int = Field(
        _STRATEGY.max_stale_sessions, ge=1, description="longest allowed run of unchanged closes"
    )
    regime_filter: bool = _STRATEGY.regime_filter
    regime_window: int = Field(_STRATEGY.regime_window, ge=2, description="sessions of the benchmark average")
    universe: Literal["auto", "sp500", "all", "file"] = Field(
        "auto",
        description="auto: point-in-time S&P 500 for embedded and alpaca data, every symbol for synthetic",
    )
    universe_file: str | None = None
    rebalance_months: tuple[int, ...] = (2, 5, 8, 11)
    trade_offset: int = Field(1, ge=0, description="sessions between signal and trade")
    only_on_schedule: bool = Field(False, description="plan/execute only on a rebalance signal session")

    # validation
    max_quarantine_fraction: float = Field(0.2, ge=0, le=1)

    # portfolio and orders
    initial_cash: float = Field(100_000.0, gt=0, description="dollars")
    cost_bps: float = Field(5.0, ge=0, description="basis points of traded notional")
    paper_slippage_bps: float = Field(
        0.0, ge=0, description="paper fills: buys at close x (1 + bps), sells below"
    )
    fractional: bool = False
    min_order_value: float = Field(1.0, ge=0, description="dollars")
    cash_buffer: float = Field(0.0, ge=0, lt=1, description="fraction of equity kept in cash")

    # broker and safety
    broker: Literal["paper", "alpaca"] = "paper"
    live_trading: bool = False
    alpaca_base_url: str = "https://paper-api.alpaca.markets"
    alpaca_key_id: SecretStr | None = None
    alpaca_secret_key: SecretStr | None = None
    max_order_notional: float = Field(1_000_000.0, gt=0, description="dollars per order")
    max_rebalance_notional: float = Field(10_000_000.0, gt=0, description="dollars per rebalance")
    price_band: float = Field(0.1, gt=0, description="allowed fraction away from the last close")
    kill_switch: bool = False
    queue_when_closed: bool = False
    order_timing: Literal["close", "open", "market"] = Field(
        "close",
        description="close: the trade session's closing auction (the backtest's price); open: its opening "
        "auction; market: a day market order at once (queued for the next open when closed)",
    )
    fill_timeout_seconds: float = Field(60.0, ge=0, description="how long execution waits for fills")
    fill_poll_seconds: float = Field(1.0, gt=0, description="pause between fill checks")
    lease_ttl_seconds: float = Field(
        900.0, gt=0, description="a rebalance's lease expires this long after its holder last renewed it"
    )
    lease_wait_seconds: float = Field(
        60.0, ge=0, description="how long a second run of a rebalance waits for the first to finish"
    )
    notional_orders: bool = Field(False, description="send buys as dollar amounts (needs fractional)")
    alpaca_timeout_seconds: float = Field(10.0, gt=0, description="connecting, and each wait for bytes")
    alpaca_max_retries: int = Field(4, ge=0)
    alpaca_backoff_seconds: float = Field(0.5, ge=0)
    http_deadline_seconds: float = Field(
        30.0,
        gt=0,
        description="the longest one HTTP exchange may take in all (a trickling server is cut off)",
    )
    http_operation_seconds: float = Field(
        120.0, gt=0, description="the longest one request may take with its retries (or one chain of pages)"
    )
    flow_timeout_seconds: float = Field(3600.0, gt=0, description="a flow run that takes longer ends Failed")

    # market data (provider alpaca; same key pair and timeout/retry settings as the broker)
    alpaca_data_url: str = "https://data.alpaca.markets"
    alpaca_data_feed: Literal["sip", "iex", "delayed_sip", "boats", "overnight", "otc"] = Field(
        "sip", description="sip: all US exchanges; iex is refused (about 2.5 % of volume: not the closes)"
    )
    benchmark_symbol: str = Field(
        "SPY", description="its adjusted closes are the benchmark (provider alpaca)"
    )

    @field_validator("rebalance_months")
    @classmethod
    def _months_valid(cls, months: tuple[int, ...]) -> tuple[int, ...]:
        if not months or any(m < 1 or m > 12 for m in months):
            raise ValueError(f"rebalance_months must be months 1..12, got {months!r}")
        return tuple(sorted(set(months)))

    @model_validator(mode="after")
    def _consistent(self) -> "Settings":
        if self.skip >= self.lookback:
            raise ValueError(f"skip ({self.skip}) must be smaller than lookback ({self.lookback})")
        if self.notional_orders and not self.fractional:
            raise ValueError(
                "notional_orders needs fractional=true (a dollar amount buys fractions of a share)"
            )
        if self.order_timing != "market" and (self.fractional or self.notional_orders):
            raise ValueError(
                f"order_timing '{self.order_timing}' sends on-{self.order_timing} auction orders, which are "
                "whole shares only: set fractional=false (and notional_orders=false) or order_timing=market"
            )
        if self.order_timing == "open" and self.provider == "embedded":
            raise ValueError(
                "order_timing 'open' fills at the trade session's open and the embedded data has closes "
                "only: use order_timing close (the default) or a provider with opens (synthetic, alpaca, "
                "files)"
            )
        if self.universe == "file" and not self.universe_file:
            raise ValueError("universe='file' needs universe_file")
        if self.alpaca_data_feed == "iex":
            raise ValueError(
                "alpaca_data_feed 'iex' is refused: IEX carries about 2.5 % of US volume, so its "
                "closes are not the market's closes (use sip, the default)"
            )
        if self.provider == "files" and not self.files_path:
            raise ValueError(
                "provider='files' needs files_path (a folder or s3:// prefix of csv/parquet bars)"
            )
        return self

    def public(self) -> dict[str, Any]:
        """The settings as plain JSON-able values, without secrets (safe to log and store)."""
        return self.model_dump(mode="json", exclude=set(SECRET_FIELDS))

    def backtested(self) -> dict[str, Any]:
        """The public settings a backtest's results depend on (without :data:`NOT_BACKTESTED`)."""
        return {k: v for k, v in self.public().items() if k not in NOT_BACKTESTED}

    def with_overrides(self, extra: Mapping[str, Any] | None = None, /, **overrides: Any) -> "Settings":
        """A copy with the non-None overrides applied and validated; secrets are refused here. ``extra``
        (a flow's ``overrides`` parameter) gives more; a keyword that is not None wins over its key."""
        given = {k: v for k, v in overrides.items() if v is not None}
        values = {k: v for k, v in {**(extra or {}), **given}.items() if v is not None}
        secret = sorted(SECRET_FIELDS & values.keys())
        if secret:
            raise ValueError(
                f"secrets ({', '.join(secret)}) come from the environment, never from parameters"
            )
        if not values:
            return self
        merged = {**self.model_dump(), **values}
        return Settings(**merged)


def closest_settings(name: str, n: int = 3) -> list[str]:
    """The setting names nearest to a misspelt ``name`` (for "did you mean ...")."""
    return difflib.get_close_matches(name.lower(), list(Settings.model_fields), n=n, cutoff=0.5)


def unknown_settings(names: list[str]) -> list[str]:
    """The names (fields, as in ``--set``) that are not settings."""
    return [name for name in names if name not in Settings.model_fields]


def unknown_environment(environ: Mapping[str, str]) -> list[str]:
    """``MOMENTUM_*`` variables that name no setting (a typo is otherwise silently ignored)."""
    return sorted(
        key
        for key in environ
        if key.upper().startswith(ENV_PREFIX)
        and key[len(ENV_PREFIX) :].upper() not in NOT_SETTINGS
        and key[len(ENV_PREFIX) :].lower() not in Settings.model_fields
    )


def setting_sources(environ: Mapping[str, str], overrides: Mapping[str, Any]) -> dict[str, str]:
    """Where each setting's value comes from: ``flag/--set``, ``environment MOMENTUM_X`` or ``default``
    (in that order of precedence)."""
    env = {key.upper() for key in environ}
    out = {}
    for name in Settings.model_fields:
        variable = f"{ENV_PREFIX}{name.upper()}"
        if overrides.get(name) is not None:
            out[name] = "flag/--set"
        elif variable in env:
            out[name] = f"environment {variable}"
        else:
            out[name] = "default"
    return out


def flow_timeout_seconds() -> float:
    """The flows' ``timeout_seconds``, read when a flow module is imported (a decorator argument):
    ``MOMENTUM_FLOW_TIMEOUT_SECONDS`` when it is a positive number, else the setting's default (a bad
    value is still refused, in one line, when the run's settings are read)."""
    default = Settings.model_fields["flow_timeout_seconds"].default
    try:
        value = float(os.environ.get("MOMENTUM_FLOW_TIMEOUT_SECONDS", default))
    except ValueError:
        return default
    return value if value > 0 else default
