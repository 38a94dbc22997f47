"""Which output-image URLs the bot may download, and which address it connects to.

A provider may answer `data[].url` instead of `b64_json`. That URL comes from outside,
so fetching it blindly would let whoever controls the answer (a compromised or
malicious provider, a poisoned CDN redirect) make the bot's host send requests to
itself or its network: `http://127.0.0.1:...`, a router on 192.168.x, the cloud
metadata service at 169.254.169.254. The rules:

- Scheme: `https://`, or plain `http://` only to the provider's own host (the host of
  IMAGE_API_BASE_URL): the owner already trusts that host with plain http.
- Address: every address the host resolves to must be public. Loopback, private
  (RFC 1918, fc00::/7) and shared CGNAT (100.64.0.0/10) addresses are allowed too
  when IMAGE_API_BASE_URL itself points at such an address: the owner runs a local
  gateway, and its image URLs point into the same network. Link-local (cloud
  metadata), multicast, unspecified and other special-purpose ranges are never allowed.
- Pinning: the name is resolved here, once per hop, and the request goes to the
  address that was checked (an IP-literal URL with the original `Host` header and TLS
  `server_hostname`), never to a second resolution the DNS owner could change in
  between (DNS rebinding).
- Redirects are followed by the caller, one hop at a time, each hop checked again.

No Discord imports here; `BadResponse` messages name the host and the reason, never the
URL's path or query (it may carry a signature).
"""

from __future__ import annotations

import asyncio
import enum
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import yarl

from .errors import BadResponse

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# (host, port) -> every address the host resolves to. Injectable so tests can make
# names resolve to chosen addresses without a DNS server.
Resolver = Callable[[str, int], Awaitable[Sequence[IPAddress]]]

MAX_REDIRECTS = 5
_DEFAULT_PORTS = {"http": 80, "https": 443}
_LOCAL_HINT = (
    "output images may only come from public addresses (loopback and private ones only "
    "when IMAGE_API_BASE_URL itself points at one)"
)
_NEVER_HINT = "output images are never downloaded from such addresses"


async def system_resolver(host: str, port: int) -> list[IPAddress]:
    """The addresses the OS resolver gives for `host`, in its preferred order."""
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    addresses: list[IPAddress] = []
    for family, _, _, _, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        address = ipaddress.ip_address(str(sockaddr[0]))  # keeps an IPv6 %scope
        if address not in addresses:
            addresses.append(address)
    return addresses


# --- address classification ---------------------------------------------------------


class Scope(enum.Enum):
    PUBLIC = "public"
    LOCAL = "local"  # allowed only when the provider itself is local
    FORBIDDEN = "forbidden"


@dataclass(frozen=True)
class AddressClass:
    scope: Scope
    kind: str  # for messages: "a loopback address", "a link-local address (...)"
    # What to connect to: an IPv4-mapped IPv6 address is the IPv4 host itself.
    connect_to: IPAddress


def _networks(*cidrs: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(c) for c in cidrs)


# Explicit tables rather than `ipaddress.is_global` alone: its answers changed between
# Python versions (3.11 calls 192.0.0.8, fec0::/10, ::ffff:8.8.8.8 and 2002::/16 global).
_V4_LOCAL = (
    (_networks("127.0.0.0/8"), "a loopback address"),
    (_networks("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"), "a private address"),
    (_networks("100.64.0.0/10"), "a shared CGNAT address (100.64.0.0/10)"),
)
_V4_FORBIDDEN = (
    (_networks("0.0.0.0/8"), "an unspecified address"),
    (_networks("169.254.0.0/16"), "a link-local address (where cloud metadata services live)"),
    (_networks("224.0.0.0/4"), "a multicast address"),
    (
        _networks(
            "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "198.18.0.0/15",
            "198.51.100.0/24", "203.0.113.0/24", "240.0.0.0/4",
        ),
        "a reserved or special-purpose address",
    ),
)
_V6_LOCAL = (
    (_networks("::1/128"), "a loopback address"),
    (_networks("fc00::/7"), "a private (unique local) address"),
)
_V6_FORBIDDEN = (
    (_networks("::/128"), "an unspecified address"),
    (_networks("fe80::/10"), "a link-local address"),
    (_networks("ff00::/8"), "a multicast address"),
    (_networks("fec0::/10"), "a deprecated site-local address"),
)
_V6_GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")
_V6_SPECIAL = _networks(
    "2001::/23",  # IETF protocol assignments, Teredo (2001::/32) included
    "2001:db8::/32",  # documentation
    "3fff::/20",  # documentation
    "5f00::/16",  # SRv6 SIDs
)
_NAT64 = _networks("64:ff9b::/96", "64:ff9b:1::/48")  # IPv4 in the low 32 bits
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated ::a.b.c.d


