# syntax=docker/dockerfile:1
# Production image: PostgreSQL and S3 come from the environment (ONGI_DATABASE_URL, ONGI_STORAGE_BACKEND=s3 …).
#   docker run IMAGE                 migrate (one process, under a PostgreSQL advisory lock), then serve
#   docker run IMAGE serve           serve only (API replicas; compose.yaml migrates once beforehand)
#   docker run IMAGE worker          the background worker (outbox, cleanup, monitoring, retention)
#   docker run IMAGE migrate         apply migrations and exit
# The web apps are built in their own stage when web/ is present (Node from the official image).
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /build
COPY requirements.lock .
RUN python -m venv /opt/venv && /opt/venv/bin/pip install --no-cache-dir --require-hashes -r requirements.lock

FROM node:20.19.5-bookworm-slim AS web
WORKDIR /web
COPY openapi/openapi.json /openapi/openapi.json
COPY web/ ./
RUN npm ci --no-audit --no-fund && npm run build

FROM ${PYTHON_IMAGE}
ENV PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    ONGI_ENV=production ONGI_DATA_DIR=/var/lib/ongi ONGI_HOST=0.0.0.0 ONGI_PORT=8000 ONGI_WORKERS=2
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin ongi \
    && mkdir -p /var/lib/ongi && chown 10001 /var/lib/ongi
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY alembic.ini ./
COPY app ./app
COPY migrations ./migrations
COPY --from=web /web/dist ./web/dist
USER 10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD ["python", "-c", "import os,urllib.request;urllib.request.urlopen('http://127.0.0.1:'+os.environ['ONGI_PORT']+'/healthz')"]
ENTRYPOINT ["python", "-m", "app"]
CMD ["serve", "--migrate"]
