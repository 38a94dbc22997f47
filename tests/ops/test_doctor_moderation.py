"""doctor checks the moderation endpoint when a safety level is set anywhere (real HTTP to
the fake image API's /moderations)."""

from __future__ import annotations

import pytest

from bot.ops import doctor
from bot.store.strikes import StrikeStore
from bot.store.sqlite import open_database
from tests.support.doctor import WRONG_KEY, by_name, closed_port, env_for, make_db, run_doctor
from tests.fakes.image_api import Reply


async def test_no_level_anywhere_no_check(fake_discord, models_api, tmp_path):
    await make_db(tmp_path / "data" / "retouch.db")
    checks, text = await run_doctor(env_for(tmp_path, models_api.base_url))
    assert "moderation API" not in [c.name for c in checks] and models_api.moderations == []


async def test_safety_check_set_passes_with_a_harmless_probe(fake_discord, models_api, tmp_path):
    checks, text = await run_doctor(env_for(tmp_path, models_api.base_url, SAFETY_CHECK="prompts"))
    check = by_name(checks, "moderation API")
    assert check.status == doctor.PASS and "omni-moderation-latest known" in check.detail and "SAFETY_CHECK=prompts" in check.detail
    [probe] = models_api.moderations
    assert probe.json["model"] == "omni-moderation-latest" and "Retouch doctor" in probe.json["input"]


async def test_a_servers_level_in_the_database_turns_the_check_on(fake_discord, models_api, tmp_path):
    path = tmp_path / "data" / "retouch.db"
    await make_db(path)
    conn = await open_database(path)
    try:
        await StrikeStore(conn).set_level(123, "images")
    finally:
        await conn.close()
    checks, text = await run_doctor(env_for(tmp_path, models_api.base_url))
    assert "1 server chose a level" in by_name(checks, "moderation API").detail, text


@pytest.mark.parametrize(
    ("overrides", "reply", "says", "fix"),
    [
        ({"MODERATION_API_KEY": WRONG_KEY}, None, "refused the key (HTTP 401", "check MODERATION_API_KEY"),
        ({"MODERATION_MODEL": "omni-moderation-9000"}, None, "does not know the model", "set MODERATION_MODEL"),
        ({}, Reply.error(404, "Invalid URL (POST /v1/moderations)"), "no moderation endpoint", "MODERATION_API_BASE_URL=https://api.openai.com/v1"),
        ({}, Reply.error(503, "down"), "failed (HTTP 503)", "status page"),
        ({"MODERATION_TIMEOUT": "0.3"}, Reply.hang(), "did not answer within 0.3 s", "raise MODERATION_TIMEOUT"),
    ],
)
async def test_each_failure_has_its_fix(fake_discord, models_api, tmp_path, overrides, reply, says, fix):
    if reply is not None:
        models_api.queue(reply, route="moderations")
    checks, text = await run_doctor(env_for(tmp_path, models_api.base_url, SAFETY_CHECK="images", **overrides))
    check = by_name(checks, "moderation API")
    assert check.status == doctor.FAIL and says in check.detail and fix in check.fix, text
    assert WRONG_KEY not in text


async def test_unreachable_moderation_base_url(fake_discord, models_api, tmp_path):
    env = env_for(tmp_path, models_api.base_url, SAFETY_CHECK="prompts", MODERATION_API_BASE_URL=f"http://127.0.0.1:{closed_port()}/v1")
    checks, text = await run_doctor(env)
    check = by_name(checks, "moderation API")
    assert check.status == doctor.FAIL and "cannot reach" in check.detail and "unreachable" in check.fix
