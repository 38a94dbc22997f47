# Retouch container image.
#
#   docker compose up -d                      (see docker-compose.yml and README)
#   docker build -t retouch .                 (Docker, classic builder or BuildKit)
#   podman build --format docker -t retouch . (Podman/Buildah: --format docker keeps
#                                              the HEALTHCHECK, which the OCI format drops)
#
# Plain Dockerfile syntax only (no BuildKit-only flags), so every builder accepts it.
# .ci/check-container lints this file, builds it as it is with podman (no daemon) and runs
# the image as docker-compose.yml does, against local fakes of Discord and the image API.

# The base image for both stages; pin a digest here for fully reproducible builds,
# e.g. --build-arg PYTHON_IMAGE=python:3.11-slim@sha256:...
ARG PYTHON_IMAGE=python:3.11-slim

# ----- build stage: the locked dependencies in a virtual environment --------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore
WORKDIR /build
COPY requirements.lock .
# Every package pinned with its hash: a changed or unexpected file fails the build.
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir --require-hashes -r requirements.lock \
    && /opt/venv/bin/pip check

# ----- runtime stage: the venv and the code, run as a non-root user ---------------------
FROM ${PYTHON_IMAGE}

# Labels (OCI annotations). VERSION follows pyproject.toml (.ci/check-container checks it);
# pass the others at build time, e.g. --build-arg REVISION="$(git rev-parse HEAD)".
ARG PYTHON_IMAGE
ARG VERSION=0.1.0
ARG REVISION=""
ARG CREATED=""
ARG SOURCE_URL=""
LABEL org.opencontainers.image.title="Retouch" \
      org.opencontainers.image.description="Self-hosted Discord bot that edits images with an OpenAI-compatible images/edits API, with per-member quotas" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.base.name="${PYTHON_IMAGE}"

# RETOUCH_IN_CONTAINER marks this image (not a setting): `doctor` and `backup` then give
# advice for it (the /data volume, uid 10001). A checkout run in some other container or
# VM is not mistaken for it, as /.dockerenv or /run/.containerenv would be.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DATABASE_PATH=/data/retouch.db \
    HEALTH_FILE=/tmp/retouch-health.json \
    RETOUCH_IN_CONTAINER=1

# A fixed uid/gid (10001) so a host folder mounted on /data can be chowned to it.
RUN groupadd --system --gid 10001 retouch \
    && useradd --system --uid 10001 --gid retouch --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin retouch \
    && mkdir -p /data \
    && chown retouch:retouch /data \
    && chmod 0750 /data

COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# The application: keep in step with .ci/check-container, which copies what these
# lines copy (it reads them) and runs the result.
COPY bot ./bot
COPY cogs ./cogs
COPY migrations ./migrations
# Compiled once here, because the runtime user cannot write next to the sources.
RUN python -m compileall -q bot cogs

# The database lives on this volume; a new named volume starts owned by uid 10001.
VOLUME ["/data"]
USER 10001:10001

# The bot handles SIGTERM itself (finishes or refunds running edits within
# SHUTDOWN_GRACE_SECONDS, then exits 0), so no init process is needed.
STOPSIGNAL SIGTERM

# Healthy = the bot reported, within the last 60 s, a live Discord connection and a
# writable database (the bot rewrites HEALTH_FILE every 15 s). Exit codes 0/1 only.
HEALTHCHECK --interval=30s --timeout=10s --start-period=90s --retries=3 \
    CMD ["python", "-m", "bot", "health"]

ENTRYPOINT ["python", "-m", "bot"]
CMD ["run"]
