"""Output-image URLs cannot be turned against the bot's host (SSRF), over real HTTP.

"Public" hosts come from tests/fakes/internet.py: names resolve, through the resolver
injected into the client, to public addresses, and the test session's connector routes
those addresses to local servers. `internet.connections` lists every connection the
session opened (host asked for, port): a refused URL never appears there, and a pinned
download appears as the checked IP, never as the name. Nothing leaves the machine.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
import yarl

from bot.provider import (
    BadResponse,
    EditRequest,
    ImageEditClient,
    ProviderUnavailable,
    WrongBaseURL,
    load_model_table,
)
from bot.provider.download_policy import (
    DownloadPolicy,
    Scope,
    classify,
    system_resolver,
)
from tests.fakes.image_api import FakeImageAPI, Reply, make_image
from tests.fakes.internet import TLS, FakeInternet, FakeWebHost, Seen, make_tls

PUBLIC_A, PUBLIC_B, PUBLIC_V6 = "93.184.215.14", "93.184.215.15", "2606:4700::1111"
DEAD = "93.184.215.20"  # routed to 127.0.0.2, where nothing listens
LOCAL = "127.0.0.1"
SIGNATURE = "X-Amz-Signature=0123456789abcdefsignature"
CERT_NAMES = ["api.test", "cdn.test", "cdn2.test", "multi.test", "v6.test"]
PNG = make_image(24, 24)


def edit_request() -> EditRequest:
    return EditRequest(prompt="add a hat", images=[make_image(32, 32)])


def url_reply(*urls: str) -> Reply:
    return Reply.raw(json.dumps({"created": 1, "data": [{"url": u} for u in urls]}))


@pytest.fixture(scope="session")
def tls_or_none(tmp_path_factory: pytest.TempPathFactory) -> TLS | None:
    return make_tls(tmp_path_factory.mktemp("tls"), CERT_NAMES)


@pytest.fixture
def tls(tls_or_none: TLS | None) -> TLS:
    if tls_or_none is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    return tls_or_none


@pytest.fixture
def internet() -> FakeInternet:
    net = FakeInternet()
    net.dns.update({
        "api.test": [PUBLIC_A],
        "cdn.test": [PUBLIC_A],
        "cdn2.test": [PUBLIC_B],
        "other.test": [PUBLIC_A],  # not on the test certificate
        "v6.test": [PUBLIC_V6],
        "multi.test": [DEAD, PUBLIC_A],
        "loopback.test": ["127.0.0.1"],
        "metadata.test": ["169.254.169.254"],
        "mixed.test": [PUBLIC_A, "10.0.0.8"],
        "mapped.test": ["::ffff:127.0.0.1"],
        "v6loop.test": ["::1"],
        "gateway.test": ["192.168.1.2"],
    })
    net.routes.update({
        "api.test": LOCAL, PUBLIC_A: LOCAL, PUBLIC_B: LOCAL, PUBLIC_V6: LOCAL, DEAD: "127.0.0.2",
        "10.0.0.5": LOCAL, "gateway.test": LOCAL, "192.168.1.2": LOCAL,
    })
    return net


@pytest.fixture
async def net_session(
    internet: FakeInternet, tls_or_none: TLS | None
) -> AsyncIterator[aiohttp.ClientSession]:
    context = tls_or_none.client_context() if tls_or_none else None
    async with aiohttp.ClientSession(connector=internet.connector(ssl_context=context)) as s:
        yield s


@pytest.fixture
def public_api(fake_image_api: FakeImageAPI) -> FakeImageAPI:
    """The fake provider as a public host: http://api.test:PORT/v1 (api.test -> PUBLIC_A)."""
    fake_image_api.url_origin = f"http://api.test:{fake_image_api.port}"
    return fake_image_api


@pytest.fixture
def make_net_client(
    net_session: aiohttp.ClientSession, internet: FakeInternet, fake_image_api: FakeImageAPI,
    sleeps: Any,
) -> Callable[..., ImageEditClient]:
    def factory(base_url: str | None = None, **options: Any) -> ImageEditClient:
        return ImageEditClient(
            net_session,
            base_url=base_url or f"http://api.test:{fake_image_api.port}/v1",
            api_key=fake_image_api.api_key,
            models=load_model_table(),
            timeout=10,
            sleep=sleeps,
            resolve=internet.resolve,
            **options,
        )

    return factory


@pytest.fixture
async def web_host(tls: TLS) -> AsyncIterator[FakeWebHost]:
    """An https image host; every CERT_NAMES name resolving to a public address leads here."""
    async with FakeWebHost(tls.server_context()) as host:
        host.page("/img.png", PNG)
        yield host


