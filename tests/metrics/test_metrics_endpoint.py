"""`/metrics` of a real bot driven through the fake Discord and the fake image API."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.config import ConfigError, load_settings
from tests.conftest import TEST_KEY, TEST_TOKEN, running_bot
from tests.fakes.discord_server import FakeAttachment
from tests.fakes.image_api import Reply, make_image

CONTRACT = {
    "retouch_edits_total": {"entry", "outcome"},
    "retouch_images_total": {"model"},
    "retouch_edit_duration_seconds": set(),
    "retouch_queue_waiting": set(),
    "retouch_edits_running": set(),
    "retouch_provider_requests_total": {"status"},
    "retouch_spend_usd_total": {"model"},
    "retouch_quota_refusals_total": {"reason"},
    "retouch_discord_latency_seconds": {"shard"},
}


async def scrape(bot) -> dict[str, list]:
    """Every sample by name, read over HTTP as Prometheus would."""
    port = bot.metrics_server.bound_port
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{port}/metrics") as resp:
            assert resp.status == 200 and resp.content_type == "text/plain"
            text = await resp.text()
    samples: dict[str, list] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append(sample)
    return samples


def value(samples, name: str, **labels: str) -> float:
    return sum(s.value for s in samples.get(name, []) if all(s.labels.get(k) == v for k, v in labels.items()))


async def eventually(predicate, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


@pytest.fixture
async def bot(fake_discord, settings_for):
    # Port 0: a free port, so parallel test runs never collide.
    async with running_bot(settings_for(metrics_port=0, quota_default_limit=3, image_prices_json=None), fake_discord) as bot:
        yield bot


async def test_an_edit_shows_in_every_contract_metric_without_member_data(bot, fake_discord, image_api):
    member = fake_discord.member("alice")
    image_api.queue(Reply.images(2, delay=0.3))
    rec = await fake_discord.invoke("edit", by=member, image=FakeAttachment.image(make_image(32, 32), "cat.png"), prompt="secret plan", n=2)
    reply = await rec.wait_result()
    assert reply.files
    # The listener hears the edit once it is posted: wait for the counter, not for time.
    async def counted() -> bool:
        return value(await scrape(bot), "retouch_edits_total", outcome="delivered") == 1

    await eventually(counted)
    samples = await scrape(bot)
    for name, labels in CONTRACT.items():
        if name == "retouch_quota_refusals_total":
            continue  # no refusal yet: checked below
        assert name in samples or f"{name.removesuffix('_seconds')}_seconds_count" in samples or name + "_count" in samples, name
    assert value(samples, "retouch_edits_total", entry="/edit", outcome="delivered") == 1
    assert value(samples, "retouch_images_total", model="gpt-image-2") == 2
    assert value(samples, "retouch_provider_requests_total", status="200") == 1
    assert value(samples, "retouch_edit_duration_seconds_count") == 1
    assert value(samples, "retouch_edit_duration_seconds_sum") >= 0.3, "the provider took 0.3 s"
    # 0.3 s of provider time plus the post: in the first bucket (1 s), not before 0.3 s
    assert value(samples, "retouch_edit_duration_seconds_bucket", le="1.0") == 1
    assert value(samples, "retouch_queue_waiting") == 0 and value(samples, "retouch_edits_running") == 0
    assert samples["retouch_discord_latency_seconds"][0].labels == {"shard": "0"}
    assert 0 <= samples["retouch_discord_latency_seconds"][0].value < 5
    assert "process_cpu_seconds_total" in samples
    # The spend follows the ledger's estimate.
    [row] = await bot.db.execute_fetchall("SELECT cost_usd FROM ledger")
    assert value(samples, "retouch_spend_usd_total", model="gpt-image-2") == pytest.approx(row[0])
    # No label anywhere names the member, the server or the prompt.
    everything = " ".join(f"{s.name}{s.labels}" for group in samples.values() for s in group)
    for private in (str(member.id), member.name, str(fake_discord.guild.id), "secret plan", "cat.png"):
        assert private not in everything


async def test_refusals_failures_and_provider_statuses_are_counted(bot, fake_discord, image_api):
    member = fake_discord.member("bob")
    image_api.queue(Reply.error(503, "overloaded", retry_after=0), Reply.error(400, "no", code="moderation_blocked"))
    rec = await fake_discord.invoke("edit", by=member, image=FakeAttachment.image(make_image(32, 32)), prompt="x")
    await rec.wait_result()
    rec = await fake_discord.invoke("edit", by=member, image=FakeAttachment.image(make_image(32, 32)), prompt="x", n=4)
    refusal = await rec.wait_result()
    assert refusal.ephemeral and "your limit is 3 per day" in refusal.text

    async def both() -> bool:
        s = await scrape(bot)
        return value(s, "retouch_edits_total") == 2

    await eventually(both)
    samples = await scrape(bot)
    assert value(samples, "retouch_provider_requests_total", status="503") == 1
    assert value(samples, "retouch_provider_requests_total", status="400") == 1
    assert value(samples, "retouch_edits_total", outcome="rejected") == 1
    assert value(samples, "retouch_edits_total", outcome="refused") == 1
    assert value(samples, "retouch_quota_refusals_total", reason="quota") == 1
    assert value(samples, "retouch_images_total") == 0
    assert value(samples, "retouch_edit_duration_seconds_count") == 1, "the rejected edit ran; the refused one never did"


async def test_metrics_are_off_without_a_port(fake_discord, settings_for):
    async with running_bot(settings_for(), fake_discord) as bot:
        assert bot.metrics is None and bot.metrics_server is None
        assert bot.edits.listeners == [bot.audit_log]


async def test_two_bots_in_one_process_keep_their_own_counters(fake_discord, settings_for, tmp_path):
    async with running_bot(settings_for(metrics_port=0), fake_discord) as first:
        first.metrics.edits.labels(entry="/edit", outcome="failed").inc()
        second_settings = settings_for(metrics_port=0, database_path=tmp_path / "second.db")
    async with running_bot(second_settings, fake_discord) as second:
        assert value(await scrape(second), "retouch_edits_total", outcome="failed") == 0


def test_metrics_settings_are_checked():
    base = {"DISCORD_TOKEN": TEST_TOKEN, "IMAGE_API_KEY": TEST_KEY}
    settings = load_settings({**base, "METRICS_PORT": "9464"}, env_file=None)
    assert (settings.metrics_host, settings.metrics_port, settings.log_format) == ("127.0.0.1", 9464, "text")
    assert load_settings(base, env_file=None).metrics_port is None
    with pytest.raises(ConfigError, match="METRICS_PORT must be"):
        load_settings({**base, "METRICS_PORT": "70000"}, env_file=None)
    with pytest.raises(ConfigError, match="METRICS_HOST must be"):
        load_settings({**base, "METRICS_HOST": "http://0.0.0.0/"}, env_file=None)
    with pytest.raises(ConfigError, match="LOG_FORMAT must be one of text, json"):
        load_settings({**base, "LOG_FORMAT": "xml"}, env_file=None)


async def test_a_taken_metrics_port_stops_the_start_with_one_clear_line(fake_discord, settings_for):
    import socket

    from bot.ops.runner import StartupError, run_bot

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(StartupError) as raised:
            await asyncio.wait_for(run_bot(settings_for(metrics_port=port)), 60)
    message = str(raised.value)
    assert message.startswith(f"cannot serve metrics on 127.0.0.1:{port} (") and "METRICS_PORT" in message
    assert "Discord" not in message
