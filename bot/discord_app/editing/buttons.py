"""The buttons under results and placeholders, as they are sent.

Their custom ids carry the edit's id (`retouch:reroll:123`); clicks are answered by the
`DynamicItem`s of `button_actions` (registered by cogs/result_buttons.py), in this process
or in the next one after a restart, from the state in the database and on disk. The views
built here are stopped before they are sent: discord.py then keeps nothing in memory per
message.
"""

from __future__ import annotations

import discord

from bot.text import editing

ACTIONS = ("again", "reroll", "delete", "cancel")
PATTERN = r"retouch:{action}:(?P<id>[0-9]{{1,20}})"

# (emoji, style) as members see them; the labels are in bot/text/editing.py.
LOOKS: dict[str, tuple[str, discord.ButtonStyle]] = {
    "again": ("✏️", discord.ButtonStyle.primary),
    "reroll": ("🎲", discord.ButtonStyle.secondary),
    "delete": ("🗑️", discord.ButtonStyle.danger),
    "cancel": ("✖️", discord.ButtonStyle.secondary),
}


def custom_id(action: str, edit_id: int) -> str:
    return f"retouch:{action}:{edit_id}"


def button(action: str, edit_id: int) -> discord.ui.Button:
    emoji, style = LOOKS[action]
    return discord.ui.Button(label=editing.BUTTON_LABELS[action], emoji=emoji, style=style, custom_id=custom_id(action, edit_id))


def _sent_only(*buttons: discord.ui.Button) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for item in buttons:
        view.add_item(item)
    view.stop()  # answered by the registered DynamicItems, not by this object
    return view


def result_view(edit_id: int) -> discord.ui.View:
    return _sent_only(*(button(action, edit_id) for action in ("again", "reroll", "delete")))


def cancel_view(edit_id: int) -> discord.ui.View:
    return _sent_only(button("cancel", edit_id))
