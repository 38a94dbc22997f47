"""Fixtures for the image-domain tests (inputs are generated, never committed)."""

from __future__ import annotations

import pytest
from PIL import Image

from bot.images import ImageLimits

from .helpers import encode, gradient


@pytest.fixture
def limits() -> ImageLimits:
    """GPT-image-like limits, with the defaults."""
    return ImageLimits()


@pytest.fixture
def small_limits() -> ImageLimits:
    """Limits scaled down so that resizing paths run on small (fast) images."""
    return ImageLimits(max_edge=300, max_pixels=None, max_bytes=2_000_000)


@pytest.fixture
def photo_png() -> bytes:
    return encode(gradient((64, 48)), "PNG")


@pytest.fixture
def photo_jpeg() -> bytes:
    return encode(gradient((64, 48)), "JPEG", quality=90)


@pytest.fixture
def photo_webp() -> bytes:
    return encode(gradient((64, 48)), "WEBP", quality=90)


@pytest.fixture(autouse=True)
def _pillow_global_guard_untouched():
    """No code path may change Pillow's process-wide decompression-bomb setting."""
    before = Image.MAX_IMAGE_PIXELS
    yield
    assert Image.MAX_IMAGE_PIXELS == before
