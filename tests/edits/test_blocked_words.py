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
    ],
)
def test_matching(blocked: list[str], prompt: str, expected: str | None) -> None:
    assert found(blocked, prompt) == expected


def test_normal_form() -> None:
    assert normalize("  Crème   BRÛLÉE\u00ad ") == "creme brulee"
    assert normalize("\u200b") == ""