def classify(address: IPAddress) -> AddressClass:
    """Where `address` leads: public, local (loopback/private/CGNAT) or forbidden."""
    if isinstance(address, ipaddress.IPv6Address):
        return _classify_v6(address)
    return _classify_v4(address, address)


def _classify_v4(v4: ipaddress.IPv4Address, connect_to: IPAddress, form: str = "") -> AddressClass:
    for table, scope in ((_V4_LOCAL, Scope.LOCAL), (_V4_FORBIDDEN, Scope.FORBIDDEN)):
        for networks, kind in table:
            if any(v4 in net for net in networks):
                return AddressClass(scope, form + kind, connect_to)
    if v4.is_global and not v4.is_multicast:
        return AddressClass(Scope.PUBLIC, form + "a public address", connect_to)
    return AddressClass(Scope.FORBIDDEN, form + "a reserved or special-purpose address", connect_to)


def _classify_v6(v6: ipaddress.IPv6Address) -> AddressClass:
    plain = ipaddress.IPv6Address(v6.packed)  # without a %scope, for the table lookups
    # IPv6 forms that reach an IPv4 host: judge the IPv4 host.
    if (mapped := plain.ipv4_mapped) is not None:
        # The kernel sends ::ffff:a.b.c.d to a.b.c.d over IPv4; connect to that directly.
        return _classify_v4(mapped, mapped, f"the IPv4-mapped form of {mapped}, ")
    # Translated and tunnelled forms (NAT64, 6to4) are fine to public IPv4 hosts only:
    # no local gateway hands out such a form of a loopback or private address.
    embedded: ipaddress.IPv4Address | None = None
    if any(plain in net for net in _NAT64):
        embedded, form = ipaddress.IPv4Address(int(plain) & 0xFFFFFFFF), "NAT64"
    elif plain.sixtofour is not None:
        embedded, form = plain.sixtofour, "6to4"
    if embedded is not None:
        inner = _classify_v4(embedded, v6, f"the {form} form of {embedded}, ")
        scope = Scope.PUBLIC if inner.scope is Scope.PUBLIC else Scope.FORBIDDEN
        return AddressClass(scope, inner.kind, v6)
    for table, scope in ((_V6_LOCAL, Scope.LOCAL), (_V6_FORBIDDEN, Scope.FORBIDDEN)):
        for networks, kind in table:
            if any(plain in net for net in networks):
                return AddressClass(scope, kind, v6)
    if plain in _IPV4_COMPATIBLE:
        embedded = ipaddress.IPv4Address(int(plain) & 0xFFFFFFFF)
        # Deprecated since 2006; no public host uses it. Named after what it embeds.
        inner = _classify_v4(embedded, embedded)
        return AddressClass(
            Scope.FORBIDDEN,
            f"the deprecated IPv4-compatible form of {embedded}, {inner.kind}",
            v6,
        )
    if plain not in _V6_GLOBAL_UNICAST or any(plain in net for net in _V6_SPECIAL):
        return AddressClass(Scope.FORBIDDEN, "a reserved or special-purpose address", v6)
    return AddressClass(Scope.PUBLIC, "a public address", v6)


def is_local_address(address: IPAddress) -> bool:
    """Loopback, private or CGNAT: where a self-hosted gateway lives."""
    return classify(address).scope is Scope.LOCAL


def ip_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


async def host_is_local(host: str, resolve: Resolver, port: int = 0) -> bool | None:
    """Whether every address of `host` is local; None when it cannot be resolved."""
    literal = ip_literal(host)
    if literal is not None:
        return is_local_address(literal)
    try:
        addresses = await resolve(host, port)
    except (OSError, UnicodeError, ValueError):
        return None
    if not addresses:
        return None
    return all(is_local_address(a) for a in addresses)


# --- URLs ---------------------------------------------------------------------------


def shown_host(url: yarl.URL) -> str:
    """`host` or `host:port` for messages: never the path, query or user info."""
    host = url.raw_host or "?"
    if ":" in host:
        host = f"[{host}]"
    port = url.port
    if port is not None and port != _DEFAULT_PORTS.get(url.scheme):
        host = f"{host}:{port}"
    return host


