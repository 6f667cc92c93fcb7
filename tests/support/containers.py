"""The Docker side of the e2e tier: the image built by the project's script, and scanning its layers.

The daemon is started by ``.ci/run`` (Debian's docker.io); a test that finds no daemon fails, it never
skips. The image is built once per session with ``scripts/build-image.sh --offline`` (no registry, no
package index inside the build), cached by Docker's layers: a session without code changes reuses it.
"""

from __future__ import annotations

import json
import subprocess
import tarfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from momentum_cli.local_stack import REPO_ROOT

IMAGE = "momentum:e2e"
BASE = "momentum-base:bookworm"
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


def docker(*args: str, timeout: float = 600, check: bool = True, **kw) -> subprocess.CompletedProcess:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, **kw)
    if check and done.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done


def require_daemon() -> None:
    """Fail with what to do when no Docker daemon answers (``.ci/run`` starts one)."""
    done = docker("info", "--format", "{{.ServerVersion}}", check=False, timeout=30)
    assert done.returncode == 0, (
        "no Docker daemon answers: `apt-get install -y docker.io debootstrap`, then "
        f"`dockerd --host unix:///var/run/docker.sock >LOG 2>&1 &` (.ci/run does both)\n{done.stderr}"
    )


def build_image(tag: str = IMAGE) -> dict[str, float]:
    """``scripts/build-image.sh --offline TAG``; returns its wall time in seconds."""
    require_daemon()
    started = time.monotonic()
    done = subprocess.run(
        [str(REPO_ROOT / "scripts" / "build-image.sh"), "--offline", tag],
        capture_output=True,
        text=True,
        timeout=1800,
        cwd=REPO_ROOT,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return {"seconds": time.monotonic() - started}


def image_size(tag: str = IMAGE) -> int:
    return int(docker("image", "inspect", "-f", "{{.Size}}", tag).stdout)


def image_config(tag: str = IMAGE) -> dict:
    return json.loads(docker("image", "inspect", tag).stdout)[0]["Config"]


def pem_blocks(text: str) -> set[str]:
    """The certificates of a PEM bundle, each as its base64 body on one line."""
    blocks, body = set(), None
    for line in text.splitlines():
        if line.startswith("-----BEGIN CERTIFICATE"):
            body = []
        elif line.startswith("-----END CERTIFICATE") and body is not None:
            blocks.add("".join(body))
            body = None
        elif body is not None:
            body.append(line.strip())
    return blocks


def host_only_certificates(tag: str = IMAGE) -> list[bytes]:
    """A distinctive line of each certificate this machine trusts that the image's base does not (the
    machine's own CAs): none may appear in any layer."""
    base = docker("run", "--rm", "--network", "none", tag, "cat", str(HOST_CA_BUNDLE)).stdout
    extra = pem_blocks(HOST_CA_BUNDLE.read_text()) - pem_blocks(base)
    return [body[64:128].encode() for body in extra]  # the second line of the PEM body


def layer_files(tag: str = IMAGE) -> Iterator[tuple[str, bytes]]:
    """(path, content) of every regular file of every layer of ``docker save TAG`` (streamed)."""
    with subprocess.Popen(["docker", "save", tag], stdout=subprocess.PIPE) as saved:
        with tarfile.open(fileobj=saved.stdout, mode="r|") as outer:
            for member in outer:
                if not member.name.endswith("layer.tar"):
                    continue
                with tarfile.open(fileobj=outer.extractfile(member), mode="r|") as layer:
                    for entry in layer:
                        if entry.isfile():
                            yield entry.name, layer.extractfile(entry).read()
                        else:
                            yield entry.name, b""
    assert saved.returncode == 0


def found_in_layers(tag: str, contents: Iterable[bytes], names: Iterable[str] = ()) -> list[tuple[str, str]]:
    """(path, what) for each of ``contents`` found in a file of any layer, and each file whose base
    name is one of ``names``."""
    contents, names = [c for c in contents if c], set(names)
    found = []
    for path, content in layer_files(tag):
        if Path(path).name in names:
            found.append((path, "name"))
        found += [(path, needle.decode(errors="replace")) for needle in contents if needle in content]
    return found
