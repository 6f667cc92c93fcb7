"""What ``momentum serve`` gives its deployments: settings as the pool's variables, keys as Secret blocks,
paper or live, the pool and the deployments file (no server: tests/e2e/test_serve_settings.py starts one)."""

from __future__ import annotations

import os

import pytest

from momentum.brokers import LiveTradingRefused
from momentum.errors import PermanentError
from momentum.settings import Settings
from momentum_cli.local_stack import PREFECT_FILE
from momentum_cli.serve_plan import ServePlan, other_settings, serve_plan
from momentum_cli.work_pools import IMAGE_CODE_DIR, PROCESS_POOL, deployments_file, serve_pool

KEYS = {"MOMENTUM_ALPACA_KEY_ID": "KEYID-123", "MOMENTUM_ALPACA_SECRET_KEY": "SECRET-456"}


@pytest.fixture(autouse=True)
def no_momentum_env(monkeypatch):
    for name in [n for n in os.environ if n.startswith("MOMENTUM_")]:
        monkeypatch.delenv(name)


def test_flags_and_environment_become_the_pools_variables_without_keys(monkeypatch):
    for name, value in {**KEYS, "MOMENTUM_CASH_BUFFER": "0.02"}.items():
        monkeypatch.setenv(name, value)
    plan = serve_plan(
        {"provider": "alpaca", "broker": "alpaca", "store_url": "s3://b/p"},
        {"lookback": 126, "rebalance_months": [1, 7], "regime_filter": True},
        live=False,
    )
    assert plan.env == {
        "MOMENTUM_PROVIDER": "alpaca",
        "MOMENTUM_LOOKBACK": "126",
        "MOMENTUM_REGIME_FILTER": "true",
        "MOMENTUM_REBALANCE_MONTHS": "[1, 7]",
        "MOMENTUM_CASH_BUFFER": "0.02",
        "MOMENTUM_BROKER": "alpaca",
    }
    assert plan.settings.store_url == "s3://b/p"
    assert plan.secret_blocks == {
        "momentum-alpaca-key-id": "KEYID-123",
        "momentum-alpaca-secret-key": "SECRET-456",
    }
    assert (
        other_settings(plan) == "lookback=126, regime_filter=true, rebalance_months=[1, 7], cash_buffer=0.02"
    )


def test_the_pools_variables_read_back_as_the_same_settings(monkeypatch):
    plan = serve_plan({"provider": "synthetic"}, {"rebalance_months": [3, 9], "holdings": 12}, live=False)
    for name, value in plan.env.items():
        monkeypatch.setenv(name, value)
    assert Settings() == plan.settings


def test_without_keys_there_is_no_block_and_the_line_says_so():
    plan = ServePlan(Settings())
    assert plan.secret_blocks == {}
    assert plan.keys().startswith("none in the environment")
    assert other_settings(plan) == "defaults"
    shown = ServePlan(Settings(provider="alpaca", alpaca_base_url="http://127.0.0.1:1"))  # broker: paper
    assert other_settings(shown) == "alpaca_base_url=http://127.0.0.1:1"


def test_paper_or_live_and_a_live_endpoint_needs_both_opt_ins(monkeypatch):
    assert ServePlan(Settings()).trading().startswith("paper (simulated")
    paper = Settings(broker="alpaca")
    assert ServePlan(paper).trading() == "paper account at https://paper-api.alpaca.markets"
    live = {"broker": "alpaca", "alpaca_base_url": "https://api.alpaca.markets"}
    with pytest.raises(LiveTradingRefused):
        serve_plan(live, {}, live=True)  # MOMENTUM_LIVE_TRADING is not set
    monkeypatch.setenv("MOMENTUM_LIVE_TRADING", "true")
    with pytest.raises(LiveTradingRefused):
        serve_plan(live, {}, live=False)
    assert serve_plan(live, {}, live=True).trading().startswith("LIVE (real money) account at")


def test_the_pool_flags():
    assert serve_pool("process", None) == PROCESS_POOL
    docker = serve_pool("docker", "momentum:1")
    assert (docker.type, docker.image, docker.code_dir(PREFECT_FILE.parent)) == (
        "docker",
        "momentum:1",
        IMAGE_CODE_DIR,
    )
    for kind, image, flag in (
        ("docker", None, "--image"),
        ("process", "x", "--image"),
        ("ecs", "x", "--pool"),
    ):
        with pytest.raises(PermanentError, match=flag):
            serve_pool(kind, image)


def test_the_docker_pool_runs_the_image_on_the_hosts_network_with_the_store_mounted():
    variables = serve_pool("docker", "momentum:1").template({"MOMENTUM_X": "1"}, "/data/store")["variables"]
    defaults = {k: v.get("default") for k, v in variables["properties"].items()}
    assert defaults["image"] == "momentum:1" and defaults["network_mode"] == "host"
    assert defaults["env"] == {"MOMENTUM_X": "1"} and defaults["volumes"] == ["/data/store:/data/store"]
    on_s3 = serve_pool("docker", "momentum:1").template({}, "s3://b/p")["variables"]["properties"]
    assert on_s3["volumes"]["default"] == []


def test_the_deployments_file_moves_every_deployment_to_the_pool_and_opts_in_to_live():
    spec = deployments_file(PREFECT_FILE, serve_pool("docker", "momentum:1"), live=True)
    assert {d["work_pool"]["name"] for d in spec["deployments"]} == {"momentum-docker"}
    assert all(d["parameters"]["live"] is True for d in spec["deployments"])
    assert [d["parameters"]["only_on_schedule"] for d in spec["deployments"]] == [True, False]
    assert spec["pull"][1] == {
        "tasks.secrets.secret_blocks_to_env": {
            "blocks": {
                "MOMENTUM_ALPACA_KEY_ID": "momentum-alpaca-key-id",
                "MOMENTUM_ALPACA_SECRET_KEY": "momentum-alpaca-secret-key",
            }
        }
    }
