# One image for every ocop service; docker-compose.yml picks the service with
# `command: ["python", "-m", "ocop_<name>"]`.
FROM python:3.11-slim

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
COPY pyproject.toml uv.lock README.md ./
COPY contracts/ contracts/
COPY runtime/ runtime/
COPY services/ services/

# --frozen: install exactly what uv.lock pins; fail instead of re-resolving. Workspace members
# stay editable so services find their migrations/ next to src/, as in the source tree.
RUN uv sync --frozen --no-dev

ENV PATH="/app/.venv/bin:$PATH"

RUN useradd --create-home --uid 10001 --user-group ocop
USER ocop

EXPOSE 8001 8002 8003 8004
