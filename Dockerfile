# The image a container work pool runs the flow in (AWS ECS, Prefect Managed, or Prefect's docker pool).
#   docker build -t momentum:$(git rev-parse --short HEAD) .
# Where the public image registry or package index is out of reach, scripts/build-image.sh makes a base
# from Debian's packages and a wheelhouse on the host, then builds this file offline (docs/deploy.md).
# The code is at /opt/momentum, which is MOMENTUM_HOME: the deployments' pull step
# (set_working_directory /opt/momentum) enters it before the flow starts.
ARG BASE_IMAGE=python:3.11-slim

# --- dependencies: a virtual environment (Debian's own python3 refuses a system-wide pip install) ---------
FROM ${BASE_IMAGE} AS dependencies
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# Extra pip options: scripts/build-image.sh passes "--no-index --find-links /tmp/wheelhouse".
ARG PIP_OPTIONS=""
RUN python3 -m venv /opt/venv
# The project's requirements from pyproject.toml with an empty package tree (this stage is rebuilt only
# when pyproject.toml changes). .wheelhouse/ is optional (glob): the host's wheels, never in the final image.
COPY pyproject.toml README.md .wheelhous[e] /tmp/wheelhouse/
RUN cd /tmp/wheelhouse \
    && mkdir -p momentum momentum_cli tasks flows \
    && touch momentum/__init__.py momentum_cli/__init__.py tasks/__init__.py flows/__init__.py \
    && /opt/venv/bin/pip install $PIP_OPTIONS . "setuptools>=68" wheel \
    && /opt/venv/bin/pip uninstall -y momentum

# --- the image: the environment, the code, a user without privileges -----------------------------------
FROM ${BASE_IMAGE}
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MOMENTUM_HOME=/opt/momentum \
    PREFECT_SERVER_ANALYTICS_ENABLED=false
RUN useradd --create-home --uid 10001 momentum
COPY --from=dependencies /opt/venv /opt/venv
WORKDIR /opt/momentum
COPY pyproject.toml README.md prefect.yaml ./
COPY momentum ./momentum
COPY momentum_cli ./momentum_cli
COPY tasks ./tasks
COPY flows ./flows
# The code belongs to root (the user cannot change it); an editable install (offline: setuptools is in
# the environment), so the pull step's directory and the imported code are the same files.
RUN pip install --no-cache-dir --disable-pip-version-check --no-index --no-deps --no-build-isolation -e . \
    && rm -rf build \
    && python -m compileall -q momentum momentum_cli tasks flows \
    && python -c "import flows.rebalance, tasks.secrets"

USER momentum
# A run without settings writes its store and Prefect's home under the user's home (writable); a
# deployment sets MOMENTUM_STORE_URL (s3://...) in the pool's environment.
ENV MOMENTUM_STORE_URL=/home/momentum/momentum-store
# A work pool supplies the command (prefect flow-run execute); `docker run IMAGE` shows the image works.
CMD ["momentum", "--help"]
