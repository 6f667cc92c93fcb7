#!/usr/bin/env bash
# A Python base image made from Debian's packages, for machines that cannot pull from the public image
# registry (python:3.11-slim is the Dockerfile's default elsewhere). Idempotent and cached by tag: when
# the tag exists nothing is done. Needs root, debootstrap and a running Docker daemon.
#
#   scripts/local-base-image.sh [TAG]        # default momentum-base:bookworm
#   docker build --build-arg BASE_IMAGE=momentum-base:bookworm ...
#
# The Debian mirror is the one apt uses on this machine (DEBIAN_MIRROR overrides it).
set -euo pipefail
tag="${1:-momentum-base:bookworm}"
if docker image inspect "$tag" >/dev/null 2>&1; then
  echo "$tag exists"
  exit 0
fi
mirror="${DEBIAN_MIRROR:-$( (grep -rhoE '^(URIs:|deb) +https?://[^ ]+/debian$' /etc/apt/sources.list \
  /etc/apt/sources.list.d/ 2>/dev/null || true) | head -1 | awk '{print $NF}')}"
mirror="${mirror:-http://deb.debian.org/debian}"
rootfs="$(mktemp -d)"
trap 'rm -rf "$rootfs"' EXIT
echo "debootstrap bookworm from $mirror ..."
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates bookworm "$rootfs" "$mirror" >/dev/null
# Nothing of the build machine's apt caches or lists in the image.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
tar -C "$rootfs" -c . | docker import --change 'CMD ["python3"]' - "$tag" >/dev/null
echo "$tag built: $(docker image inspect -f '{{.Size}}' "$tag") bytes"
