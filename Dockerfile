# xWrap's image: `xwrap serve` as the unprivileged user xwrap (uid 10001), with the dashboard's two browser libraries,
# and a HEALTHCHECK on the liveness probe. docs/deploy.md says how to run it (docker-compose.yml: two nodes,
# PostgreSQL, Redis, InfluxDB, Prometheus, Grafana).
#
#   docker build -t xwrap .
#   docker run --rm -p 127.0.0.1:8350:8350 -v xwrap-data:/data -e XWRAP_TOKENS='[...]' xwrap
#
# Settings: /etc/xwrap/settings.json (mount your own over it) and XWRAP_... variables (docs/configuration.md).

# The dashboard's browser libraries, from the npm registry at the versions of dashboard/package-lock.json.
FROM node:20-bookworm-slim AS dashboard
WORKDIR /dashboard
COPY dashboard/package.json dashboard/package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# xWrap and its dependencies in a virtual environment. Installed editable: the service serves dashboard/ from
# beside its package (exchange_wrapper/service/http.py), so the source tree stays at /app.
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /venv
WORKDIR /app
COPY pyproject.toml README.md ./
COPY exchange_wrapper ./exchange_wrapper
RUN /venv/bin/pip install --editable . && find /venv /app -name __pycache__ -prune -exec rm -rf {} +

FROM python:3.11-slim-bookworm
RUN useradd --system --uid 10001 --user-group --home-dir /data --no-create-home --shell /usr/sbin/nologin xwrap \
    && mkdir -p /data /etc/xwrap && chown xwrap:xwrap /data
COPY --from=build /venv /venv
COPY --from=build /app /app
COPY dashboard/index.html /app/dashboard/index.html
COPY dashboard/js /app/dashboard/js
COPY --from=dashboard /dashboard/node_modules/socket.io-client/dist/socket.io.min.js \
    /app/dashboard/node_modules/socket.io-client/dist/socket.io.min.js
COPY --from=dashboard /dashboard/node_modules/lightweight-charts/dist/lightweight-charts.standalone.production.js \
    /app/dashboard/node_modules/lightweight-charts/dist/lightweight-charts.standalone.production.js
COPY devops/docker/settings.json /etc/xwrap/settings.json
ENV PATH=/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    XWRAP_DATABASE_URL=sqlite:////data/xwrap.sqlite \
    XWRAP_RECORDING_DIRECTORY=/data/recordings
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8350
# Live while the process answers on its port (over TLS when the settings serve TLS); `xwrap health` reads the
# same settings and variables as the service. Readiness (database, exchanges) is for load balancers:
# GET /xwrap/v1/health/ready, or `xwrap health ready`.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["xwrap", "health", "live", "--config", "/etc/xwrap/settings.json"]
CMD ["xwrap", "serve", "--config", "/etc/xwrap/settings.json"]
