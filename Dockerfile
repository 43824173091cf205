# syntax=docker/dockerfile:1
# Production image: PostgreSQL and S3 come from the environment (ONGI_DATABASE_URL, ONGI_STORAGE_BACKEND=s3 …).
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /build
COPY requirements.lock .
RUN python -m venv /opt/venv && /opt/venv/bin/pip install --require-hashes -r requirements.lock

FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    ONGI_ENV=production ONGI_DATA_DIR=/var/lib/ongi ONGI_HOST=0.0.0.0 ONGI_PORT=8000
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin ongi \
    && mkdir -p /var/lib/ongi && chown ongi /var/lib/ongi
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY alembic.ini ./
COPY app ./app
COPY migrations ./migrations
USER ongi
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,os;urllib.request.urlopen('http://127.0.0.1:'+os.environ['ONGI_PORT']+'/healthz')"
# Migrate once, then serve with several workers (stateless: everything shared lives in PostgreSQL/S3).
CMD ["sh", "-c", "python -m app migrate && exec uvicorn app.main:create_app --factory --host \"$ONGI_HOST\" --port \"$ONGI_PORT\" --workers ${ONGI_WORKERS:-4} --no-access-log --proxy-headers"]
