"""What /settings answers when a moderator changes something (no Discord types)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.text import mentions
from bot.text.edit_summary import plural
from bot.text.panel import Panel
from bot.text.settings_summary import code_list

MODERATORS_ONLY = "Only moderators can change or see Retouch's server settings (Manage Server permission or a moderator role)."

LOG_CHANNEL_OFF = Panel("Audit log turned off", ["Edits are no longer logged in a channel."])


def log_channel_set(channel_id: int, problem: str | None) -> Panel:
    lines = [f"Every edit, refusal and provider rejection is logged in {mentions.channel(channel_id)}."]
    if problem:
        lines.append(f"⚠️ {problem}")
    return Panel("Audit log channel set", lines)


def models_updated(models: Sequence[str], *, restricted: bool, bot_default: str) -> Panel:
    """`models`: what members may use now, the server's default first."""
    if not restricted:
        return Panel("Allowed models updated", [f"Members may use every model the bot offers: {code_list(models)}."])
    lines = [f"Members may use only {code_list(models)}."]
    if models and models[0] != bot_default:
        lines.append(f"Edits without a `model` use `{models[0]}` here (the bot's default is not allowed).")
    return Panel("Allowed models updated", lines)


def max_images_updated(n: int) -> Panel:
    return Panel("Max images updated", [f"One edit may ask for at most {plural(n, 'image')} here."])


def _quoted(words: Sequence[str]) -> str:
    return ", ".join(f"“{w}”" for w in words)


def words_blocked(added: Sequence[str], already: Sequence[str]) -> Panel:
    lines = []
    if added:
        lines.append(f"Blocked: {_quoted(added)}.")
    if already:
        lines.append(f"Already blocked: {_quoted(already)}.")
    lines.append("Matching ignores case and accents and respects word boundaries (“ass” does not block “class”).")
    return Panel("Blocked words updated", lines)


def words_unblocked(removed: Sequence[str], absent: Sequence[str]) -> Panel:
    lines = []
    if removed:
        lines.append(f"No longer blocked: {_quoted(removed)}.")
    if absent:
        lines.append(f"Not on the list: {_quoted(absent)}.")
    return Panel("Blocked words updated", lines)


def blocked_words(words: Sequence[str]) -> Panel:
    if not words:
        return Panel("Blocked words", ["No words are blocked. Add some with `/settings blocked-words add words:…`."])
    return Panel("Blocked words", [f"{len(words)} blocked (spoilered; click to read):", ", ".join(f"||{w}||" for w in words)])
