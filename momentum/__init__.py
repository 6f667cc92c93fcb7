"""momentum: the domain library of a long-only US-equity momentum bot (never imports prefect)."""

__version__ = "0.1.0"
