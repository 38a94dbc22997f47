"""Decoded images kept as their pieces (ImageBytes): the same bytes, never joined."""

import base64
import json
import random

import pytest

from bot.images.formats import ImageBytes
from bot.provider import BadResponse, EditRequest, ImageEditClient
from bot.provider.response import ImageJsonParser
from tests.fakes.image_api import Reply, make_image
from tests.support.response_bodies import IMAGES, body, resolve, split


@pytest.mark.parametrize("seed", range(8))
def test_pieces_are_the_images_for_any_chunk_split(seed):
    rng = random.Random(seed)
    text = json.dumps(body(), indent=rng.choice([None, 1])).encode()
    if seed % 2:
        text = text.replace(b"/", b"\\/")
    parser = ImageJsonParser(pieces=True)
    for piece in split(text, rng, rng.choice([1, 3, 7, 64, 5000])):
        parser.feed(piece)
    document, images = parser.close()
    assert all(isinstance(image, ImageBytes) and image.pieces for image in images)
    assert resolve(document, images) == IMAGES
    assert [bytes(image) for image in resolve(document, images)] == IMAGES


def test_one_piece_per_network_chunk_at_most_plus_the_groups_split_between_chunks():
    text = json.dumps(body()).encode()
    parser = ImageJsonParser(pieces=True)
    chunks = split(text, random.Random(5), 1000)
    for chunk in chunks:
        parser.feed(chunk)
    _, images = parser.close()
    assert sum(len(image.pieces) for image in images) <= 2 * len(chunks)


async def test_the_client_hands_over_json_images_as_pieces(client, fake_image_api):
    fake_image_api.queue(Reply.images(2, size=(300, 200), fill="noise", chunk_size=4096))
    result = await client.edit(EditRequest(prompt="x", images=[make_image(32, 32)], n=2))
    assert all(isinstance(image.content, ImageBytes) and len(image.content.pieces) > 1 for image in result.images)
    assert [image.data for image in result.images] == [
        make_image(300, 200, fill="noise", color=(200, 40, 40), seed=0),
        make_image(300, 200, fill="noise", color=(40, 200, 40), seed=1),
    ]
    assert [image.format for image in result.images] == ["png", "png"]


async def test_an_images_response_is_read_a_mebibyte_at_a_time_and_the_connection_gets_its_read_size_back(
    client, fake_image_api, monkeypatch
):
    seen = []
    read_json = ImageEditClient._read_json

    async def spy(self, resp, *args):
        transport = resp.connection.transport
        seen.append((transport, transport.max_size))
        return await read_json(self, resp, *args)

    monkeypatch.setattr(ImageEditClient, "_read_json", spy)
    # ~4 MB of JSON: more than aiohttp buffers (2 MiB), so the connection is still in use
    fake_image_api.queue(Reply.images(1, size=(1024, 1024), fill="noise"))
    await client.edit(EditRequest(prompt="x", images=[make_image(32, 32)]))
    [(transport, during)] = seen
    assert during == 1024 * 1024
    assert transport.max_size == type(transport).max_size == 256 * 1024


@pytest.mark.parametrize("pieces", [False, True])
def test_escapes_anywhere_in_any_two_reads(pieces):
    # The decoder is tried on the raw text first; an escape (`\/`, `\n`) must send the read
    # back through unescaping wherever it falls: mid-read, in the carried group, at a read's end.
    image = make_image(6, 5, fill="noise")
    b64 = base64.b64encode(image).decode()
    wrapped = "\n".join(b64[i:i + 7] for i in range(0, len(b64), 7))
    text = json.dumps({"data": [{"b64_json": wrapped.replace("/", "\\/")}]}).encode().replace(b"\\\\/", b"\\/")
    assert b"\\/" in text or "/" not in b64
    for cut in range(1, len(text)):
        parser = ImageJsonParser(pieces=pieces)
        parser.feed(text[:cut])
        parser.feed(text[cut:])
        document, images = parser.close()
        assert images[document["data"][0]["b64_json"]] == image, cut


def test_invalid_base64_is_still_refused_with_or_without_an_escape_in_the_read():
    for text in (b'{"data": [{"b64_json": "QUJD@QUJD"}]}', b'{"data": [{"b64_json": "QU\\/D@QUJD"}]}'):
        with pytest.raises(BadResponse, match="invalid base64"):
            parser = ImageJsonParser(pieces=True)
            parser.feed(text)
            parser.close()
