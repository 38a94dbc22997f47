"""ImageEditClient over real HTTP against the fake provider: what a member would notice."""

import asyncio
import logging
import socket
import time

import pytest

from bot.provider import (
    BadResponse,
    BillingError,
    EditRequest,
    ImageEditClient,
    ModelNotFound,
    PayloadTooLarge,
    ProviderAuthError,
    ProviderError,
    ProviderRejected,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    Usage,
    WrongBaseURL,
    estimate_cost,
    load_model_table,
    load_prices,
)
from tests.fakes.image_api import FakeImageAPI, Reply, make_image


def edit_request(**fields):
    fields.setdefault("prompt", "add a small red ribbon")
    fields.setdefault("images", [make_image(32, 32)])
    return EditRequest(**fields)


# --- success ------------------------------------------------------------------------------


async def test_b64_images_come_back_exactly_as_sent(client, fake_image_api):
    done = fake_image_api.expect(Reply.images(2, size=(48, 40), revised_prompt="a ribbon"))
    result = await client.edit(edit_request(n=2, size="1536x1024", quality="high"))
    assert [img.data for img in result.images] == [
        make_image(48, 40, color=(200, 40, 40), seed=0), make_image(48, 40, color=(40, 200, 40), seed=1)
    ]
    assert [img.format for img in result.images] == ["png", "png"]
    assert result.images[0].revised_prompt == "a ribbon"
    assert result.usage == Usage(226, 194, 32, 8320, 8546)
    assert (result.model, result.size, result.quality) == ("gpt-image-2", "48x40", "high")
    assert result.request_id == "req_1" and result.attempts == 1 and result.elapsed > 0
    assert done.request is fake_image_api.edits[0]


async def test_ten_images_and_other_formats(client, fake_image_api):
    fake_image_api.queue(Reply.images(10, image_format="webp"))
    result = await client.edit(edit_request(n=10, output_format="webp"))
    assert len(result.images) == 10 and {i.format for i in result.images} == {"webp"}


async def test_cometapi_usage_and_cost(client, fake_image_api):
    fake_image_api.queue(Reply.images(1, usage="comet"))
    result = await client.edit(edit_request())
    assert result.usage == Usage(785, 768, 17, 196, 981)
    cost = estimate_cost(result.usage, result.model, load_prices())
    assert cost == pytest.approx((17 * 5 + 768 * 8 + 196 * 30) / 1e6)


async def test_missing_usage_is_none(client, fake_image_api):
    fake_image_api.queue(Reply.images(1, usage=None))
    result = await client.edit(edit_request())
    assert result.usage is None and len(result.images) == 1
    assert estimate_cost(result.usage, result.model, load_prices()) is None


async def test_url_outputs_are_downloaded_without_the_api_key(client, fake_image_api):
    fake_image_api.queue(Reply.images(3, as_url=True))
    result = await client.edit(edit_request(model="dall-e-2", response_format="url"))
    assert len(result.images) == 3 and all(i.format == "png" for i in result.images)
    downloads = [r for r in fake_image_api.requests if r.path.startswith("/files/")]
    assert len(downloads) == 3
    assert all("Authorization" not in r.headers for r in downloads)


async def test_url_download_over_the_byte_cap_fails(make_client, fake_image_api):
    client = make_client(download_max_bytes=100)
    fake_image_api.queue(Reply.images(1, as_url=True, size=(64, 64), fill="noise"))
    with pytest.raises(BadResponse, match="over"):
        await client.edit(edit_request())


async def test_body_arriving_in_small_pieces(client, fake_image_api):
    fake_image_api.queue(Reply.images(2, size=(64, 64), fill="noise", chunk_size=777))
    result = await client.edit(edit_request(n=2))
    assert result.images[1].data == make_image(64, 64, fill="noise", color=(40, 200, 40), seed=1)


async def test_list_models(client, fake_image_api):
    assert "gpt-image-2" in await client.list_models()
    fake_image_api.queue(Reply.error(401, "bad key", code="invalid_api_key"), route="models")
    with pytest.raises(ProviderAuthError):
        await client.list_models()


async def test_wrong_api_key_is_an_auth_error(make_client, fake_image_api):
    client = make_client(api_key="sk-wrong-key-000000000000")
    with pytest.raises(ProviderAuthError) as info:
        await client.edit(edit_request())
    assert info.value.status == 401 and info.value.attempts == 1
    assert "IMAGE_API_KEY" in str(info.value) and "owner" in info.value.user_message


