"""Draws docs/member-view.png: what a member sees after `/edit`, from a REAL run of the bot.

Run from the repository root (no network, no Discord account, no API key needed):

    python docs/make_member_view.py            # writes docs/member-view.png
    python docs/make_member_view.py --out x.png --width 900

What happens:

1. the local fakes start in this process: the fake Discord (tests/fakes/discord_server.py)
   and the fake OpenAI-compatible image API (tests/fakes/image_api.py);
2. the real bot (bot.discord_app.retouch_bot.Retouch, all its cogs) connects to them, exactly as the
   end-to-end tests do (tests/conftest.py: make_settings, running_bot);
3. the member "alice" runs `/edit` with a drawn picture of a paper boat, the prompt
   "Add a small red ribbon to the paper boat" and n=2 (default model gpt-image-2);
   the fake provider answers with two drawn pictures of the boat with a red ribbon, and
   its usual OpenAI-shaped usage numbers;
4. the message the bot finally posted (its embed and its two image files, as the fake
   Discord received them) is drawn with Pillow in the style of Discord's dark theme.

Nothing in the embed is written by hand: its description and footer are the bot's own
text; only Discord's markdown (`> quote`, `**bold**`, `<t:UNIX:R>`) is rendered here the
way the Discord client shows it. Tokens, cost and the duration are the fake's numbers.
Uses only the project's own dependencies (Pillow comes with the bot).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
import math
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

sys.dont_write_bytecode = True  # leave no __pycache__ behind in tests/ or bot/
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from PIL import Image, ImageDraw, ImageFont  # noqa: E402

from tests.conftest import make_settings, running_bot  # noqa: E402
from tests.fakes.discord_server import FakeAttachment, FakeDiscord, SentMessage  # noqa: E402
from tests.fakes.image_api import FakeImageAPI, RecordedRequest, Reply  # noqa: E402

PROMPT = "Add a small red ribbon to the paper boat"
N_IMAGES = 2
SCENE_SIZE = 1024
CAPTION = (
    "Rendered from a real run of Retouch against the local fake provider (tests/fakes); "
    "tokens, costs and timing are the fake's numbers."
)

# --------------------------------------------------------------------------------------
# 1. The pictures: a paper boat on blue water, drawn with shapes
# --------------------------------------------------------------------------------------

SKY = (172, 214, 242)
SUN = (255, 214, 102)
WATER = (52, 120, 196)
WATER_DARK = (38, 96, 168)
WAVE = (120, 178, 230)
PAPER = (248, 246, 238)
PAPER_SHADE = (214, 210, 198)
PAPER_DARK = (186, 180, 166)
RIBBON = (214, 40, 52)
RIBBON_DARK = (160, 24, 36)


def _boat_scene(ribbon: str | None) -> Image.Image:
    """The scene at SCENE_SIZE px; `ribbon` is None, "bow" or "pennant"."""
    s = SCENE_SIZE
    u = s / 100  # one unit = 1% of the side
    im = Image.new("RGB", (s, s), SKY)
    d = ImageDraw.Draw(im)

    def p(x: float, y: float) -> tuple[float, float]:
        return (x * u, y * u)

    # sun and two clouds
    d.ellipse([*p(74, 8), *p(90, 24)], fill=SUN)
    for cx, cy, k in ((22, 18, 1.0), (52, 12, 0.7)):
        for dx, dy, r in ((0, 0, 5), (5, -2, 6), (10, 0, 5), (5, 2, 4.5)):
            x, y, rr = cx + dx * k, cy + dy * k, r * k
            d.ellipse([*p(x - rr, y - rr), *p(x + rr, y + rr)], fill=(250, 252, 255))

    # water with a few wave strokes
    horizon = 58
    d.rectangle([*p(0, horizon), *p(100, 100)], fill=WATER)
    d.rectangle([*p(0, 86), *p(100, 100)], fill=WATER_DARK)
    for row, (y, x0) in enumerate(((64, 6), (70, 58), (78, 14), (82, 70), (92, 36))):
        for k in range(3 if row % 2 else 2):
            x = x0 + k * 9
            d.arc([*p(x, y - 2), *p(x + 6, y + 2)], 200, 340, fill=WAVE, width=max(2, int(0.6 * u)))

    # the paper boat: hull (a trapezoid with a front and a back face), sail (two triangles)
    base_y, top_y = 74, 62
    d.polygon([p(20, top_y), p(80, top_y), p(70, base_y), p(30, base_y)], fill=PAPER)
    d.polygon([p(20, top_y), p(34, top_y), p(30, base_y)], fill=PAPER_SHADE)
    d.polygon([p(66, top_y), p(80, top_y), p(70, base_y)], fill=PAPER_SHADE)
    d.polygon([p(34, top_y), p(50, 30), p(50, top_y)], fill=PAPER)
    d.polygon([p(50, 30), p(66, top_y), p(50, top_y)], fill=PAPER_SHADE)
    d.line([p(50, 30), p(50, top_y)], fill=PAPER_DARK, width=max(1, int(0.35 * u)))
    d.line([p(20, top_y), p(80, top_y)], fill=PAPER_DARK, width=max(1, int(0.35 * u)))
    # its reflection
    d.polygon([p(30, base_y + 0.6), p(70, base_y + 0.6), p(66, base_y + 3), p(34, base_y + 3)], fill=WATER_DARK)

    if ribbon == "bow":  # a bow tied on the hull, with two tails
        cx, cy = 50, 67.5
        d.polygon([p(cx - 1, cy), p(cx - 7, cy - 3.6), p(cx - 7, cy + 3.6)], fill=RIBBON)
        d.polygon([p(cx + 1, cy), p(cx + 7, cy - 3.6), p(cx + 7, cy + 3.6)], fill=RIBBON)
        for side in (-1, 1):  # short tails with notched ends
            d.polygon([p(cx, cy), p(cx + side * 1.6, cy + 0.6), p(cx + side * 4.2, cy + 4.8),
                       p(cx + side * 3.0, cy + 4.0), p(cx + side * 2.4, cy + 5.4), p(cx + side * 0.2, cy + 1.6)],
                      fill=RIBBON_DARK)
        d.ellipse([*p(cx - 1.6, cy - 1.6), *p(cx + 1.6, cy + 1.6)], fill=RIBBON_DARK)
    elif ribbon == "pennant":  # a ribbon streaming from the tip of the sail
        tip_x, tip_y = 50, 30
        d.polygon(
            [p(tip_x, tip_y), p(tip_x + 8, tip_y - 3), p(tip_x + 15, tip_y + 0.5), p(tip_x + 20, tip_y - 1.5),
             p(tip_x + 15, tip_y + 3), p(tip_x + 8, tip_y + 0.6), p(tip_x, tip_y + 2.6)],
            fill=RIBBON,
        )
        d.ellipse([*p(tip_x - 1.3, tip_y - 1.3), *p(tip_x + 1.3, tip_y + 1.3)], fill=RIBBON_DARK)
    return im


def _png(im: Image.Image) -> bytes:
    out = io.BytesIO()
    im.save(out, "PNG", optimize=True)
    return out.getvalue()


INPUT_PNG = _png(_boat_scene(None))
OUTPUT_PNGS = [_png(_boat_scene("bow")), _png(_boat_scene("pennant"))]


class SceneImageAPI(FakeImageAPI):
    """The fake provider, answering with the drawn boats instead of solid squares."""

    def _image(self, recorded: RecordedRequest, reply: Reply, index: int) -> bytes:
        return OUTPUT_PNGS[index % len(OUTPUT_PNGS)]


# --------------------------------------------------------------------------------------
# 2. The real run
# --------------------------------------------------------------------------------------


@dataclass
class Run:
    message: SentMessage
    member_name: str
    member_id: int
    bot_name: str
    bot_id: int
    finished_at: float  # UNIX time the result arrived (for "in 9 hours" and "Today at")
    upstream_fields: dict[str, list[str]]


async def real_run() -> Run:
    with tempfile.TemporaryDirectory(prefix="retouch-docs-") as tmp:
        async with FakeDiscord() as fake, SceneImageAPI() as api:
            undo = fake.patch_discord()
            try:
                # The provider reports the size of the drawn pictures; usage: the fake's
                # OpenAI shape (226 in / 4,160 out per image).
                api.set_default(Reply.images(size=(SCENE_SIZE, SCENE_SIZE), usage="openai"))
                settings = make_settings(
                    Path(tmp), image_api_base_url=api.base_url, image_api_key=api.api_key,
                    quota_default_limit=10,
                )
                async with running_bot(settings, fake):
                    member = fake.member("alice")
                    rec = await fake.invoke(
                        "edit", by=member, image=FakeAttachment.image(INPUT_PNG, "boat.png"),
                        prompt=PROMPT, n=N_IMAGES,
                    )
                    message = await rec.wait_result()
                    finished = time.time()
                    if rec.violations:
                        raise SystemExit(f"the fake Discord saw violations: {rec.violations}")
            finally:
                undo()
            if message.ephemeral or len(message.files) != N_IMAGES or not message.embeds:
                raise SystemExit(f"unexpected result: {message.text!r}, {len(message.files)} file(s)")
            [edit] = api.edits
            return Run(
                message=message,
                member_name=member.user_payload()["global_name"],
                member_id=member.id,
                bot_name=fake.bot_user.name,
                bot_id=fake.bot_user.id,
                finished_at=finished,
                upstream_fields=edit.fields,
            )


# --------------------------------------------------------------------------------------
# 3. Discord's markdown, as the client shows it
# --------------------------------------------------------------------------------------


def relative_time(target: float, now: float) -> str:
    """Discord's `<t:…:R>`: moment.js-style relative time ("in 9 hours", "2 days ago")."""
    delta = target - now
    s = abs(delta)
    minutes, hours, days = s / 60, s / 3600, s / 86400

    def r(x: float) -> int:
        return int(math.floor(x + 0.5))

    if s < 45:
        text = "a few seconds"
    elif s < 90:
        text = "a minute"
    elif r(minutes) < 45:
        text = f"{r(minutes)} minutes"
    elif minutes < 90:
        text = "an hour"
    elif r(hours) < 22:
        text = f"{r(hours)} hours"
    elif hours < 36:
        text = "a day"
    elif r(days) < 26:
        text = f"{r(days)} days"
    elif days < 45:
        text = "a month"
    elif days < 320:
        text = f"{max(2, r(days / 30.4))} months"
    elif days < 548:
        text = "a year"
    else:
        text = f"{r(days / 365)} years"
    return f"in {text}" if delta >= 0 else f"{text} ago"


