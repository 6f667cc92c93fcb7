"""``momentum serve --pool docker --image IMAGE``: the deployments' flow runs run in containers of the
project's image (the local stand-in for an ECS pool), one fresh container per flow run, on the store serve
was given; a second run of the same rebalance sends nothing twice."""

from __future__ import annotations

import re

import pandas as pd

from momentum.brokers.paper import LEDGER
from momentum.store import VersionedStore
from momentum_cli.local_stack import LocalStack, free_port
from tests.support.serve_process import ServeProcess, clean_env
from tests.support.stack import trigger, wait_final

AS_OF = "2022-11-30"
CONTAINER = re.compile(
    r":([0-9a-f]{64})$"
)  # prefect-docker's infrastructure_pid: <docker host>:<container id>


def test_serve_on_the_docker_pool_runs_each_flow_run_in_a_fresh_container(image, tmp_path):
    store, home = tmp_path / "store", tmp_path / "home"
    store.mkdir()
    store.chmod(0o777)  # the image's user (uid 10001) writes the mounted store
    port = free_port()
    args = ["--pool", "docker", "--image", image["tag"], "--store", str(store)]
    serve = ServeProcess([*args, "--home", str(home), "--port", str(port)], clean_env(home), cwd=tmp_path)
    try:
        serve.wait_ready()
        assert serve.line("work pool").startswith(
            "momentum-docker (docker): each flow run in a fresh container"
        )
        stack = LocalStack(home=home, store_url=str(store), port=port)
        runs = [wait_final(stack, trigger(stack, "rebalance", as_of=AS_OF), timeout=300) for _ in range(2)]
    finally:
        assert serve.stop() == 0, "\n".join(serve.lines)

    assert [run.state.type.value for run in runs] == ["COMPLETED", "COMPLETED"], "\n".join(serve.lines)
    assert {run.work_pool_name for run in runs} == {"momentum-docker"}
    containers = [CONTAINER.search(run.infrastructure_pid or "") for run in runs]
    assert all(containers), [run.infrastructure_pid for run in runs]
    assert containers[0].group(1) != containers[1].group(1)  # a fresh container per flow run

    written = VersionedStore(str(store))
    assert written.refs("executions") and written.refs("account")  # the runs wrote to the mounted store
    ledger = written.read(written.resolve(LEDGER).ref)
    orders = pd.Series(ledger["client_order_id"])
    assert len(orders) > 0 and orders.is_unique  # the second run sent nothing twice
