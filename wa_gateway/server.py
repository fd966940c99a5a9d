"""Run the app until SIGTERM/SIGINT, then shut down gracefully; a second signal exits at once."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket

from aiohttp import web

from . import __version__
from .config import Settings
from .connections import ExhaustionLogger, HeaderTimeoutGuard

log = logging.getLogger("wa_gateway")


def bind_listener(host: str, port: int) -> socket.socket:
    """The listening socket, bound before the application starts.

    Starting the application starts the engine worker and reconnects every paired device; a gateway that
    then fails to listen would have connected sessions for nothing (and, beside a running gateway, fought it
    for them). Connections that arrive while it starts wait in the backlog.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family, backlog=1024)


async def serve(app: web.Application, settings: Settings) -> int:
    try:
        listener = bind_listener(settings.host, settings.port)
    except OSError as exc:
        log.error("cannot listen", extra={"host": settings.host, "port": settings.port, "error": str(exc)})
        return 1
    # aiohttp's order on cleanup: stop listening, close idle keep-alives, on_shutdown (WebSockets get a
    # going-away close), wait up to shutdown_timeout for in-flight handlers, then cleanup_ctx in reverse.
    runner = web.AppRunner(
        app,
        handle_signals=False,
        access_log=None,
        shutdown_timeout=settings.shutdown_timeout_seconds,
        keepalive_timeout=settings.http_idle_timeout_seconds,
    )
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(ExhaustionLogger())
    assert runner.server is not None
    guard = HeaderTimeoutGuard(runner.server, settings.http_header_timeout_seconds)
    guard.start()

    def second_signal(signum: int) -> None:
        log.warning("second signal; exiting now", extra={"signal": signal.Signals(signum).name})
        os._exit(128 + signum)

    def first_signal(signum: int) -> None:
        log.info("shutting down", extra={"signal": signal.Signals(signum).name})
        stop.set()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, second_signal, sig)

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, first_signal, sig)
    try:
        await web.SockSite(runner, listener).start()
        log.info(
            "listening",
            extra={
                "host": settings.host,
                "port": settings.port,
                "version": __version__,
                "engine": settings.wa_engine,
            },
        )
        await stop.wait()
    finally:
        await guard.stop()
        await runner.cleanup()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
    log.info("stopped")
    return 0
