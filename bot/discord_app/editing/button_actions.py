"""What the buttons on a result do: Edit again, Re-roll, Delete, and Cancel on a placeholder.

Each click answers within Discord's 3 s (a modal, a deferral, or a private message), and
an edit it starts is an ordinary edit of the member who clicked: their quota, their
checks, the same service. A result that expired (or was deleted) says so privately.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord

from bot.discord_app.editing.interaction_surface import (
    AttachmentInput,
    InteractionSurface,
    requester_of,
)
from bot.discord_app.moderators import is_moderator
from bot.discord_app.replies import send_private
from bot.edits.order import BytesInput, EditOrder
from bot.edits.service import CancelResult
from bot.images.regions import REGION_EXAMPLE
from bot.store.results import StoredResult
from bot.text import edit_status

if TYPE_CHECKING:
    from bot.discord_app.retouch_bot import Retouch

log = logging.getLogger("retouch.buttons")

PROMPT_MAX = 4000  # Discord's limit for a text input in a modal


def _bot(interaction: discord.Interaction) -> "Retouch":
    return interaction.client  # type: ignore[return-value]


def _moderator(interaction: discord.Interaction) -> bool:
    return is_moderator(interaction, _bot(interaction).settings.moderator_role_ids)


def _order_from(stored: StoredResult, interaction: discord.Interaction, **changes: Any) -> EditOrder:
    options = stored.options
    values: dict[str, Any] = dict(
        requester=requester_of(interaction),
        prompt=stored.prompt,
        model=options.get("model"),
        n=options.get("n"),
        size=options.get("size"),
        quality=options.get("quality"),
        output_format=options.get("output_format"),
        background=options.get("background"),
        channel_id=interaction.channel_id,
    )
    values.update(changes)
    return EditOrder(**values)


async def _stored(interaction: discord.Interaction, edit_id: int) -> StoredResult | None:
    stored = await _bot(interaction).results.get(edit_id)
    if stored is None:
        await send_private(interaction, edit_status.RESULT_EXPIRED)
    return stored


async def reroll(interaction: discord.Interaction, edit_id: int) -> None:
    stored = await _stored(interaction, edit_id)
    if stored is None:
        return
    try:
        inputs = await stored.inputs()
        mask = await stored.mask()
    except OSError:
        await send_private(interaction, edit_status.RESULT_EXPIRED)
        return
    order = _order_from(
        stored,
        interaction,
        image=BytesInput(inputs[0], "image"),
        more_images=tuple(BytesInput(data, f"image {i}") for i, data in enumerate(inputs[1:], start=2)),
        mask=BytesInput(mask, "mask") if mask is not None else None,
        entry="Re-roll",
    )
    await _bot(interaction).edits.submit(order, InteractionSurface(interaction))


async def edit_again(interaction: discord.Interaction, edit_id: int) -> None:
    stored = await _stored(interaction, edit_id)
    if stored is not None:
        await interaction.response.send_modal(EditAgainModal(stored))


class EditAgainModal(discord.ui.Modal, title="Edit again"):
    """A new prompt (and optionally a mask) on one of a result's images."""

    def __init__(self, stored: StoredResult) -> None:
        super().__init__(timeout=15 * 60)
        self.stored = stored  # a file field cannot be pre-filled: the source stays here
        self.prompt = discord.ui.TextInput(
            custom_id="prompt", style=discord.TextStyle.paragraph, max_length=PROMPT_MAX, required=True,
            placeholder="e.g. now make the scarf green",
        )
        self.mask = discord.ui.FileUpload(custom_id="mask", required=False, min_values=0, max_values=1)
        self.add_item(discord.ui.Label(text="What should change now?", component=self.prompt))
        self.add_item(
            discord.ui.Label(
                text="Mask (optional)", description="Transparent or white areas get edited", component=self.mask
            )
        )
        self.region = discord.ui.TextInput(
            custom_id="region", required=False, max_length=100, placeholder=f"top, center, border, {REGION_EXAMPLE}…"
        )
        self.add_item(
            discord.ui.Label(text="Or a region (optional)", description="Where to edit, instead of a mask", component=self.region)
        )
        self.which: discord.ui.Select | None = None
        if len(stored.result_names) > 1:
            self.which = discord.ui.Select(
                custom_id="which",
                options=[
                    discord.SelectOption(label=f"Image {i}", value=str(i - 1), default=i == 1)
                    for i in range(1, min(len(stored.result_names), 25) + 1)
                ],
            )
            self.add_item(discord.ui.Label(text="Start from", component=self.which))

    async def on_submit(self, interaction: discord.Interaction) -> None:
        index = int(self.which.values[0]) if self.which is not None and self.which.values else 0
        try:
            image = await self.stored.result(index)
        except (OSError, IndexError):
            await send_private(interaction, edit_status.RESULT_EXPIRED)
            return
        uploads = self.mask.values
        order = _order_from(
            self.stored,
            interaction,
            prompt=self.prompt.value,
            image=BytesInput(image, "image"),
            mask=AttachmentInput(uploads[0], "mask") if uploads else None,
            region=(self.region.value or "").strip() or None,
            n=1,
            entry="Edit again",
        )
        await _bot(interaction).edits.submit(order, InteractionSurface(interaction))

    async def on_error(self, interaction: discord.Interaction, error: Exception, /) -> None:
        await _bot(interaction).tree.on_error(interaction, error)  # type: ignore[arg-type]


async def delete(interaction: discord.Interaction, edit_id: int) -> None:
    bot = _bot(interaction)
    owner = await bot.store.edit_requester(edit_id)
    if owner != interaction.user.id and not _moderator(interaction):
        await send_private(interaction, edit_status.DELETE_NOT_YOURS)
        return
    stored = await bot.results.get(edit_id)
    # A deferred update makes @original the clicked message: the result itself.
    await interaction.response.defer()
    try:
        await interaction.delete_original_response()
    except discord.NotFound:
        pass
    channel = interaction.channel
    clicked = interaction.message.id if interaction.message else None
    for message_id in stored.message_ids if stored else []:
        if message_id == clicked or not isinstance(channel, discord.abc.Messageable):
            continue
        try:
            await channel.get_partial_message(message_id).delete()  # type: ignore[union-attr]
        except discord.HTTPException as exc:
            log.info("could not delete message %s of result #%d: %s", message_id, edit_id, exc)
    await bot.results.delete(edit_id)
    log.info("result #%d deleted by member %s", edit_id, interaction.user.id)


async def cancel(interaction: discord.Interaction, edit_id: int) -> None:
    bot = _bot(interaction)
    requester = bot.edits.requester_of(edit_id)
    result = bot.edits.cancel(edit_id, user_id=interaction.user.id, is_moderator=_moderator(interaction))
    if result is CancelResult.CANCELLED:
        if requester == interaction.user.id:
            # The edit tells its member itself; the click needs no message of its own.
            await interaction.response.defer()
        else:
            await send_private(interaction, edit_status.CANCELLED_FOR_OTHER)
        return
    await send_private(
        interaction,
        {
            CancelResult.NOT_RUNNING: edit_status.CANCEL_NOT_RUNNING,
            CancelResult.NOT_ALLOWED: edit_status.CANCEL_NOT_YOURS,
            CancelResult.TOO_LATE: edit_status.CANCEL_TOO_LATE,
        }[result],
    )
