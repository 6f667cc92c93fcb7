"""One store root's objects over fsspec: a local folder or ``s3://bucket/prefix``.

Opening the URL, reading an object in one GET, writing one atomically (a single PUT on object stores,
write-then-rename locally; a failed write removes its temporary file), creating one only if it does not
exist yet (S3 ``If-None-Match: *``, a hard link locally: of two racing writers exactly one succeeds),
and the one-line :class:`StoreError` for a store that cannot be used, naming for S3 the missing piece
(credentials, endpoint, bucket, access), for a full disk the free space, for throttling what was retried.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import time
import uuid
from contextlib import contextmanager, suppress
from typing import Any, Iterator, Mapping

from momentum.errors import PermanentError, s3_problem
from momentum.store._s3_limits import open_filesystem


class StoreError(PermanentError):
    """A dataset or version that is missing, or a store that cannot be used."""


_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")


def check_store_url(url: str) -> str:
    """The URL itself when it has a store's shape (a local folder, ``file://...`` or ``s3://bucket[/prefix]``)."""
    text = (url or "").strip()
    if not text:
        raise StoreError("the store URL is empty", "store_url", "give a folder or s3://bucket/prefix")
    scheme, sep, rest = text.partition("://")
    if not sep:
        return text
    if scheme == "s3":
        if not _BUCKET.match(rest.split("/", 1)[0]):
            raise StoreError(
                f"{rest.split('/', 1)[0]!r} is not an S3 bucket name",
                f"store {text}",
                "use s3://bucket/prefix with a lowercase bucket name of 3-63 characters",
            )
        return text
    if scheme != "file":
        raise StoreError(
            f"unsupported store scheme {scheme}://",
            f"store {text}",
            "use a local folder or s3://bucket/prefix",
        )
    return text


def store_unusable(url: str, exc: BaseException) -> StoreError:
    """A one-line StoreError naming the store URL and, for S3, the missing piece."""
    known = s3_problem(exc) if url.startswith("s3://") else None
    if known:
        return StoreError(known[0], f"store {url}", known[1])
    first = (str(exc).strip().splitlines() or [""])[0]
    return StoreError(
        f"cannot use the store ({type(exc).__name__}: {first})",
        f"store {url}",
        "check the path or URL and its permissions",
    )


THROTTLED = ("SlowDown", "reduce your request rate", "ServiceUnavailable", "503")


def _throttled(exc: OSError) -> bool:
    """An S3 answer that asks the client to slow down (what s3fs raises once its retries are spent)."""
    return exc.errno == errno.EBUSY and any(word in str(exc) for word in THROTTLED)


def _size(size: float) -> str:
    """Bytes in KiB below a MiB, else in MiB (``0.0 MiB`` says nothing about a nearly full disk)."""
    return f"{size / 2**10:,.1f} KiB" if size < 2**20 else f"{size / 2**20:,.1f} MiB"


