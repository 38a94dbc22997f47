"""A TCP relay on 127.0.0.1 that can make the network drop connections silently.

    async with TcpProxy("127.0.0.1", 5432) as proxy:
        url = proxy.rewrite(database_url)   # same database, through the relay
        proxy.freeze()                      # existing connections: nothing passes any more

A frozen connection stays open at both ends, but no byte crosses it in either direction
and no FIN or RST is passed on: what a dropped NAT entry or a pulled cable looks like.
Connections opened after `freeze` are relayed normally.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit, urlunsplit


class TcpProxy:
    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self._server: asyncio.base_events.Server | None = None
        self._links: list[_Link] = []

    async def __aenter__(self) -> "TcpProxy":
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()
        for link in self._links:
            link.close()
        if self._server is not None:
            await self._server.wait_closed()

    def rewrite(self, url: str) -> str:
        """`url` (a postgresql:// URL to the target) through this relay."""
        parts = urlsplit(url)
        credentials = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
        return urlunsplit(parts._replace(netloc=f"{credentials}127.0.0.1:{self.port}"))

    def freeze(self) -> None:
        for link in self._links:
            link.frozen.set()

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        server_reader, server_writer = await asyncio.open_connection(*self.target)
        link = _Link(client_writer, server_writer)
        self._links.append(link)
        await asyncio.gather(
            link.pipe(client_reader, server_writer), link.pipe(server_reader, client_writer), return_exceptions=True
        )
        if not link.frozen.is_set():
            link.close()


class _Link:
    def __init__(self, client: asyncio.StreamWriter, server: asyncio.StreamWriter) -> None:
        self.writers = (client, server)
        self.frozen = asyncio.Event()
        self.closed = asyncio.Event()

    async def pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while not self.frozen.is_set():
            data = await reader.read(65536)
            if not data or self.frozen.is_set():
                break  # frozen: what was read is lost, as on a dead link
            writer.write(data)
            await writer.drain()
        if self.frozen.is_set():
            await self.closed.wait()  # hold both ends open, passing nothing, until the relay stops
        else:
            writer.close()

    def close(self) -> None:
        self.closed.set()
        for writer in self.writers:
            writer.close()
