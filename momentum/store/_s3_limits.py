"""How long an S3 store may take to answer: bounded timeouts and retries for s3fs (aiobotocore).

s3fs's defaults (connect 5 s, read 15 s, botocore's legacy 5 attempts, under s3fs's own 5 attempts,
which a whole-object read nests twice) let an S3 endpoint that accepts connections and never answers
hold one read for about 7 minutes. Here an attempt waits at most ``READ_SECONDS`` for the next bytes,
and one read makes at most ``S3FS_ATTEMPTS`` x ``S3FS_ATTEMPTS`` x ``BOTOCORE_ATTEMPTS`` = 8 attempts:
a silent endpoint fails in about 70 s, while a throttled one (``SlowDown``) is still asked up to 8
times with backoff.
"""

from __future__ import annotations

from typing import Any, Mapping

import fsspec

CONNECT_SECONDS = 5
READ_SECONDS = 8  # the longest wait for the next bytes of an answer
BOTOCORE_ATTEMPTS = 2  # per s3fs attempt, first one included ("standard" mode: jittered backoff)
S3FS_ATTEMPTS = 2  # s3fs's own retry loop around each call (timeouts, throttling); reads nest it


def open_filesystem(url: str, storage_options: Mapping[str, Any] | None = None) -> tuple[Any, str]:
    """``(filesystem, root)`` of ``url`` as fsspec opens it, with the bounds above on S3 (explicit
    ``config_kwargs`` win)."""
    options = dict(storage_options or {})
    if not url.startswith("s3://"):
        return fsspec.core.url_to_fs(url, **options)
    options["config_kwargs"] = {
        "connect_timeout": CONNECT_SECONDS,
        "read_timeout": READ_SECONDS,
        "retries": {"total_max_attempts": BOTOCORE_ATTEMPTS, "mode": "standard"},
        **options.get("config_kwargs", {}),
    }
    fs, root = fsspec.core.url_to_fs(url, **options)
    fs.retries = S3FS_ATTEMPTS  # s3fs reads its own retry count from this attribute, not from options
    return fs, root
