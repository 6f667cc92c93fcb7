"""What every stage task shares: the store, the cache key, the retry rule and the run id."""

from __future__ import annotations

import hashlib
import inspect
import json
from typing import Any

from prefect.context import TaskRunContext
from prefect.runtime import flow_run

from momentum.brokers import AlpacaCredentials
from momentum.brokers.base import TransientBrokerError
from momentum.settings import Settings
from momentum.store import DatasetRef, VersionedStore

TRANSIENT = (TransientBrokerError, ConnectionError, TimeoutError)
RETRY = {"retries": 3, "retry_delay_seconds": [1, 4, 15], "retry_jitter_factor": 0.2}
# Prefect Secret blocks holding the Alpaca key pair, used when the environment does not set both keys.
ALPACA_SECRET_BLOCKS = {"key_id": "momentum-alpaca-key-id", "secret_key": "momentum-alpaca-secret-key"}


def open_store(settings: Settings) -> VersionedStore:
    return VersionedStore(settings.store_url)


def broker_credentials(settings: Settings) -> AlpacaCredentials | None:
    """Alpaca keys for ``make_broker``: the environment first, else the Prefect Secret blocks.

    Called inside a task body, never passed as a task parameter or returned from a task, so the keys
    reach neither the Prefect API nor the result store. None for the paper broker or when neither
    source has both keys (``make_broker`` then says what to set).
    """
    if settings.broker != "alpaca":
        return None
    from_env = AlpacaCredentials.from_settings(settings)
    if from_env is not None:
        return from_env
    from prefect.blocks.system import Secret

    values = {}
    for field, name in ALPACA_SECRET_BLOCKS.items():
        try:
            value = Secret.load(name).get()
        except ValueError:  # no such block
            return None
        if not isinstance(value, str) or not value:
            raise ValueError(f"Prefect Secret block {name!r} must hold a non-empty string")
        values[field] = value
    return AlpacaCredentials(**values)


def current_flow_run_id() -> str | None:
    run_id = flow_run.get_id()
    return str(run_id) if run_id else None


def only_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Retry condition: retry timeouts, connection errors and broker 429/5xx; never bad data."""
    try:
        state.result()
    except TRANSIENT:
        return True
    except Exception:  # noqa: BLE001 - anything else is not worth a retry
        return False
    return False


def _jsonable(value: Any) -> Any:
    if isinstance(value, Settings):
        return value.public()
    if isinstance(value, DatasetRef):
        return str(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def stage_cache_key(context: TaskRunContext, parameters: dict[str, Any]) -> str:
    """Input references + parameters (secrets excluded) + task source + the store's identity."""
    settings = next(v for v in parameters.values() if isinstance(v, Settings))
    payload = {
        "task": context.task.name,
        "source": hashlib.sha256(inspect.getsource(context.task.fn).encode()).hexdigest(),
        "parameters": _jsonable(parameters),
        "store": open_store(settings).identity,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


STAGE = {"cache_key_fn": stage_cache_key, "persist_result": True}
