"""Cost estimates from token usage.

Prices are USD per 1M tokens. The defaults are OpenAI's list prices (API.md); providers
such as CometAPI charge their own, so `IMAGE_PRICES_JSON` overrides or adds models:

    {"gpt-image-2": {"text_input": 4, "image_input": 6.4, "output": 24},
     "qwen-image-edit": {"text_input": 0, "image_input": 0, "output": 20}}

A partial entry for a known model keeps that model's other prices.

Before an edit runs, `estimate_request_cost` predicts its cost from the request alone
(model, size, quality, n, prompt): that estimate is what money caps reserve and what the
cost confirmation shows. After the edit, `estimate_cost` prices the provider's usage.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, fields, replace

from .models import parse_size
from .usage import Usage


@dataclass(frozen=True)
class Price:
    text_input: float
    image_input: float
    output: float


DEFAULT_PRICES: dict[str, Price] = {
    "gpt-image-1": Price(text_input=5, image_input=10, output=40),
    "gpt-image-1-mini": Price(text_input=2, image_input=2.5, output=8),
    "gpt-image-1.5": Price(text_input=5, image_input=8, output=32),
    "gpt-image-2": Price(text_input=5, image_input=8, output=30),
}

_KEYS = [f.name for f in fields(Price)]


def load_prices(extra_json: str | None = None) -> dict[str, Price]:
    """Default prices, extended by an IMAGE_PRICES_JSON value; ValueError on mistakes."""
    prices = dict(DEFAULT_PRICES)
    if not extra_json or not extra_json.strip():
        return prices
    try:
        data = json.loads(extra_json)
    except json.JSONDecodeError as exc:
        raise ValueError(f"IMAGE_PRICES_JSON is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError("IMAGE_PRICES_JSON must be a JSON object of model name -> prices")
    for model, entry in data.items():
        if not isinstance(entry, dict):
            raise ValueError(f"IMAGE_PRICES_JSON: model {model!r} must map to an object")
        unknown = set(entry) - set(_KEYS)
        if unknown:
            raise ValueError(
                f"IMAGE_PRICES_JSON: model {model!r} has unknown key(s) {sorted(unknown)}; "
                f"use {', '.join(_KEYS)}"
            )
        for key, value in entry.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
                math.isfinite(value) and value >= 0
            ):
                raise ValueError(
                    f"IMAGE_PRICES_JSON: model {model!r}, {key}: expected a non-negative "
                    f"number of USD per 1M tokens, got {value!r}"
                )
        if model in prices:
            prices[model] = replace(prices[model], **{k: float(v) for k, v in entry.items()})
        else:
            missing = set(_KEYS) - set(entry)
            if missing:
                raise ValueError(
                    f"IMAGE_PRICES_JSON: new model {model!r} needs {', '.join(sorted(missing))}"
                )
            prices[model] = Price(**{k: float(v) for k, v in entry.items()})
    return prices


def estimate_cost(usage: Usage | None, model: str, prices: dict[str, Price]) -> float | None:
    """Estimated USD cost, or None when the model has no price or usage is unknown.

    When the provider does not split input into text and image tokens, the unknown part
    is priced at the higher of the two input rates: an estimate shown to moderators
    should err towards the real bill, not below it. A missing input or output count
    counts as 0 (it is still an estimate of what is known); both missing gives None.
    """
    price = prices.get(model)
    if price is None or usage is None:
        return None
    if usage.input_tokens is None and usage.output_tokens is None:
        return None
    known_text = usage.input_text_tokens or 0
    known_image = usage.input_image_tokens or 0
    # Input the details do not attribute (no split, or an undercounting one).
    unknown = max(0, (usage.input_tokens or 0) - known_text - known_image)
    cost = (
        known_text * price.text_input
        + known_image * price.image_input
        + unknown * max(price.text_input, price.image_input)
        + (usage.output_tokens or 0) * price.output
    )
    return cost / 1_000_000


# Output tokens per image of the GPT image models (API.md, gpt-image-1 family; OpenAI's
# image-generation guide): quality -> size -> tokens.
OUTPUT_TOKENS: dict[str, dict[str, int]] = {
    "low": {"1024x1024": 272, "1024x1536": 408, "1536x1024": 400},
    "medium": {"1024x1024": 1056, "1024x1536": 1584, "1536x1024": 1568},
    "high": {"1024x1024": 4160, "1024x1536": 6240, "1536x1024": 6208},
}
SQUARE_PIXELS = 1024 * 1024
# Input the request cannot tell exactly: an input image is billed by its size and the
# model's fidelity (a few hundred tokens at 1024² is typical; API.md usage examples show
# 194 and 768), text by the tokenizer. Round up: an estimate held against a money cap
# must not fall below the bill.
INPUT_IMAGE_TOKENS = 1_000
CHARS_PER_TEXT_TOKEN = 3


def output_tokens_per_image(size: str | None, quality: str | None) -> int:
    """Tokens one image of `size` at `quality` costs. The provider picks for `auto` (or no
    choice): assume the dearest it could pick, high quality at the largest standard size.
    Free sizes (gpt-image-2) scale with their area."""
    table = OUTPUT_TOKENS.get(quality or "high", OUTPUT_TOKENS["high"])
    if size in table:
        return table[size]
    parsed = parse_size(size) if size else None
    if parsed is None:  # auto, or a size the model decides
        return max(table.values())
    width, height = parsed
    return math.ceil(table["1024x1024"] * width * height / SQUARE_PIXELS)


def estimate_request_cost(
    model: str,
    prices: dict[str, Price],
    *,
    size: str | None = None,
    quality: str | None = None,
    n: int = 1,
    prompt: str = "",
    input_images: int = 1,
    unpriced_image_usd: float | None = None,
) -> float | None:
    """USD an edit is expected to cost before it runs, erring high; None when the model
    has no price and no per-image fallback (UNPRICED_IMAGE_USD) is set."""
    price = prices.get(model)
    if price is None:
        return None if unpriced_image_usd is None else n * unpriced_image_usd
    text_tokens = math.ceil(len(prompt) / CHARS_PER_TEXT_TOKEN)
    cost = (
        text_tokens * price.text_input
        + input_images * INPUT_IMAGE_TOKENS * price.image_input
        + n * output_tokens_per_image(size, quality) * price.output
    )
    return cost / 1_000_000
