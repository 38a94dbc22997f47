"""The PNG attached to `/quota report`: images and estimated spend per day over the
period, stacked by model, and the top members.

matplotlib (Agg, through its object API: no pyplot, no global figure state) draws it in a
short-lived worker process (`python -m bot.reports.render_worker`, one per chart), so the
bot never loads matplotlib and its memory goes away with the worker. A worker thread was
measured first: the render holds the GIL in long C calls and its allocations set off
full garbage collections, which stalled the bot's event loop by 40-80 ms on the 2-core
development machine; in a process of its own the loop is untouched (README, Monitoring,
has the figures). The picture has its own opaque background, so it reads the same in
Discord's dark and light themes; the colours are Okabe-Ito's, distinguishable with
colour blindness.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import sys
import tempfile
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date

from bot.store.report_series import DayUsage

FILENAME = "usage-report.png"
BACKGROUND = "#F2F3F5"
PANEL = "#FFFFFF"
INK = "#1E1F22"
GRID = "#D4D7DC"
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
OTHER_MODELS = "other models"
TOP_MEMBERS = 10

# A report whose chart takes longer than this is sent without it.
RENDER_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class MemberBar:
    label: str  # "1. Alice": the rank matches the report's list
    images: int
    cost_usd: float


@dataclass(frozen=True, slots=True)
class ChartLabels:
    """The words on the chart, written by the caller in the reader's language (bot/text)."""

    images_per_day: str = "Images per day"
    spend_per_day: str = "Est. spend per day (USD)"
    day: str = "Day (UTC)"
    top_members: str = "Top members"
    images: str = "Images"
    no_edits: str = "No edits yet"
    day_ticks: list[str] | None = None  # one per day ("Dec 05"); None: English month names


@dataclass(frozen=True, slots=True)
class ChartData:
    title: str
    days: list[date]
    usage: list[DayUsage]
    members: list[MemberBar]
    labels: ChartLabels = field(default_factory=ChartLabels)

    @property
    def empty(self) -> bool:
        return not self.usage and not self.members


def _models(usage: list[DayUsage]) -> list[str]:
    """Models by images, then spend, most first; beyond the palette they share one colour."""
    totals: dict[str, tuple[int, float]] = defaultdict(lambda: (0, 0.0))
    for u in usage:
        images, cost = totals[u.model]
        totals[u.model] = (images + u.images, cost + u.cost_usd)
    ranked = sorted(totals, key=lambda m: (-totals[m][0], -totals[m][1], m))
    if len(ranked) > len(PALETTE):
        ranked = ranked[: len(PALETTE) - 1] + [OTHER_MODELS]
    return ranked


def render_png(data: ChartData) -> bytes:
    """Draw the chart (blocking, CPU-bound: `ChartRenderer` runs it in a process of its own)."""
    return _render(data)


class ChartError(Exception):
    """The worker could not draw the chart (its stderr's last line says why)."""


class ChartRenderer:
    """Draws each chart in a worker process of its own, one chart at a time."""

    def __init__(self, timeout: float = RENDER_TIMEOUT_SECONDS) -> None:
        self.timeout = timeout
        self._one_at_a_time = asyncio.Lock()
        self.last_worker_pid: int | None = None

    async def render(self, data: ChartData) -> bytes:
        async with self._one_at_a_time:
            worker = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot.reports.render_worker",
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                env=_worker_environment(),
            )
            self.last_worker_pid = worker.pid
            try:
                png, err = await asyncio.wait_for(worker.communicate(encode(data)), self.timeout)
            except BaseException:
                if worker.returncode is None:
                    worker.kill()
                    await worker.wait()
                raise
            if worker.returncode != 0 or not png.startswith(b"\x89PNG"):
                lines = err.decode("utf-8", "replace").strip().splitlines()
                raise ChartError(f"the chart worker exited {worker.returncode}: {lines[-1] if lines else 'no output'}")
            return png


def _worker_environment() -> dict[str, str]:
    """This process's environment, with this checkout first on the path (the bot may have
    been started from another folder) and a writable matplotlib cache folder."""
    env = dict(os.environ)
    here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH", "")) if p)
    # The container's HOME is not writable: without a cache folder matplotlib would warn
    # and rebuild its font list for every chart (~1 s); /tmp is a tmpfs there.
    env.setdefault("MPLCONFIGDIR", os.path.join(tempfile.gettempdir(), "retouch-matplotlib"))
    return env


