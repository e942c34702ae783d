"""The Circle process: the aiohttp application with socket.io attached, and its background tasks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import socketio
from aiohttp import web
from aiohttp.typedefs import Handler
from prometheus_client import CollectorRegistry

from rooms import Refusal
from server.api import (
    ADMIN_TOKEN_KEY,
    LOG_RATE_KEY,
    SETTINGS_KEY,
    STORE_KEY,
    add_api_routes,
    error_response,
    errors_middleware,
)
from server.backends import Backends, make_backends
from server.crisis import CRISIS_KEY, load_crisis_resources
from server.headers import add_headers
from server.host_check import add_host_check_route
from server.metrics import Current, PrometheusMetrics, exposition
from server.room_admin import add_room_admin_routes
from server.settings import Settings
from server.webclient import add_web_routes
from signaling.credentials import new_id, new_secret
from signaling.fastpath import BroadcastOnce, CircleEngineServer
from signaling.handlers import Signaling
from signaling.lograte import LogRate
from signaling.ports import Store
from signaling.socket import CircleSocketServer, origin_checker

log = logging.getLogger("circle.server")


@dataclass
class Circle:
    """Everything one running instance holds."""

    settings: Settings
    instance_id: str
    admin_token: str
    store: Store
    sio: socketio.AsyncServer
    signaling: Signaling
    # This instance's own, so that several in one process keep their counts apart.
    metrics: CollectorRegistry


CIRCLE_KEY: web.AppKey[Circle] = web.AppKey("circle", Circle)


def create_app(settings: Settings, backends: Backends | None = None) -> web.Application:
    """The application of one instance, on the store and bus `settings` choose (or on `backends`)."""
    # Read first: a file that cannot be used stops the server before anything starts.
    crisis_resources = load_crisis_resources(settings.crisis_resources)
    instance_id = settings.instance_id or f"i-{new_id(6)}"
    admin_token = settings.admin_token or new_secret()
    if backends is None:
        backends = make_backends(settings, instance_id)
    store = backends.store
    config = settings.signaling_config()
    log_rate = LogRate(settings.max_log_lines_per_kind, settings.log_kind_window_s)
    sio = CircleSocketServer(
        async_mode="aiohttp",
        client_manager=backends.manager,
        cors_allowed_origins=origin_checker(config, settings.base_url),
        max_http_buffer_size=settings.max_frame_bytes,
        async_handlers=False,
        logger=False,
        engineio_logger=False,
        engine_class=CircleEngineServer,
        refuse=error_response,
        log_rate=log_rate,
    )
    if isinstance(backends.manager, BroadcastOnce):
        backends.manager.bound_send_queues(settings.max_send_queue_bytes, settings.send_deadline_s)
    registry = CollectorRegistry()
    signaling = Signaling(
        config,
        store,
        backends.bus,
        sio,
        instance_id,
        metrics=PrometheusMetrics(registry),
        log_rate=log_rate,
    )
    registry.register(Current(signaling, backends.redis))

    app = web.Application(
        middlewares=[errors_middleware, _no_new_sessions_while_closing],
        client_max_size=settings.max_frame_bytes,
    )
    circle = Circle(settings, instance_id, admin_token, store, sio, signaling, registry)
    app[CIRCLE_KEY] = circle
    app[STORE_KEY] = store
    app[SETTINGS_KEY] = settings
    app[ADMIN_TOKEN_KEY] = admin_token
    app[LOG_RATE_KEY] = log_rate
    app[CRISIS_KEY] = crisis_resources
    sio.attach(app, socketio_path="socket.io")
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    add_api_routes(app)
    add_room_admin_routes(app, signaling)
    add_host_check_route(app)
    add_web_routes(app, settings)
    app.on_response_prepare.append(add_headers)
    app.cleanup_ctx.append(_lifecycle)
    app.on_shutdown.append(_tell_clients)
    return app


@web.middleware
async def _no_new_sessions_while_closing(request: web.Request, handler: Handler) -> web.StreamResponse:
    """While stopping, a new Socket.IO session is refused at the HTTP level (a 503), before any
    handshake: a load balancer can then send the request to another instance at once (nginx:
    `proxy_next_upstream http_503`), where a refused socket.io handshake would look like success.
    Requests of sessions already open (they carry `sid`) go through, to hear them go."""
    if (
        request.app[CIRCLE_KEY].signaling.closing
        and request.path.startswith("/socket.io/")
        and "sid" not in request.query
    ):
        return error_response(Refusal("unavailable", "This server is restarting."), request)
    return await handler(request)


async def drain(app: web.Application) -> None:
    """The first step of stopping: refuse new connections, tell each client, and let them move to
    another instance while this one can still hear them go. It must run before aiohttp's own
    shutdown, which stops reading from open connections before its `on_shutdown` hooks run."""
    circle = app[CIRCLE_KEY]
    grace = circle.settings.shutdown_grace_s
    with contextlib.suppress(Exception):
        await asyncio.wait_for(circle.signaling.drain(drain_s=grace * 0.8), grace)


async def _tell_clients(app: web.Application) -> None:
    """For an app stopped without `drain` (embedded): tell and disconnect whoever is still here."""
    circle = app[CIRCLE_KEY]
    with contextlib.suppress(Exception):
        await asyncio.wait_for(circle.signaling.drain(drain_s=0), circle.settings.shutdown_grace_s)


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    circle = app[CIRCLE_KEY]
    await circle.store.start()
    # A cluster shares one signing key, so a resume token works on every instance.
    circle.signaling.use_signing_key(await circle.store.signing_key(circle.settings.secret_key))
    await circle.signaling.started()
    clock = asyncio.create_task(_clock(circle), name="circle-clock")
    log.info("instance %s started", circle.instance_id, extra={"instance": circle.instance_id})
    yield
    clock.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await clock
    await circle.store.close()
    log.info("instance %s stopped", circle.instance_id, extra={"instance": circle.instance_id})


async def _clock(circle: Circle) -> None:
    """Heartbeat and sweep. A failure is logged and retried at the next tick, never fatal."""
    s = circle.settings
    loop = asyncio.get_running_loop()
    next_beat = 0.0
    while True:
        try:
            if loop.time() >= next_beat:
                await circle.store.heartbeat(circle.instance_id, s.instance_ttl_s)
                next_beat = loop.time() + s.heartbeat_s
            await circle.signaling.sweep()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("clock tick failed: %s", type(exc).__name__, extra={"error": type(exc).__name__})
        await asyncio.sleep(min(s.sweep_interval_s, s.heartbeat_s))


async def _redis_state(circle: Circle) -> str:
    if not circle.settings.redis_url:
        return "absent"
    try:
        ok = await asyncio.wait_for(circle.store.ping(), circle.settings.redis_timeout_s)
    except Exception:
        ok = False
    return "ok" if ok else "down"


async def healthz(request: web.Request) -> web.Response:
    circle = request.app[CIRCLE_KEY]
    return web.json_response(
        {"status": "ok", "instance": circle.instance_id, "redis": await _redis_state(circle)}
    )


async def readyz(request: web.Request) -> web.Response:
    circle = request.app[CIRCLE_KEY]
    redis = await _redis_state(circle)
    closing = circle.signaling.closing
    ready = redis != "down" and not closing
    return web.json_response(
        {
            "status": "closing" if closing else "ok" if ready else "unavailable",
            "instance": circle.instance_id,
            "redis": redis,
        },
        status=200 if ready else 503,
    )


async def metrics(request: web.Request) -> web.Response:
    """Counts only: no room ids, names or addresses (see `server.metrics`)."""
    return exposition(request.app[CIRCLE_KEY].metrics)
