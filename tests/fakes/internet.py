"""A pretend internet for tests: public names and addresses that lead to local servers.

Output-image downloads may only reach public addresses and must connect to the address
they checked. Testing that needs "public" hosts that are in fact local servers, and
proof of which address each connection went to, all without touching the network:

- `FakeInternet.resolve` is the name resolver handed to the code under test
  (`ImageEditClient(resolve=...)`): `dns` maps names to the addresses of your choice,
  public ones included; an unknown name fails like NXDOMAIN.
- `FakeInternet.connector()` is the aiohttp connector of the test's session. Every
  connection it opens goes through `routes`: the host asked for (a name or an IP
  literal) -> the local address really connected to, port kept. A host without a route
  fails like an unreachable one, so nothing ever leaves the machine. `connections`
  records each (host, port) asked for: with pinning, the checked IP, never the name.
  (It overrides TCPConnector's private `_resolve_host`, the one step where aiohttp
  turns a host into an address; aiohttp 3.14.)
- `FakeWebHost`: a small scriptable HTTP(S) server (images, redirects) recording each
  request's path, Host header and TLS SNI name.
- `make_tls()`: a self-signed certificate for chosen names (needs the openssl command),
  giving server contexts and a client context that trusts it.
"""

from __future__ import annotations

import ipaddress
import shutil
import socket
import ssl
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class FakeInternet:
    def __init__(self) -> None:
        self.dns: dict[str, list[str]] = {}
        self.routes: dict[str, str] = {}
        self.lookups: list[str] = []  # names given to `resolve`
        self.connections: list[tuple[str, int]] = []

    async def resolve(self, host: str, port: int) -> Sequence[IPAddress]:
        self.lookups.append(host)
        if host not in self.dns:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [ipaddress.ip_address(a) for a in self.dns[host]]

    def connector(self, *, ssl_context: ssl.SSLContext | None = None) -> aiohttp.TCPConnector:
        # force_close: one connection per request, so `connections` sees every request.
        return _RoutedConnector(self, ssl=ssl_context or True, force_close=True)


class _RoutedConnector(aiohttp.TCPConnector):
    def __init__(self, internet: FakeInternet, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._internet = internet

    async def _resolve_host(self, host: str, port: int, traces: Any = None) -> list[Any]:
        self._internet.connections.append((host, port))
        target = self._internet.routes.get(host)
        if target is None:
            raise OSError(f"no route to {host} in the fake internet")
        family = socket.AF_INET6 if ":" in target else socket.AF_INET
        return [{"hostname": host, "host": target, "port": port, "family": family,
                 "proto": 0, "flags": 0}]


@dataclass
class Page:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Seen:
    path: str  # with the query string
    host: str  # the Host header
    authorization: str | None


class FakeWebHost:
    """`async with FakeWebHost(tls) as web:`, then `web.page(...)` / `web.redirect(...)`."""

    def __init__(self, server_context: ssl.SSLContext | None = None) -> None:
        self.pages: dict[str, Page] = {}
        self.seen: list[Seen] = []
        self.sni: list[str | None] = []
        self.port = 0
        self._context = server_context
        self._runner: web.AppRunner | None = None
        if server_context is not None:
            server_context.sni_callback = self._record_sni

    def _record_sni(self, _sock: Any, name: str | None, _context: Any) -> None:
        self.sni.append(name)

    def page(self, path: str, body: bytes, *, status: int = 200, **headers: str) -> None:
        self.pages[path] = Page(status, body, headers)

    def redirect(self, path: str, location: str, status: int = 302) -> None:
        self.pages[path] = Page(status, b"", {"Location": location})

    async def _handle(self, request: web.Request) -> web.Response:
        self.seen.append(Seen(request.path_qs, request.headers.get("Host", ""),
                              request.headers.get("Authorization")))
        page = self.pages.get(request.path)
        if page is None:
            return web.Response(status=404)
        return web.Response(status=page.status, body=page.body, headers=page.headers)

    async def __aenter__(self) -> FakeWebHost:
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=self._context)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@dataclass(frozen=True)
class TLS:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context

    def client_context(self) -> ssl.SSLContext:
        """Verifies certificates and host names as usual, trusting only the test one."""
        return ssl.create_default_context(cafile=str(self.cert))


def make_tls(directory: Path, names: Sequence[str]) -> TLS | None:
    """A self-signed certificate for `names`; None when openssl is not installed."""
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    key, cert = directory / "key.pem", directory / "cert.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2",
         "-subj", "/CN=retouch-test", "-addext",
         "subjectAltName=" + ",".join(f"DNS:{n}" for n in names)],
        check=True, capture_output=True, timeout=30,
    )
    return TLS(cert, key)
