"""The pictures a Discord message carries, for Apps › Edit image.

A message may hold its pictures as attachments, inside a forwarded message's snapshot,
or as embed images (a link preview). `inputs.MessageImageInput` reads the one chosen.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Iterable

import discord
import yarl

from bot.text import editing

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".avif", ".heic"})


def _looks_like_image(filename: str, content_type: str | None) -> bool:
    if content_type:
        return content_type.split(";")[0].strip().lower().startswith("image/")
    return PurePosixPath(filename.lower()).suffix in IMAGE_EXTENSIONS


@dataclass(frozen=True)
class FoundImage:
    """One picture on a message, and where to fetch it when the edit asks."""

    description: str  # what the member sees in the "which image" choice
    attachment: discord.Attachment | None = None
    url: str | None = None  # a proxied embed image
    size: int | None = None


def find_images(message: discord.Message) -> list[FoundImage]:
    """Attachments first, then forwarded ones, then embed images, in the order shown."""
    found: list[FoundImage] = []

    def from_attachments(attachments: Iterable[discord.Attachment], *, forwarded: bool) -> None:
        for attachment in attachments:
            if _looks_like_image(attachment.filename, attachment.content_type):
                text = editing.found_attachment(attachment.filename, attachment.width, attachment.height, forwarded=forwarded)
                found.append(FoundImage(text, attachment=attachment, size=attachment.size))

    def from_embeds(embeds: Iterable[discord.Embed], *, forwarded: bool) -> None:
        for embed in embeds:
            for media, kind in ((embed.image, editing.EMBED_IMAGE), (embed.thumbnail, editing.EMBED_THUMBNAIL)):
                url = media.proxy_url or media.url
                if url:
                    name = PurePosixPath(yarl.URL(url).path).name or kind
                    found.append(FoundImage(editing.found_embed(name, kind, forwarded=forwarded), url=url))

    from_attachments(message.attachments, forwarded=False)
    for snapshot in getattr(message, "message_snapshots", []) or []:
        from_attachments(snapshot.attachments, forwarded=True)
        from_embeds(snapshot.embeds, forwarded=True)
    from_embeds(message.embeds, forwarded=False)
    return found
