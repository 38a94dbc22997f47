"""The two forms that start an edit: Apps › Edit image, and Edit again under a result.

Both offer what `OrderBuilder.offer` says a member of this server may choose, and both
hand the builder what was submitted; the fields they share are built once here. A modal
holds at most five fields, so each form lists its fields by importance and shows those
that fit (README, "Apps › Edit image" and "Edit again"):

- Edit image: prompt, mask, which picture(s) (several on the message), where to edit,
  model (the server's, its default preselected), size (of that model);
- Edit again: prompt, mask, which result image (several), where to edit, a custom area.

"Where to edit" is one select: a region preset and/or "Show me the mask first" (the
`region` and `mask_preview` of `/edit`). A file field cannot be pre-filled: the target
pictures stay on the modal object, which lives only in memory (a restart loses an open form).
"""

from __future__ import annotations

from dataclasses import dataclass

import discord

from bot.discord_app.editing.inputs import AttachmentInput, DeliveredImageInput, MessageImageInput, media_hosts
from bot.discord_app.editing.message_images import FoundImage
from bot.discord_app.editing.orders import requester_of, retouch, submit
from bot.discord_app.replies import send_private
from bot.edits.checks import MAX_DOWNLOAD_BYTES
from bot.edits.order import BytesInput
from bot.edits.order_builder import Asked, Offer
from bot.store.results import StoredResult
from bot.text import edit_status, editing
from bot.text.i18n import use_language

MAX_FIELDS = 5  # top-level components in one modal
PROMPT_MAX = 4000  # a modal text input holds at most 4000 characters
SELECT_MAX = 25  # options in one select
SELECT_TEXT_MAX = 100  # characters of an option's label, value or description
MAX_INPUT_IMAGES = 4  # like /edit's image, image2, image3, image4
PREVIEW = "preview"  # the "Show me the mask first" option's value (never a region preset)
FORM_TIMEOUT_SECONDS = 15 * 60  # an interaction token lives 15 minutes


def _label(component: discord.ui.Item, text: str, description: str | None = None) -> discord.ui.Label:
    return discord.ui.Label(text=text, description=description, component=component)


def _prompt(placeholder: str) -> discord.ui.TextInput:
    return discord.ui.TextInput(
        custom_id="prompt", style=discord.TextStyle.paragraph, max_length=PROMPT_MAX, required=True, placeholder=placeholder
    )


def _mask() -> discord.ui.FileUpload:
    return discord.ui.FileUpload(custom_id="mask", required=False, min_values=0, max_values=1)


def _where(offer: Offer) -> discord.ui.Select:
    options = [
        discord.SelectOption(
            label=editing.region_option(preset), value=preset, description=editing.region_option_description(preset)[:SELECT_TEXT_MAX]
        )
        for preset in offer.region_presets
    ]
    options.append(discord.SelectOption(label=editing.PREVIEW_OPTION, value=PREVIEW, description=editing.PREVIEW_OPTION_DESCRIPTION))
    options = options[-SELECT_MAX:]  # the preview option always stays
    # Two: a preset and the preview (two presets are refused by the order builder).
    return discord.ui.Select(
        custom_id="where", required=False, min_values=0, max_values=min(2, len(options)),
        placeholder=editing.WHERE_PLACEHOLDER, options=options,
    )


def _area() -> discord.ui.TextInput:
    return discord.ui.TextInput(custom_id="region", required=False, max_length=SELECT_TEXT_MAX, placeholder=editing.AREA_PLACEHOLDER)


@dataclass(frozen=True)
class Where:
    """What the "where to edit" fields say, for the order builder."""

    regions: tuple[str, ...] = ()
    mask_preview: bool = False


def _where_values(select: discord.ui.Select | None, area: discord.ui.TextInput | None = None) -> Where:
    values = list(select.values) if select is not None else []
    regions = [v for v in values if v != PREVIEW]
    if area is not None and (area.value or "").strip():
        regions.append(area.value.strip())
    return Where(tuple(regions), PREVIEW in values)


def _first(select: discord.ui.Select | None) -> str | None:
    return select.values[0] if select is not None and select.values else None


def _uploaded_mask(upload: discord.ui.FileUpload) -> AttachmentInput | None:
    files = upload.values
    return AttachmentInput(files[0], editing.MASK) if files else None


class _Form(discord.ui.Modal):
    """A modal that adds fields by importance while they fit, and reports its errors
    through the bot's one error handler."""

    def _add(self, component: discord.ui.Item, text: str, description: str | None = None) -> bool:
        if len(self.children) >= MAX_FIELDS:
            return False
        self.add_item(_label(component, text, description))
        return True

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        use_language(interaction.locale)  # the submission's own task: answer in the member's language
        return True

    async def on_error(self, interaction: discord.Interaction, error: Exception, /) -> None:
        await retouch(interaction).tree.on_error(interaction, error)  # type: ignore[arg-type]


