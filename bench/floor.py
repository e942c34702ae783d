"""The framework floor: a bare python-socketio server doing the benchmark's fan-out with no rules.

`join` puts the socket in a socket.io room; `chat:send` emits a `chat:message` shaped like Circle's
(`{id, from: {id, name}, text, at}`) to that room and acknowledges it. No validation, no rate limits, no
store. With `--redis-url`, python-socketio's `AsyncRedisManager` carries the emits between instances; it
encodes them as JSON (the server's JSON module), never pickle.

    python -m bench.floor --port 8100 [--redis-url redis://127.0.0.1:6379/0]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import signal
import time
from typing import Any

import socketio
from aiohttp import web


def make_app(redis_url: str | None) -> web.Application:
    manager: socketio.AsyncManager
    if redis_url:
        manager = socketio.AsyncRedisManager(redis_url, channel="bench-floor")
    else:
        manager = socketio.AsyncManager()
    # Like Circle, handle each connection's events in arrival order, without a task per event.
    sio = socketio.AsyncServer(
        async_mode="aiohttp",
        client_manager=manager,
        async_handlers=False,
        logger=False,
        engineio_logger=False,
    )
    joined: dict[str, tuple[str, str]] = {}  # sid -> (room, name)
    ids = itertools.count(1)

    async def join(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        room = f"room:{data['room']}"
        joined[sid] = (room, str(data["name"]))
        await sio.enter_room(sid, room)
        return {"ok": True, "self": {"id": sid, "name": data["name"]}}

    async def chat_send(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        room, name = joined[sid]
        message = {
            "id": f"{next(ids):012d}",
            "from": {"id": sid, "name": name},
            "text": data["text"],
            "at": int(time.time() * 1000),
        }
        await sio.emit("chat:message", message, room=room)
        return {"ok": True, "message": message}

    async def disconnect(sid: str, reason: Any = None) -> None:
        joined.pop(sid, None)

    sio.on("join", join)
    sio.on("chat:send", chat_send)
    sio.on("disconnect", disconnect)

    async def healthz(request: web.Request) -> web.Response:
        codec = "json" if manager.json is json else repr(manager.json)
        return web.json_response({"status": "ok", "redis": "ok" if redis_url else "absent", "codec": codec})

    app = web.Application()
    sio.attach(app, socketio_path="socket.io")
    app.router.add_get("/healthz", healthz)
    return app


async def serve(host: str, port: int, redis_url: str | None) -> None:
    runner = web.AppRunner(make_app(redis_url), handle_signals=False, access_log=None, shutdown_timeout=2.0)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    print(f"floor listening on http://{host}:{port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis-url")
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port, args.redis_url))


if __name__ == "__main__":
    main()