def _normal_host(host: str | None) -> str:
    return (host or "").lower().rstrip(".")


@dataclass(frozen=True)
class PinnedURL:
    """A URL whose host was resolved and checked, and the addresses to connect to."""

    url: yarl.URL  # as the provider gave it (host name kept), without a fragment
    addresses: tuple[IPAddress, ...]  # all checked, in resolver order; try them in turn

    def request_url(self, address: IPAddress) -> yarl.URL:
        """The URL with the checked address as its host: aiohttp then connects there
        without resolving anything again."""
        return self.url.with_host(str(address))

    @property
    def host_header(self) -> str:
        return shown_host(self.url)

    @property
    def server_hostname(self) -> str | None:
        """TLS SNI and certificate name: the original host, not the address."""
        if self.url.scheme != "https" or ip_literal(self.url.raw_host or "") is not None:
            return None
        return (self.url.raw_host or "").rstrip(".")


class DownloadPolicy:
    """The rules above, for one provider. `pin()` a URL before every request."""

    def __init__(self, provider_url: str | yarl.URL, resolve: Resolver = system_resolver) -> None:
        provider = yarl.URL(provider_url) if isinstance(provider_url, str) else provider_url
        self.provider_host = _normal_host(provider.raw_host)
        self._provider_port = provider.port or 0
        self._resolve = resolve
        literal = ip_literal(self.provider_host)
        # Known now for an IP literal; for a name, learned at the first download (and
        # only remembered once the name resolved, so a DNS hiccup is not permanent).
        self._provider_local: bool | None = (
            is_local_address(literal) if literal is not None else None
        )

    async def provider_is_local(self) -> bool:
        if self._provider_local is None:
            local = await host_is_local(self.provider_host, self._resolve, self._provider_port)
            if local is None:
                return False  # unknown: the strict rules apply, ask again next time
            self._provider_local = local
        return self._provider_local

    def _refuse(self, url: yarl.URL, reason: str, came_from: yarl.URL | None) -> BadResponse:
        via = f" (redirected from {shown_host(came_from)})" if came_from is not None else ""
        return BadResponse(
            f"Refused to download an output image from {shown_host(url)}{via}: {reason}"
        )

    def check_url(self, url: yarl.URL, came_from: yarl.URL | None = None) -> None:
        """The scheme and shape rules, before any resolution."""
        if url.scheme not in _DEFAULT_PORTS:
            raise BadResponse(
                f"The provider sent an image URL with scheme {url.scheme!r}"
                + (f" (redirected from {shown_host(came_from)})" if came_from else "")
            )
        if not url.raw_host:
            raise self._refuse(url, "the URL has no host", came_from)
        if url.raw_user is not None or url.raw_password is not None:
            raise self._refuse(url, "the URL carries a user name or password", came_from)
        if url.scheme == "http" and _normal_host(url.raw_host) != self.provider_host:
            raise self._refuse(
                url,
                "plain http:// is only allowed to the provider's own host "
                f"({self.provider_host}); other hosts must use https://",
                came_from,
            )

    async def pin(self, url: yarl.URL, came_from: yarl.URL | None = None) -> PinnedURL:
        """Check `url` and resolve its host; every address must be allowed.

        Raises BadResponse when refused; OSError when the name does not resolve (the
        caller may try again)."""
        self.check_url(url, came_from)
        host = url.raw_host or ""
        literal = ip_literal(host)
        if literal is not None:
            addresses: Sequence[IPAddress] = [literal]
            named = ""
        else:
            addresses = await self._resolve(host.rstrip("."), url.port or 0)
            if not addresses:
                raise OSError(f"{host} has no addresses")
            named = f"{host} resolves to "
        allow_local = await self.provider_is_local()
        connect: list[IPAddress] = []
        for address in addresses:
            verdict = classify(address)
            if verdict.scope is Scope.FORBIDDEN or (
                verdict.scope is Scope.LOCAL and not allow_local
            ):
                # One bad address refuses the name: we must not pick among them, and a
                # name pointing partly inside the network is suspicious in itself.
                hint = _LOCAL_HINT if verdict.scope is Scope.LOCAL else _NEVER_HINT
                raise self._refuse(url, f"{named}{address}, {verdict.kind}; {hint}", came_from)
            if verdict.connect_to not in connect:
                connect.append(verdict.connect_to)
        return PinnedURL(url.with_fragment(None), tuple(connect))
