"""The incremental JSON/base64 and SSE parsers, fed with every kind of chunk split."""

import base64
import json
import random

import pytest

from bot.provider import BadResponse
from bot.provider.response import ImageJsonParser
from bot.provider.sse import SSEParser
from tests.support.response_bodies import IMAGES, body, resolve, split

def parse(data: bytes, pieces: list[bytes] | None = None):
    parser = ImageJsonParser()
    for piece in pieces or [data]:
        parser.feed(piece)
    return parser.close()


@pytest.mark.parametrize("seed", range(12))
def test_any_chunk_split_gives_the_same_images(seed):
    rng = random.Random(seed)
    text = json.dumps(body(), indent=rng.choice([None, 1])).encode()
    if seed % 2:
        text = text.replace(b"/", b"\\/")  # some encoders escape every slash
    document, images = parse(text, split(text, rng, rng.choice([1, 3, 7, 64, 5000])))
    assert resolve(document, images) == IMAGES
    assert [d["revised_prompt"] for d in document["data"]] == ["p0", "p1", "p2"]
    assert document["usage"] == {"input_tokens": 5}


def test_whitespace_around_the_colon_and_missing_padding():
    b64 = base64.b64encode(IMAGES[0]).decode().rstrip("=")
    text = ('{"data": [ { "b64_json"  :\n  "' + b64 + '" } ]}').encode()
    document, images = parse(text, split(text, random.Random(1), 9))
    assert resolve(document, images) == [IMAGES[0]]


def test_line_wrapped_base64_is_accepted():
    b64 = base64.encodebytes(IMAGES[1]).decode()  # 76-char lines with \n
    text = json.dumps({"data": [{"b64_json": b64}]}).encode()
    document, images = parse(text, split(text, random.Random(2), 11))
    assert resolve(document, images) == [IMAGES[1]]


def test_b64_json_inside_a_string_is_not_mistaken_for_an_image():
    document = {"note": 'say "b64_json": "x"', "data": [{"b64_json": base64.b64encode(IMAGES[2]).decode()}]}
    text = json.dumps(document).encode()
    parsed, images = parse(text)
    assert parsed["note"] == 'say "b64_json": "x"'
    assert resolve(parsed, images) == [IMAGES[2]]


def test_marker_split_by_unusual_whitespace_still_parses_through_the_fallback():
    b64 = base64.b64encode(IMAGES[0]).decode()
    text = ('{"data": [{"b64_json"' + " " * 200 + ': "' + b64 + '"}]}').encode()
    document, images = parse(text, split(text, random.Random(3), 50))
    value = document["data"][0]["b64_json"]
    assert value == b64 or images[value] == IMAGES[0]


@pytest.mark.parametrize(
    "text, fragment",
    [
        (b'{"data": [{"b64_json": "@@@@"}]}', "invalid base64"),
        (b'{"data": [{"b64_json": "QUJD\\u0044"}]}', "escape"),
        (b'{"data": [{"b64_json": "QUJDR"}]}', "truncated"),
        (b'{"data": [{"b64_json": ""}]}', "empty image"),
        (b'{"data": [{"b64_json": "QUJD', "ended in the middle"),
        (b'<html>oops</html>', "not valid JSON"),
        (b'{"data": [', "not valid JSON"),
    ],
)
def test_malformed_bodies_are_bad_responses(text, fragment):
    with pytest.raises(BadResponse, match=fragment):
        parse(text)


def test_image_size_cap():
    text = json.dumps({"data": [{"b64_json": base64.b64encode(b"\0" * 5000).decode()}]}).encode()
    parser = ImageJsonParser(max_image_bytes=4000)
    with pytest.raises(BadResponse, match="larger than"):
        parser.feed(text)


# --- server-sent events --------------------------------------------------------------------


def sse_stream(newline: bytes = b"\n") -> bytes:
    partial = base64.b64encode(IMAGES[0]).decode()
    final = base64.b64encode(IMAGES[1]).decode()
    events = [
        b": keep-alive comment",
        b"",
        b"event: image_edit.partial_image",
        b"data: " + json.dumps({"type": "image_edit.partial_image", "b64_json": partial,
                                "partial_image_index": 0}).encode(),
        b"",
        b"id: 7",
        b"event: image_edit.completed",
        b'data: {"type": "image_edit.completed",',
        b'data:  "b64_json": "' + final.encode() + b'", "usage": {"input_tokens": 3}}',
        b"",
        b"data: [DONE]",
        b"",
    ]
    return newline.join(events) + newline


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("newline", [b"\n", b"\r\n"])
def test_sse_events_survive_any_split(seed, newline):
    rng = random.Random(seed)
    data = sse_stream(newline)
    parser = SSEParser(max_image_bytes=10**7)
    events = []
    for piece in split(data, rng, rng.choice([1, 2, 13, 400, 10**6])):
        events += parser.feed(piece)
    events += parser.close()
    assert [e.type for e in events] == ["image_edit.partial_image", "image_edit.completed"]
    partial, completed = events
    assert partial.images == [IMAGES[0]] and partial.document["partial_image_index"] == 0
    assert completed.images == [IMAGES[1]] and completed.document["usage"] == {"input_tokens": 3}
    assert completed.name == "image_edit.completed"


def test_sse_event_without_final_blank_line_is_still_delivered():
    parser = SSEParser(max_image_bytes=10**6)
    events = parser.feed(b'event: error\ndata: {"error": {"message": "x"}}')
    events += parser.close()
    assert len(events) == 1 and events[0].name == "error"