# --- error classes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply, error_class, status",
    [
        (Reply.error(400, "Your request was rejected by the safety system. req_abc",
                     code="moderation_blocked", type="image_generation_user_error"),
         ProviderRejected, 400),
        (Reply.error(400, "Invalid size", code="invalid_value", param="size"), ProviderRejected, 400),
        (Reply.error(422, "unprocessable"), ProviderRejected, 422),
        (Reply.error(500, "bad request", code="invalid_request"), ProviderRejected, 500),
        (Reply.error(403, "Organization must be verified"), ProviderAuthError, 403),
        (Reply.error(404, "The model `gpt-image-9` does not exist", code="model_not_found"),
         ModelNotFound, 404),
        (Reply.error(400, "no such model", code="model_not_found"), ModelNotFound, 400),
        (Reply.error(413, "too large"), PayloadTooLarge, 413),
        (Reply.error(429, "You exceeded your current quota", code="insufficient_quota",
                     type="insufficient_quota"), BillingError, 429),
        (Reply.error(500, "oops", type="server_error"), ProviderUnavailable, 500),
        (Reply.error(404, "Invalid URL (POST /v1/images/edits)"), WrongBaseURL, 404),
    ],
)
async def test_each_error_class(client, fake_image_api, sleeps, reply, error_class, status):
    fake_image_api.queue(reply)
    with pytest.raises(error_class) as info:
        await client.edit(edit_request())
    err = info.value
    assert err.status == status and err.request_id and err.attempts == 1
    assert err.model == "gpt-image-2"
    assert len(fake_image_api.edits) == 1 and sleeps.delays == []  # never retried
    assert err.user_message and "sk-" not in err.user_message


async def test_content_policy_rejection_tells_the_member(client, fake_image_api):
    fake_image_api.queue(Reply.error(400, "Rejected by the safety system", code="moderation_blocked"))
    with pytest.raises(ProviderRejected) as info:
        await client.edit(edit_request())
    assert info.value.content_policy
    assert "safety system" in info.value.user_message
    assert "Rejected by the safety system" in info.value.user_message


async def test_billing_error_is_for_the_owner_not_the_member(client, fake_image_api):
    fake_image_api.queue(Reply.error(429, "You exceeded your current quota, check billing",
                                     code="insufficient_quota", retry_after=0))
    with pytest.raises(BillingError) as info:
        await client.edit(edit_request())
    assert "quota" not in info.value.user_message and "billing" not in info.value.user_message
    assert "out of credit" in str(info.value)


# --- retries ---------------------------------------------------------------------------------


async def test_429_retry_honours_retry_after(make_client, fake_image_api):
    client = make_client(sleep=asyncio.sleep)
    fake_image_api.queue(Reply.error(429, "slow down", code="rate_limit_exceeded", retry_after=0.3))
    started = time.monotonic()
    result = await client.edit(edit_request())
    waited = time.monotonic() - started
    assert 0.3 <= waited < 1.5
    assert result.attempts == 2 and len(fake_image_api.edits) == 2


async def test_retry_after_ms_wins_over_retry_after(client, fake_image_api, sleeps):
    fake_image_api.queue(Reply.error(429, "slow down", code="rate_limit_exceeded",
                                     retry_after=30, retry_after_ms=250))
    result = await client.edit(edit_request())
    assert sleeps.delays == [0.25] and result.attempts == 2


async def test_retry_after_over_the_cap_gives_up_at_once(client, fake_image_api, sleeps):
    fake_image_api.queue(Reply.error(429, "slow down", code="rate_limit_exceeded", retry_after=120))
    with pytest.raises(RateLimited) as info:
        await client.edit(edit_request())
    assert info.value.retry_after == 120 and sleeps.delays == []
    assert "120 seconds" in info.value.user_message


async def test_rate_limit_exhausting_attempts(client, fake_image_api, sleeps):
    fake_image_api.queue(*[Reply.error(429, "slow", code="rate_limit_exceeded")] * 3)
    with pytest.raises(RateLimited) as info:
        await client.edit(edit_request())
    assert info.value.attempts == 3 and len(fake_image_api.edits) == 3
    # backoff min(0.5 * 2**k, 8) with up to 25 % jitter
    assert 0.375 <= sleeps.delays[0] <= 0.5 and 0.75 <= sleeps.delays[1] <= 1.0


