"""The chart attached to /quota report, from a real edit through the fakes."""

from __future__ import annotations

import asyncio
import io
import os
import signal
from datetime import date, timedelta

from PIL import Image

from bot.reports import chart
from bot.reports.chart import BACKGROUND, FILENAME, PALETTE, ChartData, ChartRenderer, MemberBar
from bot.store.report_series import DayUsage
from tests.conftest import running_bot
from tests.fakes.discord_server import FakeAttachment
from tests.fakes.image_api import make_image
from tests.support.ledger import edits_settled


def rgb(hex_colour: str) -> tuple[int, int, int]:
    return tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


def colour_share(png: bytes, colour: str) -> float:
    with Image.open(io.BytesIO(png)) as im:
        pixels = im.convert("RGB")
        histogram = pixels.getcolors(maxcolors=1 << 20) or []
        total = pixels.width * pixels.height
    return sum(count for count, c in histogram if c == rgb(colour)) / total


async def test_report_attaches_a_chart_of_the_period(fake_discord, settings_for):
    async with running_bot(settings_for(), fake_discord) as bot:
        mod, alice = fake_discord.moderator(), fake_discord.member("alice")
        nothing = await (await fake_discord.invoke("quota report", by=mod)).wait_reply()
        assert nothing.files == [] and "Nobody has made an edit" in nothing.text

        for model, n in (("gpt-image-2", 2), ("gpt-image-1-mini", 1)):
            rec = await fake_discord.invoke("edit", by=alice, image=FakeAttachment.image(make_image(32, 32)), prompt="x", n=n, model=model)
            assert (await rec.wait_result()).files
        await edits_settled(bot)  # each commits once Discord has its post

        reply = await (await fake_discord.invoke("quota report", by=mod)).wait_reply(timeout=60)
        worker = bot.charts.last_worker_pid
    assert reply.ephemeral and f"<@{alice.id}>" in reply.text and "3 images" in reply.text
    [attached] = reply.files
    assert attached.filename == FILENAME
    assert reply.embeds[0]["image"]["url"].endswith(FILENAME)
    assert worker is not None and worker != os.getpid(), "drawn in a worker process, off the event loop"
    with Image.open(io.BytesIO(attached.data)) as im:
        assert (im.format, im.size) == ("PNG", (1100, 620))
        assert im.convert("RGB").getpixel((2, 2)) == rgb(BACKGROUND), "an opaque background: the same in dark and light themes"
    # Two models, stacked: both colours are drawn (the member's bar in the first one too).
    assert colour_share(attached.data, PALETTE[0]) > 0.002 and colour_share(attached.data, PALETTE[1]) > 0.0005


def test_a_month_with_many_models_and_members_stays_readable():
    days = [date(2026, 12, 1) + timedelta(days=i) for i in range(31)]
    models = [f"model-{i}" for i in range(11)]  # more than the palette: the rest share a colour
    usage = [DayUsage(d, m, 1 + i % 3, 0.01 * (i + 1)) for d in days for i, m in enumerate(models)]
    members = [MemberBar(f"{r}. a very long display name indeed {r}", 100 - r, 1.0) for r in range(1, 16)]
    png = chart.render_png(ChartData("Usage this month", days, usage, members))
    assert png.startswith(b"\x89PNG") and len(png) < 200_000
    assert colour_share(png, PALETTE[-1]) > 0.001, "the models beyond the palette are drawn as 'other models'"


async def test_a_dead_chart_worker_costs_one_chart_not_the_report(fake_discord, settings_for):
    async with running_bot(settings_for(), fake_discord) as bot:
        mod, bob = fake_discord.moderator(), fake_discord.member("bob")
        rec = await fake_discord.invoke("edit", by=bob, image=FakeAttachment.image(make_image(32, 32)), prompt="x")
        assert (await rec.wait_result()).files
        pending = await fake_discord.invoke("quota report", by=mod)
        deadline = asyncio.get_running_loop().time() + 20
        while bot.charts.last_worker_pid is None:  # the worker has started drawing
            assert asyncio.get_running_loop().time() < deadline, "no chart worker started"
            await asyncio.sleep(0.01)
        os.kill(bot.charts.last_worker_pid, signal.SIGKILL)  # it dies (out of memory, a crash)
        report = await pending.wait_reply(timeout=60)
        assert report.files == [] and f"<@{bob.id}>" in report.text, "the report itself still arrives"
        again = await (await fake_discord.invoke("quota report", by=mod)).wait_reply(timeout=60)
        assert [f.filename for f in again.files] == [FILENAME], "the next report has its chart"


async def test_the_worker_draws_what_it_is_sent():
    data = ChartData("Usage this week", [], [DayUsage(date(2026, 3, 2), "m", 2, 0.5)],
                     [MemberBar("1. a", 2, 0.5)])
    assert chart.decode(chart.encode(data)) == data
    png = await ChartRenderer().render(data)
    assert png == chart.render_png(data), "the worker's PNG is the one drawn here from the same data"


async def test_top_members_are_named_by_one_gateway_request(fake_discord, settings_for):
    from bot.discord_app.moderation.report_chart import member_label, member_names

    async with running_bot(settings_for(), fake_discord) as bot:
        alice, gone = fake_discord.member("alice"), fake_discord.member("gone")
        gone.left_server = True
        guild = bot.get_guild(fake_discord.guild.id)
        names = await member_names(guild, [alice.id, gone.id])
    assert names == {alice.id: "Alice"}
    [request] = fake_discord.member_requests
    assert request["user_ids"] == [alice.id, gone.id] or request["user_ids"] == [str(alice.id), str(gone.id)]
    assert not request.get("presences")
    assert member_label(names, 1, alice.id) == "1. Alice"
    assert member_label(names, 2, gone.id) == f"2. member …{str(gone.id)[-4:]}"


def test_the_title_names_the_period():
    from datetime import UTC, datetime

    from bot.discord_app.moderation.report_chart import title_for
    from bot.store.models import ServerReport

    def report(period: str, start: datetime, end: datetime) -> ServerReport:
        return ServerReport(1, period, start, end, (), 0, 0, 0, 0, 0, 0.0, 0)  # type: ignore[arg-type]

    assert title_for(report("day", datetime(2026, 12, 5, tzinfo=UTC), datetime(2026, 12, 6, tzinfo=UTC))) == "Usage today: Dec 05, 2026 (UTC)"
    assert title_for(report("week", datetime(2026, 11, 30, tzinfo=UTC), datetime(2026, 12, 7, tzinfo=UTC))) == "Usage this week: Nov 30 – Dec 06, 2026 (UTC)"
    assert title_for(report("month", datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))) == "Usage this month: Dec 01 – Dec 31, 2026 (UTC)"
