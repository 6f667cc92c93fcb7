"""A lease in the store: one holder at a time of a named piece of work (one executor per rebalance).

Layout: ``{root}/_leases/{name}/{generation}.json`` (generation: 10 digits), each the record of one
holder: ``holder`` (host, pid, see :mod:`momentum.store._holder`), ``flow_run_id``, ``since``,
``expires`` (UTC) and ``released``.

Acquiring reads the newest generation; when it is released or expired, the next generation is created
with a conditional create (S3 ``If-None-Match: *``, a hard link locally), so of two runs racing for it
exactly one gets it, and the other looks again. While the newest generation is held, a run waits (polls,
at most ``wait_seconds``) and then stops with a :class:`LeaseHeld` naming the holder. The holder renews
its expiry every third of ``ttl_seconds`` from a background thread while it works, and marks its
generation released at the end; a holder that died stops renewing, so its lease expires and the next
run takes the next generation; a holder on the same machine whose process is gone frees its lease at
once (a re-run right after a crash does not wait for the expiry). Generations are never deleted (a
late writer could otherwise recreate one), so a lease's history stays readable: a few bytes per run.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from momentum.store._holder import has_died, this_process
from momentum.store._objects import StoreError

if TYPE_CHECKING:
    from momentum.store._objects import ObjectStore

log = logging.getLogger(__name__)
DIGITS = 10


@dataclass(frozen=True)
class LeaseTerms:
    """What a lease is on (``name`` in keys, ``what`` in messages), who asks and for how long."""

    name: str
    what: str
    flow_run_id: str | None = None
    ttl_seconds: float = 900.0
    wait_seconds: float = 60.0
    poll_seconds: float = 1.0

    @classmethod
    def rebalance(cls, as_of: str, **terms: Any) -> LeaseTerms:
        """The lease on the rebalance of ``as_of`` (one executor of its orders at a time)."""
        return cls(f"rebalance-{as_of}", f"the {as_of} rebalance", **terms)


class LeaseHeld(StoreError):
    """Another run holds the lease (and did not let go within the wait), or took it over from this run."""


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _shown(stamp: Any) -> str:
    try:
        return datetime.fromisoformat(stamp).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (TypeError, ValueError):
        return str(stamp)


def _active(record: dict[str, Any] | None) -> bool:
    """Whether a lease record still holds (not released, not expired, its holder not known dead)."""
    if record is None or record.get("released"):
        return False
    try:
        unexpired = datetime.fromisoformat(record["expires"]) > _now()
    except (KeyError, TypeError, ValueError):
        return False  # an unreadable record holds nothing
    if unexpired and has_died(record.get("holder") or {}):
        log.info(
            "the holder of lease record %s (pid %s) is no longer running", record, record["holder"]["pid"]
        )
        return False
    return unexpired


class Lease:
    """``with Lease(store, terms):`` holds the lease on ``terms.name`` for the block (see the module)."""

    def __init__(self, store: ObjectStore, terms: LeaseTerms) -> None:
        self.store, self.terms = store, terms
        self.folder = f"{store.root}/_leases/{terms.name}"
        self.generation = 0
        self.lost_to: dict[str, Any] | None = None
        self._since = ""
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    def __enter__(self) -> Lease:
        self.acquire()
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        try:
            self.release()
        except Exception:
            if kind is None:
                raise
            log.warning("could not release the lease on %s", self.terms.what, exc_info=True)

    def acquire(self) -> None:
        """Take the lease, waiting at most ``wait_seconds`` for a holder; a LeaseHeld when it still holds."""
        deadline, waiting = time.monotonic() + self.terms.wait_seconds, False
        while True:
            generation, record = self._newest()
            if not _active(record):
                self._since = _now().isoformat()
                try:
                    self.store._create(self._path(generation + 1), self._record(released=False))
                except FileExistsError:
                    continue  # another run took it first: look at its record
                self.generation = generation + 1
                self._start_renewing()
                return
            if time.monotonic() >= deadline:
                raise self._held(generation, record or {})
            if not waiting:
                waiting = True
                log.info(
                    "flow run %s holds %s: waiting for it", (record or {}).get("flow_run_id"), self.terms.what
                )
            time.sleep(max(0.0, min(self.terms.poll_seconds, deadline - time.monotonic())))

    def release(self) -> None:
        """Stop renewing and mark this generation released (a LeaseHeld if another run took it over)."""
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
        if self.lost_to is not None:
            raise LeaseHeld(
                f"this run's lease on {self.terms.what} expired while it ran and flow run "
                f"{self.lost_to.get('flow_run_id')} took it over",
                f"lease {self.store._key(self._path(self.generation + 1))} in store {self.store.url}",
                "check both runs' orders; raise MOMENTUM_LEASE_TTL_SECONDS above the longest execution",
            )
        if self.generation:
            self.store._put(self._path(self.generation), self._record(released=True))

    def _path(self, generation: int) -> str:
        return f"{self.folder}/{generation:0{DIGITS}d}.json"

    def _record(self, released: bool) -> bytes:
        now = _now()
        expires = now if released else now + timedelta(seconds=self.terms.ttl_seconds)
        record = {
            "holder": this_process(),
            "flow_run_id": self.terms.flow_run_id,
            "since": self._since,
            "expires": expires.isoformat(),
            "released": released,
        }
        return json.dumps(record, indent=1).encode()

    def _newest(self) -> tuple[int, dict[str, Any] | None]:
        """(the newest generation or 0, its record or None when unreadable)."""
        with self.store._guard("list", self.folder):
            try:
                names = [
                    p.rstrip("/").rsplit("/", 1)[-1] for p in self.store.fs.ls(self.folder, detail=False)
                ]
            except FileNotFoundError:
                names = []
        numbers = [int(n.removesuffix(".json")) for n in names if n.removesuffix(".json").isdigit()]
        if not numbers:
            return 0, None
        try:
            record = json.loads(self.store._get(self._path(max(numbers))))
        except (FileNotFoundError, ValueError):
            record = None
        return max(numbers), record if isinstance(record, dict) else None

    def _held(self, generation: int, record: dict[str, Any]) -> LeaseHeld:
        holder = record.get("holder") or {}
        return LeaseHeld(
            f"another run holds {self.terms.what} since {_shown(record.get('since'))}, flow run "
            f"{record.get('flow_run_id')} (host {holder.get('host')}, pid {holder.get('pid')}; "
            f"waited {self.terms.wait_seconds:g} s)",
            f"lease {self.store._key(self._path(generation))} in store {self.store.url}",
            "let that run finish, then re-run; if it died, its lease expires at "
            f"{_shown(record.get('expires'))} (MOMENTUM_LEASE_TTL_SECONDS)",
        )

    def _start_renewing(self) -> None:
        self._renewer = threading.Thread(target=self._renew, name=f"lease-{self.terms.name}", daemon=True)
        self._renewer.start()

    def _renew(self) -> None:
        """Every third of the TTL: stop if a newer generation exists (taken over), else extend the expiry."""
        while not self._stop.wait(self.terms.ttl_seconds / 3):
            try:
                self.lost_to = json.loads(self.store._get(self._path(self.generation + 1)))
                log.warning("the lease on %s was taken over by another run", self.terms.what)
                return
            except FileNotFoundError:
                pass
            except Exception:  # noqa: BLE001 - a failed renewal is retried at the next tick
                log.warning("could not renew the lease on %s", self.terms.what, exc_info=True)
                continue
            try:
                self.store._put(self._path(self.generation), self._record(released=False))
            except Exception:  # noqa: BLE001 - a failed renewal is retried at the next tick
                log.warning("could not renew the lease on %s", self.terms.what, exc_info=True)
