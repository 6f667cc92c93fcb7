"""The ECS configuration users push (scripts/prefect.serverless.yaml), checked offline: its job variables
validate against prefect-aws's ECS base job template (the JSON schema the pool checks them with), and the
ECS worker's own calls, against moto's ECS (as prefect-aws's tests do; moto never starts a container),
register the task definition and start the task with what docs/deploy.md states."""

from __future__ import annotations

import asyncio
import json
import re
import shlex
import uuid

import boto3
import pytest
import yaml
from moto import mock_aws
from prefect.utilities.schema_tools import ValidationError, validate

from tests.support.docker_pool import SERVERLESS_FILE

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/prefect-flows:momentum-abc1234"
ROLE = "arn:aws:iam::123456789012:role/momentum-task"
DEPLOY_ENV = {
    "MOMENTUM_IMAGE": IMAGE,
    "MOMENTUM_STORE_URL": "s3://my-momentum/momentum",
    "MOMENTUM_TASK_ROLE_ARN": ROLE,
}


def job_variables(deployment: str) -> dict:
    """A deployment's ECS job variables with the ``{{ $VAR }}`` values filled as ``prefect deploy`` does."""
    (found,) = [
        d for d in yaml.safe_load(SERVERLESS_FILE.read_text())["deployments"] if d["name"] == deployment
    ]
    assert found["work_pool"]["name"] == "momentum-ecs"
    text = json.dumps(found["work_pool"]["job_variables"])
    return json.loads(re.sub(r"\{\{\s*\$(\w+)\s*\}\}", lambda m: DEPLOY_ENV[m.group(1)], text))


def ecs_template() -> dict:
    from prefect_aws.workers.ecs_worker import ECSWorker

    return ECSWorker.get_default_base_job_template()


@pytest.mark.parametrize("deployment", ["daily", "rebalance"])
def test_the_job_variables_validate_against_the_ecs_base_job_template(deployment):
    schema = ecs_template()["variables"]
    variables = job_variables(deployment)
    assert set(variables) <= set(schema["properties"])  # no variable the pool would ignore
    validate(variables, schema, raise_on_error=True, preprocess=True, ignore_required=True)
    with pytest.raises(ValidationError):  # the check can fail: the schema types each variable
        validate({**variables, "cpu": "half a vCPU"}, schema, raise_on_error=True, preprocess=True)


@pytest.fixture
def aws(monkeypatch):
    """moto's in-process AWS (ECS, EC2 with its default VPC), no endpoint override. Two parts of the
    worker are replaced: its ECS event observer (an SQS listener; moto never changes a task's state) and
    the RunTask call itself, which moto places like an EC2 task (it needs a memory per container, which
    Fargate does not): the request is recorded and checked against the AWS API model of RunTask."""
    from botocore.validate import validate_parameters
    from prefect_aws.workers import ecs_worker

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    requests: list[dict] = []

    def run_task(self, ecs_client, request):
        validate_parameters(request, ecs_client.meta.service_model.operation_model("RunTask").input_shape)
        requests.append(request)
        return {"taskArn": f"arn:aws:ecs:us-east-1:123456789012:task/{uuid.uuid4().hex}", "clusterArn": "c"}

    async def nothing():
        return None

    monkeypatch.setattr(ecs_worker, "start_observer", nothing)
    monkeypatch.setattr(ecs_worker, "stop_observer", nothing)
    monkeypatch.setattr(ecs_worker.ECSWorker, "_create_task_run", run_task)
    with mock_aws():
        boto3.client("ecs").create_cluster(clusterName="prefect-ecs-cluster")
        yield requests


async def worker_run(variables: dict) -> None:
    """The ECS worker's ``run`` of a flow run of the deployment, as a worker polling the pool runs it."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect_aws.workers.ecs_worker import ECSJobConfiguration, ECSWorker

    from flows.rebalance import rebalance

    template = ecs_template()
    pool = f"momentum-ecs-{uuid.uuid4().hex[:6]}"
    async with get_client() as client:
        await client.create_work_pool(WorkPoolCreate(name=pool, type="ecs", base_job_template=template))
        flow_run = await client.create_flow_run(rebalance, parameters={"only_on_schedule": True})
    configuration = await ECSJobConfiguration.from_template_and_values(
        template, {**variables, "cluster": "prefect-ecs-cluster"}
    )
    configuration.prepare_for_flow_run(flow_run)
    async with ECSWorker(work_pool_name=pool) as worker:
        await worker.run(flow_run, configuration)


@pytest.mark.usefixtures("prefect_api")
def test_the_ecs_worker_registers_the_documented_task_definition_on_moto(aws):
    asyncio.run(worker_run(job_variables("daily")))
    (request,) = aws
    ecs = boto3.client("ecs")
    definition = ecs.describe_task_definition(taskDefinition=request["taskDefinition"])["taskDefinition"]
    (container,) = definition["containerDefinitions"]
    assert container["image"] == IMAGE and definition["status"] == "ACTIVE"
    assert (definition["cpu"], definition["memory"]) == ("512", "2048")  # 0.5 vCPU, 2 GB (docs/deploy.md)
    assert definition["requiresCompatibilities"] == ["FARGATE"] and definition["networkMode"] == "awsvpc"
    assert request["launchType"] == "FARGATE" and request["cluster"] == "prefect-ecs-cluster"
    assert request["networkConfiguration"]["awsvpcConfiguration"]["subnets"]  # the default VPC's (moto EC2)
    (override,) = request["overrides"]["containerOverrides"]
    env = {e["name"]: e["value"] for e in override["environment"]}
    assert env["MOMENTUM_STORE_URL"] == "s3://my-momentum/momentum"
    assert env["PREFECT_RESULTS_DEFAULT_STORAGE_BLOCK"] == "remote-file-system/momentum-results"
    assert not any("ALPACA" in name or "SECRET" in name for name in env)  # keys come from Secret blocks
    assert shlex.join(override["command"]) == "prefect flow-run execute"
    assert request["overrides"]["taskRoleArn"] == ROLE
