"""The image (../Dockerfile), built by the project's script on a base made from Debian's packages:
it runs the embedded pipeline offline as a user without privileges into a writable default store, and
carries no test tooling, no repository metadata, no wheels and none of this machine's certificates."""

from __future__ import annotations

import json

from momentum_cli.local_stack import REPO_ROOT
from tests.support.containers import docker, found_in_layers, host_only_certificates, image_config


def test_without_settings_the_image_runs_the_pipeline_offline(image):
    done = docker("run", "--rm", "--network", "none", image["tag"], "momentum", "run", "--json", check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout)
    execution = summary["execution"]  # the default order_timing close: queued for the next close
    assert execution["queued"] == execution["orders"] > 0 and execution["attention"] == 0
    assert summary["store"] == "/home/momentum/momentum-store"
    assert summary["datasets"]["executions"]["path"].startswith("/home/momentum/momentum-store/executions/")


def test_the_image_runs_as_a_user_without_privileges_and_the_code_is_read_only(image):
    config = image_config(image["tag"])
    assert config["User"] == "momentum"
    assert "MOMENTUM_HOME=/opt/momentum" in config["Env"]
    probe = (
        "import os, pathlib; print(os.getuid(), os.access('/opt/momentum/flows', os.W_OK), "
        "os.access(pathlib.Path.home(), os.W_OK), os.getcwd())"
    )
    done = docker("run", "--rm", "--network", "none", image["tag"], "python", "-c", probe)
    assert done.stdout.split() == ["10001", "False", "True", "/opt/momentum"]


def test_the_image_holds_the_code_and_its_dependencies_only(image):
    listing = docker("run", "--rm", "--network", "none", image["tag"], "ls", "-A", "/opt/momentum").stdout
    assert {".git", "tests", "benchmarks", "docs", ".wheelhouse", "momentum-store"}.isdisjoint(
        listing.split()
    )
    assert {"momentum", "momentum_cli", "tasks", "flows", "prefect.yaml"} <= set(listing.split())
    probe = (
        "import importlib.util as u; print([m for m in ('pytest', 'hypothesis', 'moto', 'ruff', "
        "'prefect_docker', 'prefect_aws') if u.find_spec(m)])"
    )
    done = docker("run", "--rm", "--network", "none", image["tag"], "python", "-c", probe)
    assert done.stdout.strip() == "[]"


def test_no_layer_holds_this_machines_certificates_or_the_wheelhouse(image):
    """``docker save`` scanned file by file: the CAs only this machine trusts (lent to the wheel
    download, never to the build) and the wheels (the build's first stage) appear in no layer of the
    image, nor in its history."""
    certificates = host_only_certificates(image["tag"])
    assert certificates, "this machine trusts no CA of its own: the scan would prove nothing"
    history = docker("history", "--no-trunc", image["tag"]).stdout
    assert "ca-certificates.crt" not in history and "wheelhouse" not in history  # only the first stage's
    wheels = [p.name for p in (REPO_ROOT / ".wheelhouse").glob("*.whl")]
    assert len(wheels) > 50  # the dependencies' wheels that the build installed
    found = found_in_layers(image["tag"], certificates, names=wheels)
    assert found == []
