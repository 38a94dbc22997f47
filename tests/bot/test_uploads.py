"""ImageUpload: a seekable file over image bytes, sent by aiohttp without copying them."""

from __future__ import annotations

import io
import random

import aiohttp
import discord
import pytest
from aiohttp import web

from bot.discord_app.editing.result_messages import WRITE_STEP, ImageUpload, ImageUploadPayload

DATA = random.Random(7).randbytes(3 * WRITE_STEP + 12_345)
PIECES = [DATA[:3], DATA[3:200_000], DATA[200_000:200_001], DATA[200_001:]]


@pytest.mark.parametrize("source", [DATA, PIECES], ids=["one buffer", "pieces"])
def test_reads_and_seeks_like_bytesio(source):
    rng = random.Random(1)
    ours, reference = ImageUpload(source), io.BytesIO(DATA)
    assert ours.seekable() and ours.readable() and not ours.writable()
    for _ in range(300):
        op = rng.choice(["read", "seek", "seek_cur", "seek_end", "readinto"])
        if op == "read":
            size = rng.choice([-1, 0, 1, 3, 5000, 300_000])
            assert ours.read(size) == reference.read(size)
        elif op == "readinto":
            size = rng.randint(0, 70_000)
            a, b = bytearray(size), bytearray(size)
            assert ours.readinto(a) == reference.readinto(b) and a == b
        elif op == "seek":
            pos = rng.randint(0, len(DATA) + 10)
            assert ours.seek(pos) == reference.seek(pos)
        elif op == "seek_cur":
            off = rng.randint(-ours.tell(), 10_000)
            assert ours.seek(off, io.SEEK_CUR) == reference.seek(off, io.SEEK_CUR)
        else:
            off = -rng.randint(0, len(DATA))
            assert ours.seek(off, io.SEEK_END) == reference.seek(off, io.SEEK_END)
        assert ours.tell() == reference.tell()
    with pytest.raises(ValueError):
        ours.seek(-1)


def test_views_are_slices_of_the_pieces_not_copies():
    upload = ImageUpload(PIECES)
    assert upload.size == len(DATA)
    views = list(upload.views(2, 200_002))
    assert [v.nbytes for v in views] == [1, 200_000 - 3, 1, 1]
    assert b"".join(views) == DATA[2:200_002]
    assert views[1].obj is PIECES[1]


async def test_payload_writes_from_the_position_at_creation_in_bounded_steps():
    upload = ImageUpload(PIECES)
    upload.seek(100)
    payload = aiohttp.payload.get_payload(upload)
    assert isinstance(payload, ImageUploadPayload)
    assert payload.size == len(DATA) - 100
    assert upload.tell() == 100, "making the payload does not move the file"

    class Writer:
        def __init__(self):
            self.chunks = []

        async def write(self, chunk):
            self.chunks.append(bytes(chunk))

    writer = Writer()
    await payload.write(writer)
    assert b"".join(writer.chunks) == DATA[100:]
    assert max(map(len, writer.chunks)) <= WRITE_STEP
    writer = Writer()
    await payload.write_with_length(writer, 250_000)
    assert b"".join(writer.chunks) == DATA[100:250_100]
    assert await payload.as_bytes() == DATA[100:]


async def test_a_discord_file_over_it_posts_the_same_bytes_every_attempt():
    received = []

    async def handler(request):
        reader = await request.multipart()
        async for part in reader:
            if part.filename:
                received.append((part.filename, bytes(await part.read())))
        return web.Response(text="ok")

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/upload", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        file = discord.File(ImageUpload(PIECES), filename="edit-1.png")
        async with aiohttp.ClientSession() as session:
            for attempt in range(3):  # what discord.py's request loop does on each retry
                file.reset(seek=attempt)
                form = aiohttp.FormData(quote_fields=False)
                form.add_field("payload_json", "{}")
                form.add_field("files[0]", file.fp, filename=file.filename, content_type="application/octet-stream")
                async with session.post(f"http://127.0.0.1:{port}/upload", data=form) as resp:
                    assert resp.status == 200
                file.fp.read(5000)  # whatever moved the file meanwhile, reset() seeks it back
        file.close()
    finally:
        await runner.cleanup()
    assert received == [("edit-1.png", DATA)] * 3


def test_freed_as_soon_as_discord_py_is_done_with_it_not_at_the_next_gc():
    # discord.File puts `fp.close` back on the file when it is done with it; stored as an
    # instance attribute, that bound method would keep the file (and the image) alive in a
    # cycle until the cyclic GC, which can be long after the upload.
    import gc
    import weakref

    upload = ImageUpload(PIECES)
    file = discord.File(upload, filename="edit-1.png")
    upload.close()  # discord.File's no-op stand-in: the file stays open
    assert not upload.closed
    file.close()
    assert upload.read(3) == DATA[:3]
    ref = weakref.ref(upload)
    gc.disable()
    try:
        del file, upload
        assert ref() is None
    finally:
        gc.enable()
    closing = ImageUpload(DATA)
    closing.close()
    assert closing.closed
