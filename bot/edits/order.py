"""What an edit is asked to do, before anything runs: who asks, the inputs, the options.

Every entry point (the slash command today; message commands, buttons and modals next)
builds an `EditOrder` and hands it to the `EditService`; nothing here knows Discord.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, replace
from typing import Protocol, Sequence

from bot.images.prepare import DALLE2_LIMITS, GPT_IMAGE_LIMITS, ImageLimits
from bot.provider.models import ModelSpec
from bot.provider.request import EditRequest, validate

# A 1x1 PNG stands in for the member's image when options are checked before download.
_PLACEHOLDER_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


@dataclass(frozen=True)
class Requester:
    """The member an edit runs for: their quota, their name on the result."""

    user_id: int
    guild_id: int | None  # None in direct messages
    role_ids: tuple[int, ...] = ()
    display_name: str = ""
    age_restricted: bool = False  # asked in an age-restricted (NSFW) channel: see bot/edits/safety.py
    # Discord's names of the member's client language and the server's ("de", "pt-BR"):
    # what the member reads about this edit, and what the audit channel says about it.
    locale: str = "en-US"
    guild_locale: str | None = None


class InputSource(Protocol):
    """An input file the service reads only once the cheap checks have passed."""

    @property
    def label(self) -> str:
        """How the member calls it in messages: "image", "mask"."""
        ...

    @property
    def declared_size(self) -> int | None:
        """The size the platform reports, checked before anything is downloaded."""
        ...

    async def read(self) -> bytes:
        """The bytes; raises UserFacingError when they cannot be fetched."""
        ...


@dataclass(frozen=True)
class BytesInput:
    """An input already in hand (a stored result, a test)."""

    data: bytes
    label: str = "image"

    @property
    def declared_size(self) -> int:
        return len(self.data)

    async def read(self) -> bytes:
        return self.data


@dataclass(frozen=True)
class EditOrder:
    """An edit as the member asked for it: raw option values, checked by the service."""

    requester: Requester
    prompt: str
    image: InputSource
    mask: InputSource | None = None  # applies to `image`, the first input
    region: str | None = None  # a mask built by the bot instead: "top", "rect:10,20,50,40", ...
    mask_preview: bool = False  # show the mask privately, and wait for Confirm before reserving
    more_images: tuple[InputSource, ...] = ()  # for models that take several inputs
    model: str | None = None  # None: the owner's IMAGE_MODEL
    n: int | None = None
    size: str | None = None
    quality: str | None = None
    output_format: str | None = None
    background: str | None = None
    entry: str = "/edit"  # which entry point, for log lines
    channel_id: int | None = None  # where it was asked, kept with the result

    @property
    def images(self) -> tuple[InputSource, ...]:
        return (self.image, *self.more_images)


@dataclass(frozen=True)
class EditOptions:
    """The checked options of an edit, as they are sent upstream."""

    prompt: str
    model: str
    n: int = 1
    size: str | None = None
    quality: str | None = None
    output_format: str | None = None
    background: str | None = None

    def as_dict(self) -> dict[str, object]:
        """The options a re-roll repeats (the prompt is kept on its own)."""
        return {
            "model": self.model,
            "n": self.n,
            "size": self.size,
            "quality": self.quality,
            "output_format": self.output_format,
            "background": self.background,
        }

    def request(
        self, images: Sequence[bytes], mask: bytes | None, user: str | None, *, previews: int = 0
    ) -> EditRequest:
        # Previews are the bot's choice, not the member's: dropped for models that can't stream.
        stream = previews > 0 and self.n == 1
        return EditRequest(
            stream=stream,
            partial_images=previews if stream else None,
            defaulted=frozenset({"stream", "partial_images"}),
            prompt=self.prompt,
            images=list(images),
            model=self.model,
            mask=mask,
            n=self.n,
            size=self.size,
            quality=self.quality,
            output_format=self.output_format,
            background=self.background,
            user=user,
        )


def limits_for(spec: ModelSpec) -> ImageLimits:
    """The image presets, narrowed to what this model's table entry says."""
    preset = DALLE2_LIMITS if spec.square_input else GPT_IMAGE_LIMITS
    return replace(
        preset,
        formats=frozenset(spec.input_formats),
        max_bytes=spec.max_image_bytes,
        mask_max_bytes=spec.max_mask_bytes,
    )


def check_options(options: EditOptions, spec: ModelSpec, *, with_mask: bool, images: int = 1) -> None:
    """Raises InvalidRequest (naming the option) before anything is downloaded or reserved."""
    validate(options.request([_PLACEHOLDER_PNG] * images, _PLACEHOLDER_PNG if with_mask else None, None), spec)
