"""ImageBytes: an image kept as its decoded pieces reads like the joined bytes."""

from __future__ import annotations

import random

import pytest

from bot.images.delivery_plan import plan_delivery
from bot.images.formats import ImageBytes, OutputImage, sniff_format

from .helpers import encode, gradient, heic_like, noise

DATA = random.Random(3).randbytes(5000)


def split(data: bytes, rng: random.Random, max_piece: int) -> list[bytes]:
    pieces, pos = [], 0
    while pos < len(data):
        step = rng.randint(0, max_piece)  # empty pieces too: they are dropped
        pieces.append(data[pos:pos + step])
        pos += step
    return pieces


@pytest.mark.parametrize("seed", range(6))
def test_reads_like_the_joined_bytes(seed):
    rng = random.Random(seed)
    image = ImageBytes(split(DATA, rng, rng.choice([1, 7, 300, 6000])))
    assert len(image) == len(DATA) and bytes(image) == DATA
    assert all(image.pieces)
    for _ in range(200):
        start, stop = rng.randint(-6000, 6000), rng.randint(-6000, 6000)
        step = rng.choice([None, None, None, 1, 2, -1, -3])
        assert image[start:stop:step] == DATA[start:stop:step]
        assert image[:stop] == DATA[:stop] and image[start:] == DATA[start:]
        index = rng.randint(-len(DATA), len(DATA) - 1)
        assert image[index] == DATA[index]
    for index in (len(DATA), -len(DATA) - 1):
        with pytest.raises(IndexError):
            image[index]


def test_compares_and_hashes_like_bytes():
    rng = random.Random(9)
    image = ImageBytes(split(DATA, rng, 700))
    other_split = ImageBytes(split(DATA, rng, 50))
    assert image == DATA and DATA == image and image == bytearray(DATA) and image == memoryview(DATA)
    assert image == other_split and [image] == [DATA]
    assert hash(image) == hash(DATA) == hash(other_split)
    changed = bytearray(DATA)
    changed[4321] ^= 1
    assert image != bytes(changed) and image != DATA[:-1] and image != DATA + b"x"
    assert image != "text" and ImageBytes([]) == b"" and len(ImageBytes([b"", b""])) == 0
    assert "5,000 bytes" in repr(image)


@pytest.mark.parametrize(
    "data",
    [encode(gradient((20, 10)), fmt) for fmt in ("PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF")] + [heic_like(), b"plain text"],
)
def test_sniffing_pieces_gives_the_same_format(data):
    for max_piece in (1, 3, 17):
        assert sniff_format(ImageBytes(split(data, random.Random(max_piece), max_piece))) == sniff_format(data)


def test_an_image_that_fits_is_delivered_as_the_same_pieces_not_a_copy():
    data = encode(noise((64, 64)), "PNG")
    image = ImageBytes(split(data, random.Random(1), 500))
    (message,) = plan_delivery([OutputImage(image)], limit_bytes=10 * 1024 * 1024)
    (delivered,) = message.files
    assert delivered.content is image
    assert delivered.data == data and type(delivered.data) is bytes  # joined only when asked for
    assert (delivered.filename, delivered.format, delivered.size, delivered.reencoded) == ("edit-1.png", "png", len(data), False)


def test_an_image_over_the_limit_is_reencoded_from_its_pieces_as_from_bytes():
    data = encode(noise((256, 256)), "PNG")  # ~197 KB of noise
    from_pieces = plan_delivery([OutputImage(ImageBytes(split(data, random.Random(2), 4000)))], limit_bytes=100_000, margin_bytes=0)
    from_bytes = plan_delivery([OutputImage(data)], limit_bytes=100_000, margin_bytes=0)
    ((a,),), ((b,),) = [m.files for m in from_pieces], [m.files for m in from_bytes]
    assert a.reencoded and a.data == b.data and (a.filename, a.note) == (b.filename, b.note)
