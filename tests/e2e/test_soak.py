"""A short soak (bench/soak.py's load, 100 edits) against the bot in-process: whatever mix of
successes, provider failures, cancels and re-rolls a bot lives through, it leaves no
reservation open, counts exactly the images members received, and keeps no task or file
descriptor per edit."""

from __future__ import annotations

import asyncio
import os

from tests.conftest import make_settings, running_bot
from tests.support.polling import eventually
from tests.support.soak import SLICES, Members, ScriptedImageAPI, Soak, check_ledger, ledger, plan, run_slice

EDITS = 100
FD_MARGIN = 4  # keep-alive connections both ends of which live in this process
TASK_MARGIN = 2


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def test_a_hundred_mixed_edits_leave_no_reservation_task_or_descriptor_behind(fake_discord, tmp_path):
    async with ScriptedImageAPI() as api:
        settings = make_settings(
            tmp_path, image_api_base_url=api.base_url, image_api_key=api.api_key, quota_default_limit=100_000,
            allow_dms=True, safety_strikes=100, max_concurrent_edits=4,
        )
        async with running_bot(settings, fake_discord):
            actions = plan(EDITS, seed=18)
            warm_up, rest = actions[: EDITS // SLICES], actions[EDITS // SLICES:]
            soak = Soak(fake_discord, api, Members(fake_discord, 30), timeout=30)

            def settled() -> bool:  # commits follow deliveries by a moment
                return not any(row[0] == "reserved" for row in ledger(settings.database_path).values())

            await run_slice(soak, warm_up, concurrency=8)
            await eventually(settled, what="the warm-up's reservations settled")
            tasks_before, fds_before = len(asyncio.all_tasks()), open_fds()

            await run_slice(soak, rest, concurrency=8)
            await eventually(settled, what="every reservation settled")
            await eventually(lambda: len(asyncio.all_tasks()) <= tasks_before + TASK_MARGIN,
                             what=f"tasks back to {tasks_before} (+{TASK_MARGIN})")
            await eventually(lambda: open_fds() <= fds_before + FD_MARGIN, what=f"descriptors back to {fds_before} (+{FD_MARGIN})")

            outcomes = soak.outcomes
            assert [(o.action.index, o.kind, o.problems) for o in outcomes if o.problems] == []
            kinds = {o.kind for o in outcomes}
            states = {o.state for o in outcomes}
            assert {"reroll", "err500", "err503_then_ok", "moderation", "drop", "cancel_running"} <= kinds
            assert {"delivered", "refused", "cancelled_running"} <= states
            verdicts = check_ledger(outcomes, ledger(settings.database_path), soak.files_seen)
            assert [(label, value) for label, ok, value in verdicts if not ok] == []
            assert soak.files_seen > 0
