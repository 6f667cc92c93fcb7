"""Prefect UI artifacts: the domain's :class:`~momentum.records.Artifact` values, created in the run."""

from __future__ import annotations

from collections.abc import Iterable

from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact

from momentum.records import Artifact


def publish(artifacts: Iterable[Artifact]) -> list[str]:
    """Create each artifact; returns their keys."""
    keys = []
    for a in artifacts:
        if a.kind == "table":
            create_table_artifact(a.rows, key=a.key, description=a.description)
        elif a.kind == "link":
            create_link_artifact(a.text, link_text=a.link_text, key=a.key, description=a.description)
        else:
            create_markdown_artifact(a.text, key=a.key, description=a.description)
        keys.append(a.key)
    return keys
