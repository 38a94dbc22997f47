"""The chart attached to `/quota report` (bot/reports/chart.py), fed from the store."""

from __future__ import annotations

import io
import logging
from datetime import timedelta

import discord

from bot.reports.chart import FILENAME, ChartData, ChartRenderer, MemberBar
from bot.store.backend import Database
from bot.store.models import ServerReport
from bot.store.report_series import daily_usage, days_between

log = logging.getLogger("retouch.reports")


def member_label(guild: discord.Guild | None, rank: int, user_id: int) -> str:
    """`1. Alice` when the bot knows the member, else the end of their id (the report's
    list beside the chart names them; the bot asks Discord for no member lists)."""
    member = guild.get_member(user_id) if guild is not None else None
    name = member.display_name if member is not None else f"member …{str(user_id)[-4:]}"
    return f"{rank}. {name[:24]}"


def title_for(report: ServerReport) -> str:
    last = report.resets_at - timedelta(seconds=1)
    span = f"{report.start:%b %d}" if report.period == "day" else f"{report.start:%b %d} – {last:%b %d}"
    return f"Usage this {report.period}: {span}, {last:%Y} (UTC)"


async def report_chart(
    database: Database, renderer: ChartRenderer, guild: discord.Guild | None, report: ServerReport
) -> discord.File | None:
    """The PNG for `report`, or None when nobody made an edit in the period (or the chart
    could not be drawn: the report's text goes out all the same)."""
    if not report.rows:
        return None
    usage = await daily_usage(database, report.guild_id, report.start, report.resets_at)
    members = [MemberBar(member_label(guild, rank, row.user_id), row.images, row.cost_usd) for rank, row in enumerate(report.rows, 1)]
    data = ChartData(title_for(report), days_between(report.start, report.resets_at), usage, members)
    try:
        png = await renderer.render(data)
    except Exception:
        log.exception("could not draw the chart for /quota report; sending the report without it")
        return None
    return discord.File(io.BytesIO(png), filename=FILENAME, description="Images and estimated spend per day by model, and the top members")
