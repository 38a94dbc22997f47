"""Draws the README's mask pictures with the bot's own mask code (no Discord, no network).

    python docs/make_mask_pictures.py      # writes docs/mask-*.png

Each picture is what `mask_preview:True` shows a member: the image with the area the edit
may change tinted, for one way of making a mask without an image editor:

- `mask-region-preset.png`: `region:center`;
- `mask-region-custom.png`: `region:ellipse:55,8,30,30`;
- `mask-painted.png`: the painted copy a member uploads as `mask` (left; a phone photo
  editor's brush stroke, saved as JPEG) and the mask Retouch derives from it (right).

The scene is the paper boat of docs/make_member_view.py.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

sys.dont_write_bytecode = True
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from PIL import Image, ImageDraw  # noqa: E402

from bot.images import prepare_input  # noqa: E402
from bot.images.mask_preview import render_mask_preview  # noqa: E402
from bot.images.regions import parse_region  # noqa: E402
from docs.make_member_view import _boat_scene  # noqa: E402

WIDTH = 300  # each panel, px


def _png(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def _panel(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as im:
        panel = im.convert("RGB")
    panel.thumbnail((WIDTH, WIDTH))
    return panel


def _save(panels: list[Image.Image], out: Path) -> None:
    gap = 8
    sheet = Image.new("RGB", (sum(p.width for p in panels) + gap * (len(panels) - 1), max(p.height for p in panels)), (30, 31, 34))
    x = 0
    for panel in panels:
        sheet.paste(panel, (x, 0))
        x += panel.width + gap
    sheet.quantize(colors=160, method=Image.Quantize.MEDIANCUT).save(out, "PNG", optimize=True)
    print(f"wrote {out} ({sheet.width}x{sheet.height}, {out.stat().st_size / 1024:.0f} KB)")


def main() -> int:
    scene = _boat_scene(None).resize((512, 512))
    source = _png(scene)
    for name, region in (("mask-region-preset.png", "center"), ("mask-region-custom.png", "ellipse:55,8,30,30")):
        prepared = prepare_input(source, region=parse_region(region))
        _save([_panel(render_mask_preview(prepared))], ROOT / "docs" / name)

    painted = scene.copy()
    ImageDraw.Draw(painted).ellipse((190, 150, 330, 260), fill=(255, 40, 160))  # a brush blob over the sail
    buf = io.BytesIO()
    painted.save(buf, "JPEG", quality=70)  # as a phone gallery saves it
    prepared = prepare_input(source, buf.getvalue())
    print("derived:", prepared.mask.notes[0] if prepared.mask else "no mask")
    _save([_panel(buf.getvalue()), _panel(render_mask_preview(prepared))], ROOT / "docs" / "mask-painted.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
