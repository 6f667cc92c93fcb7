"""``momentum store``: list versions with lineage, show a dataset's contents, verify every version."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any, Optional

import typer

from momentum_cli.tool import fail

store_app = typer.Typer(help="Inspect the versioned parquet store.", no_args_is_help=True)


def _store(url: Optional[str]):
    from momentum.store import VersionedStore
    from momentum_cli.preflight import checked_settings

    return VersionedStore(url or checked_settings().store_url)


@store_app.command("ls")
def ls(
    dataset: Optional[str] = typer.Argument(None, help="Dataset name (default: every dataset)"),
    store: Optional[str] = typer.Option(None, "--store", help="Store URL (default: MOMENTUM_STORE_URL)"),
    as_json: bool = typer.Option(False, "--json", help="Print manifests as JSON"),
) -> None:
    """List datasets and their versions with lineage."""
    st = _store(store)
    names = [dataset] if dataset else st.datasets()
    listed = [m for name in names for m in st.listing(name)]
    if as_json:
        typer.echo(
            json.dumps([_damage(m) if isinstance(m, Exception) else asdict(m) for m in listed], default=str)
        )
        return
    if not listed and dataset:
        fail(
            f"dataset {dataset!r} has no committed version",
            f"store {st.url}",
            "momentum store ls lists the datasets",
        )
    if not listed:
        typer.echo(f"no committed versions in {st.url}")
    for m in listed:
        if isinstance(m, Exception):
            damaged = _damage(m)
            typer.echo(
                f"{damaged['dataset']:<12} as_of={damaged['as_of']}  v={damaged['version']}  "
                f"DAMAGED: {damaged['damaged']}"
            )
            continue
        inputs = ", ".join(f"{k}={v}" for k, v in m.inputs.items()) or "-"
        typer.echo(
            f"{m.dataset:<12} as_of={m.as_of}  v={m.version}  rows={m.rows:<7} created={m.created_at}"
            f"  run={m.flow_run_id or '-'}\n{'':<14}inputs: {inputs}"
        )


@store_app.command("show")
def show(
    dataset: str = typer.Argument(..., help="Dataset name, e.g. scores"),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="The version current at this date"),
    version: Optional[str] = typer.Option(None, "--version", help="A named version"),
    fmt: str = typer.Option("table", "--format", help="table | csv | json"),
    store: Optional[str] = typer.Option(None, "--store", help="Store URL (default: MOMENTUM_STORE_URL)"),
    lineage: bool = typer.Option(False, "--lineage", help="Print the manifest (lineage) instead of the rows"),
) -> None:
    """Print one version of a dataset (csv/json go to stdout for scripts)."""
    if fmt not in {"table", "csv", "json"}:
        fail(f"unknown format {fmt!r}", "--format", "use table, csv or json")
    st = _store(store)
    manifest = st.resolve(dataset, as_of=as_of, version=version)
    if lineage:
        typer.echo(json.dumps(asdict(manifest), indent=1, default=str))
        return
    frame = st.read(manifest.ref)
    if fmt == "csv":
        typer.echo(frame.to_csv(index=False), nl=False)
    elif fmt == "json":
        typer.echo(frame.to_json(orient="records", date_format="iso"))
    else:
        typer.echo(f"# {manifest.ref}  rows={manifest.rows}  created={manifest.created_at}")
        typer.echo(frame.to_string(index=False))


def _damage(exc: Any) -> dict:
    """A damaged version as JSON: dataset, as_of, version, key and what is wrong."""
    return {**asdict(exc.ref), "key": exc.key, "damaged": exc.problem}


@store_app.command("verify")
def verify(
    dataset: Optional[str] = typer.Argument(None, help="Dataset name (default: every dataset)"),
    store: Optional[str] = typer.Option(None, "--store", help="Store URL (default: MOMENTUM_STORE_URL)"),
    as_json: bool = typer.Option(False, "--json", help="Print the damaged versions as JSON"),
) -> None:
    """Read every version (of DATASET) against its manifest; list the damaged ones, exit 1 if any."""
    st = _store(store)
    damaged = st.damaged(dataset)
    if as_json:
        typer.echo(json.dumps([_damage(exc) for exc in damaged]))
    for exc in [] if as_json else damaged:
        typer.echo(
            f"{exc.ref.dataset} as_of={exc.ref.as_of} v={exc.ref.version} key={exc.key}: {exc.problem}"
        )
    if damaged:
        fail(
            f"{len(damaged)} damaged version(s)",
            f"store {st.url}",
            "delete each damaged version's folder and re-run the flow that wrote it",
        )
    if not as_json:
        typer.echo(f"every version is intact in {st.url}")