def other_connections(internet: FakeInternet, api: FakeImageAPI) -> list[tuple[str, int]]:
    """Connections besides the ones to the provider's API."""
    return [c for c in internet.connections if c[1] != api.port or c[0] not in ("api.test", "10.0.0.5")]


# --- the address table -----------------------------------------------------------------------


@pytest.mark.parametrize("address", [PUBLIC_A, "8.8.8.8", PUBLIC_V6, "::ffff:8.8.8.8", "64:ff9b::808:808"])
def test_public_addresses(address):
    assert classify(ipaddress.ip_address(address)).scope is Scope.PUBLIC


@pytest.mark.parametrize(
    "address, kind",
    [
        ("127.0.0.1", "loopback"), ("127.8.9.10", "loopback"), ("::1", "loopback"),
        ("::ffff:127.0.0.1", "IPv4-mapped form of 127.0.0.1, a loopback"),
        ("10.1.2.3", "private"), ("172.16.0.1", "private"), ("192.168.0.1", "private"),
        ("fd00::2", "private"), ("::ffff:192.168.0.1", "IPv4-mapped"),
        ("100.64.0.1", "CGNAT"), ("100.127.255.254", "CGNAT"),
    ],
)
def test_local_addresses(address, kind):
    verdict = classify(ipaddress.ip_address(address))
    assert verdict.scope is Scope.LOCAL and kind in verdict.kind


@pytest.mark.parametrize(
    "address, kind",
    [
        ("169.254.169.254", "link-local"), ("fe80::1", "link-local"), ("fe80::1%2", "link-local"),
        ("::ffff:169.254.169.254", "link-local"), ("0.0.0.0", "unspecified"), ("::", "unspecified"),
        ("0.1.2.3", "unspecified"), ("224.0.0.1", "multicast"), ("ff02::1", "multicast"),
        ("255.255.255.255", "reserved"), ("240.0.0.1", "reserved"), ("192.0.2.1", "reserved"),
        ("198.18.0.1", "reserved"), ("192.0.0.8", "reserved"), ("2001:db8::1", "reserved"),
        ("100::1", "reserved"), ("2001::1", "reserved"), ("fec0::1", "site-local"),
        ("::127.0.0.1", "IPv4-compatible form of 127.0.0.1"),
        ("::8.8.8.8", "IPv4-compatible"),
        ("64:ff9b::a00:1", "NAT64 form of 10.0.0.1"), ("64:ff9b::7f00:1", "NAT64"),
        ("2002:7f00:1::", "6to4 form of 127.0.0.1"), ("2002:a9fe:a9fe::", "6to4"),
    ],
)
def test_forbidden_addresses(address, kind):
    verdict = classify(ipaddress.ip_address(address))
    assert verdict.scope is Scope.FORBIDDEN and kind in verdict.kind


def test_ipv4_mapped_addresses_connect_over_ipv4():
    assert classify(ipaddress.ip_address("::ffff:8.8.8.8")).connect_to == ipaddress.ip_address("8.8.8.8")


async def test_numeric_host_spellings_are_judged_by_what_they_resolve_to():
    # getaddrinfo reads 2130706433 and 127.1 as 127.0.0.1: the check sees the real address.
    policy = DownloadPolicy("https://93.184.215.14/v1", system_resolver)
    for host in ("2130706433", "127.1", "0x7f.0.0.1"):
        with pytest.raises(BadResponse, match="127.0.0.1, a loopback address"):
            await policy.pin(yarl.URL(f"https://{host}/img.png"))


async def test_scheme_rule():
    policy = DownloadPolicy("http://api.test/v1", FakeInternet().resolve)
    policy.check_url(yarl.URL("http://API.test./files/1.png"))  # the provider's own host
    policy.check_url(yarl.URL("https://cdn.test/1.png"))
    with pytest.raises(BadResponse, match="plain http:// is only allowed to the provider's own host"):
        policy.check_url(yarl.URL("http://cdn.test/1.png"))
    with pytest.raises(BadResponse, match="plain http://"):
        policy.check_url(yarl.URL("http://api.test.evil.test/1.png"))


# --- allowed downloads are pinned to the checked address --------------------------------------


async def test_http_on_the_providers_own_host_is_fetched_from_the_checked_address(
    public_api, make_net_client, internet
):
    public_api.queue(Reply.images(2, as_url=True))
    result = await make_net_client().edit(edit_request())
    assert len(result.images) == 2
    files = [r for r in public_api.requests if r.path.startswith("/files/")]
    assert [r.headers["Host"] for r in files] == [f"api.test:{public_api.port}"] * 2
    assert all("Authorization" not in r.headers for r in files)
    # The POST went by name; each download to the address the policy checked.
    assert sorted(internet.connections) == sorted(
        [("api.test", public_api.port)] + [(PUBLIC_A, public_api.port)] * 2
    )


