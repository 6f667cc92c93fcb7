"""The serverless deployments on Prefect's ``docker`` work pool: the local stand-in for ECS.

:class:`DockerStack` is ``momentum serve``'s :class:`LocalStack` (a ``prefect server`` on loopback) with
a ``docker`` pool, the deployments of ``scripts/prefect.serverless.yaml`` and a docker worker: every flow
run is a fresh container of the image, started with the same ``prefect flow-run execute`` command and
``PREFECT_API_URL`` / flow-run-id environment an ECS task gets. :func:`on_docker_pool` makes the file
deployed here from the serverless one by replacing the pool (name and job variables) and nothing else.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from momentum_cli.local_stack import REPO_ROOT, LocalStack

SERVERLESS_FILE = REPO_ROOT / "scripts" / "prefect.serverless.yaml"
DOCKER_POOL = "momentum-docker"
# The ECS-only job variables; the docker pool has no task role, and cpu/memory become a mem_limit.
ECS_ONLY = ("cpu", "memory", "task_role_arn")


def docker_job_variables(ecs: dict, extra_env: dict[str, str]) -> dict:
    """The ECS pool's job variables as the docker pool's: the same image and environment names (plus
    ``extra_env``: what the task role and the AWS network give an ECS task), the host's network (the
    server, moto and the Alpaca stand-ins listen on loopback), the local image, removed after the run."""
    out = {k: v for k, v in ecs.items() if k not in ECS_ONLY}
    out["env"] = {**ecs["env"], **extra_env}
    out.update(
        network_mode="host",
        image_pull_policy="Never",
        auto_remove=True,
        mem_limit=f"{ecs['memory']}m",
    )
    return out


def on_docker_pool(serverless: dict, extra_env: dict[str, str]) -> dict:
    """The serverless prefect file with each deployment's work pool replaced by the docker pool."""
    out = copy.deepcopy(serverless)
    for deployment in out["deployments"]:
        ecs = deployment["work_pool"]
        deployment["work_pool"] = {
            "name": DOCKER_POOL,
            "job_variables": docker_job_variables(ecs["job_variables"], extra_env),
        }
    out["definitions"]["work_pools"] = {"docker": out["deployments"][0]["work_pool"]}
    return out


@dataclass
class DockerStack(LocalStack):
    """A Prefect server, the docker pool, the serverless deployments and a docker worker.

    ``deploy_env`` holds what ``prefect deploy`` fills the file's ``{{ $VAR }}`` values from
    (MOMENTUM_IMAGE, MOMENTUM_STORE_URL, MOMENTUM_TASK_ROLE_ARN), ``run_env`` the test-only variables
    added to the pool's environment (endpoints and dummy S3 credentials of moto, the stand-ins' URLs).
    """

    deploy_env: dict[str, str] = field(default_factory=dict)
    run_env: dict[str, str] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        # The scheduler looks for due schedules every 2 s (60 s by default).
        return {**super().env, **self.deploy_env, "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "2"}

    @property
    def prefect_file(self) -> Path:
        return self.home / "prefect.docker.yaml"

    def create_pool(self) -> None:
        self.prefect("work-pool", "create", DOCKER_POOL, "--type", "docker", "--overwrite")

    def deploy(self) -> str:
        serverless = yaml.safe_load(SERVERLESS_FILE.read_text())
        self.home.mkdir(parents=True, exist_ok=True)
        self.prefect_file.write_text(yaml.safe_dump(on_docker_pool(serverless, self.run_env)))
        done = self.prefect("deploy", "--all", "--prefect-file", str(self.prefect_file))
        output = done.stdout + done.stderr
        if "Skipping" in output or output.count("Deployment 'rebalance/") < 2:
            raise RuntimeError(f"prefect deploy --all did not apply every deployment:\n{output}")
        return output

    def start_worker(self) -> None:
        env = {**self.env, "PREFECT_WORKER_QUERY_SECONDS": str(self.worker_poll_seconds)}
        self._spawn(
            "worker",
            ["worker", "start", "--pool", DOCKER_POOL, "--type", "docker", "--name", "momentum-docker-worker"]
            + ["--limit", "1", "--install-policy", "never"],
            env,
        )

    def save_blocks(self, secrets: dict[str, str], results_basepath: str) -> None:
        """The Secret blocks (values passed through the environment, never on a command line) and the
        ``remote-file-system/momentum-results`` block, as docs/deploy.md step 6 makes them."""
        script = (
            "import os, json\n"
            "from prefect.blocks.system import Secret\n"
            "from prefect.filesystems import RemoteFileSystem\n"
            "for name, variable in json.loads(os.environ['BLOCKS']).items():\n"
            "    Secret(value=os.environ[variable]).save(name, overwrite=True)\n"
            "RemoteFileSystem(basepath=os.environ['RESULTS']).save('momentum-results', overwrite=True)\n"
        )
        variables = {f"SECRET_{i}": value for i, value in enumerate(secrets.values())}
        env = {
            **self.env,
            **variables,
            "BLOCKS": json.dumps({name: f"SECRET_{i}" for i, name in enumerate(secrets)}),
            "RESULTS": results_basepath,
        }
        done = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr[-3000:]
