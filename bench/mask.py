"""Mask building on a 4096×4096 photo: CPU per technique against a baseline, and event-loop stalls.

    /work/venv/bin/python bench/mask.py [--runs 5] [--edge 4096]

Inputs, generated once: a photo-like 4096² JPEG (gradient, fine texture, hard-edged
shapes; q=90), and a painted copy of it as a phone makes one: a blob and a stroke painted
on, stored rotated with EXIF orientation 6, JPEG q=70.

Techniques, each timed as process CPU (`time.process_time`, all threads) over --runs
fresh calls, median reported, with the ratio to the baseline measured in the same run:
- baseline: `prepare_mask` of an ordinary 4096² alpha mask (an RGBA PNG with a
  transparent ellipse) — what an uploaded mask already cost;
- region: `parse_region` + `prepare_region_mask` for "ellipse:20,20,50,40";
- painted copy: `derive_painted_mask` from the copy's bytes;
- painted copy via dispatch: `prepare_mask_for` (tells it from a mask first);
- preview: `render_mask_preview` of the painted mask (no target; for the record).
Two image sizes: "full" keeps the mask at 4096² (limits without a pixel cap: the worst
case), "gpt" uses the production limits (a 4096² photo is sent at 2896², 8.3 MP).

Event loop: while `prepare_input_async` (region, then painted copy) and
`render_mask_preview_async` run, a 1 ms ticker records its worst lateness (< 20 ms).
Targets: region and painted copy < 300 ms CPU each at 4096².
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image, ImageDraw  # noqa: E402

from bot.images import (  # noqa: E402
    GPT_IMAGE_LIMITS,
    ImageLimits,
    derive_painted_mask,
    parse_region,
    prepare_image,
    prepare_input_async,
    prepare_mask,
    prepare_mask_for,
    prepare_region_mask,
    render_mask_preview,
    render_mask_preview_async,
)
from bot.images.mask_png import binary_png, pillow_png  # noqa: E402
from tests.images.helpers import painted_copy, photo  # noqa: E402

CPU_TARGET_MS = 300.0
STALL_LIMIT_MS = 20.0
REGION = "ellipse:20,20,50,40"
FULL_LIMITS = ImageLimits(max_pixels=None, max_edge=4096)


def make_inputs(edge: int) -> tuple[bytes, bytes, bytes, Image.Image]:
    """(photo JPEG, painted copy JPEG, alpha-mask PNG, the mask's alpha)."""
    src = photo((edge, edge), seed=7)
    buf = io.BytesIO()
    src.save(buf, "JPEG", quality=90)
    area = Image.new("L", src.size, 0)
    draw = ImageDraw.Draw(area)
    draw.ellipse((edge * 0.15, edge * 0.2, edge * 0.5, edge * 0.6), fill=255)
    draw.line([(edge * 0.1, edge * 0.85), (edge * 0.5, edge * 0.7), (edge * 0.9, edge * 0.75)], fill=255, width=edge // 30)
    copy = painted_copy(src, area, orientation=6, quality=70)
    alpha = Image.new("L", src.size, 255)
    ImageDraw.Draw(alpha).ellipse((edge * 0.2, edge * 0.2, edge * 0.7, edge * 0.6), fill=0)
    rgba = Image.merge("RGBA", (alpha, alpha, alpha, alpha))
    mask_buf = io.BytesIO()
    rgba.save(mask_buf, "PNG")
    return buf.getvalue(), copy, mask_buf.getvalue(), alpha


def cpu_ms(fn: Callable[[], object], runs: int) -> float:
    fn()  # warm-up: imports, Pillow plugin registry, allocator
    times = []
    for _ in range(runs):
        start = time.process_time()
        fn()
        times.append((time.process_time() - start) * 1000)
    return statistics.median(times)


async def worst_stall_ms(make: Callable[[], object]) -> float:
    """Run the coroutine `make()` returns while a 1 ms ticker measures its lateness."""
    worst = 0.0
    done = False

    async def tick() -> None:
        nonlocal worst
        while not done:
            start = time.perf_counter()
            await asyncio.sleep(0.001)
            worst = max(worst, (time.perf_counter() - start - 0.001) * 1000)

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0.01)  # ticker running before the work starts
    await make()  # type: ignore[misc]
    done = True
    await ticker
    return worst


def report(name: str, limits: ImageLimits, photo_jpeg: bytes, copy_jpeg: bytes, mask_png: bytes,
           edge: int, runs: int) -> bool:
    """Print one table (median CPU per technique, ratio to the baseline); True if on target."""
    image = prepare_image(photo_jpeg, limits=limits)
    size = image.size
    painted = derive_painted_mask(copy_jpeg, image, limits=limits)
    results = {
        f"baseline: prepare_mask ({edge}² alpha mask)": cpu_ms(
            lambda: prepare_mask(mask_png, image_size=size, original_size=(edge, edge), limits=limits), runs
        ),
        "region: parse + prepare_region_mask": cpu_ms(
            lambda: prepare_region_mask(parse_region(REGION), image, limits=limits), runs
        ),
        "painted copy: derive_painted_mask": cpu_ms(lambda: derive_painted_mask(copy_jpeg, image, limits=limits), runs),
        "painted copy via prepare_mask_for": cpu_ms(lambda: prepare_mask_for(copy_jpeg, image, limits=limits), runs),
        "preview: render_mask_preview": cpu_ms(lambda: render_mask_preview(image, painted), runs),
    }
    baseline = next(iter(results.values()))
    print(f"\n[{name}] image sent at {size[0]}×{size[1]}; painted mask covers {painted.edit_fraction:.1%}; "
          f"median CPU of {runs} runs")
    print(f"  {'technique':<44}{'CPU ms':>8}{'× base':>8}  target")
    ok = True
    for label, ms in results.items():
        verdict = ""
        if label.startswith(("region", "painted copy: ")):
            passed = ms < CPU_TARGET_MS
            ok &= passed
            verdict = f"< {CPU_TARGET_MS:.0f} ms  {'PASS' if passed else 'FAIL'}"
        print(f"  {label:<44}{ms:>8.1f}{ms / baseline:>8.2f}  {verdict}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="timed calls per technique (median)")
    parser.add_argument("--edge", type=int, default=4096, help="photo edge in pixels")
    args = parser.parse_args()

    started = time.perf_counter()
    photo_jpeg, copy_jpeg, mask_png, alpha = make_inputs(args.edge)
    print(f"inputs: photo {args.edge}² JPEG {len(photo_jpeg) / 1e6:.1f} MB, painted copy (EXIF 6, q70) "
          f"{len(copy_jpeg) / 1e6:.1f} MB, alpha mask PNG {len(mask_png) / 1e6:.2f} MB "
          f"(made in {time.perf_counter() - started:.1f} s)")

    ok = True
    for name, limits in (("full", FULL_LIMITS), ("gpt", GPT_IMAGE_LIMITS)):
        ok &= report(name, limits, photo_jpeg, copy_jpeg, mask_png, args.edge, args.runs)

    # What the PNG writer saves: both encoders on the same 4096² binary alpha.
    ours = cpu_ms(lambda: binary_png(alpha), args.runs)
    pillows = cpu_ms(lambda: pillow_png(alpha, 6), args.runs)
    print(f"\nPNG writing of the {args.edge}² binary mask: binary_png {ours:.1f} ms, Pillow's encoder "
          f"{pillows:.1f} ms ({ours / pillows:.2f}×)")

    region = parse_region(REGION)

    async def stalls() -> dict[str, float]:
        image = prepare_image(photo_jpeg, limits=FULL_LIMITS)
        painted = derive_painted_mask(copy_jpeg, image, limits=FULL_LIMITS)
        return {
            "prepare_input_async(photo, region=...)": await worst_stall_ms(
                lambda: prepare_input_async(photo_jpeg, region=region, limits=FULL_LIMITS)
            ),
            "prepare_input_async(photo, painted copy)": await worst_stall_ms(
                lambda: prepare_input_async(photo_jpeg, copy_jpeg, limits=FULL_LIMITS)
            ),
            "render_mask_preview_async": await worst_stall_ms(lambda: render_mask_preview_async(image, painted)),
        }

    print(f"\nlongest event-loop stall while the async API runs ({args.edge}² photo, full limits):")
    for label, stall in asyncio.run(stalls()).items():
        passed = stall < STALL_LIMIT_MS
        ok &= passed
        print(f"  {label:<44}{stall:>8.1f} ms  < {STALL_LIMIT_MS:.0f} ms  {'PASS' if passed else 'FAIL'}")

    print("PASS" if ok else "FAIL: over target")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
