"""Result images as discord.py file uploads."""

from __future__ import annotations

import io

import discord

from bot.images.delivery_plan import Message


def files_for(message: Message) -> list[discord.File]:
    """One upload per planned file, named as planned (`edit-1.png`, ...)."""
    return [discord.File(io.BytesIO(f.data), filename=f.filename) for f in message.files]