class EditImageModal(_Form):
    """Apps › Edit image: prompt, optional mask, and where they fit which picture(s), where
    to edit, the model (the server's default preselected) and the size (of that model)."""

    def __init__(self, images: list[FoundImage], offer: Offer) -> None:
        super().__init__(title=editing.EDIT_IMAGE_TITLE, timeout=FORM_TIMEOUT_SECONDS)
        self.images = images[:SELECT_MAX]
        self.prompt = _prompt(editing.PROMPT_PLACEHOLDER)
        self._add(self.prompt, editing.PROMPT_LABEL)
        self.mask = _mask()
        self._add(self.mask, editing.MASK_LABEL, editing.MASK_DESCRIPTION)
        self.which: discord.ui.Select | None = None
        if len(self.images) > 1:
            self.which = discord.ui.Select(
                custom_id="images",
                min_values=1,
                max_values=min(MAX_INPUT_IMAGES, len(self.images)),
                options=[
                    discord.SelectOption(
                        label=editing.found_image_option(i, image.description)[:SELECT_TEXT_MAX], value=str(i - 1), default=i == 1
                    )
                    for i, image in enumerate(self.images, start=1)
                ],
            )
            self._add(self.which, editing.WHICH_IMAGES_LABEL, editing.WHICH_IMAGES_DESCRIPTION)
        # Fields further down are shown only where they fit (`_add`); one left out is None.
        where = _where(offer)
        self.where = where if self._add(where, editing.WHERE_LABEL, editing.WHERE_DESCRIPTION) else None
        self.model: discord.ui.Select | None = None
        # A name longer than an option may be is left to `/edit`; none left: the server's default runs.
        models = [m for m in offer.models if len(m) <= SELECT_TEXT_MAX][:SELECT_MAX]
        if models:
            model = discord.ui.Select(
                custom_id="model",
                options=[discord.SelectOption(label=m, value=m, default=m == offer.default_model) for m in models],
            )
            self.model = model if self._add(model, editing.MODEL_LABEL) else None
        self.size: discord.ui.Select | None = None
        if offer.sizes and offer.sized_model:
            size = discord.ui.Select(
                custom_id="size", required=False, min_values=0, placeholder=editing.SIZE_PLACEHOLDER,
                options=[discord.SelectOption(label=s, value=s) for s in offer.sizes[:SELECT_MAX]],
            )
            shown = self._add(size, editing.SIZE_LABEL, editing.sizes_of(offer.sized_model)[:SELECT_TEXT_MAX])
            self.size = size if shown else None

    async def on_submit(self, interaction: discord.Interaction) -> None:
        bot = retouch(interaction)
        chosen = [int(v) for v in self.which.values] if self.which is not None and self.which.values else [0]
        hosts = media_hosts()
        images = [
            MessageImageInput(
                self.images[index], bot.http_session, label=editing.input_label(number), max_bytes=MAX_DOWNLOAD_BYTES, media_hosts=hosts
            )
            for number, index in enumerate(chosen, start=1)
        ]
        where = _where_values(self.where)
        order = bot.orders.order(
            requester=requester_of(interaction),
            prompt=self.prompt.value,
            images=images,
            mask=_uploaded_mask(self.mask),
            asked=Asked(model=_first(self.model), size=_first(self.size), regions=where.regions, mask_preview=where.mask_preview),
            entry="Edit image",
            channel_id=interaction.channel_id,
        )
        await submit(interaction, order)


class EditAgainModal(_Form):
    """Edit again: a new prompt on one of a result's images, with the result's options,
    and where to edit (a mask, a region preset or a custom area, the mask preview)."""

    def __init__(self, stored: StoredResult, offer: Offer, clicked: discord.Message | None = None) -> None:
        super().__init__(title=editing.EDIT_AGAIN_TITLE, timeout=FORM_TIMEOUT_SECONDS)
        self.stored = stored
        self.clicked = clicked  # the result's message as the click carried it (fresh attachment URLs)
        self.prompt = _prompt(editing.PROMPT_AGAIN_PLACEHOLDER)
        self._add(self.prompt, editing.PROMPT_AGAIN_LABEL)
        self.mask = _mask()
        self._add(self.mask, editing.MASK_LABEL, editing.MASK_DESCRIPTION)
        self.which: discord.ui.Select | None = None
        if len(stored.result_names) > 1:
            self.which = discord.ui.Select(
                custom_id="which",
                options=[
                    discord.SelectOption(label=editing.image_number(i), value=str(i - 1), default=i == 1)
                    for i in range(1, min(len(stored.result_names), SELECT_MAX) + 1)
                ],
            )
            self._add(self.which, editing.START_FROM_LABEL)
        where, area = _where(offer), _area()
        self.where = where if self._add(where, editing.WHERE_LABEL, editing.WHERE_DESCRIPTION) else None
        self.area = area if self._add(area, editing.AREA_LABEL, editing.AREA_DESCRIPTION) else None

    async def on_submit(self, interaction: discord.Interaction) -> None:
        index = int(self.which.values[0]) if self.which is not None and self.which.values else 0
        bot = retouch(interaction)
        label = editing.input_label(1)
        image: BytesInput | DeliveredImageInput
        try:
            kept = await self.stored.kept_result(index)
        except (OSError, IndexError):
            await send_private(interaction, edit_status.RESULT_EXPIRED)
            return
        if kept is not None:  # a result kept before its images were left on Discord
            image = BytesInput(kept, label)
        elif index >= len(self.stored.result_names):
            await send_private(interaction, edit_status.RESULT_EXPIRED)
            return
        else:
            # Read from the message when the edit's turn comes, after the acknowledgement.
            channel = interaction.channel if isinstance(interaction.channel, discord.abc.Messageable) else None
            image = DeliveredImageInput(
                self.stored.result_names[index], self.clicked, channel, self.stored.message_ids, bot.http_session,
                label=label, max_bytes=MAX_DOWNLOAD_BYTES, media_hosts=media_hosts(),
            )
        where = _where_values(self.where, self.area)
        order = bot.orders.order(
            requester=requester_of(interaction),
            prompt=self.prompt.value,
            images=[image],
            mask=_uploaded_mask(self.mask),
            asked=Asked.repeating(self.stored.options, n=1, regions=where.regions, mask_preview=where.mask_preview),
            entry="Edit again",
            channel_id=interaction.channel_id,
        )
        await submit(interaction, order)
