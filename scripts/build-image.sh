#!/usr/bin/env bash
# Build the image of ../Dockerfile.
#
#   scripts/build-image.sh [TAG]              # FROM python:3.11-slim, dependencies from the package index
#   scripts/build-image.sh --offline [TAG]    # no registry, no index inside the build (docs/deploy.md)
#
# --offline: the base is made from Debian's packages (scripts/local-base-image.sh, cached by tag) and the
# dependencies are wheels fetched with this machine's network and CA bundle into .wheelhouse/ (kept while
# pyproject.toml is unchanged). The build itself then runs with no network, so
# neither the wheels nor any certificate of this machine can end up in the image: the wheels live only
# in the build's first stage. TAG defaults to momentum:latest.
set -euo pipefail
cd "$(dirname "$0")/.."
offline=false
if [[ "${1:-}" == "--offline" ]]; then offline=true; shift; fi
tag="${1:-momentum:latest}"
base="${LOCAL_BASE_IMAGE:-momentum-base:bookworm}"
ca="${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"

if ! $offline; then
  exec docker build -t "$tag" .
fi

scripts/local-base-image.sh "$base"
key="$(sha256sum pyproject.toml | cut -d' ' -f1) $(docker image inspect -f '{{.Id}}' "$base")"
if [[ "$(cat .wheelhouse/.pyproject.sha256 2>/dev/null)" != "$key" ]]; then
  # Wheels for the image's own Python (environment markers such as python_full_version are evaluated by
  # it), made by pip in a throwaway container of the base: this machine's network and CA bundle are
  # lent to that container (a read-only mount), never to the build.
  echo "filling .wheelhouse/ (wheels of the dependencies for $base) ..."
  mkdir -p .wheelhouse  # a wheel already there is reused while it is still the newest that fits
  docker run --rm --network host -u "$(id -u):$(id -g)" -e HOME=/tmp \
    -v "$PWD/pyproject.toml:/src/pyproject.toml:ro" -v "$PWD/README.md:/src/README.md:ro" \
    -v "$PWD/.wheelhouse:/wheels" -v "$ca:/tmp/ca.crt:ro" \
    -e PIP_CERT=/tmp/ca.crt -e PIP_DISABLE_PIP_VERSION_CHECK=1 -e PIP_DEFAULT_TIMEOUT=120 \
    "$base" sh -c 'python3 -m venv /tmp/venv && /tmp/venv/bin/pip wheel --quiet --find-links /wheels --wheel-dir /wheels \
      "setuptools>=68" wheel && cp -r /src /tmp/src && cd /tmp/src \
      && for p in momentum momentum_cli tasks flows; do mkdir $p && touch $p/__init__.py; done \
      && /tmp/venv/bin/pip wheel --quiet --find-links /wheels --wheel-dir /wheels .'
  rm -f .wheelhouse/momentum-*.whl  # the project itself is built inside the image
  echo "$key" > .wheelhouse/.pyproject.sha256
fi
docker build --network none \
  --build-arg BASE_IMAGE="$base" \
  --build-arg PIP_OPTIONS="--no-index --find-links /tmp/wheelhouse" \
  -t "$tag" .