def absolute_time(unix: int, style: str) -> str:
    moment = datetime.fromtimestamp(unix)
    formats = {"t": "%H:%M", "T": "%H:%M:%S", "d": "%d/%m/%Y", "D": "%d %B %Y",
               "f": "%d %B %Y %H:%M", "F": "%A, %d %B %Y %H:%M"}
    return moment.strftime(formats.get(style, formats["f"]))


# A span: (text, kind) with kind "text", "bold" or "time" (a timestamp chip).
Span = tuple[str, str]
_INLINE = re.compile(r"\*\*(.+?)\*\*|<t:(-?\d+)(?::([tTdDfFR]))?>")


def inline_spans(line: str, now: float) -> list[Span]:
    spans: list[Span] = []
    pos = 0
    for m in _INLINE.finditer(line):
        if m.start() > pos:
            spans.append((line[pos:m.start()], "text"))
        if m.group(1) is not None:
            spans.append((m.group(1), "bold"))
        else:
            unix, style = int(m.group(2)), m.group(3) or "f"
            shown = relative_time(unix, now) if style == "R" else absolute_time(unix, style)
            spans.append((shown, "time"))
        pos = m.end()
    if pos < len(line):
        spans.append((line[pos:], "text"))
    return spans


def markdown_blocks(text: str, now: float) -> list[tuple[bool, list[Span]]]:
    """Lines as (is_quote, spans). Discord: a line starting with "> " is a block quote."""
    blocks = []
    for line in text.split("\n"):
        quote = line.startswith("> ") or line == ">"
        body = line[2:] if line.startswith("> ") else ("" if line == ">" else line)
        blocks.append((quote, inline_spans(body, now)))
    return blocks


