"""Run the app until SIGTERM/SIGINT, then shut down gracefully; a second signal exits at once."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
from typing import Final

from aiohttp import web

from wa_gateway import __version__
from wa_gateway.config import Settings
from wa_gateway.connections import ExhaustionLogger, HeaderTimeoutGuard

log = logging.getLogger("wa_gateway")
LISTEN_BACKLOG: Final = 128  # aiohttp's default for TCPSite


async def serve(app: web.Application, settings: Settings) -> int:
    # aiohttp's order on cleanup: stop listening, close idle keep-alives, on_shutdown (WebSockets get a
    # going-away close), wait up to shutdown_timeout for in-flight handlers, then cleanup_ctx in reverse.
    try:
        # Bound before the app starts (engine worker, session restore), so a taken port fails before any
        # device connects.
        sock = _bind(settings.host, settings.port)
    except OSError as exc:
        log.error("cannot listen", extra={"host": settings.host, "port": settings.port, "error": str(exc)})
        return 1
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
        site = web.SockSite(runner, sock)
        await site.start()
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
        sock.close()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
    log.info("stopped")
    return 0


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket as aiohttp's TCPSite would make it (SO_REUSEADDR, first address of ``host``)."""
    family, _, _, _, address = socket.getaddrinfo(
        host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.create_server(address, family=family, backlog=LISTEN_BACKLOG)
    sock.setblocking(False)
    return sock
