"""What a command can check before Prefect starts: settings, the store, as_of, the files it names.

Each check raises a :class:`~momentum.errors.PermanentError` whose message is the one line the CLI
prints, so a refusal costs a second, not a Prefect server start.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from momentum.errors import PermanentError
from momentum.settings import Settings

if TYPE_CHECKING:
    import pandas as pd


def default_of(field: str) -> str:
    """``(default: X, or MOMENTUM_FIELD)``: the help of an option whose value falls back to a setting."""
    return f"(default: {Settings.model_fields[field].default}, or MOMENTUM_{field.upper()})"


class InvalidSettings(PermanentError):
    """A setting (environment variable, flag or --set) has a value the bot cannot use: the command stops
    before Prefect starts, naming the setting."""


def unknown_setting(name: str, where: str) -> InvalidSettings:
    """The refusal of a name that is no setting, with the nearest valid ones."""
    from momentum.settings import closest_settings

    near = closest_settings(name)
    hint = f"did you mean {' or '.join(near)}? " if near else ""
    return InvalidSettings(f"unknown setting {name!r}", where, f"{hint}momentum config lists every setting")


def checked_settings(**overrides: Any) -> Settings:
    """``Settings`` from the environment with the overrides applied, or one line naming the bad field."""
    from pydantic import ValidationError

    from momentum.settings import unknown_settings

    for name in unknown_settings(list(overrides)):
        raise unknown_setting(name, "--set")
    try:
        return Settings().with_overrides(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        raise InvalidSettings(
            f"invalid settings: {problems}",
            "MOMENTUM_* environment or --set",
            "see the settings table in README.md",
        ) from None
    except ValueError as exc:
        raise InvalidSettings(str(exc), "settings") from None


def readable_file(path: str | Path, what: str) -> Path:
    """``path`` when it is a readable, non-empty file; else one line naming it."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise PermanentError(f"{what} does not exist or is not a file", str(file), "check the path")
    try:
        with file.open("rb") as handle:
            empty = not handle.read(1)
    except OSError as exc:
        raise PermanentError(
            f"{what} cannot be read ({exc.strerror})", str(file), "check its permissions"
        ) from None
    if empty:
        raise PermanentError(f"{what} is empty", str(file), "give a file with content")
    return file


def check_named_files(settings: Settings) -> None:
    """The files a setting names exist: the universe file, the files provider's local folder."""
    if settings.universe == "file" and settings.universe_file:  # Settings requires the file with "file"
        readable_file(settings.universe_file, "the universe file")
    if settings.provider == "files" and settings.files_path and "://" not in settings.files_path:
        folder = Path(settings.files_path).expanduser()
        if not folder.exists():
            raise PermanentError(
                "the bars folder does not exist",
                f"files_path {folder}",
                "set files_path to a folder (or s3:// prefix) of csv/parquet bars",
            )


def check_store(settings: Settings) -> None:
    """The store URL has a store's shape and the store answers (credentials, bucket, endpoint); the run
    then uses this same store, from the composition root."""
    from momentum import definitions

    definitions.store(settings).identity  # noqa: B018 - reading it proves the store is usable


def check_keys(settings: Settings) -> None:
    """The Alpaca key pair is in the environment when the provider or the broker is Alpaca."""
    from momentum import definitions
    from momentum.brokers import MissingBrokerKeys

    if settings.provider == "alpaca":
        definitions.provider(settings)  # refuses without the keys, before any request
    if settings.broker == "alpaca" and definitions.credentials(settings) is None:
        raise MissingBrokerKeys(
            "broker 'alpaca' needs API keys",
            "MOMENTUM_ALPACA_KEY_ID / MOMENTUM_ALPACA_SECRET_KEY",
            "set both, or use --broker paper",
        )


def check_provider(settings: Settings) -> "pd.Timestamp":
    """The provider answers (its files readable, its keys set): its last session."""
    from momentum import definitions

    return definitions.provider(settings).last_session()


def check_run(as_of: str | None, **overrides: Any) -> tuple[Settings, str]:
    """Everything ``momentum run`` can refuse before Prefect starts; returns the settings and as_of."""
    from momentum.calendar import checked_as_of
    from momentum.strategy import history_sessions

    settings = checked_settings(**overrides)
    check_keys(settings)
    check_named_files(settings)
    check_store(settings)
    history = history_sessions(settings.lookback, settings.skip)
    day = checked_as_of(as_of, check_provider(settings), history)
    return settings, f"{day:%Y-%m-%d}"


def checked_date(text: str | None, flag: str) -> None:
    """``text`` is empty or a date written YYYY-MM-DD; else one line naming the flag."""
    from momentum.calendar import parse_day

    if text:
        parse_day(text, flag)


def check_backtest(
    start: str | None, end: str | None, runner: str, sweep: dict[str, list] | None = None, **overrides: Any
) -> Settings:
    """Everything ``momentum backtest`` can refuse before Prefect starts (each swept value included)."""
    checked_date(start, "--start")
    checked_date(end, "--end")
    if runner not in {"thread", "dask"}:
        raise PermanentError(f"unknown task runner {runner!r}", "--task-runner", "use thread or dask")
    settings = checked_settings(**overrides)
    for name, values in (sweep or {}).items():
        for value in values:
            checked_settings(**{**overrides, name: value})
    check_keys(settings)
    check_named_files(settings)
    check_store(settings)
    check_provider(settings)
    return settings


def check_ingest(start: str | None, end: str | None, **overrides: Any) -> Settings:
    """Everything ``momentum ingest`` can refuse before Prefect starts."""
    checked_date(start, "--start")
    checked_date(end, "--end")
    settings = checked_settings(**overrides)
    check_keys(settings)
    check_named_files(settings)
    check_store(settings)
    check_provider(settings)
    return settings


def check_serve(settings: Settings) -> None:
    """What ``momentum serve`` can refuse before it starts a server, beyond its settings: the files its
    runs name and the store (not the Alpaca keys: its deployments may load them from Secret blocks)."""
    check_named_files(settings)
    check_store(settings)