def plain_markdown(text: str, now: float) -> str:
    """The same text as a screen reader would get it (for the README's text version)."""
    out = []
    for quote, spans in markdown_blocks(text, now):
        out.append(("> " if quote else "") + "".join(t for t, _ in spans))
    return "\n".join(out)


# --------------------------------------------------------------------------------------
# 4. Drawing, Discord dark theme
# --------------------------------------------------------------------------------------

BG = (49, 51, 56)  # #313338
EMBED_BG = (43, 45, 49)  # #2B2D31
TEXT = (219, 222, 225)  # #DBDEE1
HEADER = (242, 243, 245)  # #F2F3F5
MUTED = (148, 155, 164)  # #949BA4
SPINE = (78, 80, 88)  # #4E5058
QUOTE_BAR = (78, 80, 88)
LINK = (0, 168, 252)  # #00A8FC
BLURPLE = (88, 101, 242)  # #5865F2
# Discord button styles: 1 primary, 2 secondary, 3 success, 4 danger.
BUTTON_FILLS = {1: (88, 101, 242), 2: (78, 80, 88), 3: (36, 128, 70), 4: (218, 55, 60)}
TIME_CHIP = (64, 66, 73)
CAPTION_BG = (30, 31, 34)  # #1E1F22
CAPTION_TEXT = (181, 186, 193)
# Discord's default avatars (the user has none): colour = (id >> 22) % 6
DEFAULT_AVATAR_COLOURS = [(88, 101, 242), (117, 126, 138), (59, 165, 93), (250, 166, 26), (237, 66, 69), (235, 69, 158)]

