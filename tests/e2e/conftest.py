"""The e2e tier: one local Prefect stack (server, process work pool, worker, deployments) per session."""

from __future__ import annotations

import pytest

from momentum_cli.local_stack import LocalStack


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    """``momentum serve``'s stack on a temporary home and store, started once, stopped at the end."""
    root = tmp_path_factory.mktemp("prefect-stack")
    running = LocalStack(
        home=root / "home",
        store_url=str(root / "store"),
        worker_poll_seconds=1,
        inherit_momentum_env=False,
    )
    running.start()  # stops what it started if a step fails
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def image():
    """The project's image, built by ``scripts/build-image.sh --offline`` (Docker's cache makes a session
    without changes cheap): its tag and build time."""
    from tests.support.containers import IMAGE, build_image

    return {"tag": IMAGE, **build_image(IMAGE)}