class ObjectStore:
    """The objects under one root URL: one-GET reads, atomic puts, markers and reports."""

    def __init__(self, url: str, storage_options: Mapping[str, Any] | None = None) -> None:
        self.url = check_store_url(url).rstrip("/")
        try:
            self.fs, self.root = open_filesystem(self.url, storage_options)
            self._local = "file" in (
                self.fs.protocol if isinstance(self.fs.protocol, tuple) else (self.fs.protocol,)
            )
            if self._local:
                self.fs.makedirs(self.root, exist_ok=True)
        except Exception as exc:  # noqa: BLE001 - one line naming the store
            raise store_unusable(self.url, exc) from exc

    def _key(self, path: str) -> str:
        """An object's key relative to the store's root (what messages name)."""
        return path.removeprefix(f"{self.root}/")

    @contextmanager
    def _guard(self, action: str, path: str, size: int | None = None) -> Iterator[None]:
        """Turn a full disk and exhausted S3 throttling into one line naming the store; the rest passes."""
        started = time.monotonic()
        try:
            yield
        except OSError as exc:
            plain = self._plain(exc, f"{action} {self._key(path)}", size, time.monotonic() - started)
            if plain is None:
                raise
            raise plain from exc

    def _plain(self, exc: OSError, doing: str, size: int | None, seconds: float) -> StoreError | None:
        """The one-line StoreError for a full disk or throttling that outlasted the retries, else None."""
        if exc.errno in (errno.ENOSPC, errno.EDQUOT) and self._local:
            needs = f"{_size(size)} " if size is not None else ""
            free = _size(shutil.disk_usage(self.root).free)
            return StoreError(
                f"the disk is full: {doing} needs {needs}more than the {free} free",
                f"store {self.url}",
                "free space on that disk or point --store / MOMENTUM_STORE_URL at a larger one",
            )
        if not self._local and _throttled(exc):
            return StoreError(
                f"S3 answered SlowDown ({exc.strerror or exc}) to every try to {doing}: "
                f"{self._tries()} over {seconds:.0f} s",
                f"store {self.url}",
                "wait a few minutes and re-run (the run resumes where it stopped); "
                "if it persists, ask for a higher request rate on that bucket or prefix",
            )
        return None

    def _tries(self) -> str:
        """How often s3fs and botocore tried one request (both retry a SlowDown, with backoff)."""
        retries = getattr(getattr(getattr(self.fs, "s3", None), "meta", None), "config", None)
        attempts = (getattr(retries, "retries", None) or {}).get("total_max_attempts")
        per_try = f" x {attempts} botocore attempts" if attempts else ""
        return f"{self.fs.retries} s3fs tries{per_try}"

    def _get(self, path: str) -> bytes:
        """One object's bytes in one GET (s3fs would first ask the size with a HEAD)."""
        with self._guard("read", path):
            return self.fs.cat_file(path) if self._local else self.fs.cat_file(path, max_concurrency=1)

    def _put(self, path: str, payload: bytes) -> None:
        """Write one object atomically: a single PUT on object stores, write-then-rename locally."""
        with self._guard("write", path, len(payload)):
            if not self._local:
                self.fs.pipe_file(path, payload)
                return
            with self._staged(path, payload) as tmp:
                os.replace(tmp, path)

    def _create(self, path: str, payload: bytes) -> None:
        """Write one object only if none exists at ``path`` (FileExistsError otherwise), atomically: a
        PUT with ``If-None-Match: *`` on S3, a hard link of a complete temporary file locally."""
        with self._guard("create", path, len(payload)):
            if self._local:
                with self._staged(path, payload) as tmp:
                    os.link(tmp, path)
                return
            try:
                self.fs.pipe_file(path, payload, mode="create")
            except OSError as exc:
                if (
                    isinstance(exc, FileExistsError)
                    or "pre-condition" in str(exc)
                    or "conditional" in str(exc)
                ):
                    raise FileExistsError(errno.EEXIST, "already exists", path) from exc
                raise

    @contextmanager
    def _staged(self, path: str, payload: bytes) -> Iterator[str]:
        """A complete, synced temporary file next to ``path``; removed afterwards whatever happened."""
        self.fs.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.tmp-{uuid.uuid4().hex}"
        try:
            with open(tmp, "wb") as handle:
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
            yield tmp
        finally:
            with suppress(FileNotFoundError):
                os.unlink(tmp)

    def _delete(self, path: str) -> None:
        """Remove one object (nothing when it is already gone)."""
        with self._guard("delete", path), suppress(FileNotFoundError):
            self.fs.rm_file(path)

    @property
    def identity(self) -> str:
        """A random id created with the store: a wiped and recreated store gets a new one."""
        path = f"{self.root}/_store.json"
        try:
            try:
                return json.loads(self._get(path))["id"]
            except FileNotFoundError:
                self._put(path, json.dumps({"id": uuid.uuid4().hex}).encode())
                return json.loads(self._get(path))["id"]
        except StoreError:
            raise
        except Exception as exc:  # noqa: BLE001 - every way a store can be unusable ends in one line
            raise store_unusable(self.url, exc) from exc

    def marker_exists(self, name: str) -> bool:
        """True when an object ``{root}/{name}`` exists (for example the ``KILL_SWITCH`` marker): one GET."""
        try:
            self._get(f"{self.root}/{name}")
        except FileNotFoundError:
            return False
        return True

    def put_report(self, key: str, text: str) -> str:
        """Store a report (HTML, PNG as text-encoded, ...) under ``{root}/reports/{key}``; return its URL."""
        self._put(f"{self.root}/reports/{key}", text.encode())
        return f"{self.url}/reports/{key}"
