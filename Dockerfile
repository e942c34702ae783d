# Circle: a slim image that runs as an unprivileged user on embedded defaults. It installs the very
# wheel `pip install .` builds; the web client, with its socket.io client, is inside it.
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    CIRCLE_HOST=0.0.0.0 CIRCLE_PORT=8080 CIRCLE_DATA_DIR=/data
COPY --from=build /wheels /tmp/wheels
RUN pip install --no-cache-dir /tmp/wheels/*.whl && rm -rf /tmp/wheels \
    && useradd --system --uid 10001 --home-dir /data circle \
    && mkdir -p /data && chown circle /data
USER circle
WORKDIR /data
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s \
    CMD python -c "import os, sys, urllib.request; url = 'http://127.0.0.1:%s/healthz' % os.environ.get('CIRCLE_PORT', '8080'); sys.exit(0 if urllib.request.urlopen(url, timeout=2).status == 200 else 1)"
STOPSIGNAL SIGTERM
CMD ["circle", "serve"]