async def test_https_download_keeps_the_name_for_host_sni_and_certificate(
    public_api, make_net_client, internet, web_host
):
    public_api.queue(url_reply(f"https://cdn.test:{web_host.port}/img.png?{SIGNATURE}"))
    result = await make_net_client().edit(edit_request())
    assert result.images[0].data == PNG
    assert web_host.seen == [Seen(f"/img.png?{SIGNATURE}", f"cdn.test:{web_host.port}", None)]
    assert web_host.sni == ["cdn.test"]  # and the certificate was verified for cdn.test
    assert other_connections(internet, public_api) == [(PUBLIC_A, web_host.port)]


async def test_ipv6_public_address(public_api, make_net_client, internet, web_host):
    public_api.queue(url_reply(f"https://v6.test:{web_host.port}/img.png"))
    await make_net_client().edit(edit_request())
    assert other_connections(internet, public_api) == [(PUBLIC_V6, web_host.port)]
    assert web_host.sni == ["v6.test"]


async def test_the_certificate_is_still_checked_against_the_name(
    public_api, make_net_client, internet, web_host
):
    public_api.queue(url_reply(f"https://other.test:{web_host.port}/img.png"))
    with pytest.raises(BadResponse, match="other.test.*TLS error"):
        await make_net_client().edit(edit_request())
    assert web_host.seen == []


async def test_the_next_checked_address_is_tried_when_one_is_unreachable(
    public_api, make_net_client, internet, web_host
):
    public_api.queue(url_reply(f"https://multi.test:{web_host.port}/img.png"))
    await make_net_client().edit(edit_request())
    assert other_connections(internet, public_api) == [(DEAD, web_host.port), (PUBLIC_A, web_host.port)]


async def test_redirects_are_followed_one_checked_hop_at_a_time(
    public_api, make_net_client, internet, web_host
):
    port = web_host.port
    web_host.redirect("/start", f"https://cdn2.test:{port}/next?{SIGNATURE}", status=302)
    web_host.redirect("/next", "/img.png", status=307)  # relative: to cdn2.test, not to an IP
    public_api.queue(url_reply(f"https://cdn.test:{port}/start"))
    result = await make_net_client().edit(edit_request())
    assert result.images[0].data == PNG
    assert [(s.path, s.host) for s in web_host.seen] == [
        ("/start", f"cdn.test:{port}"), (f"/next?{SIGNATURE}", f"cdn2.test:{port}"),
        ("/img.png", f"cdn2.test:{port}"),
    ]
    assert web_host.sni == ["cdn.test", "cdn2.test", "cdn2.test"]
    assert other_connections(internet, public_api) == [(PUBLIC_A, port), (PUBLIC_B, port), (PUBLIC_B, port)]


# --- refused: before any connection, with a message naming the host and the reason ------------


def assert_clean(error: BaseException) -> None:
    """The operator message names host and reason; the member message says nothing of it."""
    for text in (str(error), repr(error)):
        assert SIGNATURE not in text and "meta-data" not in text and "/files/" not in text
    assert isinstance(error, BadResponse)
    assert "not a usable image" in error.user_message


