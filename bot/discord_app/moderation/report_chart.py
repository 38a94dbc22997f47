"""The chart attached to `/quota report` (bot/reports/chart.py), fed from the store."""

from __future__ import annotations

import asyncio
import io
import logging
from datetime import timedelta

import discord

from bot.reports.chart import FILENAME, ChartData, ChartRenderer, MemberBar
from bot.store.backend import Database
from bot.store.models import ServerReport
from bot.store.report_series import daily_usage, days_between
from bot.text import report_chart as chart_texts

log = logging.getLogger("retouch.reports")


# How long the chart waits for Discord to name the top members before using their ids.
NAMES_TIMEOUT_SECONDS = 3.0


async def member_names(guild: discord.Guild | None, user_ids: list[int]) -> dict[int, str]:
    """Display names of these members: the cache first, then one gateway request by id
    (allowed without the members intent). Members who left, or no answer in time: absent."""
    if guild is None:
        return {}
    names = {uid: m.display_name for uid in user_ids if (m := guild.get_member(uid)) is not None}
    missing = [uid for uid in user_ids if uid not in names][:100]
    if missing:
        try:
            found = await asyncio.wait_for(guild.query_members(user_ids=missing, cache=False), NAMES_TIMEOUT_SECONDS)
        except (asyncio.TimeoutError, discord.ClientException, discord.HTTPException) as exc:
            log.info("the report's chart names members by id: Discord did not name them (%s)", type(exc).__name__)
            found = []
        names.update({m.id: m.display_name for m in found})
    return names


def member_label(names: dict[int, str], rank: int, user_id: int) -> str:
    """`1. Alice`, or the end of the member's id when Discord did not name them (the
    report's list beside the chart names everyone)."""
    name = names.get(user_id) or chart_texts.unnamed_member(str(user_id)[-4:])
    return f"{rank}. {name[:24]}"


def title_for(report: ServerReport) -> str:
    return chart_texts.title(report.period, report.start, report.resets_at - timedelta(seconds=1))


async def report_chart(
    database: Database, renderer: ChartRenderer, guild: discord.Guild | None, report: ServerReport
) -> discord.File | None:
    """The PNG for `report`, or None when nobody made an edit in the period (or the chart
    could not be drawn: the report's text goes out all the same)."""
    if not report.rows:
        return None
    usage = await daily_usage(database, report.guild_id, report.start, report.resets_at)
    names = await member_names(guild, [row.user_id for row in report.rows])
    members = [MemberBar(member_label(names, rank, row.user_id), row.images, row.cost_usd) for rank, row in enumerate(report.rows, 1)]
    days = days_between(report.start, report.resets_at)
    data = ChartData(title_for(report), days, usage, members, chart_texts.labels(days))
    try:
        png = await renderer.render(data)
    except Exception:
        log.exception("could not draw the chart for /quota report; sending the report without it")
        return None
    return discord.File(io.BytesIO(png), filename=FILENAME, description=chart_texts.DESCRIPTION)
