# One image for every ocop service; docker-compose.yml picks the service with
# `command: ["python", "-m", "ocop_<name>"]`.
# BASE_IMAGE: the official image by default; deploy/compose.local.yml builds on a local
# equivalent (deploy/images/python) where registries of container images are out of reach.
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy

RUN pip install "uv==0.13.9"

WORKDIR /app
COPY pyproject.toml uv.lock ./
# The third-party packages first, from uv.lock alone: this layer is rebuilt only when the lock
# or the workspace's pyproject.toml changes, not on every change of the project's own code.
RUN uv sync --frozen --no-dev --no-install-workspace
COPY README.md ./
COPY contracts/ contracts/
COPY runtime/ runtime/
COPY services/ services/

# --frozen: install exactly what uv.lock pins; fail instead of re-resolving. Workspace members
# stay editable so services find their migrations/ next to src/, as in the source tree.
RUN uv sync --frozen --no-dev

ENV PATH="/app/.venv/bin:$PATH"

RUN useradd --create-home --uid 10001 --user-group ocop
USER ocop

EXPOSE 8001 8002 8003 8004 8005
