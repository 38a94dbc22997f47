"""Asking the member to confirm, privately, before anything is reserved.

The question is the interaction's first response: an ephemeral embed (with an optional
image) and Confirm / Cancel buttons; when it was not ready within Discord's 3 s, it is the
follow-up that replaces the private "thinking…" the interaction was acknowledged with.
Confirm answers the click with a public "thinking…" message (a deferred response to a
component is a NEW message), so the edit goes on, and its result is posted, where
everybody can see it; the private question is edited to say
it was confirmed. Cancel edits the question in place (type 7). No answer within the
timeout edits it too. The view lives in memory only: after a restart its buttons no
longer answer, which is fine for a question that expires in minutes.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import discord

from bot.discord_app.editing.result_messages import ImageUpload
from bot.discord_app.replies import PUBLIC_THINKING, defer_public, mark_answered
from bot.edits.surface import Confirmation
from bot.text import editing
from bot.text.i18n import use_language

log = logging.getLogger("retouch.edit")

EMBED_COLOUR = discord.Colour.from_rgb(88, 101, 242)
CONFIRM_PREFIX = "retouch:confirm:"
# Not "retouch:cancel:": that is the persistent Cancel of a running edit (editing/buttons.py).
CANCEL_PREFIX = "retouch:decline:"


class ConfirmView(discord.ui.View):
    def __init__(self, requester_id: int, request: Confirmation) -> None:
        super().__init__(timeout=request.timeout_seconds)
        self.requester_id = requester_id
        self.request = request
        self.confirmed: bool | None = None  # None: no answer (yet)
        self.click: discord.Interaction | None = None
        nonce = secrets.token_hex(8)
        confirm = discord.ui.Button(label=request.confirm_label, style=discord.ButtonStyle.success, custom_id=CONFIRM_PREFIX + nonce)
        cancel = discord.ui.Button(label=request.cancel_label, style=discord.ButtonStyle.secondary, custom_id=CANCEL_PREFIX + nonce)
        confirm.callback = self._on_confirm  # type: ignore[method-assign]
        cancel.callback = self._on_cancel  # type: ignore[method-assign]
        self.add_item(confirm)
        self.add_item(cancel)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        use_language(interaction.locale)
        # The question is ephemeral, so only the requester sees it; checked anyway for
        # when it is reused on a message others can see.
        if interaction.user.id == self.requester_id:
            return True
        await interaction.response.send_message(editing.CONFIRM_NOT_YOURS, ephemeral=True)
        return False

    async def _on_confirm(self, interaction: discord.Interaction) -> None:
        if self.confirmed is not None:
            return
        self.confirmed = True
        self.click = interaction
        try:
            await defer_public(interaction)
        except discord.HTTPException as exc:
            log.warning("could not answer a Confirm click: %s", exc)
            self.click = None
        self.stop()

    async def _on_cancel(self, interaction: discord.Interaction) -> None:
        if self.confirmed is not None:
            return
        self.confirmed = False
        try:
            await interaction.response.edit_message(content=self.request.cancelled_text, view=None)
        except discord.HTTPException as exc:
            log.warning("could not answer a Cancel click: %s", exc)
        self.stop()


async def _quietly(edit: Awaitable[Any]) -> None:
    try:
        await edit
    except discord.HTTPException:
        log.debug("could not update the confirmation message", exc_info=True)


async def ask_to_confirm(interaction: discord.Interaction, request: Confirmation) -> discord.Interaction | None:
    """Show `request` privately and wait; the Confirm click's interaction (already
    answered with a public "thinking…"), or None when cancelled, unanswered or unsendable."""
    view = ConfirmView(interaction.user.id, request)
    embed = discord.Embed(title=request.title[:256], description="\n".join(request.lines)[:4096], colour=EMBED_COLOUR)
    kwargs: dict[str, Any] = {"embed": embed, "view": view, "ephemeral": True}
    if request.image is not None:
        kwargs["file"] = discord.File(ImageUpload(request.image), filename=request.image_filename)
        embed.set_image(url=f"attachment://{request.image_filename}")
    edit_prompt: Callable[..., Awaitable[Any]]
    try:
        if not interaction.response.is_done():
            await interaction.response.send_message(**kwargs)
            edit_prompt = interaction.edit_original_response
        else:
            if interaction.extras.get(PUBLIC_THINKING):
                # A public "thinking…" would make the question public: remove it first.
                await _quietly(interaction.delete_original_response())
                mark_answered(interaction)
            message = await interaction.followup.send(wait=True, **kwargs)
            edit_prompt = message.edit
    except discord.HTTPException as exc:
        log.warning("could not ask interaction %s to confirm: %s", interaction.id, exc)
        view.stop()
        return None
    try:
        await view.wait()
    except asyncio.CancelledError:
        # Shutting down: the buttons would lead nowhere; the service tells the member.
        view.stop()
        await asyncio.shield(_quietly(edit_prompt(content=editing.CONFIRM_RESTARTING, view=None)))
        raise
    if view.confirmed and view.click is not None:
        await _quietly(edit_prompt(content=request.confirmed_text, view=None))
        return view.click
    if view.confirmed is None:
        await _quietly(edit_prompt(content=request.timed_out_text, view=None))
    return None
