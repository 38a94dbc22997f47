"""Which language a text is written in, and how a sentence is looked up in it.

Every text function in bot/text writes its sentences with `t()` / `tn()`, which read the
language of the reply being written from a context variable. The Discord side picks it
(`language(interaction.locale)`), the edit pipeline from the locales its order carries;
nothing else needs to pass it along. English is the source language: a sentence missing
from a catalogue, empty, or whose placeholders differ from the English one, is written in
English (per sentence, never an error).

Placeholders are named (`%(name)s`) so translators can move them. Numbers and money are
formatted for the language with Babel (`num()`, `money()`). No Discord types here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal

from bot.text import catalogues

log = logging.getLogger(__name__)

SOURCE = "en"

# Discord's locale names (interaction.locale, guild_locale) and the catalogue of each.
DISCORD_LOCALES: Mapping[str, str] = {
    "de": "de",
    "es-ES": "es_ES",
    "fr": "fr",
    "pt-BR": "pt_BR",
    "ja": "ja",
    "zh-CN": "zh_CN",
}

_current: ContextVar[str] = ContextVar("retouch_language", default=SOURCE)
# The server's language (Discord's guild_locale), for what its moderators read in the
# audit channel, while the reply being written is in the member's own language.
_server: ContextVar[str] = ContextVar("retouch_server_language", default=SOURCE)


def catalogue_locale(locale: object) -> str:
    """The catalogue for a Discord locale (a string or discord's Locale enum, whose value is
    the string), English when Retouch has none for it."""
    if locale is None:
        return SOURCE
    name = str(getattr(locale, "value", locale))
    if name in DISCORD_LOCALES:
        return DISCORD_LOCALES[name]
    if name in DISCORD_LOCALES.values():
        return name
    return SOURCE


def current() -> str:
    """The catalogue locale of the reply being written ("en", "de", "es_ES", ...)."""
    return _current.get()


@contextmanager
def language(locale: object) -> Iterator[str]:
    """Write every text inside in this (Discord or catalogue) locale."""
    token = _current.set(catalogue_locale(locale))
    try:
        yield _current.get()
    finally:
        _current.reset(token)


# ----- markers: what `pybabel extract` collects without translating now ---------------------


def N_(msgid: str) -> str:
    """Marks an English sentence for the catalogues; translated where it is used (`t(X)`)."""
    return msgid


def NP_(context: str, msgid: str) -> str:
    """Marks a sentence with a context (command names) for the catalogues."""
    return msgid


# ----- lookups ----------------------------------------------------------------------------


def _fill(text: str, source: str, values: Mapping[str, Any]) -> str:
    if not values:
        return text
    try:
        return text % values
    except (KeyError, ValueError, TypeError):
        if text is source:
            raise
        log.warning("translation with broken placeholders in %s: %r", current(), source[:80])
        return source % values


def t(msgid: str, **values: Any) -> str:
    """`msgid` in the current language, its `%(name)s` placeholders filled with `values`."""
    found = catalogues.lookup(current(), None, msgid)
    return _fill(found or msgid, msgid, values)


def tn(singular: str, plural: str, n: int, **values: Any) -> str:
    """The singular or plural form for `n` (the language's own plural rules). `%(n)s` is
    `n` written for the language unless `values` gives it."""
    values.setdefault("n", num(n))
    found = catalogues.lookup_plural(current(), None, singular, n)
    source = singular if n == 1 else plural
    return _fill(found or source, source, values)


# Fixed texts with a value filled in once (a command description naming a limit): the
# English text as Discord gets it -> its msgid and values, so it can still be translated.
_filled: dict[str, tuple[str, dict[str, Any]]] = {}


def N_filled(msgid: str, **values: Any) -> str:
    """Like N_, for a fixed English text with placeholders filled now (command descriptions)."""
    text = msgid % values
    _filled[text] = (msgid, values)
    return text


def in_locale(locale: object, text: str, context: str | None = None) -> str | None:
    """The translation of a fixed English text in a locale, None when there is none (the
    command tree's translator keeps Discord's English then)."""
    msgid, values = _filled.get(text, (text, {}))
    found = catalogues.lookup(catalogue_locale(locale), context, msgid)
    if not found:
        return None
    token = _current.set(catalogue_locale(locale))
    try:
        return _fill(found, msgid, values)
    finally:
        _current.reset(token)


# ----- numbers and money --------------------------------------------------------------------


def _babel_locale() -> str:
    return current()


def num(value: int | float) -> str:
    """A number with the language's digit grouping and decimal sign (1,234 · 1.234 · 1 234)."""
    return format_decimal(value, locale=_babel_locale())


def decimal(value: float, digits: int) -> str:
    """A number with exactly `digits` decimals, in the language's notation."""
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(round(value, digits), format=pattern, locale=_babel_locale())


def money(amount_usd: float) -> str:
    """US dollars for the language ($0.04 · 0,04 $ · US$0.04); sub-cent amounts keep four
    decimals so a cheap edit does not read as free."""
    if 0 < abs(amount_usd) < 0.01:
        pattern = Locale.parse(_babel_locale()).currency_formats["standard"].pattern.replace("0.00", "0.0000")
        return format_currency(amount_usd, "USD", format=pattern, currency_digits=False, locale=_babel_locale())
    return format_currency(amount_usd, "USD", locale=_babel_locale())


def lazy_texts(texts: Mapping[str, Any]) -> Callable[[str], Any]:
    """A module `__getattr__` (PEP 562) serving a module's fixed texts in the current
    language: `edit_status.REFUNDED` is looked up each time it is read. A value is a marked
    msgid (`N_`) or a function building the text (a Panel, a dict of labels).
    Read them as `module.NAME`: `from module import NAME` would fix the language at import."""

    def __getattr__(name: str) -> Any:
        try:
            value = texts[name]
        except KeyError:
            raise AttributeError(name) from None
        return value() if callable(value) else t(value)

    return __getattr__


def use_language(locale: object, *, server: object = None) -> str:
    """Write every text of the current task (and the tasks it starts) in this locale, and
    audit-channel texts (`server_language()`) in the server's; for the Discord side at the
    start of an interaction's own task, and for the edit service at the start of an edit."""
    _current.set(catalogue_locale(locale))
    _server.set(catalogue_locale(server))
    return _current.get()


@contextmanager
def server_language() -> Iterator[str]:
    """Write the texts inside in the server's language (the audit channel's)."""
    token = _current.set(_server.get())
    try:
        yield _current.get()
    finally:
        _current.reset(token)


def date_text(moment: datetime, pattern: str) -> str:
    """A date in a CLDR pattern ("MMM dd", "y"), month names in the current language.
    (Times for members are Discord timestamps instead: each client shows its own.)"""
    return format_date(moment, pattern, locale=_babel_locale())
