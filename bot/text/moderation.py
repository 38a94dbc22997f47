"""What members and moderators read about a server's own rules (no Discord types)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.text.edit_summary import plural
from bot.text.i18n import N_, lazy_texts, num, t, tn


def _code_list(names: Sequence[str]) -> str:
    return ", ".join(f"`{n}`" for n in names)


def model_not_allowed(model: str, allowed: Sequence[str]) -> str:
    if not allowed:
        return t("None of the models this server allows is offered by the bot right now. Ask a moderator to check `/settings models`.")
    return t(
        "This server doesn't allow `%(model)s`. Pick one of %(allowed)s with the `model` option.",
        model=model[:60], allowed=_code_list(allowed),
    )


def too_many_images(asked: int, most: int) -> str:
    return t(
        "This server allows at most %(most)s per edit and you asked for %(asked)s. Set `n` to %(limit)s or less.",
        most=plural(most, "image"), asked=num(asked), limit=most,
    )


def blocked_word(word: str) -> str:
    return t(
        "Your prompt contains “%(word)s”, which this server's moderators have blocked. "
        "Rephrase it and try again; nothing was reserved or sent.",
        word=word,
    )


def unknown_models(unknown: Sequence[str], accepted: Sequence[str]) -> str:
    return tn(
        "Unknown model %(models)s. Accepted: %(accepted)s, comma-separated, or `all` to allow every model again.",
        "Unknown models %(models)s. Accepted: %(accepted)s, comma-separated, or `all` to allow every model again.",
        len(unknown), models=_code_list([u[:60] for u in unknown]), accepted=_code_list(accepted),
    )


def word_too_long(word: str, most: int) -> str:
    return t("“%(word)s…” is longer than %(most)s characters; block a shorter word or phrase.", word=word[:40], most=num(most))


def too_many_words(have: int, adding: int, most: int) -> str:
    return t(
        "A server can block at most %(most)s words or phrases; this one has %(have)s and you tried to add %(adding)s. "
        "Remove some with `/settings blocked-words remove` first.",
        most=num(most), have=num(have), adding=num(adding),
    )


_TEXTS = {
    "NO_WORDS": N_("Give one or more words or phrases, separated by commas, e.g. `words:dragon, red panda`."),
    # Discord refused a moderator command because the member lacks its default permission.
    "MISSING_PERMISSIONS": N_("Only moderators (Manage Server) can use this command."),
}
__getattr__ = lazy_texts(_TEXTS)
