"""Clicks on result and placeholder buttons (Edit again, Re-roll, Delete, Cancel).

Registered as `DynamicItem`s, so a click is answered by whichever process runs, after any
restart: the custom id names the edit, the database and disk hold the rest.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import discord
from discord.ext import commands

from bot.discord_app.editing import button_actions as result_actions
from bot.discord_app.editing.buttons import PATTERN, button

if TYPE_CHECKING:
    from bot.discord_app.retouch_bot import Retouch


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


class EditAgain(_EditButton, template=PATTERN.format(action="again")):
    action = "again"

    async def callback(self, interaction: discord.Interaction) -> None:
        await result_actions.edit_again(interaction, self.edit_id)


class Reroll(_EditButton, template=PATTERN.format(action="reroll")):
    action = "reroll"

    async def callback(self, interaction: discord.Interaction) -> None:
        await result_actions.reroll(interaction, self.edit_id)


class Delete(_EditButton, template=PATTERN.format(action="delete")):
    action = "delete"

    async def callback(self, interaction: discord.Interaction) -> None:
        await result_actions.delete(interaction, self.edit_id)


class Cancel(_EditButton, template=PATTERN.format(action="cancel")):
    action = "cancel"

    async def callback(self, interaction: discord.Interaction) -> None:
        await result_actions.cancel(interaction, self.edit_id)


ITEMS = (EditAgain, Reroll, Delete, Cancel)


class ResultButtons(commands.Cog):
    def __init__(self, bot: "Retouch") -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(*ITEMS)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(*ITEMS)


async def setup(bot: "Retouch") -> None:
    await bot.add_cog(ResultButtons(bot))
