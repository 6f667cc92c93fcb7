"""The CLI's one error path: every failure ends in one line on stderr and exit status 1.

``error: <what>, <where> (<how to fix>)``; a traceback only with ``--debug`` (anywhere on the command
line) or ``MOMENTUM_DEBUG=1``. Commands raise (:func:`fail`, or any exception from below); the group
turns it into that line, so no command prints its own errors.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from typing import Any

import typer
from typer.core import TyperGroup

from momentum.errors import PermanentError

DEBUG_ENV = "MOMENTUM_DEBUG"
# Typer's usage errors (bad flag, missing argument): click's UsageError, vendored by newer Typer releases.
# Found at run time wherever it lives, so typed Any (its .ctx and .format_message are click's).
UsageError: Any = next(cls for cls in typer.BadParameter.__mro__ if cls.__name__ == "UsageError")


class CliError(PermanentError):
    """A refusal by the command line itself (a bad flag value, a file it cannot read): one line, exit 1."""


def fail(what: str, where: str | None = None, fix: str | None = None) -> None:
    """Stop the command: ``error: <what>, <where> (<fix>)`` on stderr, exit status 1."""
    raise CliError(what, where, fix)


def debug_requested(argv: list[str]) -> bool:
    return "--debug" in argv or os.environ.get(DEBUG_ENV, "").strip().lower() in {"1", "true", "yes"}


def error_line(exc: BaseException) -> str:
    """One line naming the failure: the error's own message, or its type and first line."""
    if isinstance(exc, UsageError):
        where = exc.ctx.command_path if exc.ctx else "momentum"
        return f"{exc.format_message().rstrip('.')}, {where} (see {where} --help)"
    text = str(exc).strip()
    if not isinstance(exc, PermanentError) or not text:
        text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return text.splitlines()[0]


METAVARS = {
    "str": "TEXT",
    "text": "TEXT",
    "int": "INTEGER",
    "integer": "INTEGER",
    "float": "NUMBER",
    "path": "PATH",
}


def plain_metavars(command: Any) -> None:
    """``--store TEXT`` instead of Typer's ``--store <str>``: name every valued option by its type."""
    for param in getattr(command, "params", []):
        if param.param_type_name == "option" and not param.is_flag and param.metavar is None:
            kind = param.bare_type() if hasattr(param, "bare_type") else param.type.name
            kind = kind.lower().removeprefix("list[").removesuffix("]")  # a repeatable option names one value
            param.metavar = METAVARS.get(kind, kind.upper())
    for sub in getattr(command, "commands", {}).values():
        plain_metavars(sub)


class OneLineGroup(TyperGroup):
    """Typer's group with the error policy above (also what ``CliRunner`` goes through)."""

    # click's main also takes windows_expand_args positionally; this one passes it on through **extra.
    def main(  # type: ignore[override]
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        os.environ.setdefault(
            "PREFECT_SERVER_ANALYTICS_ENABLED", "false"
        )  # offline is the default, not an error
        argv = list(sys.argv[1:] if args is None else args)
        debug = debug_requested(argv)
        argv = [arg for arg in argv if arg != "--debug"]
        plain_metavars(self)
        try:
            code = super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
            code = code if isinstance(code, int) else 0
        except (KeyboardInterrupt, typer.Abort):
            typer.echo("error: interrupted", err=True)
            code = 130
        except Exception as exc:  # noqa: BLE001 - the tool's job is a one-line reason
            if debug:
                traceback.print_exception(exc)
            logging.getLogger("prefect").setLevel(logging.WARNING)  # the error stays the last line on stderr
            typer.echo(f"error: {error_line(exc)}", err=True)
            code = 1
        if standalone_mode:
            sys.exit(code)
        return code
