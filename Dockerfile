# Circle: a slim image that runs as an unprivileged user on embedded defaults.
FROM node:20-bookworm-slim AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund --omit=dev

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    CIRCLE_HOST=0.0.0.0 CIRCLE_PORT=8080 CIRCLE_DATA_DIR=/data
WORKDIR /app
COPY pyproject.toml README.md ./
COPY server ./server
COPY rooms ./rooms
COPY signaling ./signaling
RUN pip install --no-cache-dir . && useradd --system --uid 10001 --home /data circle \
    && mkdir -p /data && chown circle /data
COPY web ./web
COPY --from=web /src/web/node_modules ./web/node_modules
ENV CIRCLE_WEB_DIR=/app/web
USER circle
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=5s \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2).status == 200 else 1)"
STOPSIGNAL SIGTERM
CMD ["circle", "serve"]
