"""Localized command names, descriptions, option names and choices for Discord's picker,
from the same catalogues as every reply (bot/text/command_names.py marks the names).

A translation Discord would refuse (a name with a space or a capital, over 32 characters;
a description or choice over 100) is dropped with a warning and Discord keeps the English:
one bad catalogue entry must never break the sync of every command.
"""

from __future__ import annotations

import asyncio
import logging

import discord
from discord import app_commands
from discord.app_commands import TranslationContextLocation as Where

from bot.text import catalogues, command_names
from bot.text.i18n import SOURCE, catalogue_locale, in_locale

log = logging.getLogger("retouch.i18n")

_NAMES = {Where.command_name, Where.group_name, Where.parameter_name}


def _context(where: Where, data: object) -> str | None:
    if where in (Where.command_name, Where.group_name):
        return command_names.MENU if isinstance(data, app_commands.ContextMenu) else command_names.COMMAND
    if where is Where.parameter_name:
        return command_names.OPTION
    if where is Where.choice_name:
        return command_names.CHOICE
    return None  # descriptions: the English text is the message id


def usable(text: str, where: Where, data: object) -> bool:
    """Whether Discord accepts `text` at this place of the command tree."""
    if where in _NAMES:
        if isinstance(data, app_commands.ContextMenu):
            return command_names.is_valid_menu_name(text)
        return command_names.is_valid_name(text)
    return command_names.is_valid_text(text)


class CatalogueTranslator(app_commands.Translator):
    async def load(self) -> None:
        # Reading the .po files takes tens of ms: not on the event loop.
        await asyncio.to_thread(catalogues.loaded)

    async def translate(
        self, string: app_commands.locale_str, locale: discord.Locale, context: app_commands.TranslationContext
    ) -> str | None:
        if catalogue_locale(locale) == SOURCE:
            return None
        where, data = context.location, context.data
        found = in_locale(locale, string.message, _context(where, data))
        if found is None:
            return None
        if not usable(found, where, data):
            log.warning(
                "translation for %s %r in %s dropped (Discord would refuse %r); the English is kept",
                where.name, string.message, locale.value, found,
            )
            return None
        return found
