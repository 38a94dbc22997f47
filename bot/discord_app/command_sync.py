"""Application-command sync that does not hit Discord's rate limits on every restart.

A dev guild gets its commands instantly on every start (guild commands update at once).
Global commands are synced only when their JSON differs from what was last synced for
this application; the fingerprint is kept in the database's `meta` table.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Protocol

import discord
from discord import app_commands

log = logging.getLogger("retouch.sync")


class MetaStore(Protocol):
    async def get_meta(self, key: str) -> str | None: ...
    async def set_meta(self, key: str, value: str) -> None: ...


async def payload(tree: app_commands.CommandTree) -> list[dict]:
    """The commands as a sync sends them: with every localized name and description when
    the tree has a translator (a corrected translation is a change worth syncing)."""
    translator = tree.translator
    commands = tree.get_commands()
    if translator is None:
        return [cmd.to_dict(tree) for cmd in commands]
    return [await cmd.get_translated_payload(tree, translator) for cmd in commands]


async def fingerprint(tree: app_commands.CommandTree, application_id: int) -> str:
    payload_ = sorted(await payload(tree), key=lambda c: c["name"])
    blob = json.dumps({"app": application_id, "commands": payload_}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


async def sync_commands(
    tree: app_commands.CommandTree,
    *,
    application_id: int,
    meta: MetaStore,
    dev_guild_id: int | None,
) -> str:
    """Sync as needed; returns a short description for the ready log line."""
    if dev_guild_id is not None:
        guild = discord.Object(id=dev_guild_id)
        tree.copy_global_to(guild=guild)
        synced = await tree.sync(guild=guild)
        return f"{len(synced)} commands synced to dev guild {dev_guild_id}"
    key = "global_commands_fingerprint"
    current = await fingerprint(tree, application_id)
    if await meta.get_meta(key) == current:
        return f"{len(tree.get_commands())} global commands unchanged, not re-synced"
    synced = await tree.sync()
    await meta.set_meta(key, current)
    return f"{len(synced)} global commands synced (they can take up to an hour to appear everywhere)"
