"""Token usage, normalised from the shapes providers actually send.

OpenAI: {input_tokens, input_tokens_details{text_tokens, image_tokens}, output_tokens,
total_tokens}. CometAPI adds prompt_tokens/completion_tokens (often 0 next to the real
input/output numbers), prompt_tokens_details and cache counters. Rule (API.md):
input = input_tokens if > 0 else prompt_tokens; output likewise with completion_tokens;
total = the provider's total_tokens verbatim when it is > 0, else input + output;
text/image split from input_tokens_details, else prompt_tokens_details.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The largest token count kept: what both databases' ledger columns hold (PostgreSQL
# INTEGER). A provider reporting more (1e20) is clamped, never an error that loses a bill.
MAX_TOKENS = 2_147_483_647


@dataclass(frozen=True)
class Usage:
    input_tokens: int | None = None
    input_image_tokens: int | None = None
    input_text_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None


def _count(value: Any) -> int | None:
    """A token count from whatever the provider sent; None for garbage."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return min(value, MAX_TOKENS) if value >= 0 else None
    if isinstance(value, float):
        return min(int(value), MAX_TOKENS) if value.is_integer() and value >= 0 else None
    if isinstance(value, str) and value.strip().isdigit():
        return min(int(value.strip()[:20]), MAX_TOKENS)
    return None


def _prefer(primary: int | None, fallback: int | None) -> int | None:
    # A positive primary wins; else a positive fallback; else whichever zero is known.
    if primary:
        return primary
    if fallback:
        return fallback
    return primary if primary is not None else fallback


def _detail(obj: dict[str, Any], family: str, key: str) -> int | None:
    details = obj.get(family)
    return _count(details.get(key)) if isinstance(details, dict) else None


def normalize_usage(obj: Any) -> Usage | None:
    """Usage from a response's `usage` value; None when absent or without any count."""
    if not isinstance(obj, dict):
        return None
    input_tokens = _prefer(_count(obj.get("input_tokens")), _count(obj.get("prompt_tokens")))
    output_tokens = _prefer(
        _count(obj.get("output_tokens")), _count(obj.get("completion_tokens"))
    )
    image = _prefer(
        _detail(obj, "input_tokens_details", "image_tokens"),
        _detail(obj, "prompt_tokens_details", "image_tokens"),
    )
    text = _prefer(
        _detail(obj, "input_tokens_details", "text_tokens"),
        _detail(obj, "prompt_tokens_details", "text_tokens"),
    )
    total = _count(obj.get("total_tokens"))
    if not total and input_tokens is not None and output_tokens is not None:
        total = min(input_tokens + output_tokens, MAX_TOKENS)
    usage = Usage(input_tokens, image, text, output_tokens, total)
    if all(v is None for v in (input_tokens, image, text, output_tokens, total)):
        return None
    return usage
