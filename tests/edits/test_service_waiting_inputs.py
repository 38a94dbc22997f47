"""The prepared files of waiting edits are bounded process-wide (bot/edits/waiting_inputs.py):
within the memory budget they stay in memory, past it each waits in a private temporary
file that is read back at the edit's turn (the provider gets the same bytes) and deleted
when the edit ends, however it ends; a crashed process's files are removed at the next start.

The fake image API holds every call at a gate with one edit running at a time, so the
other edits provably wait."""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

from bot.edits.order import BytesInput
from bot.edits.service import EditService, Phase
from tests.edits.conftest import MEMBER, edit_world
from tests.fakes.image_api import Reply, make_image
from tests.support.polling import eventually
from tests.support.surface import InMemorySurface

REPO = Path(__file__).resolve().parents[2]
QUEUED = "In the queue"


def inputs(edit: int) -> list[bytes]:
    """Four incompressible PNGs (~190 KB each), different for every edit."""
    return [make_image(256, 256, fill="noise", seed=edit * 10 + i) for i in range(4)]


def large_order(edits, number: int, *, member: int):  # type: ignore[no-untyped-def]
    first, *more = inputs(number)
    return edits.order(
        member=member,
        prompt=f"edit {number}",
        image=BytesInput(first),
        more_images=tuple(BytesInput(data, label=f"image{i}") for i, data in enumerate(more, start=2)),
    )


def limit_waiting_memory(world, budget: int) -> None:  # type: ignore[no-untyped-def]
    """What waiting edits may hold in memory in this world (the bot's is WAITING_MEMORY_BYTES)."""
    world.service.waiting_inputs.budget_bytes = budget


def waiting_files(service: EditService) -> list[Path]:
    folder = service.waiting_inputs.folder
    return sorted(folder.glob("*.input")) if folder is not None else []


def sent_images(image_api) -> dict[str, list[bytes]]:  # type: ignore[no-untyped-def]
    """What the provider received, by prompt: the image files in order."""
    return {r.field("prompt"): [f.data for f in r.files if f.field.startswith("image")] for r in image_api.edits}


async def start_waiting(edits, image_api, count: int, *, members: int = 4):  # type: ignore[no-untyped-def]
    """One edit held at the provider, then `count` more (spread over `members` members)
    queued behind it with their files prepared. Returns (tasks, surfaces) of the waiting ones."""
    running = InMemorySurface("running")
    first = edits.submit(large_order(edits, 0, member=MEMBER), running)
    await image_api.wait_for_edits(1)  # the first edit at the provider
    tasks, surfaces = [first], [running]
    for number in range(1, count + 1):
        surface = InMemorySurface(f"edit {number}")
        tasks.append(edits.submit(large_order(edits, number, member=MEMBER + 1 + number % members), surface))
        surfaces.append(surface)
    for surface in surfaces[1:]:
        await surface.wait_for_status(QUEUED)
    return tasks, surfaces


async def test_waiting_edits_hold_at_most_the_budget_in_memory_and_the_provider_gets_the_same_bytes(service_settings, image_api):
    one_edit = sum(len(d) for d in inputs(1))
    budget = one_edit + one_edit // 2  # one waiting edit fits in memory; the others go to disk
    image_api.set_default(Reply.images(1, gate="provider"))
    settings = service_settings(max_concurrent_edits=1, quota_default_limit=100)
    async with edit_world(settings, image_api) as edits:
        limit_waiting_memory(edits, budget)
        service = edits.service
        tasks, _ = await start_waiting(edits, image_api, 8)
        files = await eventually(lambda: len(waiting_files(service)) == 7 and waiting_files(service), what="7 edits' files on disk")

        assert 0 < service.waiting_bytes <= budget, "one waiting edit in memory, within the budget"
        assert sum(f.stat().st_size for f in files) == 7 * one_edit, "the others' files wait on disk"
        assert service.waiting_inputs.on_disk == 7
        assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files), "readable by the bot's user only"
        assert stat.S_IMODE(files[0].parent.stat().st_mode) == 0o700
        assert files[0].parent.parent == settings.database_path.parent / "waiting-inputs", "next to the database"

        image_api.open_gate("provider")
        assert [await asyncio.wait_for(t, 20) for t in tasks] == [Phase.DELIVERED] * 9
        sent = sent_images(image_api)
        assert sent == {f"edit {n}": inputs(n) for n in range(9)}, "the provider got each edit's own bytes, unchanged"
        assert waiting_files(service) == [] and service.waiting_bytes == 0 and service.waiting_inputs.on_disk == 0


async def test_a_waiting_edits_file_is_gone_once_it_is_cancelled_while_queued_or_fails_at_its_turn(service_settings, image_api):
    image_api.set_default(Reply.images(1, gate="provider"))
    settings = service_settings(max_concurrent_edits=1, quota_default_limit=100)
    async with edit_world(settings, image_api) as edits:
        limit_waiting_memory(edits, 0)  # every waiting edit on disk
        service = edits.service
        tasks, surfaces = await start_waiting(edits, image_api, 3)
        await eventually(lambda: len(waiting_files(service)) == 3, what="3 waiting edits' files on disk")
        assert service.waiting_bytes == 0

        status = await surfaces[2].wait_for_status(QUEUED)
        assert status.cancel_id is not None
        service.cancel(status.cancel_id, user_id=MEMBER, is_moderator=True)
        assert await asyncio.wait_for(tasks[2], 10) is Phase.CANCELLED
        assert len(waiting_files(service)) == 2, "the cancelled edit's file is deleted"

        # The next in line is refused by the provider once its file was read back.
        image_api.queue(Reply.error(400, "bad request", code="invalid_value"))
        image_api.open_gate("provider")
        phases = [await asyncio.wait_for(t, 20) for t in tasks]
        assert phases[0] is Phase.DELIVERED and phases[2] is Phase.CANCELLED
        assert sorted(phases[1::2]) == sorted([Phase.DELIVERED, Phase.FAILED]), "one of the two waiting edits failed"
        assert sent_images(image_api) == {f"edit {n}": inputs(n) for n in (0, 1, 3)}
        assert waiting_files(service) == [] and service.waiting_bytes == 0
        assert sorted(row[0] for row in await edits.ledger()) == ["committed", "committed", "refunded", "refunded"]


