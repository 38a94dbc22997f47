"""The buttons under results and placeholders, as they are sent.

Their custom ids carry the edit's id (`retouch:reroll:123`); clicks are answered by the
`DynamicItem`s that `cogs/result_buttons.py` registers, in this process or in the next one
after a restart, from the state in the database and on disk. The views built here are
stopped before they are sent: discord.py then keeps nothing in memory per message.
"""

from __future__ import annotations

import discord

ACTIONS = ("again", "reroll", "delete", "cancel")
PATTERN = r"retouch:{action}:(?P<id>[0-9]{{1,20}})"

# (label, emoji, style) as members see them.
LOOKS: dict[str, tuple[str, str, discord.ButtonStyle]] = {
    "again": ("Edit again", "✏️", discord.ButtonStyle.primary),
    "reroll": ("Re-roll", "🎲", discord.ButtonStyle.secondary),
    "delete": ("Delete", "🗑️", discord.ButtonStyle.danger),
    "cancel": ("Cancel", "✖️", discord.ButtonStyle.secondary),
}


def custom_id(action: str, edit_id: int) -> str:
    return f"retouch:{action}:{edit_id}"


def button(action: str, edit_id: int) -> discord.ui.Button:
    label, emoji, style = LOOKS[action]
    return discord.ui.Button(label=label, emoji=emoji, style=style, custom_id=custom_id(action, edit_id))


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