@pytest.mark.parametrize(
    "url, message",
    [
        ("https://127.0.0.1:{api}/files/x.png?{sig}", "from 127.0.0.1:{api}: 127.0.0.1, a loopback address"),
        ("https://[::1]:{api}/files/x.png", "::1, a loopback address"),
        ("https://[::ffff:127.0.0.1]:{api}/files/x.png", "the IPv4-mapped form of 127.0.0.1, a loopback"),
        ("https://10.0.0.7/x.png?{sig}", "10.0.0.7, a private address"),
        ("https://192.168.1.1/x.png", "a private address"),
        ("https://100.64.0.9/x.png", "CGNAT"),
        ("https://169.254.169.254/latest/meta-data/?{sig}", "169.254.169.254, a link-local address"),
        ("https://[fe80::1]/x.png", "link-local"),
        ("https://0.0.0.0:{api}/files/x.png", "unspecified"),
        ("https://224.0.0.1/x.png", "multicast"),
        ("https://loopback.test/x.png", "loopback.test resolves to 127.0.0.1, a loopback address"),
        ("https://v6loop.test/x.png", "v6loop.test resolves to ::1, a loopback address"),
        ("https://mapped.test/x.png", "the IPv4-mapped form of 127.0.0.1, a loopback address"),
        ("https://metadata.test/computeMetadata/v1/", "resolves to 169.254.169.254, a link-local"),
        ("https://mixed.test/x.png", "mixed.test resolves to 10.0.0.8, a private address"),
        ("http://cdn.test/x.png?{sig}", "from cdn.test: plain http:// is only allowed to the provider's own host (api.test)"),
        ("http://127.0.0.1:{api}/files/x.png", "plain http://"),
        ("https://user:pw@cdn.test/x.png", "carries a user name or password"),
        ("ftp://cdn.test/x.png", "scheme 'ftp'"),
        ("file:///etc/passwd", "scheme 'file'"),
    ],
)
async def test_refused_before_any_connection(public_api, make_net_client, internet, url, message):
    fill = {"api": public_api.port, "sig": SIGNATURE}
    public_api.queue(url_reply(url.format(**fill)))
    with pytest.raises(BadResponse) as info:
        await make_net_client().edit(edit_request())
    assert message.format(**fill) in str(info.value)
    assert_clean(info.value)
    assert other_connections(internet, public_api) == []
    assert not [r for r in public_api.requests if r.path.startswith("/files/")]
    assert info.value.attempts == 1 and len(public_api.edits) == 1  # the edit is not re-run


@pytest.mark.parametrize(
    "location, message",
    [
        ("https://169.254.169.254/latest/meta-data/iam/?{sig}", "169.254.169.254, a link-local address"),
        ("https://127.0.0.1:{api}/files/x.png", "127.0.0.1, a loopback address"),
        ("https://10.1.2.3/x.png", "10.1.2.3, a private address"),
        ("https://[::ffff:10.0.0.1]/x.png", "the IPv4-mapped form of 10.0.0.1, a private address"),
        ("https://metadata.test/computeMetadata/v1/", "metadata.test resolves to 169.254.169.254"),
        ("https://mixed.test/x.png", "mixed.test resolves to 10.0.0.8"),
        ("http://cdn2.test/x.png", "plain http://"),
    ],
)
async def test_a_redirect_is_checked_again_after_the_hop(
    public_api, make_net_client, internet, web_host, location, message
):
    fill = {"api": public_api.port, "sig": SIGNATURE}
    web_host.redirect("/start", location.format(**fill))
    public_api.queue(url_reply(f"https://cdn.test:{web_host.port}/start"))
    with pytest.raises(BadResponse) as info:
        await make_net_client().edit(edit_request())
    assert f"(redirected from cdn.test:{web_host.port})" in str(info.value)
    assert message.format(**fill) in str(info.value)
    assert_clean(info.value)
    assert [s.path for s in web_host.seen] == ["/start"]
    assert other_connections(internet, public_api) == [(PUBLIC_A, web_host.port)]


async def test_every_hop_is_checked_not_only_the_first(public_api, make_net_client, internet, web_host):
    port = web_host.port
    web_host.redirect("/a", f"https://cdn2.test:{port}/b")
    web_host.redirect("/b", "/c", status=301)
    web_host.redirect("/c", "https://127.0.0.1/internal", status=308)
    public_api.queue(url_reply(f"https://cdn.test:{port}/a"))
    with pytest.raises(BadResponse, match=r"from 127.0.0.1 \(redirected from cdn2.test:\d+\): 127.0.0.1, a loopback"):
        await make_net_client().edit(edit_request())
    assert [s.path for s in web_host.seen] == ["/a", "/b", "/c"]
    assert other_connections(internet, public_api) == [(PUBLIC_A, port), (PUBLIC_B, port), (PUBLIC_B, port)]


async def test_at_most_five_redirects(public_api, make_net_client, web_host):
    web_host.redirect("/loop", "/loop")
    public_api.queue(url_reply(f"https://cdn.test:{web_host.port}/loop"))
    with pytest.raises(BadResponse, match="more than 5 redirects"):
        await make_net_client().edit(edit_request())
    assert len(web_host.seen) == 6  # the first request and five redirects


async def test_a_name_that_does_not_resolve(public_api, make_net_client, internet):
    public_api.queue(url_reply("https://nowhere.test/x.png"))
    with pytest.raises(BadResponse, match="nowhere.test failed: the name does not resolve"):
        await make_net_client().edit(edit_request())
    assert internet.lookups.count("nowhere.test") == 2  # tried twice, like a dropped connection


async def test_data_urls_still_work(public_api, make_net_client, internet):
    import base64

    public_api.queue(url_reply("data:image/png;base64," + base64.b64encode(PNG).decode()))
    result = await make_net_client().edit(edit_request())
    assert result.images[0].data == PNG and other_connections(internet, public_api) == []