@pytest.mark.parametrize("status", [502, 503, 504, 520, 524])
async def test_gateway_errors_are_retried_then_succeed(client, fake_image_api, sleeps, status):
    fake_image_api.queue(Reply.error(status, "bad gateway"))
    result = await client.edit(edit_request())
    assert result.attempts == 2 and len(sleeps.delays) == 1


async def test_html_gateway_error_page_is_an_outage_not_a_wrong_url(client, fake_image_api):
    html = "<html><body><h1>502 Bad Gateway</h1></body></html>"
    fake_image_api.queue(*[Reply.raw(html, status=502, content_type="text/html")] * 3)
    with pytest.raises(ProviderUnavailable) as info:
        await client.edit(edit_request())
    assert info.value.attempts == 3


async def test_plain_500_is_not_retried_by_default(client, fake_image_api):
    fake_image_api.queue(Reply.error(500, "internal"))
    with pytest.raises(ProviderUnavailable):
        await client.edit(edit_request())
    assert len(fake_image_api.edits) == 1


async def test_plain_500_is_retried_when_unsafe_retries_are_allowed(make_client, fake_image_api):
    client = make_client(retry_unsafe=True)
    fake_image_api.queue(Reply.error(500, "internal"))
    assert (await client.edit(edit_request())).attempts == 2


async def test_x_should_retry_header_is_honoured(client, fake_image_api):
    fake_image_api.queue(Reply.error(503, "down", should_retry=False))
    with pytest.raises(ProviderUnavailable):
        await client.edit(edit_request())
    assert len(fake_image_api.edits) == 1
    fake_image_api.queue(Reply.error(500, "retry me", should_retry=True))
    assert (await client.edit(edit_request())).attempts == 2


async def test_no_retry_on_4xx(client, fake_image_api):
    fake_image_api.queue(Reply.error(400, "bad", code="invalid_value"), Reply.images())
    with pytest.raises(ProviderRejected):
        await client.edit(edit_request())
    assert len(fake_image_api.edits) == 1


async def test_connection_refused_is_retried_then_unavailable(make_client, sleeps):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = make_client(base_url=f"http://127.0.0.1:{port}/v1")
    with pytest.raises(ProviderUnavailable) as info:
        await client.edit(edit_request())
    assert info.value.attempts == 3 and len(sleeps.delays) == 2
    assert "Could not connect" in str(info.value)


async def test_connection_dropped_before_an_answer_is_retried(client, fake_image_api):
    fake_image_api.queue(Reply.drop())
    result = await client.edit(edit_request())
    assert result.attempts == 2


async def test_backoff_never_outlives_the_deadline(make_client, fake_image_api, sleeps):
    client = make_client(timeout=2)
    fake_image_api.queue(Reply.error(503, "down", retry_after=5))
    with pytest.raises(ProviderUnavailable):
        await client.edit(edit_request())
    assert sleeps.delays == []


async def test_unknown_parameter_is_dropped_and_retried_once(client, fake_image_api, caplog):
    fake_image_api.queue(Reply.error(400, "Unknown parameter: 'quality'.", code="unknown_parameter",
                                     param="quality"))
    with caplog.at_level(logging.WARNING, logger="retouch.provider"):
        result = await client.edit(edit_request(quality="high", size="1024x1024"))
    first, second = fake_image_api.edits
    assert first.fields["quality"] == ["high"] and "quality" not in second.fields
    assert second.fields["size"] == ["1024x1024"]
    assert result.dropped_fields == ("quality",) and result.attempts == 2
    assert any("quality" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)


async def test_invalid_input_fidelity_model_drops_input_fidelity(client, fake_image_api):
    fake_image_api.queue(Reply.error(400, "input_fidelity is not supported",
                                     code="invalid_input_fidelity_model"))
    result = await client.edit(edit_request(model="gpt-image-1", input_fidelity="high"))
    assert "input_fidelity" not in fake_image_api.edits[1].fields
    assert result.dropped_fields == ("input_fidelity",)


async def test_unknown_parameter_drop_happens_only_once(client, fake_image_api):
    fake_image_api.queue(
        Reply.error(400, "unknown", code="unknown_parameter", param="quality"),
        Reply.error(400, "unknown", code="unknown_parameter", param="size"),
    )
    with pytest.raises(ProviderRejected) as info:
        await client.edit(edit_request(quality="high", size="1024x1024"))
    assert info.value.param == "size" and len(fake_image_api.edits) == 2


