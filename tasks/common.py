"""What the stage tasks share: their decorator (cache key, retry rule, the storage boundary) and the run id.

A stage task (ingest, ingest-benchmark, validate, score, plan, ingest-history) is safe to run again: it
looks up what is committed before it writes. So it is retried on a :class:`TransientError` only (the rule
is in :mod:`momentum.errors`), and a storage error that a later attempt may get past becomes one here,
at the boundary between the task and the store.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from prefect import Task, task
from prefect.cache_policies import NONE as NO_CACHE
from prefect.context import TaskRunContext
from prefect.runtime import flow_run

from momentum import definitions
from momentum.errors import TransientError, is_transient_io
from momentum.settings import Settings
from momentum.store import DatasetRef, code_version

P = ParamSpec("P")
R = TypeVar("R")

RETRIES = 3
RETRY_DELAYS: list[float] = [1, 4, 15]  # seconds before each retry (+/- the jitter)
RETRY_JITTER = 0.2


def current_flow_run_id() -> str | None:
    run_id = flow_run.get_id()
    return str(run_id) if run_id else None


def only_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Retry condition: only a :class:`TransientError` (a client that retries its own calls raises a
    PermanentError once they are spent, so a call is retried by one layer only)."""
    try:
        state.result()
    except TransientError:
        return True
    except Exception:  # noqa: BLE001 - anything else is not worth a retry
        return False
    return False


def storage_boundary(fn: Callable[P, R]) -> Callable[P, R]:
    """``fn`` with a storage error that a later attempt may get past (:func:`is_transient_io`: S3
    throttling, 5xx, a timeout, a dropped connection, once s3fs's own retries are spent) raised as a
    :class:`TransientError`; every other error unchanged."""

    @functools.wraps(fn)
    def bounded(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except OSError as exc:
            if not is_transient_io(exc):
                raise
            raise TransientError(f"storage unavailable ({type(exc).__name__}: {exc})", fn.__name__) from exc

    return bounded


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
    every source of momentum/, tasks/ and flows/, see :mod:`momentum.store`) + the store's identity
    (the store of the task's ``settings`` parameter).

    The code version makes a re-run at the same as_of after any code change miss the cache and ask the
    store, whose fingerprints carry the same code version, so it computes new versions."""
    settings = parameters.get("settings")
    if not isinstance(settings, Settings):
        raise TypeError(f"stage task {context.task.name!r} needs a parameter 'settings' (a Settings)")
    payload = {
        "task": context.task.name,
        "source": hashlib.sha256(inspect.getsource(context.task.fn).encode()).hexdigest(),
        "code": code_version(),
        "parameters": _jsonable(parameters),
        "store": definitions.resources(settings).store.identity,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def stage(name: str, *, cached: bool = True) -> Callable[[Callable[P, R]], Task[P, R]]:
    """The decorator of a stage task ``name``: a TransientError retried (:data:`RETRIES` times after
    :data:`RETRY_DELAYS`), the storage boundary, and, when ``cached``, its result cached by
    :func:`stage_cache_key` (else never cached: it asks the store each time)."""

    def decorate(fn: Callable[P, R]) -> Task[P, R]:
        if not cached:
            return task(
                name=name,
                cache_policy=NO_CACHE,
                retries=RETRIES,
                retry_delay_seconds=RETRY_DELAYS,
                retry_jitter_factor=RETRY_JITTER,
                retry_condition_fn=only_transient,
            )(storage_boundary(fn))
        return task(
            name=name,
            cache_key_fn=stage_cache_key,
            persist_result=True,
            retries=RETRIES,
            retry_delay_seconds=RETRY_DELAYS,
            retry_jitter_factor=RETRY_JITTER,
            retry_condition_fn=only_transient,
        )(storage_boundary(fn))

    return decorate
