"""Replying to an interaction correctly whatever state it is in.

Discord shows the first follow-up after a defer with the defer's visibility, so a
"private" error sent after a public "thinking…" would be public. We mark public defers
in `interaction.extras` and remove the placeholder before a private follow-up.
"""

from __future__ import annotations

import logging

import discord

log = logging.getLogger("retouch.replies")

PUBLIC_THINKING = "retouch_public_thinking"


async def defer_public(interaction: discord.Interaction) -> None:
    await interaction.response.defer(thinking=True)
    interaction.extras[PUBLIC_THINKING] = True


def mark_answered(interaction: discord.Interaction) -> None:
    interaction.extras[PUBLIC_THINKING] = False


async def send_private(interaction: discord.Interaction, content: str | None = None, *, embed: discord.Embed | None = None) -> bool:
    """Shows a message only the caller sees; False when Discord no longer lets us answer."""
    kwargs: dict = {"ephemeral": True}
    if embed is not None:
        kwargs["embed"] = embed
    try:
        if not interaction.response.is_done():
            await interaction.response.send_message(content, **kwargs)
            return True
        if interaction.extras.get(PUBLIC_THINKING):
            try:
                await interaction.delete_original_response()
            except discord.HTTPException:
                log.debug("could not remove the thinking placeholder", exc_info=True)
            mark_answered(interaction)
        await interaction.followup.send(content or discord.utils.MISSING, **kwargs)
        return True
    except discord.HTTPException as exc:
        # 10062/50027: the interaction or its token expired; nothing can reach the member now.
        log.warning("could not reply to interaction %s: %s", interaction.id, exc)
        return False
