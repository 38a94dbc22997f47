"""The buttons under results and placeholders (Edit again, Re-roll, Delete, Cancel).

Registered as `DynamicItem`s, so a click is answered by whichever process runs, after any
restart; what each click does is in bot/discord_app/editing/button_actions.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from discord.ext import commands

from bot.discord_app.editing.button_actions import BUTTONS

if TYPE_CHECKING:
    from bot.discord_app.retouch_bot import Retouch


class ResultButtonsCog(commands.Cog):
    def __init__(self, bot: "Retouch") -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(*BUTTONS)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(*BUTTONS)


async def setup(bot: "Retouch") -> None:
    await bot.add_cog(ResultButtonsCog(bot))
