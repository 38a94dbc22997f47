"""The images a Discord message carries, for Apps › Edit image.

A message may hold its pictures as attachments, inside a forwarded message's snapshot,
or as embed images (a link preview). Attachments and snapshots are read through Discord's
CDN like any upload; embed images only through Discord's media proxy (`proxy_url`), so
the bot never fetches an arbitrary host a message happens to link to.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Iterable

import aiohttp
import discord
import yarl

from bot.errors import UserFacingError

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".avif", ".heic"})
# Hosts Discord serves attachments and proxied embed media from.
DISCORD_MEDIA_HOSTS = ("cdn.discordapp.com", "media.discordapp.net", "images-ext-1.discordapp.net", "images-ext-2.discordapp.net")
DOWNLOAD_TIMEOUT = aiohttp.ClientTimeout(total=60, connect=10)


def _looks_like_image(filename: str, content_type: str | None) -> bool:
    if content_type:
        return content_type.split(";")[0].strip().lower().startswith("image/")
    return PurePosixPath(filename.lower()).suffix in IMAGE_EXTENSIONS


@dataclass(frozen=True)
class FoundImage:
    """One picture on a message, and how to fetch it when the edit asks."""

    description: str  # what the member sees in the "which image" choice
    attachment: discord.Attachment | None = None
    url: str | None = None  # a proxied embed image
    size: int | None = None

    def source(self, session: aiohttp.ClientSession, *, label: str, max_bytes: int, media_hosts: Iterable[str]) -> "MessageImageInput":
        return MessageImageInput(self, session, label=label, max_bytes=max_bytes, media_hosts=tuple(media_hosts))


def find_images(message: discord.Message) -> list[FoundImage]:
    """Attachments first, then forwarded ones, then embed images, in the order shown."""
    found: list[FoundImage] = []

    def from_attachments(attachments: Iterable[discord.Attachment], where: str) -> None:
        for attachment in attachments:
            if _looks_like_image(attachment.filename, attachment.content_type):
                dims = f" ({attachment.width}×{attachment.height})" if attachment.width and attachment.height else ""
                found.append(FoundImage(f"{attachment.filename}{dims}{where}", attachment=attachment, size=attachment.size))

    def from_embeds(embeds: Iterable[discord.Embed], where: str) -> None:
        for embed in embeds:
            for media, kind in ((embed.image, "embed image"), (embed.thumbnail, "embed thumbnail")):
                url = media.proxy_url or media.url
                if url:
                    name = PurePosixPath(yarl.URL(url).path).name or kind
                    found.append(FoundImage(f"{name} ({kind}{where})", url=url))

    from_attachments(message.attachments, "")
    for snapshot in getattr(message, "message_snapshots", []) or []:
        from_attachments(snapshot.attachments, ", forwarded")
        from_embeds(snapshot.embeds, ", forwarded")
    from_embeds(message.embeds, "")
    return found


@dataclass
class MessageImageInput:
    """An `InputSource` for a picture found on a message."""

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
                raise UserFacingError(f"Couldn't download that {self.label} from Discord ({exc.status}); try again.") from None
        assert self.image.url is not None
        return await self._download(self.image.url)

    async def _download(self, url: str) -> bytes:
        host = (yarl.URL(url).host or "").lower()
        if host not in self.media_hosts:
            raise UserFacingError(f"That {self.label} isn't hosted by Discord, so Retouch won't fetch it. Save it and use /edit instead.")
        try:
            async with self.session.get(url, timeout=DOWNLOAD_TIMEOUT, allow_redirects=False) as resp:
                if resp.status != 200:
                    raise UserFacingError(f"Couldn't download that {self.label} from Discord ({resp.status}); try again.")
                chunks: list[bytes] = []
                size = 0
                async for chunk in resp.content.iter_chunked(256 * 1024):
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise UserFacingError(f"That {self.label} is larger than {self.max_bytes // 1_048_576} MB.")
                    chunks.append(chunk)
                return b"".join(chunks)
        except aiohttp.ClientError:
            raise UserFacingError(f"Couldn't download that {self.label} from Discord; try again.") from None


def media_hosts() -> tuple[str, ...]:
    """Discord's media hosts, plus the API's own host when discord.py is pointed elsewhere
    (a local fake in tests, a proxy in front of Discord)."""
    api_host = (yarl.URL(discord.http.Route.BASE).host or "").lower()
    return tuple({*DISCORD_MEDIA_HOSTS, api_host} - {""})
