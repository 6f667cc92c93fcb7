# The image the serverless work pool (AWS ECS push pool, or Prefect Managed) runs the flow in.
#   docker build -t momentum:$(git rev-parse --short HEAD) .
# The code is baked in at /opt/momentum, which is MOMENTUM_HOME: the deployments' pull step
# (set_working_directory "{{ $MOMENTUM_HOME }}") enters it before the flow starts. docs/deploy.md.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MOMENTUM_HOME=/opt/momentum \
    PREFECT_SERVER_ANALYTICS_ENABLED=false

WORKDIR /opt/momentum

# Dependencies first (a layer that survives code changes): install the project's requirements from
# pyproject.toml with an empty package tree, then the code.
COPY pyproject.toml README.md ./
RUN mkdir -p momentum momentum_cli tasks flows \
    && touch momentum/__init__.py momentum_cli/__init__.py tasks/__init__.py flows/__init__.py \
    && pip install . \
    && pip uninstall -y momentum \
    && rm -rf momentum momentum_cli tasks flows build

COPY momentum ./momentum
COPY momentum_cli ./momentum_cli
COPY tasks ./tasks
COPY flows ./flows
COPY prefect.yaml ./
RUN pip install --no-deps -e . \
    && python -c "import flows.rebalance, tasks.secrets" \
    && useradd --create-home --uid 10001 momentum

USER momentum
# The ECS push pool / worker supplies the command (prefect flow-run execute); this default lets
# `docker run IMAGE` show that the image works.
CMD ["momentum", "--help"]
