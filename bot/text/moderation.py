"""What members and moderators read about a server's own rules (no Discord types)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.text.edit_summary import plural


def _code_list(names: Sequence[str]) -> str:
    return ", ".join(f"`{n}`" for n in names)


def model_not_allowed(model: str, allowed: Sequence[str]) -> str:
    if not allowed:
        return "None of the models this server allows is offered by the bot right now. Ask a moderator to check `/settings models`."
    return f"This server doesn't allow `{model[:60]}`. Pick one of {_code_list(allowed)} with the `model` option."


def too_many_images(asked: int, most: int) -> str:
    return f"This server allows at most {plural(most, 'image')} per edit and you asked for {asked}. Set `n` to {most} or less."


def blocked_word(word: str) -> str:
    return (
        f"Your prompt contains “{word}”, which this server's moderators have blocked. "
        "Rephrase it and try again; nothing was reserved or sent."
    )


def unknown_models(unknown: Sequence[str], accepted: Sequence[str]) -> str:
    return (
        f"Unknown model{'s' if len(unknown) > 1 else ''} {_code_list([u[:60] for u in unknown])}. "
        f"Accepted: {_code_list(accepted)}, comma-separated, or `all` to allow every model again."
    )


NO_WORDS = "Give one or more words or phrases, separated by commas, e.g. `words:dragon, red panda`."


def word_too_long(word: str, most: int) -> str:
    return f"“{word[:40]}…” is longer than {most} characters; block a shorter word or phrase."


def too_many_words(have: int, adding: int, most: int) -> str:
    return (
        f"A server can block at most {most} words or phrases; this one has {have} and you tried to add {adding}. "
        "Remove some with `/settings blocked-words remove` first."
    )


# Discord refused a moderator command because the member lacks its default permission.
MISSING_PERMISSIONS = "Only moderators (Manage Server) can use this command."
