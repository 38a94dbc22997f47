"""The edit service's surface for an application-command interaction.

The placeholder is the interaction's deferred public response; the result replaces it
(more messages go out as follow-ups); private messages are ephemeral follow-ups (the
public placeholder is removed first, or Discord would make them public). An interaction
token lives 15 minutes: a result that finishes later is posted in the channel, mentioning
the member, when the bot may post there.

Discord takes a first answer only within 3 s of the interaction's creation; the surface
tells the edit service how much of that is left (`seconds_to_answer`), keeping a margin
for the request itself and for a clock that is off.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timedelta, timezone
from typing import Callable

import discord

from bot.discord_app.editing.buttons import cancel_view, result_view
from bot.discord_app.editing.result_messages import ImageUpload, files_for
from bot.discord_app.replies import defer_public, mark_answered, send_private
from bot.edits.surface import Confirmation, DeliveryReport, ResultPost, Status
from bot.images.formats import extension_for
from bot.text import editing, mentions

log = logging.getLogger("retouch.edit")

# Interaction tokens live 15 minutes; past this we post to the channel instead.
TOKEN_SAFE_AGE = timedelta(minutes=14, seconds=30)
# Discord's answers when the interaction token is gone (expired or unknown).
EXPIRED_TOKEN_CODES = frozenset({50027, 10015, 10062})
EMBED_COLOUR = discord.Colour.from_rgb(88, 101, 242)
UNKNOWN_MESSAGE = 10008
# Editing one message more often than this runs into Discord's per-webhook rate limit.
STATUS_INTERVAL_SECONDS = 2.0
# Discord refuses a first answer later than 3 s after the interaction was created: answer
# by this age, leaving time for the request (an upload, a slow network) to get there.
DISCORD_ANSWER_SECONDS = 3.0
FIRST_ANSWER_SECONDS = 2.0


class InteractionSurface:
    def __init__(self, interaction: discord.Interaction, *, now: Callable[[], datetime] | None = None) -> None:
        self.interaction = interaction
        self._now = now or (lambda: datetime.now(timezone.utc))
        self._pending: Status | None = None
        self._flusher: asyncio.Task[None] | None = None
        self._last_update = -STATUS_INTERVAL_SECONDS
        self._placeholder_gone = False  # deleted (10008) or replaced: no more status updates
        # Counted from the interaction's creation (its id's timestamp): the time it took to
        # reach us is gone too.
        self._answer_by = time.monotonic() + FIRST_ANSWER_SECONDS - min(self._age(), FIRST_ANSWER_SECONDS)

    def _age(self) -> float:
        """How old the interaction already is. An age below 0 or past Discord's own limit
        says our clock is off from Discord's (an interaction that old could not be answered
        anyway): then it counts from now, when we received it."""
        age = (self._now() - self.interaction.created_at).total_seconds()
        return age if 0.0 <= age <= DISCORD_ANSWER_SECONDS else 0.0

    @property
    def upload_limit(self) -> int:
        return self.interaction.filesize_limit

    def seconds_to_answer(self) -> float | None:
        if self.interaction.response.is_done():
            return None  # answered already (a button's click, a confirmed question)
        return self._answer_by - time.monotonic()

    async def acknowledge(self) -> None:
        if not self.interaction.response.is_done():
            await defer_public(self.interaction)

    async def acknowledge_privately(self) -> None:
        """A private "thinking…": the first follow-up (the question, a refusal) replaces it."""
        if not self.interaction.response.is_done():
            await self.interaction.response.defer(ephemeral=True, thinking=True)

    # -- progress ----------------------------------------------------------------------

    async def show_status(self, status: Status) -> None:
        """Never waits for Discord: the latest status is sent at most every 2 s."""
        if self._placeholder_gone:
            return
        self._pending = status
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending is not None and not self._placeholder_gone:
            wait = self._last_update + STATUS_INTERVAL_SECONDS - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
                continue  # a newer status may have arrived meanwhile
            status, self._pending = self._pending, None
            self._last_update = loop.time()
            await self._apply(status)

    async def _apply(self, status: Status) -> None:
        kwargs: dict = {"content": status.text, "view": cancel_view(status.cancel_id) if status.cancel_id else None}
        if status.preview is not None:
            preview = status.preview
            kwargs["attachments"] = [discord.File(ImageUpload(preview.data), filename=f"preview.{extension_for(preview.format)}")]
        try:
            await self.interaction.edit_original_response(**kwargs)
        except discord.NotFound:
            # The placeholder was deleted: the edit goes on, its result becomes a new message.
            self._placeholder_gone = True
            log.info("the placeholder of interaction %s is gone; progress updates stop", self.interaction.id)
        except discord.HTTPException:
            log.debug("could not update the progress message", exc_info=True)

    async def _stop_updates(self) -> None:
        """Before the placeholder is replaced: no status may land after the result."""
        self._pending = None
        flusher, self._flusher = self._flusher, None
        if flusher is not None and not flusher.done():
            flusher.cancel()
            await asyncio.gather(flusher, return_exceptions=True)

    # -- answers -----------------------------------------------------------------------

    async def tell(self, text: str) -> bool:
        await self._stop_updates()
        self._placeholder_gone = True
        return await send_private(self.interaction, text)

    def _embed(self, post: ResultPost) -> discord.Embed:
        embed = discord.Embed(description=f"> {post.prompt}\n" + "\n".join(post.summary_lines), colour=EMBED_COLOUR)
        embed.set_footer(text=editing.requested_by(post.requester_name))
        return embed

    async def deliver(self, post: ResultPost) -> DeliveryReport:
        await self._stop_updates()
        interaction = self.interaction
        embed = self._embed(post)
        view = result_view(post.edit_id) if post.buttons else None
        if self._now() - interaction.created_at > TOKEN_SAFE_AGE:
            return await self._deliver_to_channel(post, embed, view)
        delivered = 0
        link: str | None = None
        ids: list[int] = []
        for index, message in enumerate(post.messages):
            files = files_for(message)
            try:
                if index == 0 and not self._placeholder_gone:
                    posted = await interaction.edit_original_response(
                        content=None, embed=embed, attachments=files, view=view or discord.utils.MISSING
                    )
                    mark_answered(interaction)
                elif index == 0:
                    posted = await interaction.followup.send(embed=embed, files=files, view=view or discord.utils.MISSING, wait=True)
                else:
                    posted = await interaction.followup.send(files=files, wait=True)
            except discord.HTTPException as exc:
                if index == 0 and exc.code in EXPIRED_TOKEN_CODES:
                    return await self._deliver_to_channel(post, embed, view)
                if index == 0 and exc.code == UNKNOWN_MESSAGE and not self._placeholder_gone:
                    self._placeholder_gone = True  # deleted while we worked: post it as a new message
                    return await self.deliver(post)
                # What was already posted stays delivered and counted; the rest is refunded.
                problem = f"Discord answered {exc.status} {exc.code}: {exc.text[:200]}"
                return DeliveryReport(delivered, problem=problem, link=link, message_ids=tuple(ids))
            link = link or posted.jump_url
            ids.append(posted.id)
            delivered += len(message.files)
        return DeliveryReport(delivered, link=link, message_ids=tuple(ids))

    async def _deliver_to_channel(
        self, post: ResultPost, embed: discord.Embed, view: discord.ui.View | None
    ) -> DeliveryReport:
        interaction = self.interaction
        channel = interaction.channel
        perms = interaction.app_permissions
        if not isinstance(channel, discord.abc.Messageable) or not (perms.send_messages and perms.attach_files):
            return DeliveryReport(0, problem="the interaction expired and the bot may not post in the channel")
        delivered = 0
        link: str | None = None
        ids: list[int] = []
        for index, message in enumerate(post.messages):
            try:
                sent = await channel.send(
                    content=editing.late_result(mentions.user(interaction.user.id)) if index == 0 else None,
                    embed=embed if index == 0 else None,
                    files=files_for(message),
                    view=view if index == 0 and view is not None else discord.utils.MISSING,
                    allowed_mentions=discord.AllowedMentions(users=[interaction.user]),
                )
            except discord.HTTPException as exc:
                problem = f"could not post a late result in channel {channel.id} ({exc.status} {exc.code})"
                return DeliveryReport(delivered, problem=problem, link=link, message_ids=tuple(ids))
            link = link or sent.jump_url
            ids.append(sent.id)
            delivered += len(message.files)
        return DeliveryReport(delivered, link=link, message_ids=tuple(ids))

    async def confirm(self, request: Confirmation) -> "InteractionSurface | None":
        """Ask privately, as the interaction's first answer, before anything is reserved;
        after Confirm the edit goes on (and its result is posted publicly) on the click."""
        # Imported on use: only edits that ask first need the view.
        from bot.discord_app.editing.confirm_view import ask_to_confirm

        click = await ask_to_confirm(self.interaction, request)
        return InteractionSurface(click, now=self._now) if click is not None else None