async def test_unknown_parameter_for_a_required_field_is_a_rejection(client, fake_image_api):
    fake_image_api.queue(Reply.error(400, "unknown", code="unknown_parameter", param="mask"))
    with pytest.raises(ProviderRejected):
        await client.edit(edit_request(mask=make_image(32, 32)))
    assert len(fake_image_api.edits) == 1


# --- timeouts, wrong URLs, broken bodies --------------------------------------------------------


async def test_hanging_provider_times_out_at_the_deadline(make_client, fake_image_api):
    client = make_client(timeout=0.4)
    fake_image_api.queue(Reply.hang())
    started = time.monotonic()
    with pytest.raises(ProviderTimeout) as info:
        await client.edit(edit_request())
    assert 0.35 <= time.monotonic() - started < 2
    assert len(fake_image_api.edits) == 1 and "0.4 s" in str(info.value)
    assert "took too long" in info.value.user_message


async def test_slow_answer_within_the_deadline_succeeds(make_client, fake_image_api):
    client = make_client(timeout=3)
    fake_image_api.queue(Reply.images(1, delay=0.2))
    assert len((await client.edit(edit_request())).images) == 1


@pytest.mark.parametrize("status", [301, 302, 307, 308])
async def test_redirect_means_wrong_base_url(client, fake_image_api, status):
    fake_image_api.queue(Reply.redirect("https://example.com/login", status=status))
    with pytest.raises(WrongBaseURL) as info:
        await client.edit(edit_request())
    assert "IMAGE_API_BASE_URL" in str(info.value) and info.value.status == status
    assert len(fake_image_api.edits) == 1  # not followed as a GET


@pytest.mark.parametrize("content_type", ["text/html", "application/json"])
async def test_html_page_means_wrong_base_url(client, fake_image_api, content_type):
    fake_image_api.queue(Reply.raw("<!DOCTYPE html><html><body>Welcome</body></html>",
                                   content_type=content_type))
    with pytest.raises(WrongBaseURL, match="HTML page"):
        await client.edit(edit_request())


@pytest.mark.parametrize(
    "body, fragment",
    [
        ("this is not json", "not valid JSON"),
        ('{"created": 1}', "without any image"),
        ('{"created": 1, "data": []}', "without any image"),
        ('{"created": 1, "data": [{"b64_json": "!!!!"}]}', "invalid base64"),
        ('{"created": 1, "data": [{"b64_json": "QUJDRA=="}]}', "not a PNG"),
        ('{"created": 1, "data": [{"revised_prompt": "x"}]}', "neither b64_json nor url"),
        ('[1, 2]', "not a JSON object"),
    ],
)
async def test_unusable_bodies_are_bad_responses(client, fake_image_api, body, fragment):
    fake_image_api.queue(Reply.raw(body))
    with pytest.raises(BadResponse, match=fragment) as info:
        await client.edit(edit_request())
    assert len(fake_image_api.edits) == 1 and info.value.request_id


async def test_error_object_in_a_200_body_is_an_error(client, fake_image_api):
    fake_image_api.queue(Reply.raw('{"error": {"message": "blocked", "code": "moderation_blocked"}}'))
    with pytest.raises(ProviderRejected) as info:
        await client.edit(edit_request())
    assert info.value.content_policy


# --- streaming -----------------------------------------------------------------------------------


async def test_stream_with_partials(client, fake_image_api):
    fake_image_api.queue(Reply.stream(3, usage="comet", chunk_size=500))
    partials = []

    async def on_partial(partial):
        partials.append(partial)

    result = await client.edit(edit_request(stream=True, partial_images=3), on_partial=on_partial)
    assert [p.index for p in partials] == [0, 1, 2] and all(p.format == "png" for p in partials)
    assert len(result.images) == 1 and result.images[0].data == make_image(64, 64)
    assert result.usage == Usage(785, 768, 17, 196, 981)
    assert fake_image_api.edits[0].headers["Accept"].startswith("text/event-stream")


async def test_failing_partial_callback_does_not_fail_the_edit(client, fake_image_api):
    fake_image_api.queue(Reply.stream(1))

    async def on_partial(partial):
        raise RuntimeError("discord edit failed")

    result = await client.edit(edit_request(stream=True, partial_images=1), on_partial=on_partial)
    assert len(result.images) == 1


