"""The command tree as the sync sends it, localized from the catalogues: every name and
description Discord's rules allow, and a translation Discord would refuse left out."""

from __future__ import annotations

from pathlib import Path

import discord

from bot.config import Settings
from bot.discord_app.command_sync import payload
from bot.discord_app.command_translator import CatalogueTranslator
from bot.discord_app.retouch_bot import Retouch, discover_extensions
from bot.text import command_names, edit_commands, moderation_commands
from tests.fakes.discord_server import _naming_problems
from tests.support.catalogues import catalogues_from, write_catalogue


async def _synced_payload() -> list[dict]:
    bot = Retouch(Settings(discord_token="t" * 30, image_api_key="k" * 30, database_path=Path("unused.db")))
    for name in discover_extensions():
        await bot.load_extension(name)
    await bot.tree.set_translator(CatalogueTranslator())
    return await payload(bot.tree)


def _problems(commands: list[dict]) -> list[str]:
    return [p for cmd in commands for p in _naming_problems(cmd, slash=cmd.get("type", 1) == 1)]


def _find(items: list[dict], name: str) -> dict:
    return next(i for i in items if i["name"] == name)


async def test_the_real_catalogues_give_a_payload_discord_accepts():
    commands = await _synced_payload()
    assert _problems(commands) == []
    assert {c["name"] for c in commands} >= {"edit", "usage", "quota", "settings", "Edit image"}


async def test_every_name_in_the_tree_is_marked_for_translation():
    commands = await _synced_payload()
    marked = set(command_names.COMMAND_NAMES) | set(command_names.OPTION_NAMES) | set(command_names.MENU_NAMES)

    def names(items: list[dict]) -> set[str]:
        out = set()
        for item in items:
            out.add(item["name"])
            out |= names(item.get("options") or [])
        return out

    assert names(commands) - marked == set(), "add the new names to bot/text/command_names.py"


async def test_translations_reach_the_payload_and_bad_ones_are_dropped(tmp_path):
    write_catalogue(
        tmp_path, "de",
        {
            (command_names.COMMAND, "edit"): "bearbeiten",
            (command_names.COMMAND, "usage"): "Nutzung",  # a capital: Discord refuses it
            (command_names.COMMAND, "quota"): "bild kontingent",  # a space: refused
            (command_names.OPTION, "prompt"): "anweisung",
            (command_names.MENU, "Edit image"): "Bild bearbeiten",  # menus may have both
            (command_names.CHOICE, "week"): "Woche",
            edit_commands.EDIT: "Bearbeite ein Bild mit KI: häng es an und beschreib die Änderung",
            edit_commands.EDIT_OPTIONS["model"]: "x" * 101,  # too long: refused
            "1-%(most)s; %(most)s is the bot's maximum (no extra limit)": "1-%(most)s; %(most)s ist das Maximum des Bots",
        },
    )
    write_catalogue(tmp_path, "ja", {(command_names.COMMAND, "edit"): "編集", moderation_commands.USAGE: "残りの画像数とリセット時刻"})
    with catalogues_from(tmp_path):
        commands = await _synced_payload()
    assert _problems(commands) == []
    edit, usage, quota = _find(commands, "edit"), _find(commands, "usage"), _find(commands, "quota")
    assert edit["name_localizations"] == {"de": "bearbeiten", "ja": "編集"}
    assert edit["description_localizations"]["de"].startswith("Bearbeite ein Bild")
    assert "name_localizations" not in usage or "de" not in (usage["name_localizations"] or {})
    assert usage["description_localizations"] == {"ja": "残りの画像数とリセット時刻"}
    assert not (quota.get("name_localizations") or {})
    options = {o["name"]: o for o in edit["options"]}
    assert options["prompt"]["name_localizations"] == {"de": "anweisung"}
    assert "de" not in (options["model"].get("description_localizations") or {})
    menu = next(c for c in commands if c["name"] == "Edit image" and c["type"] == discord.AppCommandType.message.value)
    assert menu["name_localizations"] == {"de": "Bild bearbeiten"}
    quota_set = _find(quota["options"], "set")
    week = _find(_find(quota_set["options"], "period")["choices"], "week")
    assert week["name_localizations"] == {"de": "Woche"}
    max_images = _find(_find(commands, "settings")["options"], "max-images")
    n = _find(max_images["options"], "n")
    assert n["description_localizations"]["de"] == "1-10; 10 ist das Maximum des Bots"