FONT_DIRS = ["/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu", "/usr/local/share/fonts",
             "/Library/Fonts", "C:/Windows/Fonts"]


class Fonts:
    def __init__(self, scale: float) -> None:
        self.scale = scale
        self.found = self._find("DejaVuSans.ttf") is not None
        self._cache: dict[tuple[bool, int], Any] = {}

    @staticmethod
    def _find(name: str) -> Path | None:
        for folder in FONT_DIRS:
            path = Path(folder) / name
            if path.exists():
                return path
        return None

    def get(self, size: float, bold: bool = False) -> Any:
        px = max(8, round(size * self.scale))
        key = (bold, px)
        if key not in self._cache:
            path = self._find("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")
            if path is not None:
                self._cache[key] = ImageFont.truetype(str(path), px)
            else:  # Pillow's own font (scalable since Pillow 10.1)
                self._cache[key] = ImageFont.load_default(px)
        return self._cache[key]


def text_width(font: Any, text: str) -> float:
    return font.getlength(text)


def default_avatar(size: int, user_id: int) -> Image.Image:
    """A round default avatar: the coloured disc with a simplified white Discord face."""
    k = 4  # draw large, shrink for smooth edges
    big = size * k
    colour = DEFAULT_AVATAR_COLOURS[(user_id >> 22) % 6]
    im = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    d = ImageDraw.Draw(im)
    d.ellipse([0, 0, big - 1, big - 1], fill=colour)
    w, h = big * 0.56, big * 0.40
    x0, y0 = (big - w) / 2, big * 0.32
    d.rounded_rectangle([x0, y0, x0 + w, y0 + h], radius=h * 0.45, fill="white")
    d.ellipse([x0 - w * 0.06, y0 - h * 0.12, x0 + w * 0.28, y0 + h * 0.5], fill="white")  # ears
    d.ellipse([x0 + w * 0.78, y0 - h * 0.12, x0 + w * 1.06, y0 + h * 0.5], fill="white")
    er = big * 0.055
    for ex in (x0 + w * 0.32, x0 + w * 0.68):
        d.ellipse([ex - er, y0 + h * 0.42 - er, ex + er, y0 + h * 0.42 + er * 1.2], fill=colour)
    return im.resize((size, size), Image.LANCZOS)


