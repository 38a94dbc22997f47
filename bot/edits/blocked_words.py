"""Finding blocked words and phrases in a prompt (a server's list and `BLOCKED_WORDS`).

Both sides are normalized the same way before they are compared:

* Unicode compatibility forms are unified (NFKC: full-width, mathematical, circled and
  superscript letters, ligatures) and text is case-folded ("STRASSE" = "straße");
* look-alike letters are read as the Latin letter they imitate ("drаgon" with a Cyrillic
  "а", Greek "ο", Cherokee "Ꭰ"), from Unicode's confusables data (UTS #39, shipped by
  the `confusable-homoglyphs` package: each character whose prototype is a Latin
  letter), plus the Latin small capitals ("ᴅʀᴀɢᴏɴ"), which that data keeps apart;
  a letter without a Latin look-alike (Cyrillic "ж") stays what it is, so a word
  containing it is still one word, never split into false hits;
* accents and other combining marks on Latin, Greek and Cyrillic letters (and on Han
  ideographs, or on nothing) are dropped ("café" = "cafe", "d̸r̸a̸g̸o̸n̸" = "dragon"); marks in
  other scripts are kept, because there they spell the word rather than decorate it;
* invisible characters are dropped so they cannot hide a word: format characters
  (zero-width spaces, joiners, soft hyphens, bidi controls), enclosing marks, variation
  selectors and the Hangul fillers (Unicode's Default_Ignorable_Code_Point set);
* punctuation (`_`, `-`, `'`, `.`, ...) and whitespace become one space, so "red_panda"
  and "red-panda" read as "red panda" and phrases match however they are spaced.

A blocked word matches on word boundaries only: "ass" does not match "class",
"dragon" does not match "dragonfly". Letters and combining marks of every script are word
characters; digits, punctuation and symbols are not, so "dragon2" and "dragon_" match
"dragon". Scripts written without spaces between words (Chinese, Japanese, Thai, ...)
have no boundaries to find, so there a blocked word matches wherever it appears.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources

# Letters whose accents are folded away: Latin, Greek, Cyrillic (and their extensions).
_FOLD_RANGES = ((0x0041, 0x024F), (0x0370, 0x03FF), (0x0400, 0x052F), (0x1D00, 0x1DBF), (0x1E00, 0x1FFF), (0xA720, 0xA7FF))
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
# Han ideographs never carry combining marks as part of their spelling.
_HAN_RANGES = ((0x2E80, 0x2FDF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x3FFFF))
# Unicode's Default_Ignorable_Code_Point property (DerivedCoreProperties.txt): characters
# that render as nothing. Python's unicodedata has no such property, so the ranges are here.
_IGNORABLE_RANGES = (
    (0x00AD, 0x00AD),  # soft hyphen
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x061C, 0x061C),  # Arabic letter mark
    (0x115F, 0x1160),  # Hangul choseong / jungseong fillers
    (0x17B4, 0x17B5),  # Khmer inherent vowels
    (0x180B, 0x180F),  # Mongolian variation selectors, vowel separator
    (0x200B, 0x200F),  # zero-width space, joiners, direction marks
    (0x202A, 0x202E),  # bidi embeddings and overrides
    (0x2060, 0x206F),  # word joiner, invisible operators, bidi isolates
    (0x3164, 0x3164),  # Hangul filler
    (0xFE00, 0xFE0F),  # variation selectors
    (0xFEFF, 0xFEFF),  # zero-width no-break space
    (0xFFA0, 0xFFA0),  # half-width Hangul filler
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),  # shorthand format controls
    (0x1D173, 0x1D17A),  # musical formatting
    (0xE0000, 0xE0FFF),  # tags, variation selectors supplement
)
_SMALL_CAPITAL = re.compile(r"LATIN LETTER SMALL CAPITAL ([A-Z])")


def _in(ranges: tuple[tuple[int, int], ...], char: str) -> bool:
    code = ord(char)
    return any(lo <= code <= hi for lo, hi in ranges)


@functools.cache
def lookalikes() -> dict[str, str]:
    """Each character that imitates Latin letters, and the (lower-case) letters it imitates.

    From Unicode's confusables.txt as `confusable-homoglyphs` ships it: the package keeps
    each line in both directions, and a Latin-letter prototype is never itself mapped to a
    non-ASCII character (UTS #39 prototypes are ASCII for Latin look-alikes), so a
    non-ASCII character listing a string of ASCII letters is a look-alike of exactly that."""
    data = json.loads(resources.files("confusable_homoglyphs").joinpath("confusables.json").read_text(encoding="utf-8"))
    table: dict[str, str] = {}
    for char, homoglyphs in data.items():
        if len(char) != 1 or char.isascii():
            continue
        latin = {h["c"].casefold() for h in homoglyphs if h["c"].isascii() and h["c"].isalpha()}
        if len(latin) == 1:
            table[char] = latin.pop()
    # The small capitals ("ᴅʀᴀɢᴏɴ") are distinct prototypes in UTS #39, but read as the letter.
    for code in range(0x0250, 0xAB70):
        match = _SMALL_CAPITAL.fullmatch(unicodedata.name(chr(code), ""))
        if match:
            table[chr(code)] = match.group(1).lower()
    # Folded text is case-folded: look up the folded form of each source too.
    for char, latin in list(table.items()):
        folded = char.casefold()
        if len(folded) == 1 and folded not in table:
            table[folded] = latin
    return table


def is_word_char(char: str) -> bool:
    return unicodedata.category(char)[0] in "LM"


def _unspaced(char: str) -> bool:
    return _in(_UNSPACED_RANGES, char)


def _marks_decorate(base: str) -> bool:
    """Whether a combining mark after `base` decorates it (dropped) rather than spells the word."""
    return not base or _in(_FOLD_RANGES, base) or base.isascii() or _in(_HAN_RANGES, base)


def normalize(text: str) -> str:
    """The form prompts and blocked words are compared in (see the module docstring)."""
    table = lookalikes()
    text = unicodedata.normalize("NFKC", text).casefold()
    out: list[str] = []
    base = ""  # the letter marks would attach to ("" after a space or punctuation)
    for char in unicodedata.normalize("NFD", text):
        category = unicodedata.category(char)
        if category == "Cf" or category == "Me" or _in(_IGNORABLE_RANGES, char):
            continue
        if category[0] == "M":
            if not _marks_decorate(base):
                out.append(char)
            continue
        latin = table.get(char)
        if latin is not None:
            out.append(latin)
            base = latin[-1]
            continue
        if category[0] in "PZ" or char.isspace():
            out.append(" ")
            base = ""
            continue
        out.append(char)
        base = char if category[0] == "L" else ""
    folded = unicodedata.normalize("NFC", "".join(out))
    return " ".join(folded.split())


@dataclass(frozen=True)
class Match:
    word: str  # the blocked word as the moderator typed it


class BlockedWordMatcher:
    """Blocked words, ready to check prompts against.

    Built from (key, word as typed) pairs. The key is recomputed from the word with
    today's `normalize`, so words stored by an older version match the same way."""

    def __init__(self, entries: Iterable[tuple[str, str]]) -> None:
        keyed = {(normalize(w) or k, w) for k, w in entries}
        # Longest first: when "red dragon" and "dragon" are both blocked, name the phrase.
        self._entries = sorted(((k, w) for k, w in keyed if k), key=lambda e: (-len(e[0]), e[1]))

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


lookalikes()  # built at import (tens of milliseconds), never during an edit's check
