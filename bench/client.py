"""Benchmark: our ImageEditClient against the official openai SDK, same edit, same fake.

    /work/venv/bin/python bench/client.py [--iterations 5]

The edit: one 1024x1024 PNG in, n=4 outputs of 1536x1024 noise PNGs back (~25 MB of
JSON). The fake provider runs in its own process so its CPU is not counted. Every
measured call runs in a fresh interpreter, after one small warm-up call (imports, TCP
connection), and ends with the images as bytes in hand (the SDK's base64 strings are
decoded too, in a worker thread so its stall figure is only the SDK's own). Measured:
- CPU seconds of the process during the call (all threads, `time.process_time`);
- wall seconds;
- RSS growth: peak RSS during the call minus RSS before it (a 1 ms ticker samples
  /proc/self/statm; the kernel's high-water mark `ru_maxrss` backs it up);
- longest event-loop stall: the ticker's worst lateness.
Medians over the iterations are printed with the ratios ours / SDK and the targets.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROMPT = "Replace the sky with a stormy sunset"
N, SIZE = 4, "1536x1024"
TARGETS = {"cpu_s": 0.6, "rss_growth_mb": 0.7}
STALL_LIMIT_MS = 20.0
PAGE = os.sysconf("SC_PAGE_SIZE")


# --- worker (one measured call in a fresh process) ----------------------------------------


class Ticker:
    """1 ms ticker: worst event-loop lateness and peak RSS while running."""

    def __init__(self) -> None:
        self.fd = os.open("/proc/self/statm", os.O_RDONLY)
        self.max_stall = 0.0
        self.peak_rss = 0
        self._task: asyncio.Task[None] | None = None

    def rss(self) -> int:
        return int(os.pread(self.fd, 128, 0).split()[1]) * PAGE

    async def _run(self) -> None:
        while True:
            start = time.perf_counter()
            await asyncio.sleep(0.001)
            self.max_stall = max(self.max_stall, time.perf_counter() - start - 0.001)
            self.peak_rss = max(self.peak_rss, self.rss())

    def start(self) -> None:
        self.max_stall, self.peak_rss = 0.0, self.rss()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


def queue_small_reply(origin: str) -> None:
    """Make the next answer tiny: the warm-up must not raise the memory high-water mark."""
    body = json.dumps({"replies": [{"kind": "images", "n": 1, "width": 64, "height": 64}]})
    req = urllib.request.Request(f"{origin}/_fake/queue", data=body.encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=10).read()


async def measure(impl: str, base_url: str, api_key: str, image_path: str) -> dict[str, float]:
    png = Path(image_path).read_bytes()
    origin = base_url.rsplit("/v1", 1)[0]
    closers = []
    if impl == "ours":
        import aiohttp

        sys.path.insert(0, str(ROOT))
        from bot.provider import EditRequest, ImageEditClient, load_model_table

        session = aiohttp.ClientSession()
        closers.append(session.close)
        client = ImageEditClient(session, base_url=base_url, api_key=api_key,
                                 models=load_model_table())

        async def call(n: int, size: str) -> list[bytes]:
            result = await client.edit(EditRequest(prompt=PROMPT, images=[png],
                                                   model="gpt-image-2", n=n, size=size))
            return [image.data for image in result.images]
    else:
        import base64

        from openai import AsyncOpenAI

        sdk = AsyncOpenAI(base_url=base_url, api_key=api_key, max_retries=0)
        closers.append(sdk.close)

        async def call(n: int, size: str) -> list[bytes]:
            response = await sdk.images.edit(
                image=("image.png", png, "image/png"), prompt=PROMPT, model="gpt-image-2",
                n=n, size=size,  # type: ignore[arg-type]
            )
            strings = [d.b64_json or "" for d in response.data or []]
            return await asyncio.to_thread(lambda: [base64.b64decode(s) for s in strings])

    queue_small_reply(origin)
    await call(1, "1024x1024")  # warm-up: imports, connection, first-call caches
    gc.collect()
    ticker = Ticker()
    ticker.start()
    await asyncio.sleep(0.05)  # let the ticker settle
    rss_before = ticker.rss()
    maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    ticker.max_stall = 0.0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    images = await call(N, SIZE)
    cpu1, wall1 = time.process_time(), time.perf_counter()
    maxrss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    await ticker.stop()
    peak = max(ticker.peak_rss, ticker.rss(), maxrss_after if maxrss_after > maxrss_before else 0)
    assert len(images) == N and all(img[:4] == b"\x89PNG" for img in images), "bad images"
    for close in closers:
        await close()
    return {
        "cpu_s": cpu1 - cpu0,
        "wall_s": wall1 - wall0,
        "rss_growth_mb": (peak - rss_before) / 2**20,
        "max_stall_ms": ticker.max_stall * 1000,
        "output_mb": sum(map(len, images)) / 2**20,
    }


# --- parent ---------------------------------------------------------------------------------


def start_fake(api_key: str) -> tuple[subprocess.Popen[str], str]:
    sys.path.insert(0, str(ROOT))
    from tests.fakes.image_api import spawn

    return spawn(api_key, fill="noise")


def run_worker(impl: str, base_url: str, api_key: str, image_path: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--worker", impl, "--base-url", base_url,
         "--api-key", api_key, "--image", image_path],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    if out.returncode != 0:
        raise SystemExit(f"{impl} worker failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--worker", choices=["ours", "sdk"])
    parser.add_argument("--base-url")
    parser.add_argument("--api-key")
    parser.add_argument("--image")
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(asyncio.run(measure(args.worker, args.base_url, args.api_key, args.image))))
        return

    sys.path.insert(0, str(ROOT))
    from tests.fakes.image_api import make_image

    api_key = "sk-bench-0123456789abcdef"
    proc, base_url = start_fake(api_key)
    try:
        with tempfile.NamedTemporaryFile(suffix=".png") as image:
            image.write(make_image(1024, 1024, fill="noise", seed=99))
            image.flush()
            print(f"fake provider at {base_url}; priming its image cache...", flush=True)
            run_worker("ours", base_url, api_key, image.name)  # the fake encodes its PNGs once
            results: dict[str, list[dict[str, float]]] = {"ours": [], "sdk": []}
            for i in range(args.iterations):
                for impl in (("ours", "sdk") if i % 2 == 0 else ("sdk", "ours")):
                    results[impl].append(run_worker(impl, base_url, api_key, image.name))
                print(f"iteration {i + 1}/{args.iterations} done", flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=10)

    metrics = ["cpu_s", "wall_s", "rss_growth_mb", "max_stall_ms"]
    med = {impl: {m: statistics.median(r[m] for r in runs) for m in metrics}
           for impl, runs in results.items()}
    output_mb = results["ours"][0]["output_mb"]
    print(f"\nmedian of {args.iterations} fresh-process calls; n={N} x {SIZE} noise PNGs "
          f"({output_mb:.1f} MB of images, ~{output_mb * 4 / 3:.0f} MB of JSON)")
    print(f"{'metric':<16}{'ours':>10}{'sdk':>10}{'ours/sdk':>10}  target")
    for m in metrics:
        ours, sdk = med["ours"][m], med["sdk"][m]
        ratio = ours / sdk if sdk else float("nan")
        if m in TARGETS:
            verdict = f"<= {TARGETS[m]}x  {'PASS' if ratio <= TARGETS[m] else 'FAIL'}"
        elif m == "max_stall_ms":
            worst = max(r[m] for r in results["ours"])
            verdict = (f"< {STALL_LIMIT_MS:g} ms (worst run {worst:.1f})  "
                       f"{'PASS' if worst < STALL_LIMIT_MS else 'FAIL'}")
        else:
            verdict = ""
        print(f"{m:<16}{ours:>10.3f}{sdk:>10.3f}{ratio:>10.2f}  {verdict}")


if __name__ == "__main__":
    main()
