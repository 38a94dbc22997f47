"""The member's pictures as the edit service's input sources, read only when it asks.

An upload (a slash-command option or a file in a form) is read from Discord's CDN like any
attachment. A picture found on a message (Apps › Edit image) is an attachment too, unless
it is an embed image (a link preview): that one is read only through Discord's media proxy
(`proxy_url`), so the bot never fetches an arbitrary host a message happens to link to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import aiohttp
import discord
import yarl

from bot.discord_app.editing.message_images import FoundImage
from bot.errors import UserFacingError
from bot.text import editing

# Hosts Discord serves attachments and proxied embed media from.
DISCORD_MEDIA_HOSTS = ("cdn.discordapp.com", "media.discordapp.net", "images-ext-1.discordapp.net", "images-ext-2.discordapp.net")
DOWNLOAD_TIMEOUT = aiohttp.ClientTimeout(total=60, connect=10)
DOWNLOAD_CHUNK = 256 * 1024


@dataclass
class AttachmentInput:
    """An uploaded file, downloaded from Discord's CDN only when the service asks."""

    attachment: discord.Attachment
    label: str = "image"

    @property
    def declared_size(self) -> int:
        return self.attachment.size

    async def read(self) -> bytes:
        try:
            return await self.attachment.read()
        except discord.HTTPException as exc:
            raise UserFacingError(editing.upload_unreadable(self.label, exc.status)) from None


def media_hosts() -> tuple[str, ...]:
    """Discord's media hosts, plus the API's own host when discord.py is pointed elsewhere
    (a local fake in tests, a proxy in front of Discord)."""
    api_host = (yarl.URL(discord.http.Route.BASE).host or "").lower()
    return tuple({*DISCORD_MEDIA_HOSTS, api_host} - {""})


@dataclass
class MessageImageInput:
    """A picture found on a message (an attachment, a forwarded one, an embed image)."""

    image: FoundImage
    session: aiohttp.ClientSession
    label: str
    max_bytes: int
    media_hosts: tuple[str, ...]

    @property
    def declared_size(self) -> int | None:
        return self.image.size

    async def read(self) -> bytes:
        if self.image.attachment is not None:
            try:
                return await self.image.attachment.read()
            except discord.HTTPException as exc:
                raise UserFacingError(editing.message_image_unreadable(self.label, exc.status)) from None
        assert self.image.url is not None
        return await self._download(self.image.url)

    async def _download(self, url: str) -> bytes:
        host = (yarl.URL(url).host or "").lower()
        if host not in self.media_hosts:
            raise UserFacingError(editing.not_on_discord(self.label))
        try:
            async with self.session.get(url, timeout=DOWNLOAD_TIMEOUT, allow_redirects=False) as resp:
                if resp.status != 200:
                    raise UserFacingError(editing.message_image_unreadable(self.label, resp.status))
                chunks: list[bytes] = []
                size = 0
                async for chunk in resp.content.iter_chunked(DOWNLOAD_CHUNK):
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise UserFacingError(editing.message_image_too_large(self.label, self.max_bytes))
                    chunks.append(chunk)
                return b"".join(chunks)
        except aiohttp.ClientError:
            raise UserFacingError(editing.message_image_unreadable(self.label)) from None


@dataclass
class DeliveredImageInput:
    """A result image read back from its message on Discord (Edit again): the clicked
    message's attachment, else one of the result's other messages, fetched for fresh URLs.
    Downloaded like an embed image: only from Discord's media hosts."""

    filename: str  # as delivered: edit-1.png, ...
    clicked: discord.Message | None
    channel: discord.abc.Messageable | None
    message_ids: Sequence[int]
    session: aiohttp.ClientSession
    label: str
    max_bytes: int
    media_hosts: tuple[str, ...]

    def _on(self, message: discord.Message | None) -> discord.Attachment | None:
        return next((a for a in message.attachments if a.filename == self.filename), None) if message is not None else None

    @property
    def declared_size(self) -> int | None:
        attachment = self._on(self.clicked)
        return attachment.size if attachment is not None else None

    async def read(self) -> bytes:
        attachment = self._on(self.clicked)
        clicked_id = self.clicked.id if self.clicked is not None else None
        for message_id in self.message_ids:
            if attachment is not None or self.channel is None:
                break
            if message_id == clicked_id:
                continue
            try:
                attachment = self._on(await self.channel.fetch_message(message_id))
            except discord.HTTPException:
                continue  # deleted, or not readable: try the next one
        if attachment is None:
            raise UserFacingError(editing.result_image_gone(self.label))
        found = FoundImage(self.filename, url=attachment.url, size=attachment.size)
        return await MessageImageInput(found, self.session, self.label, self.max_bytes, self.media_hosts).read()
