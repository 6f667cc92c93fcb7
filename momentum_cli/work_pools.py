"""Where ``momentum serve``'s flow runs run: Prefect's process pool (a subprocess of the worker, in the
checkout) or its docker pool (a fresh container of the project's image per run: the local stand-in for
an ECS pool), and the deployments file that points the deployments at the pool.

A pool's base job template carries the runs' environment (the store and the non-secret settings, never a
key: keys reach a run through the Secret blocks of prefect.yaml's pull step).
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from momentum.errors import PermanentError

# Where the image keeps the code (the Dockerfile's WORKDIR).
IMAGE_CODE_DIR = "/opt/momentum"


@dataclass(frozen=True)
class WorkPool:
    """A work pool by name and worker type (``process`` or ``docker``, the latter with its image)."""

    name: str
    type: str = "process"
    image: str | None = None

    def describe(self) -> str:
        if self.type == "docker":
            return f"{self.name} (docker): each flow run in a fresh container of {self.image}"
        return f"{self.name} (process): a worker running one flow run at a time"

    def code_dir(self, checkout: Path) -> str:
        """MOMENTUM_HOME of a run: the directory the pull step enters."""
        return IMAGE_CODE_DIR if self.type == "docker" else str(checkout)

    def template(self, env: dict[str, str], store_url: str) -> dict[str, Any]:
        """The pool's base job template with ``env`` as every run's environment."""
        if self.type == "process":
            from prefect.workers.process import ProcessWorker

            return with_defaults(ProcessWorker.get_default_base_job_template(), env=dict(env))
        try:
            from prefect_docker.worker import DockerWorker
        except ImportError:
            raise PermanentError(
                "the docker work pool needs prefect-docker",
                "--pool docker",
                "pip install 'momentum[serverless]'",
            ) from None
        return with_defaults(
            DockerWorker.get_default_base_job_template(),
            env=dict(env),
            image=self.image,
            # The server listens on loopback: the container shares the host's network.
            network_mode="host",
            image_pull_policy="IfNotPresent",
            auto_remove=True,
            volumes=[f"{store_url}:{store_url}"] if "://" not in store_url else [],
        )


def with_defaults(template: dict[str, Any], **defaults: Any) -> dict[str, Any]:
    """``template`` with the default value of each named job variable replaced."""
    for name, value in defaults.items():
        template["variables"]["properties"][name]["default"] = value
    return template


PROCESS_POOL = WorkPool("momentum-local")


def docker_pool(image: str) -> WorkPool:
    return WorkPool("momentum-docker", "docker", image)


def serve_pool(kind: str, image: str | None) -> WorkPool:
    """``--pool process|docker`` and ``--image`` -> the pool; one line naming the flag if they do not fit."""
    if kind == "process":
        if image:
            raise PermanentError("--image needs --pool docker", "--image", "add --pool docker")
        return PROCESS_POOL
    if kind != "docker":
        raise PermanentError(f"unknown work pool type {kind!r}", "--pool", "use process or docker")
    if not image:
        raise PermanentError(
            "--pool docker needs the image to run",
            "--image",
            "build it with scripts/build-image.sh, then pass --image TAG",
        )
    return docker_pool(image)


def deployments_file(source: Path, pool: WorkPool, live: bool) -> dict[str, Any]:
    """prefect.yaml with every deployment on ``pool`` and, with ``live``, the live opt-in as a parameter."""
    spec = yaml.safe_load(source.read_text())
    for deployment in spec["deployments"]:
        deployment["work_pool"] = {"name": pool.name, "work_queue_name": "default"}
        if live:
            deployment["parameters"] = {**deployment.get("parameters", {}), "live": True}
    spec["definitions"]["work_pools"] = {pool.type: {"name": pool.name, "work_queue_name": "default"}}
    return spec


def save_secret_blocks(env: dict[str, str], blocks: dict[str, str]) -> None:
    """Each of ``blocks`` (name -> value) as a Prefect Secret block on the API of ``env``. The values
    travel through the environment of one process: never on a command line, in a file or in a log."""
    script = (
        "import json, os\nfrom prefect.blocks.system import Secret\n"
        "for i, name in enumerate(json.loads(os.environ['MOMENTUM_BLOCK_NAMES'])):\n"
        "    Secret(value=os.environ[f'MOMENTUM_BLOCK_{i}']).save(name, overwrite=True)\n"
    )
    values = {f"MOMENTUM_BLOCK_{i}": value for i, value in enumerate(blocks.values())}
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**env, **values, "MOMENTUM_BLOCK_NAMES": json.dumps(list(blocks))},
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        raise RuntimeError(f"saving the Secret blocks failed:\n{done.stderr[-2000:]}")
