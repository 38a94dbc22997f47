"""Small images for tests."""

from __future__ import annotations

import io

from PIL import Image


def png(width: int = 64, height: int = 64, color: tuple[int, ...] = (10, 120, 200), mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, (width, height), color).save(out, "PNG")
    return out.getvalue()
