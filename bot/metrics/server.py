"""`/metrics` over HTTP on the bot's own event loop (aiohttp, which the bot already uses).

A scrape renders a few dozen lines (well under a millisecond), so serving it on the loop
costs less than a thread would, and the live gauges are read where the queue lives.
"""

from __future__ import annotations

import logging

from aiohttp import web
from prometheus_client import CollectorRegistry
from prometheus_client.aiohttp import make_aiohttp_handler

log = logging.getLogger("retouch.metrics")


class MetricsPortError(Exception):
    """METRICS_HOST:METRICS_PORT cannot be listened on; the message says so in one line."""


class MetricsServer:
    def __init__(self, registry: CollectorRegistry, host: str, port: int) -> None:
        self.host = host
        self.port = port
        app = web.Application()
        app.router.add_get("/metrics", make_aiohttp_handler(registry))
        self._runner = web.AppRunner(app, access_log=None)
        self._site: web.TCPSite | None = None

    async def start(self) -> None:
        await self._runner.setup()
        self._site = web.TCPSite(self._runner, self.host, self.port)
        try:
            await self._site.start()
        except OSError as exc:
            await self._runner.cleanup()
            raise MetricsPortError(
                f"cannot serve metrics on {self.host}:{self.port} ({exc.strerror or exc}); "
                "pick another METRICS_PORT, or leave it empty to turn metrics off"
            ) from None
        log.info("Prometheus metrics at http://%s:%d/metrics", self.host, self.bound_port)

    @property
    def bound_port(self) -> int:
        """The port actually listened on (METRICS_PORT=0 picks a free one, for tests)."""
        server = self._site._server if self._site is not None else None  # noqa: SLF001
        sockets = getattr(server, "sockets", None) or []
        return sockets[0].getsockname()[1] if sockets else self.port

    async def close(self) -> None:
        await self._runner.cleanup()
