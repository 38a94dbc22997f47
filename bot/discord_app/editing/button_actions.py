"""What a click on a result's or a placeholder's button does: Edit again, Re-roll, Delete,
Cancel.

The buttons are `DynamicItem`s (registered by cogs/result_buttons.py), so a click is
answered by whichever process runs, after any restart: the custom id names the edit, the
database (and, with SQLite, the disk next to it) holds the inputs, and the clicked message
holds the result images. Each click answers within Discord's 3 s (a modal, a
deferral, or a private message), and an edit it starts is an ordinary edit of the member
who clicked: their quota, their checks, the same order builder and service. A result that
expired (or was deleted) says so privately.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Awaitable, TypeVar

import discord

from bot.discord_app.editing.buttons import PATTERN, button
from bot.discord_app.editing.modals import EditAgainModal
from bot.discord_app.editing.orders import requester_of, retouch, submit
from bot.discord_app.moderation.access import is_moderator
from bot.discord_app.replies import defer_public, send_private
from bot.edits.order import BytesInput
from bot.edits.order_builder import Asked
from bot.edits.service import CancelResult
from bot.store.results import StoredResult
from bot.text import edit_status, editing
from bot.text.i18n import use_language

log = logging.getLogger("retouch.buttons")

T = TypeVar("T")
# A click whose stored result takes longer than this to read (a busy database) answers
# "thinking…" first: the result it starts is public, and a refusal replaces it privately.
READ_BEFORE_ACK_SECONDS = 1.0


def _moderator(interaction: discord.Interaction) -> bool:
    return is_moderator(interaction, retouch(interaction).settings.moderator_role_ids)


async def _stored(interaction: discord.Interaction, edit_id: int) -> StoredResult | None:
    stored = await retouch(interaction).results.get(edit_id)
    if stored is None:
        await send_private(interaction, edit_status.RESULT_EXPIRED)
    return stored


async def _answered_in_time(interaction: discord.Interaction, work: Awaitable[T]) -> T:
    """`work`'s result; past READ_BEFORE_ACK_SECONDS the click is acknowledged first, so
    slow storage never costs it Discord's 3 s."""
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task}, timeout=READ_BEFORE_ACK_SECONDS)
    if not done and not interaction.response.is_done():
        await defer_public(interaction)
    return await task


async def _reroll_inputs(edit_id: int, interaction: discord.Interaction) -> tuple[StoredResult | None, list[bytes], bytes | None, str | None]:
    """The kept result, its inputs and mask, or why Re-roll cannot run (a text to show)."""
    stored = await retouch(interaction).results.get(edit_id)
    if stored is None:
        return None, [], None, edit_status.RESULT_EXPIRED
    if stored.unkept is not None:
        return stored, [], None, edit_status.reroll_unavailable(stored.unkept)
    try:
        return stored, await stored.inputs(), await stored.mask(), None
    except OSError:
        return stored, [], None, edit_status.RESULT_EXPIRED


async def reroll(interaction: discord.Interaction, edit_id: int) -> None:
    stored, inputs, mask, refusal = await _answered_in_time(interaction, _reroll_inputs(edit_id, interaction))
    if refusal is not None or stored is None:
        await send_private(interaction, refusal or edit_status.RESULT_EXPIRED)
        return
    order = retouch(interaction).orders.order(
        requester=requester_of(interaction),
        prompt=stored.prompt,
        images=[BytesInput(data, editing.input_label(number)) for number, data in enumerate(inputs, start=1)],
        mask=BytesInput(mask, editing.MASK) if mask is not None else None,
        asked=Asked.repeating(stored.options),
        entry="Re-roll",
        channel_id=interaction.channel_id,
    )
    await submit(interaction, order)


async def edit_again(interaction: discord.Interaction, edit_id: int) -> None:
    stored = await _stored(interaction, edit_id)
    if stored is not None:
        offer = await retouch(interaction).orders.offer(interaction.guild_id)
        await interaction.response.send_modal(EditAgainModal(stored, offer, clicked=interaction.message))


async def delete(interaction: discord.Interaction, edit_id: int) -> None:
    bot = retouch(interaction)
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
    bot = retouch(interaction)
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


# ----- the buttons that answer clicks ------------------------------------------------------


class _EditButton(discord.ui.DynamicItem[discord.ui.Button], template=PATTERN.format(action="(?:again|reroll|delete|cancel)")):
    """A button that names an edit by id (each subclass narrows the template to its action)."""

    action = ""

    def __init__(self, edit_id: int) -> None:
        super().__init__(button(self.action, edit_id))
        self.edit_id = edit_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str], /
    ) -> "_EditButton":
        return cls(int(match["id"]))

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        use_language(interaction.locale)  # the click's own task: answer in the clicker's language
        return True


class EditAgainButton(_EditButton, template=PATTERN.format(action="again")):
    action = "again"

    async def callback(self, interaction: discord.Interaction) -> None:
        await edit_again(interaction, self.edit_id)


class RerollButton(_EditButton, template=PATTERN.format(action="reroll")):
    action = "reroll"

    async def callback(self, interaction: discord.Interaction) -> None:
        await reroll(interaction, self.edit_id)


class DeleteButton(_EditButton, template=PATTERN.format(action="delete")):
    action = "delete"

    async def callback(self, interaction: discord.Interaction) -> None:
        await delete(interaction, self.edit_id)


class CancelButton(_EditButton, template=PATTERN.format(action="cancel")):
    action = "cancel"

    async def callback(self, interaction: discord.Interaction) -> None:
        await cancel(interaction, self.edit_id)


BUTTONS = (EditAgainButton, RerollButton, DeleteButton, CancelButton)