@pytest.mark.parametrize(
    "event, error_class",
    [
        ({"type": "error", "error": {"message": "blocked", "code": "moderation_blocked"}},
         ProviderRejected),
        ({"type": "error", "error": {"message": "boom", "type": "server_error"}}, ProviderUnavailable),
        ({"error": {"message": "quota", "code": "insufficient_quota"}}, BillingError),
    ],
)
async def test_stream_error_event_fails_the_edit(client, fake_image_api, event, error_class):
    fake_image_api.queue(Reply.stream(1, error_event=event))
    with pytest.raises(error_class):
        await client.edit(edit_request(stream=True, partial_images=1))
    assert len(fake_image_api.edits) == 1


async def test_truncated_stream_fails(client, fake_image_api):
    fake_image_api.queue(Reply.stream(2, complete=False))
    with pytest.raises(BadResponse, match="completed"):
        await client.edit(edit_request(stream=True, partial_images=2))


async def test_provider_ignoring_stream_still_works(client, fake_image_api):
    fake_image_api.queue(Reply.images(1))
    calls = []

    async def on_partial(partial):
        calls.append(partial)

    result = await client.edit(edit_request(stream=True), on_partial=on_partial)
    assert len(result.images) == 1 and calls == []


# --- the API key never leaks ------------------------------------------------------------------------


# A key with no recognisable shape: only registering it hides it (the `sk-…`/`Bearer`
# patterns would hide a fake-looking key even if registration were broken).
PLAIN_KEY = "retouch-plain-test-key-7Qx2vN"


async def test_api_key_never_appears_in_errors_or_logs(session, sleeps, caplog):
    async with FakeImageAPI(api_key=PLAIN_KEY) as fake_image_api:

        def make_client(**overrides):
            options = {"base_url": fake_image_api.base_url, "api_key": PLAIN_KEY, "models": load_model_table(), "timeout": 10, "sleep": sleeps}
            return ImageEditClient(session, **{**options, **overrides})

        key = fake_image_api.api_key
        assert not key.startswith("sk-")
        client = make_client(max_attempts=2, timeout=3)
        scenarios = [
            Reply.error(400, f"Incorrect API key provided: {key}", code="invalid_api_key"),
            Reply.error(401, f"Bearer {key} is not valid"),
            Reply.error(403, "forbidden"),
            Reply.error(404, f"no model for {key}", code="model_not_found"),
            Reply.error(413, "big"),
            Reply.error(429, "slow", code="rate_limit_exceeded", retry_after=500),
            Reply.error(429, f"quota for {key}", code="insufficient_quota"),
            Reply.error(500, f"internal {key}"),
            Reply.error(503, "down", should_retry=False),
            Reply.raw(f"not json {key}"),
            Reply.raw(f"<html>{key}</html>", content_type="text/html"),
            Reply.raw('{"data": []}'),
            Reply.redirect(),
            Reply.stream(1, error_event={"error": {"message": f"key {key}"}}),
            Reply.stream(1, complete=False),
        ]
        errors: list[ProviderError] = []
        with caplog.at_level(logging.DEBUG):
            for reply in scenarios:
                fake_image_api.queue(reply)
                with pytest.raises(ProviderError) as info:
                    await client.edit(edit_request(stream=reply.kind == "stream"))
                errors.append(info.value)
            fake_image_api.queue(Reply.drop(), Reply.drop())
            with pytest.raises(ProviderUnavailable) as info:
                await client.edit(edit_request())
            errors.append(info.value)
            bad_client = make_client(api_key=key + "-wrong")
            with pytest.raises(ProviderAuthError) as info:
                await bad_client.edit(edit_request())
            errors.append(info.value)
            fake_image_api.queue(Reply.hang())
            with pytest.raises(ProviderTimeout) as info:
                await make_client(timeout=0.2).edit(edit_request())
            errors.append(info.value)

        assert fake_image_api.pending == 0
        assert any(e.provider_message and "[redacted]" in e.provider_message for e in errors)
        for err in errors:
            for text in (str(err), repr(err), err.user_message, err.provider_message or "",
                         repr(err.__dict__)):
                assert key not in text
        assert caplog.records
        for record in caplog.records:
            assert key not in record.getMessage()
            assert key not in (record.exc_text or "")
        assert key not in repr(client)
