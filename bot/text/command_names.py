"""The names Discord shows for Retouch's commands, options and fixed choices, so each
language can have its own (the code and PRODUCT.md keep the English ones).

Only marked here for the catalogues: the command tree's translator (bot/discord_app/
command_translator.py) looks each name up by its context. A name Discord would refuse
(see `is_valid_name`) stays English. No Discord types.
"""

from __future__ import annotations

import re

from bot.text.i18n import NP_

# TRANSLATORS: contexts. "command name" and "option name": what a member types after "/";
# lowercase, no spaces, 1-32 letters, digits, "-" or "_" (e.g. "bearbeiten", "編集").
# "Apps menu name": shown in the Apps menu, up to 32 characters, spaces allowed.
# "choice": a fixed value offered in a command's option list, up to 100 characters.
COMMAND = "command name"
OPTION = "option name"
MENU = "Apps menu name"
CHOICE = "choice"

COMMAND_NAMES = (
    NP_("command name", "edit"),
    NP_("command name", "quota"),
    NP_("command name", "set"),
    NP_("command name", "reset"),
    NP_("command name", "default"),
    NP_("command name", "role"),
    NP_("command name", "clear"),
    NP_("command name", "show"),
    NP_("command name", "report"),
    NP_("command name", "budget"),
    NP_("command name", "pause"),
    NP_("command name", "resume"),
    NP_("command name", "settings"),
    NP_("command name", "blocked-words"),
    NP_("command name", "add"),
    NP_("command name", "remove"),
    NP_("command name", "list"),
    NP_("command name", "log-channel"),
    NP_("command name", "models"),
    NP_("command name", "max-images"),
    NP_("command name", "safety"),
    NP_("command name", "usage"),
)
MENU_NAMES = (NP_("Apps menu name", "Edit image"),)
OPTION_NAMES = (
    NP_("option name", "image"),
    NP_("option name", "prompt"),
    NP_("option name", "mask"),
    NP_("option name", "model"),
    NP_("option name", "size"),
    NP_("option name", "quality"),
    NP_("option name", "n"),
    NP_("option name", "output_format"),
    NP_("option name", "background"),
    NP_("option name", "image2"),
    NP_("option name", "image3"),
    NP_("option name", "image4"),
    NP_("option name", "region"),
    NP_("option name", "mask_preview"),
    NP_("option name", "user"),
    NP_("option name", "limit"),
    NP_("option name", "period"),
    NP_("option name", "role"),
    NP_("option name", "server_default"),
    NP_("option name", "public"),
    NP_("option name", "amount"),
    NP_("option name", "hours"),
    NP_("option name", "words"),
    NP_("option name", "channel"),
    NP_("option name", "allowed"),
    NP_("option name", "level"),
)
# png, jpeg and webp are file types: the same in every language.
CHOICE_NAMES = (
    NP_("choice", "auto"),
    NP_("choice", "low"),
    NP_("choice", "medium"),
    NP_("choice", "high"),
    NP_("choice", "standard"),
    NP_("choice", "opaque"),
    NP_("choice", "transparent"),
    NP_("choice", "day"),
    NP_("choice", "week"),
    NP_("choice", "month"),
    NP_("choice", "off"),
    NP_("choice", "prompts"),
    NP_("choice", "images"),
)

# Discord's rule for slash-command and option names (any language).
_NAME = re.compile(r"^[-_\w\u0900-\u097F\u0E00-\u0E7F]{1,32}$")


def is_valid_name(name: str) -> bool:
    """Lowercase, 1-32 letters, digits (any script), "-" or "_"; Devanagari and Thai marks too."""
    return bool(_NAME.match(name)) and name == name.lower() and all(c.isalnum() or c in "-_" or _thai_or_deva(c) for c in name)


def _thai_or_deva(c: str) -> bool:
    return "\u0900" <= c <= "\u097F" or "\u0E00" <= c <= "\u0E7F"


def is_valid_menu_name(name: str) -> bool:
    return 1 <= len(name) <= 32 and name.strip() == name


def is_valid_text(text: str, most: int = 100) -> bool:
    """A description or a choice name: 1-100 characters."""
    return 1 <= len(text) <= most
