"""What each process records of the settings processes sharing a database must agree on."""

from __future__ import annotations

from bot.config import load_settings
from bot.store import shared_settings
from tests.conftest import TEST_KEY, TEST_TOKEN


def described(**environ: str) -> str:
    return shared_settings.describe(
        load_settings({"DISCORD_TOKEN": TEST_TOKEN, "IMAGE_API_KEY": TEST_KEY, **environ}, env_file=None)
    )


def test_a_process_records_the_settings_it_counts_with_and_no_secret() -> None:
    text = described(SHARD_COUNT="4", SHARD_IDS="0,1", GLOBAL_DAILY_IMAGE_LIMIT="3000", GLOBAL_SPEND_LIMIT_USD="25.5")
    assert shared_settings.parse(text) == {
        "SHARD_COUNT": "4",
        "QUOTA_DEFAULT_LIMIT": "10",
        "QUOTA_DEFAULT_PERIOD": "day",
        "GLOBAL_DAILY_IMAGE_LIMIT": "3000",
        "GLOBAL_SPEND_LIMIT_USD": "25.5",
        "GLOBAL_SPEND_PERIOD": "month",
    }
    assert TEST_TOKEN not in text and TEST_KEY not in text


def test_processes_differ_only_in_what_changes_their_shared_count() -> None:
    a = described(SHARD_COUNT="4", SHARD_IDS="0,1", GLOBAL_DAILY_IMAGE_LIMIT="3000")
    # Another process's own shards, its own per-process limits: not a disagreement.
    assert shared_settings.differences(a, described(SHARD_COUNT="4", SHARD_IDS="2,3", GLOBAL_DAILY_IMAGE_LIMIT="3000",
                                                    MAX_CONCURRENT_EDITS="16")) == []
    # The spend period means nothing without a spend cap on either side.
    assert shared_settings.differences(a, described(SHARD_COUNT="4", GLOBAL_DAILY_IMAGE_LIMIT="3000", GLOBAL_SPEND_PERIOD="day")) == []

    b = described(SHARD_COUNT="4", QUOTA_DEFAULT_LIMIT="20", GLOBAL_SPEND_LIMIT_USD="10")
    assert [str(d) for d in shared_settings.differences(a, b)] == [
        "QUOTA_DEFAULT_LIMIT 20 there, 10 here",
        "GLOBAL_DAILY_IMAGE_LIMIT unset there, 3000 here",
        "GLOBAL_SPEND_LIMIT_USD 10.0 there, unset here",
        "GLOBAL_SPEND_PERIOD month there, unset here",
    ]
    # A row written by a Retouch that did not record them compares with nothing.
    assert shared_settings.differences(a, "") == [] and shared_settings.differences("", b) == []