async def test_an_edit_refused_after_its_files_were_prepared_leaves_no_file(service_settings, image_api):
    settings = service_settings(quota_default_limit=1)
    async with edit_world(settings, image_api) as edits:
        limit_waiting_memory(edits, 0)
        service = edits.service
        assert await edits.run(large_order(edits, 1, member=MEMBER), InMemorySurface("first")) is Phase.DELIVERED
        refused = InMemorySurface("over quota")
        assert await edits.run(large_order(edits, 2, member=MEMBER), refused) is Phase.FAILED
        assert refused.told and "used all 1 of your images" in refused.told[0]
        assert service.waiting_inputs.folder is not None, "its prepared files went to disk before the refusal"
        # A preparation still writing when the edit was refused deletes its file when done.
        await eventually(lambda: waiting_files(service) == [], what="no waiting edit's file left")
        assert service.waiting_bytes == 0 and len(await edits.ledger()) == 1


async def test_shutdown_cancels_the_waiting_edits_and_removes_their_files(service_settings, image_api):
    image_api.set_default(Reply.images(1, gate="provider"))
    settings = service_settings(max_concurrent_edits=1, quota_default_limit=100, shutdown_grace_seconds=0.2)
    async with edit_world(settings, image_api) as edits:
        limit_waiting_memory(edits, 0)
        service = edits.service
        tasks, surfaces = await start_waiting(edits, image_api, 3)
        await eventually(lambda: len(waiting_files(service)) == 3, what="3 waiting edits' files on disk")
        folder = service.waiting_inputs.folder
        assert folder is not None

        await asyncio.wait_for(service.drain(), 30)
        assert all(t.done() and t.cancelled() for t in tasks), "every edit was stopped"
        assert all(s.told for s in surfaces), "each member is told"
        assert not folder.exists(), "the process's folder goes at shutdown"
        assert service.waiting_bytes == 0
        assert {row[0] for row in await edits.ledger()} == {"refunded"}


KILLED_PROCESS = textwrap.dedent(
    """
    import asyncio, os, signal, sys
    from pathlib import Path
    from bot.edits.waiting_inputs import WaitingInputs
    from bot.images.inputs import prepare_input
    from tests.fakes.image_api import make_image

    async def main():
        waiting = WaitingInputs(Path(sys.argv[1]), budget_bytes=0)
        await waiting.keep(prepare_input(make_image(32, 32, fill="noise")))
        print(waiting.folder, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)  # a crash: nothing is cleaned up

    asyncio.run(main())
    """
)


async def test_the_files_of_a_killed_process_are_removed_at_start_and_a_live_ones_kept(service_settings, image_api):
    settings = service_settings(max_concurrent_edits=1, quota_default_limit=100)
    data = settings.database_path.parent
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_PROCESS, str(data)], cwd=REPO, capture_output=True, text=True, timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert killed.returncode == -9, killed.stderr
    left = Path(killed.stdout.strip())
    assert len(list(left.glob("*.input"))) == 1

    image_api.set_default(Reply.images(1, gate="provider"))
    async with edit_world(settings, image_api) as live:  # another process, alive
        limit_waiting_memory(live, 0)
        # The restarted process shares the data folder (and database) with the live one.
        async with edit_world(settings, image_api, owner="restarted") as edits:
            limit_waiting_memory(edits, 0)
            tasks, _ = await start_waiting(live, image_api, 1)
            await eventually(lambda: len(waiting_files(live.service)) == 1, what="the live process's waiting file")

            assert await edits.service.waiting_inputs.remove_leftovers() == 1
            assert not left.exists(), "the killed process's folder is removed"
            assert len(waiting_files(live.service)) == 1, "a live process's files are not touched"
            image_api.open_gate("provider")
            assert [await asyncio.wait_for(t, 20) for t in tasks] == [Phase.DELIVERED] * 2
            assert sent_images(image_api)["edit 1"] == inputs(1)


async def test_a_mask_preview_waiting_for_the_member_keeps_its_files_on_disk_and_sends_them_unchanged(service_settings, image_api):
    async with edit_world(service_settings(), image_api) as edits:
        limit_waiting_memory(edits, 0)
        service = edits.service
        image = make_image(256, 256, fill="noise", seed=5)
        surface = InMemorySurface()
        task = edits.submit(edits.order(image=BytesInput(image), region="top", mask_preview=True), surface)
        question = await surface.wait_question()
        assert question.request.image is not None, "the preview is drawn from the files read back"
        [file] = waiting_files(service)  # while the member looks at it, the files wait on disk
        on_disk = file.stat().st_size
        assert service.waiting_bytes == 0

        surface.answer(confirm=True)
        assert await asyncio.wait_for(task, 10) is Phase.DELIVERED
        [sent] = image_api.edits
        assert [f.field for f in sent.files] == ["image", "mask"]
        assert sent.files[0].data == image
        assert on_disk == len(image) + len(sent.files[1].data), "the mask waited on disk too"
        assert waiting_files(service) == []
