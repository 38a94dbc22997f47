"""The one place an `EditOrder` is built, and what a member may choose for it.

Every entry point (`/edit`, Apps › Edit image, Edit again, Re-roll) asks `OrderBuilder.offer`
what to show — the models this server allows with its default first, that model's sizes,
the region presets, the mask preview — and hands `OrderBuilder.order` what the member gave.
The service then checks the order like any other. The Discord side only translates
Discord's values into these inputs, so the entry points cannot drift apart again (the
Apps-menu form once offered the bot's models and preselected IMAGE_MODEL, which a server
that did not allow it then refused). No Discord here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol

from bot.edits.order import EditOrder, InputSource, Requester
from bot.errors import UserFacingError
from bot.images.regions import REGION_PRESETS
from bot.text import editing


# The options every model family shares, offered as fixed choices wherever a member sets
# them (a model that lacks one refuses it clearly; bot/provider/request.py).
Quality = Literal["auto", "low", "medium", "high", "standard"]
OutputFormat = Literal["png", "jpeg", "webp"]
Background = Literal["auto", "opaque", "transparent"]
MAX_N = 10  # images per edit a member may ask for (a server may allow fewer)


class ModelsOffered(Protocol):
    """A server's rules as far as choices go (`bot.edits.server_rules.ServerRules`)."""

    async def models_for(self, guild_id: int | None) -> list[str]:
        """The models a server's members may use, its default first (in DMs: the bot's)."""
        ...


@dataclass(frozen=True)
class Offer:
    """What a member of one server may choose, as every entry point shows it."""

    models: tuple[str, ...]  # the server's allowed models, its default first
    default_model: str | None  # None: the server allows none of the bot's current models
    sized_model: str | None  # the model `sizes` belong to: the one typed, else the default
    sizes: tuple[str, ...]  # that model's sizes ("auto" first where it takes it)
    region_presets: tuple[str, ...] = REGION_PRESETS


@dataclass(frozen=True)
class Asked:
    """The options a member gave, as raw values (None: not given; the service checks them).

    `regions` holds every region the member gave (a preset picked, an area typed): one is
    the order's `region`, several are refused before the order is built."""

    model: str | None = None
    size: str | None = None
    quality: Quality | None = None
    n: int | None = None
    output_format: OutputFormat | None = None
    background: Background | None = None
    regions: tuple[str, ...] = ()
    mask_preview: bool = False

    @classmethod
    def repeating(cls, options: Mapping[str, object], **changes: object) -> "Asked":
        """The options a kept result was made with (Re-roll, Edit again), with `changes`."""

        def text(key: str) -> Any:
            value = options.get(key)
            return value if isinstance(value, str) else None

        n = options.get("n")
        asked = cls(
            model=text("model"),
            size=text("size"),
            quality=text("quality"),  # as checked when the result was made
            n=n if isinstance(n, int) else None,
            output_format=text("output_format"),
            background=text("background"),
        )
        return replace(asked, **changes)  # type: ignore[arg-type]


class OrderBuilder:
    """Owned by the bot next to the edit service; entry points share this one."""

    def __init__(self, rules: ModelsOffered, *, sizes_for: Callable[[str], Sequence[str]]) -> None:
        """`rules`: the servers' rules (models allowed, default); `sizes_for`: a model's
        sizes (`EditService.sizes_for`: none for a model the bot does not offer)."""
        self.rules = rules
        self.sizes_for = sizes_for

    async def offer(self, guild_id: int | None, *, model: str | None = None) -> Offer:
        """What to show a member of `guild_id` (None: a DM); the sizes are those of
        `model` when the member already chose one, else of the server's default."""
        models = tuple(await self.rules.models_for(guild_id))
        default = models[0] if models else None
        sized = (model or "").strip() or default
        sizes = tuple(self.sizes_for(sized)) if sized else ()
        return Offer(models=models, default_model=default, sized_model=sized, sizes=sizes)

    def order(
        self,
        *,
        requester: Requester,
        prompt: str,
        images: Sequence[InputSource],
        mask: InputSource | None = None,
        asked: Asked = Asked(),
        entry: str,
        channel_id: int | None = None,
    ) -> EditOrder:
        """The order the edit service runs. Raises UserFacingError only for what no single
        order can hold (two regions at once); everything else the service checks."""
        if not images:
            raise ValueError("an order needs an image")
        regions = [r.strip() for r in asked.regions if r and r.strip()]
        if len(regions) > 1:
            raise UserFacingError(lambda: editing.one_region(regions), reason_code="invalid_region")
        return EditOrder(
            requester=requester,
            prompt=prompt,
            image=images[0],
            more_images=tuple(images[1:]),
            mask=mask,
            region=regions[0] if regions else None,
            mask_preview=asked.mask_preview,
            model=(asked.model or "").strip() or None,  # None: the server's default
            n=asked.n,
            size=asked.size,
            quality=asked.quality,
            output_format=asked.output_format,
            background=asked.background,
            entry=entry,
            channel_id=channel_id,
        )

