"""One store root's objects over fsspec: a local folder or ``s3://bucket/prefix``.

Opening the URL, reading an object in one GET, writing one atomically (a single PUT on object stores,
write-then-rename locally), and the one-line :class:`StoreError` for a store that cannot be used,
naming for S3 the missing piece (credentials, endpoint, bucket, access).
"""

from __future__ import annotations

import json
import os
import re
import uuid
from typing import Any, Mapping

from momentum.errors import PermanentError
from momentum.store._s3_limits import open_filesystem


class StoreError(PermanentError):
    """A dataset or version that is missing, or a store that cannot be used."""


def _s3_fix(exc: BaseException) -> tuple[str, str] | None:
    """(what is missing, how to fix it) for the S3 failures a user can fix, else None."""
    name = type(exc).__name__
    if name in {"NoCredentialsError", "PartialCredentialsError", "CredentialRetrievalError"}:
        return "no AWS credentials", "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE"
    if name in {"EndpointConnectionError", "ConnectTimeoutError", "ConnectionClosedError"} or isinstance(
        exc, (ConnectionError, TimeoutError)
    ):
        endpoint = os.environ.get("AWS_ENDPOINT_URL", "the AWS default endpoint")
        return f"cannot reach the S3 endpoint ({endpoint})", "check AWS_ENDPOINT_URL and the network"
    if isinstance(exc, FileNotFoundError) or "NoSuchBucket" in str(exc):
        return (
            "the bucket does not exist",
            "create it, or point --store / MOMENTUM_STORE_URL at an existing one",
        )
    if isinstance(exc, PermissionError) or "AccessDenied" in str(exc) or "InvalidAccessKeyId" in str(exc):
        return "access denied", "check the AWS credentials and the bucket policy"
    return None


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
    known = _s3_fix(exc) if url.startswith("s3://") else None
    if known:
        return StoreError(known[0], f"store {url}", known[1])
    first = (str(exc).strip().splitlines() or [""])[0]
    return StoreError(
        f"cannot use the store ({type(exc).__name__}: {first})",
        f"store {url}",
        "check the path or URL and its permissions",
    )


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

    def _get(self, path: str) -> bytes:
        """One object's bytes in one GET (s3fs would first ask the size with a HEAD)."""
        return self.fs.cat_file(path) if self._local else self.fs.cat_file(path, max_concurrency=1)

    def _put(self, path: str, payload: bytes) -> None:
        """Write one object atomically: a single PUT on object stores, write-then-rename locally."""
        if not self._local:
            self.fs.pipe_file(path, payload)
            return
        self.fs.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.tmp-{uuid.uuid4().hex}"
        with open(tmp, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)

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
