"""A server's own rules for edits: which models, how many images, which words.

`ServerRules` is the edit service's policy for them (checked after the option checks and
before anything is reserved or sent), the source of a server's default model, and the
one place moderators' values are validated before they are stored. No Discord here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from bot.edits.blocked_words import BlockedWordMatcher, normalize
from bot.edits.order import EditOptions, EditOrder, Requester
from bot.errors import UserFacingError
from bot.store.server_settings import (
    MAX_BLOCKED_WORD_CHARS,
    MAX_BLOCKED_WORDS,
    BlockedWord,
    ServerSettings,
    ServerSettingsStore,
    TooManyBlockedWords,
)
from bot.text import moderation

# What a moderator types to allow every model again.
ALL_MODELS_WORDS = frozenset({"all", "*", "any", "every"})


@dataclass(frozen=True)
class WordChange:
    changed: list[str]  # added or removed, as typed
    unchanged: list[str]  # already blocked (add) or not blocked (remove)


class ServerRules:
    def __init__(
        self, store: ServerSettingsStore, *, bot_models: Callable[[], list[str]], blocked_words: Iterable[str] = ()
    ) -> None:
        """`bot_models`: every model the bot offers, its default first (EditService.allowed_models).
        `blocked_words`: BLOCKED_WORDS, refused in every server and in DMs."""
        self.store = store
        self._bot_models = bot_models
        self._matchers: dict[int, tuple[tuple[BlockedWord, ...], BlockedWordMatcher]] = {}
        self._bot_wide = BlockedWordMatcher((normalize(w), w) for w in blocked_words)

    # -- reading ------------------------------------------------------------------------

    async def settings(self, guild_id: int) -> ServerSettings:
        return await self.store.get(guild_id)

    def models_allowed_by(self, settings: ServerSettings | None) -> list[str]:
        """The models members of a server may use, in the bot's order (its default first)."""
        offered = self._bot_models()
        if settings is None or not settings.allowed_models:
            return offered
        return [m for m in offered if m in settings.allowed_models]

    async def models_for(self, guild_id: int | None) -> list[str]:
        return self.models_allowed_by(await self.store.get(guild_id) if guild_id is not None else None)

    async def default_model(self, requester: Requester) -> str | None:
        """The model an edit uses when the member picks none: the bot's default, unless the
        server does not allow it; then the first model it allows."""
        if requester.guild_id is None:
            return None
        allowed = await self.models_for(requester.guild_id)
        return allowed[0] if allowed else None

    def _matcher(self, settings: ServerSettings) -> BlockedWordMatcher:
        cached = self._matchers.get(settings.guild_id)
        if cached is not None and cached[0] is settings.blocked_words:
            return cached[1]
        matcher = BlockedWordMatcher((w.key, w.word) for w in settings.blocked_words)
        self._matchers[settings.guild_id] = (settings.blocked_words, matcher)
        return matcher

    # -- the policy -----------------------------------------------------------------------

    async def check(self, order: EditOrder, options: EditOptions) -> None:
        guild_id = order.requester.guild_id
        if guild_id is None:
            # A DM: only the bot-wide rules apply.
            self._refuse_blocked(self._bot_wide, options.prompt)
            return
        settings = await self.store.get(guild_id)
        allowed = self.models_allowed_by(settings)
        if settings.allowed_models and options.model not in allowed:
            raise UserFacingError(lambda: moderation.model_not_allowed(options.model, allowed), reason_code="model_not_allowed")
        if settings.max_images is not None and options.n > settings.max_images:
            raise UserFacingError(lambda: moderation.too_many_images(options.n, settings.max_images), reason_code="too_many_images")
        self._refuse_blocked(self._matcher(settings), options.prompt)
        self._refuse_blocked(self._bot_wide, options.prompt)

    @staticmethod
    def _refuse_blocked(matcher: BlockedWordMatcher, prompt: str) -> None:
        match = matcher.find(prompt)
        if match is not None:
            raise UserFacingError(lambda: moderation.blocked_word(match.word), reason_code="blocked_word")

    # -- moderators' changes ------------------------------------------------------------

    def parse_models(self, text: str | None) -> list[str]:
        """Model names from a comma-separated list; [] (every model) for nothing or `all`."""
        names = [part.strip() for part in (text or "").split(",") if part.strip()]
        if not names or (len(names) == 1 and names[0].lower() in ALL_MODELS_WORDS):
            return []
        offered = self._bot_models()
        by_lower = {m.lower(): m for m in offered}
        unknown = [n for n in names if n.lower() not in by_lower]
        if unknown:
            raise UserFacingError(lambda: moderation.unknown_models(unknown, offered))
        return [by_lower[n.lower()] for n in names]

    async def set_allowed_models(self, guild_id: int, text: str | None) -> ServerSettings:
        return await self.store.set_allowed_models(guild_id, self.parse_models(text))

    async def set_max_images(self, guild_id: int, n: int) -> ServerSettings:
        return await self.store.set_max_images(guild_id, n)

    async def set_log_channel(self, guild_id: int, channel_id: int | None) -> ServerSettings:
        return await self.store.set_log_channel(guild_id, channel_id)

    @staticmethod
    def parse_words(text: str) -> list[BlockedWord]:
        words: list[BlockedWord] = []
        for part in text.split(","):
            word = " ".join(part.split())
            if not word:
                continue
            if len(word) > MAX_BLOCKED_WORD_CHARS:
                raise UserFacingError(lambda: moderation.word_too_long(word, MAX_BLOCKED_WORD_CHARS))
            key = normalize(word)
            if key:
                words.append(BlockedWord(key, word))
        if not words:
            raise UserFacingError(lambda: moderation.NO_WORDS)
        return words

    async def add_blocked_words(self, guild_id: int, text: str, *, added_by: int | None = None) -> WordChange:
        words = self.parse_words(text)
        try:
            added = await self.store.add_blocked_words(guild_id, words, added_by=added_by)
        except TooManyBlockedWords as exc:
            have, adding = exc.have, exc.adding  # `exc` is unbound once the except block ends
            raise UserFacingError(lambda: moderation.too_many_words(have, adding, MAX_BLOCKED_WORDS)) from None
        keys = {w.key for w in added}
        return WordChange([w.word for w in added], list(dict.fromkeys(w.word for w in words if w.key not in keys)))

    async def remove_blocked_words(self, guild_id: int, text: str) -> WordChange:
        words = self.parse_words(text)
        # Words stored by an older version may carry a key normalized differently: they
        # are found by their spelling normalized today.
        stored = (await self.store.get(guild_id)).blocked_words
        wanted = {w.key for w in words}
        keys = wanted | {s.key for s in stored if normalize(s.word) in wanted}
        removed = await self.store.remove_blocked_words(guild_id, sorted(keys))
        removed = [BlockedWord(normalize(r.word) or r.key, r.word) for r in removed]
        keys = {w.key for w in removed}
        return WordChange([w.word for w in removed], list(dict.fromkeys(w.word for w in words if w.key not in keys)))
