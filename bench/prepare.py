"""CPU of `prepare_input` for one member image, this checkout against another version.

    /work/venv/bin/python bench/prepare.py [--before REF] [--runs 25] [--alternations 3]

Inputs, generated once (tests/images/helpers, fixed seeds) and written to a temporary
directory:
- png-noise: a 1024×1024 noise PNG, ~3 MB (what bench/edit.py attaches): sent as it is;
- jpeg-3000: a photo-like 3000×2000 JPEG (q=90, with sensor-like grain): sent as it is;
- jpeg-4000: a photo-like 4000×3000 JPEG (q=90, grain): over 8.3 MP, so downscaled and
  re-encoded (decoded at a reduced DCT scale);
- webp-small: a photo-like 512×384 lossy WebP (q=85): sent as it is.

Each version and input runs in a process of its own (`--child ROOT`, which imports `bot`
from ROOT; one input per process, so what an input leaves in the heap does not tilt the
next one's page faults): a warm-up call, then --runs calls, each timed as process CPU
(`time.process_time`; the work is single-threaded). With `--before REF`, REF's `bot/`
is extracted with `git archive` into a temporary directory (no worktree is created) and
the two versions alternate --alternations times (this one first, then last, ...), so a
slow drift of the machine favours neither. Reported: the median CPU per call of every
run of each version, and the ratio this / before.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INPUTS = ("png-noise", "jpeg-3000", "jpeg-4000", "webp-small")


def make_inputs(folder: Path) -> None:
    sys.path.insert(0, str(ROOT))
    from PIL import Image

    from tests.images.helpers import encode, noise, photo

    def grainy(size: tuple[int, int]) -> Image.Image:
        return Image.blend(photo(size), noise(size, seed=7), 0.12)

    files = {
        "png-noise": encode(noise((1024, 1024)), "PNG"),
        "jpeg-3000": encode(grainy((3000, 2000)), "JPEG", quality=90),
        "jpeg-4000": encode(grainy((4000, 3000)), "JPEG", quality=90),
        "webp-small": encode(grainy((512, 384)), "WEBP", quality=85),
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)


def child(root: str, path: str, runs: int) -> None:
    sys.path.insert(0, root)
    from bot.images.inputs import prepare_input

    data = Path(path).read_bytes()
    first = prepare_input(data).image
    times = []
    for _ in range(runs):
        start = time.process_time()
        prepare_input(data)
        times.append(time.process_time() - start)
    print(json.dumps({"bytes": len(data), "passed_through": not first.reencoded, "times": times}))


def run_version(root: Path, folder: Path, runs: int) -> dict[str, dict]:
    script = Path(__file__).resolve()
    out = {}
    for name in INPUTS:
        done = subprocess.run(
            [sys.executable, str(script), "--child", str(root), "--inputs", str(folder / name), "--runs", str(runs)],
            check=True, capture_output=True, text=True, cwd=root,
        )
        out[name] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", help="git ref to compare with")
    parser.add_argument("--runs", type=int, default=25)
    parser.add_argument("--alternations", type=int, default=3)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--inputs", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.inputs, args.runs)
        return 0

    with tempfile.TemporaryDirectory(prefix="bench-prepare-") as tmp:
        folder = Path(tmp) / "inputs"
        folder.mkdir()
        make_inputs(folder)
        versions = {"this": ROOT}
        if args.before:
            before = Path(tmp) / "before"
            before.mkdir()
            archive = subprocess.run(["git", "archive", args.before, "bot"], cwd=ROOT, check=True, capture_output=True)
            subprocess.run(["tar", "-x", "-C", str(before)], input=archive.stdout, check=True)
            versions["before"] = before
        times: dict[str, dict[str, list[float]]] = {v: {n: [] for n in INPUTS} for v in versions}
        facts: dict[str, dict[str, dict]] = {}
        for round_ in range(args.alternations):
            order = list(versions) if round_ % 2 == 0 else list(reversed(versions))
            for version in order:
                result = run_version(versions[version], folder, args.runs)
                facts[version] = result
                for name in INPUTS:
                    times[version][name].extend(result[name]["times"])

    print(f"CPU per prepare_input call, median of {args.runs} × {args.alternations} runs (ms)")
    header = f"{'input':<11} {'bytes':>10}  {'sent as is':>10}  {'this':>8}"
    if "before" in versions:
        header += f"  {'before':>8}  {'this/before':>11}"
    print(header)
    for name in INPUTS:
        this = statistics.median(times["this"][name]) * 1000
        line = f"{name:<11} {facts['this'][name]['bytes']:>10,}  {facts['this'][name]['passed_through']!s:>10}  {this:8.2f}"
        if "before" in versions:
            before_ms = statistics.median(times["before"][name]) * 1000
            line += f"  {before_ms:8.2f}  {this / before_ms:11.2f}"
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
