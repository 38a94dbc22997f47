"""Blocked words: case, accents, scripts, phrases and word boundaries."""

from __future__ import annotations

import pytest

from bot.edits.blocked_words import BlockedWordMatcher, normalize


def found(blocked: list[str], prompt: str) -> str | None:
    match = BlockedWordMatcher([(normalize(w), w) for w in blocked]).find(prompt)
    return match.word if match else None


@pytest.mark.parametrize(
    ("blocked", "prompt", "expected"),
    [
        (["dragon"], "add a DRAGON to the sky", "dragon"),
        (["dragon"], "a dragon's tail", "dragon"),
        (["dragon"], "dragonfly on a leaf", None),  # a word inside a longer word
        (["ass"], "a first-class ticket", None),
        (["ass"], "kick ass", "ass"),
        (["red dragon"], "a Red\n  Dragon here", "red dragon"),  # a phrase, however spaced
        (["red dragon"], "a red dragonfly", None),
        (["red dragon", "dragon"], "the red dragon", "red dragon"),  # the longer entry is named
        (["café"], "un CAFE noir", "café"),  # accents fold
        (["cafe"], "un cafe\u0301 noir", "cafe"),  # a combining accent folds too
        (["café"], "les cafés", None),
        (["straße"], "STRASSE", "straße"),  # case folding, not just lowercasing
        (["дурак"], "ты ДУРАК!", "дурак"),  # Cyrillic
        (["дурак"], "дураками", None),
        (["Ωμέγα"], "ωμεγα", "Ωμέγα"),  # Greek, accent folded
        (["नमस्ते"], "नमस्ते दुनिया", "नमस्ते"),  # Devanagari: marks stay part of the word
        (["नमस"], "नमस्ते दुनिया", None),
        (["暴力"], "画一个暴力场景", "暴力"),  # no spaces in Chinese: matches inside a run
        (["ばか"], "あなたはばかです", "ばか"),
        (["kill"], "k\u200bill him", "kill"),  # a zero-width space does not hide it
        (["ｆｏｏ"], "foo bar", "ｆｏｏ"),  # full-width letters are the same letters
        (["c++"], "I like c++ a lot", "c++"),
        ([], "anything", None),
        # look-alike letters (Unicode's confusables) and small capitals read as Latin
        (["dragon"], "a dr\u0430gon", "dragon"),  # Cyrillic а
        (["dragon"], "a drag\u03bfn", "dragon"),  # Greek ο
        (["dragon"], "ᴅʀᴀɢᴏɴ attack", "dragon"),  # small capitals
        (["dragon"], "\U0001d41d\U0001d42b\U0001d41a\U0001d420\U0001d428\U0001d427", "dragon"),  # mathematical bold
        (["dragon"], "ⓓⓡⓐⓖⓞⓝ", "dragon"),  # circled letters
        (["dragon"], "ＤＲＡＧＯＮ", "dragon"),
        # invisible characters: fillers, enclosing and combining marks, variation selectors
        (["dragon"], "drag\u3164on", "dragon"),
        (["dragon"], "drag\u115fon drag\u1160on", "dragon"),
        (["dragon"], "drag\uffa0on", "dragon"),
        (["dragon"], "d\u20ddragon", "dragon"),  # enclosing circle
        (["dragon"], "d\u0338r\u0338a\u0338g\u0338o\u0338n\u0338", "dragon"),  # combining overlay
        (["dragon"], "drag\ufe0fon", "dragon"),
        (["dragon"], "drag\u2060on", "dragon"),  # word joiner
        (["暴力"], "暴\u0301力", "暴力"),  # a mark on a Han ideograph decorates it
        # `_`, digits and punctuation are word boundaries
        (["red panda"], "a red_panda here", "red panda"),
        (["red panda"], "a red-panda here", "red panda"),
        (["dragon"], "dragon_", "dragon"),
        (["dragon"], "dragon2 and more", "dragon"),
        (["dragon"], "the_dragon_king", "dragon"),
        (["red_panda"], "a red panda", "red_panda"),
        # ... while a word inside a longer word still does not match
        (["dragon"], "dragonfly", None),
        (["dragon"], "ᴅʀᴀɢᴏɴꜰʟʏ", None),
        (["dragon"], "snapdragon", None),
        # a letter that is no look-alike (Cyrillic ж) keeps the word whole: no false hits
        (["dragon"], "drжgon", None),
        (["gon"], "drжgon", None),
        (["dr"], "drжgon", None),
        (["дурак"], "ДУРАК", "дурак"),  # Cyrillic blocked words still match Cyrillic text
    ],
)
def test_matching(blocked: list[str], prompt: str, expected: str | None) -> None:
    assert found(blocked, prompt) == expected


def test_normal_form() -> None:
    assert normalize("  Crème   BRÛLÉE\u00ad ") == "creme brulee"
    assert normalize("\u200b") == ""


def test_the_confusables_table_comes_from_unicode_data() -> None:
    from bot.edits.blocked_words import lookalikes

    table = lookalikes()
    assert table["\u0430"] == "a" and table["\u03bf"] == "o" and table["\u13a0"] == "d"  # Cyrillic, Greek, Cherokee
    assert table["ᴅ"] == "d" and table["ɴ"] == "n"
    assert "ж" not in table and "m" not in table, "no Latin letter is rewritten, no non-look-alike folded"
    assert len(table) > 1000
