"""What /settings answers when a moderator changes something (no Discord types)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.text import mentions
from bot.text.edit_summary import plural
from bot.text.i18n import N_, lazy_texts, num, t
from bot.text.panel import Panel
from bot.text.settings_summary import code_list

__getattr__ = lazy_texts({
    "MODERATORS_ONLY": N_(
        "Only moderators can change or see Retouch's server settings (Manage Server permission or a moderator role)."
    ),
    "LOG_CHANNEL_OFF": lambda: Panel(t("Audit log turned off"), [t("Edits are no longer logged in a channel.")]),
})


def log_channel_set(channel_id: int, problem: str | None) -> Panel:
    lines = [t("Every edit, refusal and provider rejection is logged in %(channel)s.", channel=mentions.channel(channel_id))]
    if problem:
        lines.append(f"⚠️ {problem}")
    return Panel(t("Audit log channel set"), lines)


def models_updated(models: Sequence[str], *, restricted: bool, bot_default: str) -> Panel:
    """`models`: what members may use now, the server's default first."""
    title = t("Allowed models updated")
    if not restricted:
        return Panel(title, [t("Members may use every model the bot offers: %(models)s.", models=code_list(models))])
    lines = [t("Members may use only %(models)s.", models=code_list(models))]
    if models and models[0] != bot_default:
        lines.append(t("Edits without a `model` use `%(model)s` here (the bot's default is not allowed).", model=models[0]))
    return Panel(title, lines)


def max_images_updated(n: int) -> Panel:
    return Panel(t("Max images updated"), [t("One edit may ask for at most %(images)s here.", images=plural(n, "image"))])


def _quoted(words: Sequence[str]) -> str:
    return ", ".join(f"“{w}”" for w in words)


def words_blocked(added: Sequence[str], already: Sequence[str]) -> Panel:
    lines = []
    if added:
        lines.append(t("Blocked: %(words)s.", words=_quoted(added)))
    if already:
        lines.append(t("Already blocked: %(words)s.", words=_quoted(already)))
    lines.append(t("Matching ignores case and accents and respects word boundaries (“ass” does not block “class”)."))
    return Panel(t("Blocked words updated"), lines)


def words_unblocked(removed: Sequence[str], absent: Sequence[str]) -> Panel:
    lines = []
    if removed:
        lines.append(t("No longer blocked: %(words)s.", words=_quoted(removed)))
    if absent:
        lines.append(t("Not on the list: %(words)s.", words=_quoted(absent)))
    return Panel(t("Blocked words updated"), lines)


def blocked_words(words: Sequence[str]) -> Panel:
    title = t("Blocked words")
    if not words:
        return Panel(title, [t("No words are blocked. Add some with `/settings blocked-words add words:…`.")])
    return Panel(title, [
        t("%(count)s blocked (spoilered; click to read):", count=num(len(words))),
        ", ".join(f"||{w}||" for w in words),
    ])