def rounded_thumb(data: bytes, size: tuple[int, int], radius: int) -> Image.Image:
    with Image.open(io.BytesIO(data)) as src:
        src = src.convert("RGB")
        # cover-crop to the tile, as Discord's mosaic does
        tw, th = size
        scale = max(tw / src.width, th / src.height)
        resized = src.resize((max(tw, round(src.width * scale)), max(th, round(src.height * scale))), Image.LANCZOS)
        left, top = (resized.width - tw) // 2, (resized.height - th) // 2
        tile = resized.crop((left, top, left + tw, top + th)).convert("RGBA")
    mask = Image.new("L", (tw * 4, th * 4), 0)
    ImageDraw.Draw(mask).rounded_rectangle([0, 0, tw * 4 - 1, th * 4 - 1], radius=radius * 4, fill=255)
    tile.putalpha(mask.resize((tw, th), Image.LANCZOS))
    return tile


@dataclass
class Layout:
    width: int
    s: float  # scale: Discord px -> image px

    def __call__(self, v: float) -> int:
        return round(v * self.s)


def wrap_spans(spans: list[Span], fonts: Fonts, size: float, max_width: float) -> list[list[Span]]:
    """Greedy word wrap over styled spans; a timestamp chip is never split."""
    words: list[Span] = []
    for text, kind in spans:
        if kind == "time":
            words.append((text, kind))
            continue
        for piece in re.split(r"(\s+)", text):
            if piece:
                words.append((piece, kind))
    lines: list[list[Span]] = [[]]
    width = 0.0
    for text, kind in words:
        font = fonts.get(size, bold=kind == "bold")
        extra = fonts.scale * 8 if kind == "time" else 0  # chip padding
        w = text_width(font, text) + extra
        if text.isspace():
            if lines[-1]:
                lines[-1].append((" ", kind))
                width += text_width(font, " ")
            continue
        if width + w > max_width and lines[-1]:
            while lines[-1] and lines[-1][-1][0] == " ":
                lines[-1].pop()
            lines.append([])
            width = 0.0
        lines[-1].append((text, kind))
        width += w
    return lines


def draw_spans(d: ImageDraw.ImageDraw, x: float, y: float, line: list[Span], fonts: Fonts, size: float,
               line_h: float, colour: tuple[int, int, int]) -> None:
    for text, kind in line:
        font = fonts.get(size, bold=kind == "bold")
        w = text_width(font, text)
        if kind == "time":
            pad = fonts.scale * 4
            top, bottom = y + line_h * 0.08, y + line_h * 0.92
            d.rounded_rectangle([x, top, x + w + 2 * pad, bottom], radius=fonts.scale * 3, fill=TIME_CHIP)
            d.text((x + pad, y + line_h / 2), text, font=font, fill=colour, anchor="lm")
            x += w + 2 * pad
        else:
            fill = HEADER if kind == "bold" else colour
            fake_bold = 1 if kind == "bold" and not fonts.found else 0  # Pillow's font has no bold
            d.text((x, y + line_h / 2), text, font=font, fill=fill, anchor="lm", stroke_width=fake_bold, stroke_fill=fill)
            x += w


