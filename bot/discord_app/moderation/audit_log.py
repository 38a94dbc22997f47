"""The audit log channel: every edit, refusal and provider rejection, posted where a
server's moderators chose (/settings log-channel).

The log never blocks or fails an edit. The edit service hands over an event and goes
on; events wait in a bounded queue (the oldest is dropped, and counted, when it
overflows) and one poster task sends them, several embeds per message when edits come
in bursts. discord.py waits out 429s on that task alone. A channel the bot cannot post
in (403 Missing Permissions / Missing Access, 404 Unknown Channel) is reported once in
the bot log and shown in /settings show, not once per edit; while it stands, posting is
retried now and then rather than for every edit (Discord bans bots that keep making
requests it refuses), and it is cleared when the setting changes or a post succeeds.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from dataclasses import dataclass

import discord

from bot.discord_app.moderation.embeds import COLOUR, embed_of
from bot.edits.events import EditEvent, Outcome
from bot.store.server_settings import ServerSettingsStore
from bot.text import audit_lines
from bot.text.i18n import language
from bot.text.panel import Panel

log = logging.getLogger("retouch.audit")

QUEUE_LIMIT = 1000
EMBEDS_PER_MESSAGE = 10  # Discord's limit per message
# How long close() may take to post what is still queued.
FLUSH_SECONDS = 3.0
# While a channel is known to refuse the bot, try it again at most this often.
PROBLEM_RETRY_SECONDS = 300.0
COLOURS = {
    Outcome.DELIVERED: discord.Colour.green(),
    Outcome.REFUSED: discord.Colour.orange(),
    Outcome.REJECTED: discord.Colour.red(),
    Outcome.FAILED: discord.Colour.dark_grey(),
    Outcome.CANCELLED: discord.Colour.light_grey(),
}


@dataclass(frozen=True)
class ChannelProblem:
    channel_id: int
    code: int
    status: int
    detail: str
    retry_at: float

    def text(self) -> str:
        """In the language of the reply being written (the moderator's)."""
        return audit_lines.channel_problem(self.channel_id, audit_lines.channel_problem_reason(self.code, self.status, self.detail))


class AuditLog:
    """An EditListener (registered with the edit service) that owns the poster task."""

    def __init__(self, client: discord.Client, settings: ServerSettingsStore, *, limit: int = QUEUE_LIMIT) -> None:
        self.client = client
        self.settings = settings
        self.limit = limit
        self.dropped = 0  # events lost to a full queue
        self.unposted = 0  # events not posted because the channel refuses the bot
        self._queue: collections.deque[EditEvent] = collections.deque()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._problems: dict[int, ChannelProblem] = {}
        self._task: asyncio.Task[None] | None = None

    # -- the listener ---------------------------------------------------------------

    def edit_ended(self, event: EditEvent) -> None:
        if event.requester.guild_id is None or self._task is None:
            return
        if len(self._queue) >= self.limit:
            self._queue.popleft()
            if self.dropped == 0:
                log.warning("the audit log queue is full (%d events): dropping the oldest ones", self.limit)
            self.dropped += 1
        self._queue.append(event)
        self._idle.clear()
        self._wake.set()

    # -- start and stop -------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="audit-log")

    async def close(self, timeout: float = FLUSH_SECONDS) -> None:
        """Post what is queued, for at most `timeout` seconds, then stop."""
        if self._task is None:
            return
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except asyncio.TimeoutError:
            log.warning("stopping with %d audit log event(s) not posted", len(self._queue))
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        self._task = None

    # -- problems -------------------------------------------------------------------

    def problem_for(self, guild_id: int) -> str | None:
        problem = self._problems.get(guild_id)
        return problem.text() if problem is not None else None

    def setting_changed(self, guild_id: int) -> None:
        """A moderator chose a channel (or none): whatever was wrong is worth trying again."""
        self._problems.pop(guild_id, None)

    def _record_problem(self, guild_id: int, channel_id: int, exc: discord.HTTPException) -> None:
        with language(None):  # logs stay English
            reason = audit_lines.channel_problem_reason(exc.code, exc.status, exc.text)
        known = self._problems.get(guild_id)
        if known is None or known.channel_id != channel_id:
            log.warning(
                "audit log for server %s: cannot post in channel %s (%s %s, %s); not reported again until it works or the setting changes",
                guild_id, channel_id, exc.status, exc.code, reason,
            )
        self._problems[guild_id] = ChannelProblem(channel_id, exc.code, exc.status, exc.text, time.monotonic() + PROBLEM_RETRY_SECONDS)

    def _clear_problem(self, guild_id: int, channel_id: int) -> None:
        known = self._problems.pop(guild_id, None)
        if known is not None:
            log.info("audit log for server %s: posting in channel %s works again", guild_id, channel_id)

    # -- posting ----------------------------------------------------------------------

    async def announce(self, guild_id: int, channel_id: int, text: str) -> str | None:
        """Post `text` in a newly chosen channel now; the problem text when that fails."""
        self._problems.pop(guild_id, None)
        if await self._send(guild_id, channel_id, [embed_of(Panel(None, [text]))]):
            return None
        return self.problem_for(guild_id) or audit_lines.COULD_NOT_POST

    async def alert(self, guild_id: int, text: str) -> None:
        """Post an alert for the moderators (a safety pause) now; never raises."""
        try:
            channel_id = (await self.settings.get(guild_id)).log_channel_id
            if channel_id is not None:
                await self._send(guild_id, channel_id, [discord.Embed(description=text[:4096], colour=discord.Colour.gold())])
        except Exception:
            log.exception("could not post an audit log alert for server %s", guild_id)

    async def _run(self) -> None:
        while True:
            if not self._queue:
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
                continue
            batch = [self._queue.popleft()]
            guild_id = batch[0].requester.guild_id
            while self._queue and len(batch) < EMBEDS_PER_MESSAGE and self._queue[0].requester.guild_id == guild_id:
                batch.append(self._queue.popleft())
            try:
                await self._post(guild_id, batch)  # type: ignore[arg-type]
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("could not post %d audit log event(s) (edits are not affected)", len(batch))

    async def _post(self, guild_id: int, events: list[EditEvent]) -> None:
        settings = await self.settings.get(guild_id)
        channel_id = settings.log_channel_id
        if channel_id is None:
            return
        problem = self._problems.get(guild_id)
        if problem is not None and problem.channel_id == channel_id and time.monotonic() < problem.retry_at:
            self.unposted += len(events)
            return
        if not await self._send(guild_id, channel_id, [self._embed(e) for e in events]):
            self.unposted += len(events)

    async def _send(self, guild_id: int, channel_id: int, embeds: list[discord.Embed]) -> bool:
        channel = self.client.get_partial_messageable(channel_id, guild_id=guild_id)
        try:
            await channel.send(embeds=embeds, allowed_mentions=discord.AllowedMentions.none())
        except (discord.Forbidden, discord.NotFound) as exc:
            self._record_problem(guild_id, channel_id, exc)
            return False
        except discord.HTTPException as exc:
            log.warning("audit log for server %s: Discord answered %s %s; %d event(s) not posted", guild_id, exc.status, exc.code, len(embeds))
            return False
        self._clear_problem(guild_id, channel_id)
        return True

    @staticmethod
    def _embed(event: EditEvent) -> discord.Embed:
        with language(event.requester.guild_locale):  # the audit channel: the server's language
            panel = Panel(audit_lines.title(event), audit_lines.lines(event))
        return embed_of(panel, colour=COLOURS.get(event.outcome, COLOUR), timestamp=discord.utils.utcnow())
