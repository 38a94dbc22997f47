"""The catalogue chores in one command, so nobody retypes Babel's keyword list:

    python -m bot.text.catalogue_tools extract   # bot/text -> bot/locale/retouch.pot
    python -m bot.text.catalogue_tools update    # merge the template into every .po
    python -m bot.text.catalogue_tools init LANG # start a catalogue (gettext name: es_ES)
    python -m bot.text.catalogue_tools stats     # messages translated per catalogue

Catalogues are read straight from the `.po` files at start-up (bot/text/catalogues.py):
no compile step.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from babel.messages.frontend import CommandLineInterface

from bot.text.catalogues import DOMAIN, LOCALE_DIR, TEMPLATE, catalogue_paths

TEXT_DIR = Path(__file__).resolve().parent
REPO = TEXT_DIR.parent.parent
# The functions of bot/text/i18n.py that carry English sentences, and where their text is.
KEYWORDS = ["t", "tn:1,2", "N_", "NP_:1c,2", "N_filled"]


def _babel(*args: str) -> None:
    CommandLineInterface().run(["pybabel", "-q", *args])


def extract() -> None:
    keywords = [arg for k in KEYWORDS for arg in ("-k", k)]
    os.chdir(REPO)  # source references relative to the repository: bot/text/edit_status.py:55
    _babel(
        "extract", "-F", str(REPO / "babel.cfg"), "--no-default-keywords", *keywords,
        # File names without line numbers: editing code does not rewrite every catalogue.
        "--add-comments=TRANSLATORS:", "--add-location=file", "--sort-by-file", "--project=Retouch", "--version=0.1.0",
        "--copyright-holder=Retouch contributors", "-o", str(TEMPLATE), "bot/text",
    )


def update() -> None:
    # --ignore-obsolete: a sentence that left the code leaves the catalogues (git keeps it).
    _babel("update", "-i", str(TEMPLATE), "-d", str(LOCALE_DIR), "-D", DOMAIN, "--ignore-obsolete", "--no-fuzzy-matching")


# Two plural forms where CLDR adds a third for round millions ("1 000 000 d'images"):
# Retouch never counts that high, and two forms are what translators expect.
PLURAL_FORMS = {
    "fr": "nplurals=2; plural=(n > 1);",
    "pt_BR": "nplurals=2; plural=(n > 1);",
    "es_ES": "nplurals=2; plural=(n != 1);",
}


def init(locale: str) -> None:
    _babel("init", "-i", str(TEMPLATE), "-d", str(LOCALE_DIR), "-D", DOMAIN, "-l", locale)
    if locale in PLURAL_FORMS:
        path = LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
        from babel.messages.pofile import read_po, write_po

        with path.open("rb") as f:
            cat = read_po(f, locale=locale)
        for message in cat:
            if isinstance(message.id, (list, tuple)):
                message.string = ("", "")
        header = cat.mime_headers
        cat.mime_headers = [(k, PLURAL_FORMS[locale] if k == "Plural-Forms" else v) for k, v in header]
        with path.open("wb") as f:
            write_po(f, cat, width=76)


def stats() -> None:
    from babel.messages.pofile import read_po

    for locale, path in catalogue_paths().items():
        with path.open("rb") as f:
            cat = read_po(f, locale=locale)
        messages = [m for m in cat if m.id]
        done = [m for m in messages if m.string and (not isinstance(m.string, tuple) or all(m.string)) and not m.fuzzy]
        print(f"{locale}: {len(done)} of {len(messages)} translated")


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"extract", "update", "init", "stats"} or (argv[0] == "init") != (len(argv) == 2):
        print(__doc__)
        return 2
    if argv[0] == "init":
        init(argv[1])
    else:
        {"extract": extract, "update": update, "stats": stats}[argv[0]]()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
