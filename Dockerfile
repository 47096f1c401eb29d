# syntax=docker/dockerfile:1
# 8D Workbench: one image, two commands - the web process (default) and the mail worker
# (`flask --app wsgi worker`). Configuration only through the environment (README).
#   docker build -t 8d-workbench .
#   docker run --env-file workbench.env 8d-workbench                          # web on :8000
#   docker run --env-file workbench.env 8d-workbench flask --app wsgi worker  # mail worker
#   docker run --env-file workbench.env 8d-workbench flask --app wsgi db upgrade
# Not built on the project's machine (it has no container engine); compose.yaml runs the whole
# layout, and `make prod-demo` / `make drill` run the same processes without containers.

ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
COPY requirements.txt /tmp/requirements.txt
RUN /opt/venv/bin/pip install --no-compile -r /tmp/requirements.txt

FROM ${PYTHON_IMAGE}
# libmagic: content sniffing of uploads; pango/harfbuzz and fonts: WeasyPrint's PDF export (Noto CJK: Chinese).
RUN apt-get update \
 && apt-get install -y --no-install-recommends libmagic1 libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core fonts-noto-cjk \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin workbench \
 && install -d -o workbench -g workbench -m 0750 /var/lib/8d-workbench
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY app/ app/
COPY migrations/ migrations/
COPY templates/ templates/
COPY static/ static/
COPY config.py wsgi.py gunicorn.conf.py babel.cfg Procfile ./
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    FLASK_APP=wsgi APP_CONFIG=production INSTANCE_PATH=/var/lib/8d-workbench \
    BIND=0.0.0.0:8000 WORKER_CLASS=sync WEB_CONCURRENCY=3 EMBEDDED_WORKER=0 PROXY_COUNT=1
USER workbench
EXPOSE 8000
# /healthz answers 200 only when the database does (the worker container turns this check off).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]
CMD ["gunicorn", "--config", "gunicorn.conf.py", "wsgi:app"]