# --- a self-hosted provider on a private address ----------------------------------------------


async def test_private_provider_may_serve_images_from_private_addresses(
    fake_image_api, make_net_client, internet
):
    fake_image_api.url_origin = f"http://10.0.0.5:{fake_image_api.port}"
    fake_image_api.queue(Reply.images(1, as_url=True))
    client = make_net_client(base_url=f"http://10.0.0.5:{fake_image_api.port}/v1")
    assert len((await client.edit(edit_request())).images) == 1
    assert internet.connections == [("10.0.0.5", fake_image_api.port)] * 2


async def test_provider_name_resolving_to_a_private_address_counts_as_local(
    fake_image_api, make_net_client, internet
):
    fake_image_api.url_origin = f"http://gateway.test:{fake_image_api.port}"
    fake_image_api.queue(Reply.images(1, as_url=True))
    client = make_net_client(base_url=f"http://gateway.test:{fake_image_api.port}/v1")
    assert len((await client.edit(edit_request())).images) == 1
    assert ("192.168.1.2", fake_image_api.port) in internet.connections  # pinned


@pytest.mark.parametrize(
    "url, message",
    [
        ("https://169.254.169.254/latest/meta-data/", "link-local"),
        ("https://metadata.test/x.png", "link-local"),
        ("https://224.0.0.1/x.png", "multicast"),
        ("http://192.168.1.20/x.png", "plain http://"),  # another host: https still required
    ],
)
async def test_private_provider_still_refuses_metadata_and_foreign_http(
    fake_image_api, make_net_client, internet, url, message
):
    fake_image_api.queue(url_reply(url))
    client = make_net_client(base_url=f"http://10.0.0.5:{fake_image_api.port}/v1")
    with pytest.raises(BadResponse, match=message):
        await client.edit(edit_request())
    assert internet.connections == [("10.0.0.5", fake_image_api.port)]


# --- a credential in IMAGE_API_BASE_URL is never shown nor sent -------------------------------


@pytest.mark.parametrize("password", ["hunter2-the-gateway-password", "Zq7"])  # "Zq7": too short to redact
async def test_base_url_password_never_appears(
    public_api, make_net_client, internet, caplog, password
):
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    base = f"http://gateway-user:{password}@api.test:{public_api.port}/v1"
    client = make_net_client(base_url=base)
    texts += [repr(client), client.base_url]

    # A refused download.
    public_api.queue(url_reply("https://127.0.0.1/x.png"))
    with pytest.raises(BadResponse) as refused:
        await client.edit(edit_request())
    # A redirect (the provider even echoes the credential in its Location).
    public_api.queue(Reply.redirect(f"https://gateway-user:{password}@elsewhere.test/v1"))
    with pytest.raises(WrongBaseURL) as redirected:
        await client.edit(edit_request())
    # A connection failure.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    internet.dns["down.test"] = [PUBLIC_A]
    internet.routes["down.test"] = LOCAL
    down = make_net_client(base_url=f"https://gateway-user:{password}@down.test:{closed}/v1")
    with pytest.raises(ProviderUnavailable) as unreachable:
        await down.edit(edit_request())
    with pytest.raises(ValueError) as bad:
        make_net_client(base_url=f"ftp://gateway-user:{password}@api.test/v1")

    for error in (refused.value, redirected.value, unreachable.value, bad.value):
        texts += [str(error), repr(error), getattr(error, "user_message", "")]
    texts.append(caplog.text)
    assert "IMAGE_API_BASE_URL" in str(redirected.value)
    assert "contains a user name or password" in caplog.text
    for text in texts:
        assert password not in text, text
    # Nor sent: the key is the only credential that reached the provider.
    assert all(r.headers.get("Authorization", "").startswith("Bearer ") for r in public_api.edits)


def test_settings_never_quote_a_base_url_password():
    from bot.config import ConfigError, load_settings

    password = "hunter2-the-gateway-password"
    env = {"DISCORD_TOKEN": "t" * 30, "IMAGE_API_KEY": "sk-" + "k" * 30}
    for bad in (f"https://u:{password}@gw.test/v1?x=1", f"ftp://u:{password}@gw.test/v1"):
        with pytest.raises(ConfigError) as info:
            load_settings({**env, "IMAGE_API_BASE_URL": bad}, env_file=None)
        assert "IMAGE_API_BASE_URL" in str(info.value) and password not in str(info.value)
    settings = load_settings({**env, "IMAGE_API_BASE_URL": f"https://u:{password}@gw.test/v1"}, env_file=None)
    assert password in settings.secrets  # scrubbed from every log line from the start