def render(run: Run, width: int) -> tuple[Image.Image, str]:
    """The picture, and the same content as plain text."""
    L = Layout(width, width / 660)  # the message column of Discord is ~660 px wide here
    fonts = Fonts(L.s)
    embed = run.message.embeds[0]
    description = embed.get("description", "")
    footer = (embed.get("footer") or {}).get("text", "")
    colour_int = embed.get("color")
    bar_colour = ((colour_int >> 16) & 255, (colour_int >> 8) & 255, colour_int & 255) if colour_int is not None else SPINE
    now = run.finished_at

    # geometry (Discord px, scaled by L)
    pad_x, gutter = L(16), L(72)  # avatar column, then content
    content_w = width - gutter - L(16)
    embed_w = min(content_w, L(520))
    embed_inner_x = L(4) + L(12)
    embed_text_w = embed_w - embed_inner_x - L(16)
    desc_size, desc_lh = 14, L(18) + L(2)
    blocks = markdown_blocks(description, now)
    wrapped = [(quote, wrap_spans(spans, fonts, desc_size, embed_text_w - (L(16) if quote else 0)))
               for quote, spans in blocks]
    desc_lines = sum(len(lines) for _, lines in wrapped)
    embed_h = L(12) + desc_lines * desc_lh + L(8) + L(16) + L(14)

    tile_gap = L(4)
    tile_w = (embed_w - tile_gap) // 2
    tile_h = tile_w

    caption_font = fonts.get(11)
    caption_lines = wrap_spans([(CAPTION, "text")], fonts, 11, width - 2 * pad_x)
    caption_lh = L(15)
    caption_h = L(10) * 2 + caption_lh * len(caption_lines)

    y_cmd = L(16)
    y_head = y_cmd + L(22)
    y_tiles = y_head + L(26)
    y_embed = y_tiles + tile_h + L(8)
    buttons = [c for row in run.message.components for c in row.get("components", []) if c.get("type") == 2]
    y_buttons = y_embed + embed_h + L(8)
    button_h = L(32)
    body_h = (y_buttons + button_h if buttons else y_embed + embed_h) + L(18)
    height = body_h + caption_h

    im = Image.new("RGB", (width, height), BG)
    d = ImageDraw.Draw(im)

    # --- "alice used /edit" (the interaction header, with its spine) -------------------
    avatar = L(40)
    spine_x = pad_x + avatar // 2
    spine_w = max(2, L(2))
    r = L(6)
    top = y_cmd + L(8)  # the spine: up from the bot's avatar, then right to the member
    d.line([(spine_x, y_head + L(1)), (spine_x, top + r)], fill=SPINE, width=spine_w)
    d.arc([spine_x - spine_w / 2, top - spine_w / 2, spine_x + 2 * r, top + 2 * r], 180, 270, fill=SPINE, width=spine_w)
    d.line([(spine_x + r, top), (gutter - L(6), top)], fill=SPINE, width=spine_w)
    small = L(16)
    x = gutter
    im.paste(default_avatar(small, run.member_id), (x, y_cmd), default_avatar(small, run.member_id))
    x += small + L(4)
    cy = y_cmd + small / 2
    f_name, f_small = fonts.get(14, bold=True), fonts.get(14)
    d.text((x, cy), run.member_name, font=f_name, fill=HEADER, anchor="lm")
    x += text_width(f_name, run.member_name) + L(4)
    d.text((x, cy), "used", font=f_small, fill=MUTED, anchor="lm")
    x += text_width(f_small, "used") + L(4)
    d.text((x, cy), "/edit", font=f_small, fill=LINK, anchor="lm")

    # --- the bot: avatar, name, APP badge, time ----------------------------------------
    big_avatar = default_avatar(avatar, run.bot_id)
    im.paste(big_avatar, (pad_x, y_head + L(2)), big_avatar)
    f_bot = fonts.get(16, bold=True)
    hy = y_head + L(11)
    d.text((gutter, hy), run.bot_name, font=f_bot, fill=HEADER, anchor="lm",
           stroke_width=0 if fonts.found else 1, stroke_fill=HEADER)
    x = gutter + text_width(f_bot, run.bot_name) + L(6)
    f_badge = fonts.get(10, bold=True)
    bw = text_width(f_badge, "APP") + L(8)
    d.rounded_rectangle([x, hy - L(8), x + bw, hy + L(8)], radius=L(3), fill=BLURPLE)
    d.text((x + bw / 2, hy), "APP", font=f_badge, fill="white", anchor="mm")
    x += bw + L(8)
    f_time = fonts.get(12)
    d.text((x, hy + L(1)), "Today at " + datetime.fromtimestamp(now).strftime("%H:%M"), font=f_time, fill=MUTED, anchor="lm")

    # --- the attachments, side by side -------------------------------------------------
    for i, sent in enumerate(run.message.files[:2]):
        tile = rounded_thumb(sent.data, (tile_w, tile_h), L(8))
        im.paste(tile, (gutter + i * (tile_w + tile_gap), y_tiles), tile)

    # --- the embed ---------------------------------------------------------------------
    ex, ey = gutter, y_embed
    d.rounded_rectangle([ex, ey, ex + embed_w, ey + embed_h], radius=L(4), fill=EMBED_BG)
    d.rounded_rectangle([ex, ey, ex + L(4) + L(4), ey + embed_h], radius=L(4), fill=bar_colour)
    d.rectangle([ex + L(4), ey, ex + L(8), ey + embed_h], fill=EMBED_BG)
    y = ey + L(12)
    tx = ex + embed_inner_x
    for quote, lines in wrapped:
        start = y
        for line in lines:
            draw_spans(d, tx + (L(16) if quote else 0), y, line, fonts, desc_size, desc_lh, TEXT)
            y += desc_lh
        if quote:
            d.rounded_rectangle([tx, start + L(1), tx + L(4) - 1, y - L(1)], radius=L(2), fill=QUOTE_BAR)
    y += L(8)
    d.text((tx, y + L(8)), footer, font=fonts.get(12), fill=TEXT, anchor="lm")

    # --- the message's buttons (the bot's own components, labels as sent) ----------------
    x = gutter
    f_button = fonts.get(14, bold=True)
    for button in buttons:
        label = button.get("label") or ""
        w = text_width(f_button, label) + L(32)
        fill = BUTTON_FILLS.get(button.get("style", 2), BUTTON_FILLS[2])
        d.rounded_rectangle([x, y_buttons, x + w, y_buttons + button_h], radius=L(4), fill=fill)
        d.text((x + w / 2, y_buttons + button_h / 2), label, font=f_button, fill="white", anchor="mm")
        x += w + L(8)

    # --- the caption strip -------------------------------------------------------------
    d.rectangle([0, body_h, width, height], fill=CAPTION_BG)
    cy = body_h + L(10)
    for line in caption_lines:
        d.text((pad_x, cy + caption_lh / 2), "".join(t for t, _ in line), font=caption_font, fill=CAPTION_TEXT, anchor="lm")
        cy += caption_lh

    # --- the text version --------------------------------------------------------------
    files = "  ".join(f"[image: {f.filename}]" for f in run.message.files)
    shown_buttons = "  ".join(f"[{b.get('label')}]" for b in buttons)
    body = plain_markdown(description, now)
    quoted = "\n".join("│ " + line for line in body.split("\n"))
    text = (
        f"↱ {run.member_name} used /edit\n"
        f"{run.bot_name} [APP]  Today at {datetime.fromtimestamp(now).strftime('%H:%M')}\n"
        f"{files}\n"
        f"{quoted}\n"
        f"│ {footer}\n"
        f"{shown_buttons}\n"
    )
    return im, text


