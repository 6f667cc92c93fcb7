"""A deployment pull step: broker and data keys from Prefect Secret blocks into the run's environment.

Settings read secrets only from ``MOMENTUM_*`` environment variables. A deployment that keeps its keys
in Secret blocks lists this step in prefect.yaml's ``pull`` section; it runs in the flow-run process
before the flow starts, fills each variable that is not set yet from the named block and skips blocks
that do not exist. Nothing is written to the deployment, the logs or the events: the step's inputs are
block names, and the values live only in that process's environment.
"""

from __future__ import annotations

import os
from typing import cast

DEFAULT_BLOCKS = {
    "MOMENTUM_ALPACA_KEY_ID": "momentum-alpaca-key-id",
    "MOMENTUM_ALPACA_SECRET_KEY": "momentum-alpaca-secret-key",
}


def secret_blocks_to_env(blocks: dict[str, str] | None = None) -> dict[str, list[str]]:
    """``{ENV_VAR: secret-block-name}`` -> sets each unset variable from its block; returns what it set."""
    from prefect.blocks.system import Secret

    loaded, missing = [], []
    for variable, block in (blocks or DEFAULT_BLOCKS).items():
        if os.environ.get(variable):
            continue
        try:
            # Typed "Secret | Coroutine" (sync or async by caller); called from sync code it is a Secret.
            value = cast(Secret, Secret.load(block)).get()
        except ValueError:  # no such block document
            missing.append(variable)
            continue
        os.environ[variable] = str(value)
        loaded.append(variable)
    return {"loaded": loaded, "missing": missing}
