"""What every stage task shares: the store, the cache key, the retry rule and the run id."""

from __future__ import annotations

import hashlib
import inspect
import json
from typing import Any

from prefect.context import TaskRunContext
from prefect.runtime import flow_run

from momentum import definitions
from momentum.errors import TransientError
from momentum.settings import Settings
from momentum.store import DatasetRef, VersionedStore, code_version

# For a TransientError no adapter retried under the task (the HTTP adapters retry their own calls).
RETRY = {"retries": 3, "retry_delay_seconds": [1, 4, 15], "retry_jitter_factor": 0.2}


def open_store(settings: Settings) -> VersionedStore:
    """The run's store, from the composition root (one per process per settings)."""
    return definitions.store(settings)


def current_flow_run_id() -> str | None:
    run_id = flow_run.get_id()
    return str(run_id) if run_id else None


def only_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Retry condition: only a :class:`TransientError`; an adapter that retries its own calls raises a
    PermanentError once they are spent, so a call is retried by one layer only."""
    try:
        state.result()
    except TransientError:
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
    """Input references + parameters (secrets excluded) + task source + the code version (a hash of
    every source of momentum/, tasks/ and flows/, see :mod:`momentum.store`) + the store's identity.

    The code version makes a re-run at the same as_of after any code change miss the cache and ask the
    store, whose fingerprints carry the same code version, so it computes new versions."""
    settings = next(v for v in parameters.values() if isinstance(v, Settings))
    payload = {
        "task": context.task.name,
        "source": hashlib.sha256(inspect.getsource(context.task.fn).encode()).hexdigest(),
        "code": code_version(),
        "parameters": _jsonable(parameters),
        "store": open_store(settings).identity,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


STAGE = {"cache_key_fn": stage_cache_key, "persist_result": True}
