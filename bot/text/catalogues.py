"""The translations: gettext `.po` catalogues in bot/locale, read straight from the source
files with Babel (no compile step between editing a `.po` and running the bot).

A translation is kept only when it is usable: not empty, not fuzzy, and with exactly the
placeholders of the English sentence; anything else stays English (see `load`'s log).
"""

from __future__ import annotations

import gettext
import logging
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "retouch"
TEMPLATE = LOCALE_DIR / f"{DOMAIN}.pot"

# %(name)s placeholders (and a literal %% ), the only kind bot/text uses.
PLACEHOLDER = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[sdifr]|%%")


def placeholders(text: str) -> list[str]:
    """The named placeholders of a sentence, sorted (how often each appears does not matter)."""
    return sorted({m.group(1) for m in PLACEHOLDER.finditer(text) if m.group(1)})


Key = tuple[str | None, str]


@dataclass
class Catalogue:
    locale: str
    messages: dict[Key, str] = field(default_factory=dict)
    plurals: dict[Key, tuple[str, ...]] = field(default_factory=dict)
    plural_index: Callable[[int], int] = lambda n: int(n != 1)
    dropped: list[str] = field(default_factory=list)  # msgids whose translation was not usable

    def __len__(self) -> int:
        return len(self.messages) + len(self.plurals)


_catalogues: dict[str, Catalogue] = {}
_lock = threading.Lock()
_loaded = False


def catalogue_paths(locale_dir: Path | None = None) -> dict[str, Path]:
    folder = locale_dir if locale_dir is not None else LOCALE_DIR
    return {p.parent.parent.name: p for p in sorted(folder.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))}


def read(path: Path, locale: str) -> Catalogue:
    from babel.messages.pofile import read_po  # only needed while loading

    with path.open("rb") as f:
        po = read_po(f, locale=locale, domain=DOMAIN)
    cat = Catalogue(locale)
    try:
        cat.plural_index = gettext.c2py(po.plural_expr)
    except (ValueError, SyntaxError):
        log.warning("catalogue %s: unusable Plural-Forms %r, using English plurals", locale, po.plural_expr)
    for message in po:
        if not message.id or message.fuzzy:
            continue
        if isinstance(message.id, (list, tuple)):
            singular, plural = message.id[0], message.id[1]
            forms = tuple(message.string or ())
            allowed = (placeholders(singular), placeholders(plural))
            if not any(forms):
                continue
            if any(not form or placeholders(form) not in allowed for form in forms):
                cat.dropped.append(singular)
                continue
            cat.plurals[(message.context, singular)] = forms
        else:
            text = message.string
            if not text:
                continue
            if placeholders(text) != placeholders(message.id):
                cat.dropped.append(message.id)
                continue
            cat.messages[(message.context, message.id)] = text
    if cat.dropped:
        log.warning(
            "catalogue %s: %d translations kept in English (placeholders differ): %s",
            locale, len(cat.dropped), "; ".join(repr(m[:50]) for m in cat.dropped[:5]),
        )
    return cat


def load(locale_dir: Path | None = None, locales: Iterable[str] | None = None) -> dict[str, Catalogue]:
    """Read every catalogue (a few tens of ms; call it before the event loop is busy)."""
    global _catalogues, _loaded
    wanted = set(locales) if locales is not None else None
    found = {
        name: read(path, name)
        for name, path in catalogue_paths(locale_dir).items()
        if wanted is None or name in wanted
    }
    with _lock:
        _catalogues = found  # one swap: a reader sees the old catalogues or the new, never half
        _loaded = True
    return found


def loaded() -> dict[str, Catalogue]:
    """The catalogues, read on first use (`load` reads them again)."""
    if not _loaded:
        with _lock:
            pending = not _loaded
        if pending:
            load()
    return _catalogues


def lookup(locale: str, context: str | None, msgid: str) -> str | None:
    if locale == "en":
        return None
    cat = loaded().get(locale)
    return cat.messages.get((context, msgid)) if cat is not None else None


def lookup_plural(locale: str, context: str | None, singular: str, n: int) -> str | None:
    if locale == "en":
        return None
    cat = loaded().get(locale)
    if cat is None:
        return None
    forms = cat.plurals.get((context, singular))
    if not forms:
        return None
    index = cat.plural_index(n)
    return forms[index] if 0 <= index < len(forms) and forms[index] else None
