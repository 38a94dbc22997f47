"""Small translation catalogues written by a test, so a test can say exactly which
sentences are translated (the real ones are being filled by translators)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

from bot.text import catalogues

# Plural-Forms as bot.text.catalogue_tools writes them.
PLURALS = {"ja": "nplurals=1; plural=0;", "zh_CN": "nplurals=1; plural=0;", "fr": "nplurals=2; plural=(n > 1);"}

Entry = str | tuple[str, str]  # a msgid, or (msgctxt, msgid); a plural: (singular, plural) as the value's key in `plurals`


def write_catalogue(
    locale_dir: Path,
    locale: str,
    messages: Mapping[Entry, str],
    plurals: Mapping[tuple[str, str], tuple[str, ...]] | None = None,
) -> Path:
    catalog = Catalog(locale=locale, domain=catalogues.DOMAIN)
    for key, text in messages.items():
        context, msgid = key if isinstance(key, tuple) else (None, key)
        catalog.add(msgid, text, context=context)
    for (singular, plural), forms in (plurals or {}).items():
        catalog.add((singular, plural), forms)
    if locale in PLURALS:
        catalog.mime_headers = [(k, PLURALS[locale] if k == "Plural-Forms" else v) for k, v in catalog.mime_headers]
    path = locale_dir / locale / "LC_MESSAGES" / f"{catalogues.DOMAIN}.po"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        write_po(f, catalog)
    return path


@contextmanager
def catalogues_from(locale_dir: Path) -> Iterator[None]:
    """The bot reads its translations from `locale_dir` inside; the real ones afterwards."""
    catalogues.load(locale_dir)
    try:
        yield
    finally:
        catalogues.load()
