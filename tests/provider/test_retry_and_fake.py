"""Retry header parsing, list_models failures, and the fake's cross-process controls."""

import asyncio
import email.utils
import json
import socket

import aiohttp
import pytest

from bot.provider import (
    EditRequest,
    ModelNotFound,
    ProviderUnavailable,
    RateLimited,
    WrongBaseURL,
)
from bot.provider.errors import error_from_response
from bot.provider.retry import RetryPolicy, parse_retry_after, parse_should_retry
from tests.fakes.image_api import FakeImageAPI, Reply, make_image


def test_retry_after_forms():
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert parse_retry_after({"retry-after": "2"}) == 2.0
    assert parse_retry_after({"retry-after": "0.3"}) == 0.3
    now = 1_700_000_000.0
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert parse_retry_after({"retry-after": date}, now=now) == pytest.approx(30, abs=1)
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({"retry-after-ms": "x", "retry-after": "-1"}) is None
    assert parse_retry_after({}) is None


def test_should_retry_header():
    assert parse_should_retry({"x-should-retry": "true"}) is True
    assert parse_should_retry({"x-should-retry": "False"}) is False
    assert parse_should_retry({}) is None


def test_policy_backoff_and_caps():
    policy = RetryPolicy(max_attempts=5, max_retry_after=10, random=lambda: 0.0)
    assert [policy.backoff(k) for k in range(6)] == [0.5, 1, 2, 4, 8, 8]
    retryable = error_from_response(503, None)
    assert policy.delay_for(retryable, attempt=1, retries_so_far=0) == 0.5
    assert policy.delay_for(retryable, attempt=5, retries_so_far=4) is None  # attempts used up
    slow = error_from_response(429, None, retry_after=11)
    assert isinstance(slow, RateLimited) and policy.delay_for(slow, 1, 0) is None
    billing = error_from_response(429, {"error": {"code": "insufficient_quota"}},
                                  should_retry=True)
    assert policy.delay_for(billing, 1, 0) is None  # never, whatever the header says


async def test_list_models_errors(make_client, fake_image_api):
    client = make_client()
    fake_image_api.queue(Reply.redirect("https://example.com/"), route="models")
    with pytest.raises(WrongBaseURL):
        await client.list_models()
    fake_image_api.queue(Reply.raw("<html>hi</html>", content_type="text/html"), route="models")
    with pytest.raises(WrongBaseURL):
        await client.list_models()
    fake_image_api.queue(Reply.error(503, "down"), route="models")
    assert "gpt-image-2" in await client.list_models()  # retried


async def test_list_models_connection_refused(make_client):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ProviderUnavailable):
        await make_client(base_url=f"http://127.0.0.1:{port}/v1").list_models()


async def test_model_not_found_names_the_model(client, fake_image_api):
    fake_image_api.queue(Reply.error(404, "The model `x` does not exist", code="model_not_found"))
    with pytest.raises(ModelNotFound) as info:
        await client.edit(EditRequest(prompt="p", images=[make_image(8, 8)], model="my-model"))
    assert "`my-model`" in info.value.user_message


async def test_fake_control_endpoints_drive_another_process_style():
    async with FakeImageAPI() as api, aiohttp.ClientSession() as http:
        queued = {"replies": [Reply.error(503, "down").to_json()], "route": "edits"}
        async with http.post(f"{api.origin}/_fake/queue", json=queued) as resp:
            assert (await resp.json()) == {"queued": 1}
        form = aiohttp.FormData()
        form.add_field("prompt", "p")
        form.add_field("image", make_image(8, 8), filename="image.png", content_type="image/png")
        headers = {"Authorization": f"Bearer {api.api_key}"}
        async with http.post(f"{api.base_url}/images/edits", data=form, headers=headers) as resp:
            assert resp.status == 503 and resp.headers["x-request-id"]
        async with http.get(f"{api.origin}/_fake/requests") as resp:
            summary = await resp.json()
        assert summary[0]["fields"] == {"prompt": ["p"]}
        assert summary[0]["files"][0]["content_type"] == "image/png"
        async with http.post(f"{api.origin}/_fake/reset") as resp:
            assert resp.status == 200
        assert api.requests == [] and api.pending == 0


async def test_fake_rejects_a_wrong_key_and_stops_while_hanging():
    api = await FakeImageAPI().start()
    api.queue(Reply.hang())
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{api.base_url}/models", headers={"Authorization": "Bearer nope"}) as resp:
            assert resp.status == 401
            assert (await resp.json())["error"]["code"] == "invalid_api_key"
        form = aiohttp.FormData()
        form.add_field("image", make_image(8, 8), filename="image.png", content_type="image/png")
        headers = {"Authorization": f"Bearer {api.api_key}"}
        hanging = asyncio.create_task(
            http.post(f"{api.base_url}/images/edits", data=form, headers=headers)
        )
        await asyncio.sleep(0.1)
        await asyncio.wait_for(api.stop(), 5)  # a hanging handler does not block shutdown
        with pytest.raises(aiohttp.ClientError):
            await hanging
    assert json.loads(json.dumps(Reply.stream(1).to_json()))["kind"] == "stream"
