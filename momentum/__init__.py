"""momentum: the domain library of a long-only US-equity momentum bot (never imports prefect)."""

from importlib.metadata import PackageNotFoundError, version

try:
    # pyproject.toml's `version` is the one place the version is written; the installed metadata carries it.
    __version__ = version("momentum")
except PackageNotFoundError:  # a source tree run without installing the package
    __version__ = "0+unknown"
