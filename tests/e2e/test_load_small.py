"""The load of bench/load.py, small: two real `python -m bot` processes over one
PostgreSQL, 40 members in four servers (one per shard, two per process) and in DMs sending
150 edits over 20 s (mixed `n`, provider failures, cancels, re-rolls), process B restarted
(SIGTERM) early on,
so that results it made are re-rolled on its successor. The invariants hold on the shared
ledger against what the fake Discord received."""

from __future__ import annotations

import pytest

from tests.fakes.discord_server import FakeDiscord
from tests.fakes.image_api import FakeImageAPI
from tests.support.load_run import LoadConfig, LoadRun

pytestmark = pytest.mark.timeout(150)


async def test_two_processes_under_load_with_a_restart_keep_every_invariant(tmp_path, postgres_url):
    config = LoadConfig(
        members=40, edits=150, duration=20, restart="term", restart_at=0.3, reroll_share=0.5, settle_timeout=30
    )
    async with FakeDiscord(shard_count=4, guild_shard=2) as discord_fake, FakeImageAPI() as api:
        report = await LoadRun(config, tmp_path, postgres_url, discord_fake, api).run()
    text = "\n".join(report.lines())
    assert report.ok, text
    assert [name.split(" (")[0].split(" reservations")[0] for name, _, _ in report.invariants] == [
        "no reservation left open",
        "no member over QUOTA_DEFAULT_LIMIT=8",
        "the bot not over GLOBAL_DAILY_IMAGE_LIMIT=240",
        "no member over MAX_EDITS_PER_MEMBER=3",
        "every delivered image counted exactly once",
    ], text
    counts = report.counts()
    # The load did what it says: both processes served, and every kind of path was taken.
    for outcome in ("edit delivered", "edit failed", "edit cancelled", "edit refused", "reroll delivered"):
        assert counts[outcome] > 0, f"no {outcome!r}:\n{text}"
    assert all(p.interactions > 0 and p.cpu_s > 0 for p in report.processes.values()), text
    # Every server's members were answered, each by the process that runs its shard.
    assert sorted(report.rows_per_server) == ["DMs (A)", "Server 1 (B)", "Server 2 (A)", "Server 3 (A)", "Test Server (B)"], text
    assert all(rows > 0 for rows in report.rows_per_server.values()), text
    assert len(report.processes["B"].pids) == 2, "B was restarted"
    assert report.cross_process_rerolls() > 0, f"no result of B's first run re-rolled on its successor:\n{text}"
    assert report.images_committed == report.images_received > 0, text
