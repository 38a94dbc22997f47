"""Buttons on results and placeholders that keep working after a restart.

Each is a `DynamicItem`: its custom id carries the edit's id (`retouch:reroll:123`), the
state lives in the database and on disk, so a click after a restart is handled by the
new process like any other. What a click does is in `result_actions`.
"""

from __future__ import annotations

import re

import discord


def _actions():  # type: ignore[no-untyped-def]
    # Imported on click: the actions start edits through the interaction surface, which
    # itself puts these buttons on messages.
    from bot.discord_app import result_actions

    return result_actions


class _EditButton(
    discord.ui.DynamicItem[discord.ui.Button], template=r"retouch:(?:again|reroll|delete|cancel):(?P<id>[0-9]{1,20})"
):
    """A button that names an edit by id (each subclass narrows the template to its action)."""

    label = ""
    emoji: str | None = None
    style = discord.ButtonStyle.secondary
    action = ""

    def __init__(self, edit_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label=self.label, emoji=self.emoji, style=self.style, custom_id=f"retouch:{self.action}:{edit_id}"
            )
        )
        self.edit_id = edit_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str], /
    ) -> "_EditButton":
        return cls(int(match["id"]))


class EditAgainButton(_EditButton, template=r"retouch:again:(?P<id>[0-9]{1,20})"):
    label, emoji, style, action = "Edit again", "✏️", discord.ButtonStyle.primary, "again"

    async def callback(self, interaction: discord.Interaction) -> None:
        await _actions().edit_again(interaction, self.edit_id)


class RerollButton(_EditButton, template=r"retouch:reroll:(?P<id>[0-9]{1,20})"):
    label, emoji, style, action = "Re-roll", "🎲", discord.ButtonStyle.secondary, "reroll"

    async def callback(self, interaction: discord.Interaction) -> None:
        await _actions().reroll(interaction, self.edit_id)


class DeleteButton(_EditButton, template=r"retouch:delete:(?P<id>[0-9]{1,20})"):
    label, emoji, style, action = "Delete", "🗑️", discord.ButtonStyle.danger, "delete"

    async def callback(self, interaction: discord.Interaction) -> None:
        await _actions().delete(interaction, self.edit_id)


class CancelButton(_EditButton, template=r"retouch:cancel:(?P<id>[0-9]{1,20})"):
    label, emoji, style, action = "Cancel", "✖️", discord.ButtonStyle.secondary, "cancel"

    async def callback(self, interaction: discord.Interaction) -> None:
        await _actions().cancel(interaction, self.edit_id)


DYNAMIC_ITEMS: tuple[type[discord.ui.DynamicItem], ...] = (EditAgainButton, RerollButton, DeleteButton, CancelButton)


def result_view(edit_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for button in (EditAgainButton, RerollButton, DeleteButton):
        view.add_item(button(edit_id))
    return view


def cancel_view(edit_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(CancelButton(edit_id))
    return view
