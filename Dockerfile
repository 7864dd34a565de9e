# syntax=docker/dockerfile:1
#
# One image for both halves of zeebe-celery, and for the project's own engine:
#   poller:  docker run IMAGE poller -A examples.app --http-port 9100 --http-host 0.0.0.0
#   worker:  docker run --entrypoint celery IMAGE -A examples.app worker -Q zeebe.charge-card
#   engine:  docker run -v zeebe-data:/data IMAGE engine --host 0.0.0.0 --data-dir /data --monitoring-port 9600
#            (the Zeebe-compatible engine for development and tests: pure Python, no Java)
#
# Build:   docker build -t zeebe-celery:0.1.0 .
# Your own tasks: build FROM this image and COPY your Celery app module into /app (it is on
# PYTHONPATH), or add it to the builder stage as a dependency.
#
# No HEALTHCHECK is declared here on purpose: the poller, the workers and the engine run from the same
# image but are probed differently (HTTP /healthz on the poller's --http-port; `celery inspect ping` on
# a worker; HTTP /ready on the engine's --monitoring-port). docker-compose.yml and deploy/ declare the
# right check per role. The image ships no curl: probes use the Python interpreter (see
# docker-compose.yml).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---------------------------------------------------------------------------------------------
# builder: build the wheel and install it with its dependencies into a self-contained venv.
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH="/opt/venv/bin:${PATH}"

WORKDIR /src
COPY pyproject.toml README.md ./
COPY zeebe_celery/ ./zeebe_celery/
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels . \
    && pip install --no-cache-dir /wheels/*.whl

# ---------------------------------------------------------------------------------------------
# runtime: the same slim Python, the venv and nothing else (no compiler, no pip cache, no sources).
FROM ${PYTHON_IMAGE} AS runtime

LABEL org.opencontainers.image.title="zeebe-celery" \
      org.opencontainers.image.description="Run Camunda 8 (Zeebe) service-task jobs on a Celery fleet" \
      org.opencontainers.image.licenses="Apache-2.0"

ENV PATH="/opt/venv/bin:${PATH}" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONPATH=/app

# A fixed numeric uid/gid so Kubernetes can verify runAsNonRoot without a user database. /data is
# the engine's --data-dir, owned by that user so that a new named volume mounted there inherits the
# owner (no VOLUME here: the poller and the workers need no volume).
RUN groupadd --system --gid 10001 zeebe \
    && useradd --system --uid 10001 --gid zeebe --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin zeebe \
    && mkdir /data \
    && chown 10001:10001 /data

COPY --from=builder /opt/venv /opt/venv

WORKDIR /app
# The example Celery app (`-A examples.app`), owned by root and so read-only for the runtime user.
COPY examples/ ./examples/

USER 10001:10001

# The poller's /healthz and /metrics (zeebe-celery poller --http-port 9100); the engine's gateway
# (zeebe-celery engine --port 26500) and its /ready and inspection API (--monitoring-port 9600).
EXPOSE 9100 26500 9600

# Configuration comes only from the environment at run time (ZEEBE_*, CAMUNDA_*, ZEEBE_CELERY_*);
# no credentials are baked into the image.
ENTRYPOINT ["zeebe-celery"]
CMD ["--help"]