def save_small(im: Image.Image, out: Path, colours: int = 128) -> int:
    """A palette PNG (median-cut quantized): the picture is mostly flat colours."""
    pal = im.quantize(colors=colours, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    pal.save(out, "PNG", optimize=True)
    return out.stat().st_size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "member-view.png")
    parser.add_argument("--width", type=int, default=900)
    parser.add_argument("--colours", type=int, default=128, help="palette size of the PNG")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("discord.client").setLevel(logging.ERROR)  # "PyNaCl is not installed" (no voice here)

    run = asyncio.run(real_run())
    embed = run.message.embeds[0]
    image, text = render(run, args.width)
    size = save_small(image, args.out, args.colours)
    fonts = Fonts(1)
    print(f"wrote {args.out} ({image.width}x{image.height}, {size / 1024:.0f} KB)"
          f"{'' if fonts.found else ' (DejaVu not found: Pillow default font)'}")
    print("\nThe bot's embed, verbatim:")
    print("  description:", repr(embed.get("description")))
    print("  footer:     ", repr((embed.get("footer") or {}).get("text")))
    print("  files:      ", [f"{f.filename} ({len(f.data):,} B)" for f in run.message.files])
    print("  upstream:   ", {k: v for k, v in run.upstream_fields.items() if k != "user"})
    print("\nText version:\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
