"""Provider response bodies for the parser tests, and a reader that splits them into
arbitrary network-sized pieces."""

from __future__ import annotations

import base64
import random

from tests.fakes.image_api import make_image

IMAGES = [make_image(40, 30, fill="noise", seed=i) for i in range(3)]


def body(**extra):
    document = {
        "created": 1,
        "data": [{"b64_json": base64.b64encode(img).decode(), "revised_prompt": f"p{i}"}
                 for i, img in enumerate(IMAGES)],
        "usage": {"input_tokens": 5},
    }
    document.update(extra)
    return document


def split(data: bytes, rng: random.Random, max_piece: int) -> list[bytes]:
    pieces, pos = [], 0
    while pos < len(data):
        step = rng.randint(1, max_piece)
        pieces.append(data[pos:pos + step])
        pos += step
    return pieces


def resolve(document, images):
    return [images[item["b64_json"]] for item in document["data"]]