def encode(data: ChartData) -> bytes:
    """`data` as JSON for the worker."""
    return json.dumps(asdict(data), default=lambda d: d.isoformat()).encode()


def decode(raw: bytes) -> ChartData:
    doc = json.loads(raw)
    return ChartData(
        title=doc["title"],
        days=[date.fromisoformat(d) for d in doc["days"]],
        usage=[DayUsage(date.fromisoformat(u["day"]), u["model"], u["images"], u["cost_usd"]) for u in doc["usage"]],
        members=[MemberBar(**m) for m in doc["members"]],
        labels=ChartLabels(**doc["labels"]) if "labels" in doc else ChartLabels(),
    )


def _style_axes(ax, *, ylabel: str, xlabel: str | None = None, horizontal: bool = False) -> None:  # type: ignore[no-untyped-def]
    ax.set_facecolor(PANEL)
    ax.set_ylabel(ylabel, color=INK, fontsize=11)
    if xlabel:
        ax.set_xlabel(xlabel, color=INK, fontsize=11)
    ax.tick_params(colors=INK, labelsize=9.5)
    ax.grid(axis="x" if horizontal else "y", color=GRID, linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color(INK)


def _render(data: ChartData) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    models = _models(data.usage)
    known = set(models) - {OTHER_MODELS}
    index = {d: i for i, d in enumerate(data.days)}
    images = {m: [0.0] * len(data.days) for m in models}
    spend = {m: [0.0] * len(data.days) for m in models}
    for u in data.usage:
        if u.day not in index:
            continue
        model = u.model if u.model in known else OTHER_MODELS
        images[model][index[u.day]] += u.images
        spend[model][index[u.day]] += u.cost_usd

    fig = Figure(figsize=(11, 6.2), dpi=100, facecolor=BACKGROUND, layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(2, 2, width_ratios=(1.75, 1))
    ax_images = fig.add_subplot(grid[0, 0])
    ax_spend = fig.add_subplot(grid[1, 0], sharex=ax_images)
    ax_members = fig.add_subplot(grid[:, 1])
    fig.suptitle(data.title, color=INK, fontsize=14, fontweight="bold")

    x = list(range(len(data.days)))
    words = data.labels
    for ax, values, ylabel in ((ax_images, images, words.images_per_day), (ax_spend, spend, words.spend_per_day)):
        bottom = [0.0] * len(x)
        for colour, model in zip(PALETTE, models):
            ax.bar(x, values[model], bottom=bottom, color=colour, width=0.8, label=model)
            bottom = [b + v for b, v in zip(bottom, values[model])]
        _style_axes(ax, ylabel=ylabel, xlabel=words.day if ax is ax_spend else None)
    ax_images.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax_spend.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"${v:,.2f}"))
    step = max(1, len(x) // 10)
    ticks = words.day_ticks if words.day_ticks and len(words.day_ticks) == len(data.days) else [d.strftime("%b %d") for d in data.days]
    ax_spend.set_xticks(x[::step], ticks[::step])
    ax_images.tick_params(labelbottom=False)
    if models:
        ax_images.legend(fontsize=9.5, frameon=False, labelcolor=INK, loc="lower left", bbox_to_anchor=(0, 1.0),
                         ncols=min(4, len(models)), handlelength=1.2, borderaxespad=0.2)

    members = data.members[:TOP_MEMBERS]
    ys = list(range(len(members)))[::-1]  # the first member on top
    ax_members.barh(ys, [m.images for m in members], color=PALETTE[0], height=0.65)
    ax_members.set_yticks(ys, [m.label for m in members])
    for y, m in zip(ys, members):
        ax_members.annotate(f" {m.images:,} · ${m.cost_usd:,.2f}", (m.images, y), va="center", color=INK, fontsize=9)
    ax_members.set_title(words.top_members, color=INK, fontsize=12)
    ax_members.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_members.margins(x=0.3)
    _style_axes(ax_members, ylabel="", xlabel=words.images, horizontal=True)
    if not members:
        ax_members.text(0.5, 0.5, words.no_edits, transform=ax_members.transAxes, ha="center", color=INK)

    out = io.BytesIO()
    fig.savefig(out, format="png", facecolor=BACKGROUND, metadata={"Software": None})
    return out.getvalue()
