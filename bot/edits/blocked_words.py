"""Finding a server's blocked words and phrases in a prompt.

Both sides are normalized the same way before they are compared:

* Unicode compatibility forms are unified (NFKC: full-width letters, ligatures) and
  text is case-folded ("STRASSE" and "straße" are one word);
* accents on Latin, Greek and Cyrillic letters are folded ("café" = "cafe" = "CAFÉ",
  whether the accent is typed as one character or two); marks in other scripts are
  kept, because there they change the word, not decorate it;
* invisible format characters (zero-width spaces, soft hyphens) are dropped, so they
  cannot hide a word; runs of whitespace become one space, so phrases match however
  they are spaced.

A blocked word matches on word boundaries only: "ass" does not match "class". Letters,
digits and combining marks of every script count as word characters, so a Hindi or
Russian word is not split inside. Scripts written without spaces between words (Chinese,
Japanese, Thai, ...) have no boundaries to find, so there a blocked word matches
wherever it appears.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

# Letters whose accents are folded away: Latin, Greek, Cyrillic (and their extensions).
_FOLD_RANGES = ((0x0041, 0x024F), (0x0370, 0x03FF), (0x0400, 0x052F), (0x1E00, 0x1FFF))
# Scripts written without spaces between words: a blocked word matches inside a run.
_UNSPACED_RANGES = (
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x2E80, 0x2FDF),  # CJK radicals
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3100, 0x31FF),  # Bopomofo, Katakana extensions
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFF66, 0xFF9F),  # half-width Katakana
    (0x20000, 0x3FFFF),  # CJK extensions B and later
)


def _in(ranges: tuple[tuple[int, int], ...], char: str) -> bool:
    code = ord(char)
    return any(lo <= code <= hi for lo, hi in ranges)


def is_word_char(char: str) -> bool:
    return char == "_" or unicodedata.category(char)[0] in "LMN"


def _unspaced(char: str) -> bool:
    return _in(_UNSPACED_RANGES, char)


def normalize(text: str) -> str:
    """The form prompts and blocked words are compared in (see the module docstring)."""
    text = unicodedata.normalize("NFKC", text).casefold()
    out: list[str] = []
    base = ""
    for char in unicodedata.normalize("NFD", text):
        category = unicodedata.category(char)
        if category == "Cf":
            continue  # zero-width and other invisible characters
        if category == "Mn" and base and _in(_FOLD_RANGES, base):
            continue  # an accent on a Latin/Greek/Cyrillic letter
        if category[0] != "M":
            base = char
        out.append(char)
    folded = unicodedata.normalize("NFC", "".join(out))
    return " ".join(folded.split())


@dataclass(frozen=True)
class Match:
    word: str  # the blocked word as the moderator typed it


class BlockedWordMatcher:
    """A server's blocked words, ready to check prompts against.

    Built from (normalized key, word as typed) pairs; keys come from `normalize`."""

    def __init__(self, entries: Iterable[tuple[str, str]]) -> None:
        # Longest first: when "red dragon" and "dragon" are both blocked, name the phrase.
        self._entries = sorted(((k, w) for k, w in entries if k), key=lambda e: -len(e[0]))

    def __bool__(self) -> bool:
        return bool(self._entries)

    def find(self, prompt: str) -> Match | None:
        """The first blocked word the prompt contains, or None."""
        if not self._entries:
            return None
        text = normalize(prompt)
        for key, word in self._entries:
            if _contains(text, key):
                return Match(word)
        return None


def _contains(text: str, key: str) -> bool:
    start = text.find(key)
    while start != -1:
        end = start + len(key)
        if _boundary(text, start - 1, key[0]) and _boundary(text, end, key[-1]):
            return True
        start = text.find(key, start + 1)
    return False


def _boundary(text: str, index: int, edge: str) -> bool:
    """Whether the key's `edge` character ends a word at `text[index]` (the neighbour)."""
    if index < 0 or index >= len(text):
        return True
    neighbour = text[index]
    if not is_word_char(edge) or not is_word_char(neighbour):
        return True
    # A word of an unspaced script has no boundaries to respect, and a change of script
    # (a Latin word right after Chinese) is one.
    return _unspaced(edge) or _unspaced(neighbour)
