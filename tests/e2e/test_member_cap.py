"""MAX_EDITS_PER_MEMBER: a member's edits in progress (waiting for quota, queued, running,
being delivered) are bounded; one more is refused privately at once, before anything is
downloaded or reserved. Through the real EditService of a running bot, and through the
fake Discord."""

from __future__ import annotations

import asyncio

from bot.edits.order import EditOrder, Requester
from bot.edits.service import Phase
from bot.edits.surface import Confirmation, DeliveryReport, EditSurface, ResultPost, Status
from tests.conftest import running_bot
from tests.support.images import png
from tests.support.ledger import ledger
from tests.support.polling import eventually
from tests.fakes.discord_server import FakeAttachment
from tests.fakes.image_api import Reply


class CountingInput:
    """An uploaded image that counts its downloads."""

    label = "image"

    def __init__(self) -> None:
        self.reads = 0
        self.data = png()

    @property
    def declared_size(self) -> int:
        return len(self.data)

    async def read(self) -> bytes:
        self.reads += 1
        return self.data


class RecordingSurface:
    """What the member would see, kept in lists."""

    upload_limit = 8 * 1024 * 1024

    def __init__(self) -> None:
        self.told: list[str] = []
        self.statuses: list[str] = []
        self.acknowledged = False
        self.posts: list[ResultPost] = []

    async def acknowledge(self) -> None:
        self.acknowledged = True

    async def show_status(self, status: Status) -> None:
        self.statuses.append(status.text)

    async def deliver(self, post: ResultPost) -> DeliveryReport:
        self.posts.append(post)
        return DeliveryReport(delivered=post.images)

    async def tell(self, text: str) -> bool:
        self.told.append(text)
        return True

    async def confirm(self, request: Confirmation) -> EditSurface | None:
        return self


async def test_the_service_refuses_one_edit_more_than_the_cap_before_reading_or_reserving(fake_discord, settings_for, image_api):
    image_api.set_default(Reply.hang())
    # One image of quota: the member's first edit runs (and hangs), the second and third
    # wait for quota (for the first to settle): three in progress, one reservation.
    settings = settings_for(max_edits_per_member=3, quota_default_limit=1, max_concurrent_edits=1, shutdown_grace_seconds=0.5)
    async with running_bot(settings, fake_discord) as bot:
        guild = fake_discord.guild.id
        member = Requester(user_id=4242, guild_id=guild, display_name="eager")
        other = Requester(user_id=4343, guild_id=guild, display_name="other")

        def order(who: Requester) -> tuple[EditOrder, CountingInput]:
            image = CountingInput()
            return EditOrder(requester=who, prompt="x", image=image), image

        surfaces = [RecordingSurface() for _ in range(3)]
        tasks = [asyncio.create_task(bot.edits.submit(order(member)[0], s)) for s in surfaces]
        await eventually(lambda: len(image_api.edits) == 1)
        # Whichever reserved first runs; the other two wait for it.
        await eventually(lambda: sum(any("other edit" in t for t in s.statuses) for s in surfaces) == 2)

        extra, extra_image = order(member)
        refused = RecordingSurface()
        phase = await asyncio.wait_for(bot.edits.submit(extra, refused), 1.0)
        assert phase is Phase.FAILED
        assert refused.told == [
            "You already have 3 edits in progress. Wait for one to finish (or cancel one), then try again. Nothing was charged."
        ]
        assert extra_image.reads == 0 and not refused.acknowledged, "refused before any download, as the first reply"
        assert len(await ledger(bot)) == 1, "nothing more reserved (the waiting ones hold no reservation yet)"

        # Another member is not affected by this member's cap.
        others = RecordingSurface()
        other_task = asyncio.create_task(bot.edits.submit(order(other)[0], others))
        await eventually(lambda: others.acknowledged)
        assert not others.told

        # One of the member's edits ends (cancelled): there is room for one more again.
        first_id = (await ledger_ids(bot))[0]
        assert bot.edits.cancel(first_id, user_id=member.user_id, is_moderator=False).value == "cancelled"
        running = next(t for t, s in zip(tasks, surfaces) if not any("other edit" in x for x in s.statuses))
        await asyncio.wait_for(running, 5)
        again = RecordingSurface()
        again_task = asyncio.create_task(bot.edits.submit(order(member)[0], again))
        await eventually(lambda: again.statuses or again.acknowledged)
        assert not any("in progress" in t for t in again.told)
        for task in (*tasks, other_task, again_task):
            task.cancel()
        await asyncio.gather(*tasks, other_task, again_task, return_exceptions=True)


async def ledger_ids(bot) -> list[int]:
    return [r[0] for r in await bot.db.execute_fetchall("SELECT id FROM ledger ORDER BY id")]


async def test_the_fourth_edit_is_refused_privately_through_discord(fake_discord, settings_for, image_api):
    image_api.set_default(Reply.hang())
    async with running_bot(settings_for(shutdown_grace_seconds=0.5), fake_discord) as bot:  # MAX_EDITS_PER_MEMBER: 3 by default
        member = fake_discord.member("eager")
        for prompt in ("one", "two", "three"):
            await fake_discord.invoke("edit", by=member, image=FakeAttachment.image(png()), prompt=prompt)
        await eventually(lambda: len(image_api.edits) == 3)
        rec = await fake_discord.invoke("edit", by=member, image=FakeAttachment.image(png()), prompt="four")
        reply = await rec.wait_result(timeout=1.0)
        assert reply.ephemeral and rec.ack_type == 4, "a private first reply, at once"
        assert "You already have 3 edits in progress" in reply.text
        assert rec.violations == []
        assert len(image_api.edits) == 3 and len(await ledger(bot)) == 3
        # another member still gets through
        other = await fake_discord.invoke("edit", by=fake_discord.member("patient"), image=FakeAttachment.image(png()), prompt="x")
        await eventually(lambda: len(image_api.edits) == 4)
        assert other.ack_type != 4
