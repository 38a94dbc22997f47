"""Benchmark: the bot's peak memory when a busy server sends many edits with large inputs.

    python bench/memory.py                    # ~2 min: the bot as it is now
    python bench/memory.py --before main      # and the version at REF, in the same run

30 members each run `/edit` 10 times at once, every edit with four ~20 MB inputs (`image`,
`image2`-`image4`: noise PNGs, incompressible like photos at worst, which the model takes
as they are). MAX_EDITS_PER_MEMBER (3, the default) refuses most of the 300 at once; the
other 90 are downloaded, checked and wait for the queue (MAX_CONCURRENT_EDITS=4) while the
fake provider takes `--provider-delay` seconds per call. The real bot runs as `python -m
bot` in its own process (discord.py pointed at the fake Discord by a sitecustomize module,
as bench/buttons.py does); the fake image API runs in a third process and records the
uploads by sha256 only; this driver hosts the fake Discord, which serves the attachments.

Measured: the bot process's peak RSS over its life (VmHWM; the start-up figure is shown
too), the edits delivered and refused, the inputs the provider received byte-identical to
the attachments (sha256, per file and in order), and the waiting edits' files left on disk
after the burst (none expected). Target (issue 18): peak RSS under 1 GB.

`--before REF` checks REF out into a temporary `git worktree` (removed afterwards) and runs
that checkout's bot the same way first, so both figures come from the same run. A bot whose
RSS passes `--rss-ceiling-mb` (default 12000: the version before holds every waiting edit's
inputs, ~7 GB) is stopped and its figure shown as "over the ceiling".

The inputs are generated once and cached in the system temp folder.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.fakes.discord_server import FakeAttachment, FakeDiscord  # noqa: E402
from tests.fakes.image_api import DEFAULT_API_KEY, spawn  # noqa: E402

TOKEN = "bench-discord-token-0123456789"
SITECUSTOMIZE = """
import os, yarl, discord.http, discord.gateway
discord.http.Route.BASE = os.environ["BENCH_DISCORD_API"]
discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(os.environ["BENCH_DISCORD_GATEWAY"])
"""
TARGET_MB = 1024.0
REFUSED = "edits in progress"
CACHE = Path(tempfile.gettempdir()) / "retouch-bench-memory-inputs"


def input_pngs(count: int, megabytes: float) -> list[bytes]:
    """`count` noise PNGs of about `megabytes` MB each (cached on disk: encoding takes a while)."""
    from PIL import Image

    edge = int(math.sqrt(megabytes * 1e6 / 3))
    CACHE.mkdir(exist_ok=True)
    images = []
    for seed in range(count):
        path = CACHE / f"noise-{edge}x{edge}-{seed}.png"
        if not path.is_file():
            noise = random.Random(seed).randbytes(edge * edge * 3)
            partial = path.with_suffix(f".{os.getpid()}.tmp")
            Image.frombytes("RGB", (edge, edge), noise).save(partial, "PNG", compress_level=1)
            partial.replace(path)
        images.append(path.read_bytes())
    return images


@dataclass
class Run:
    label: str
    start_mb: float = 0.0
    peak_mb: float = 0.0
    over_ceiling: bool = False
    delivered: int = 0
    refused: int = 0
    other: list[str] = field(default_factory=list)
    intact: int = 0
    requests: int = 0
    files_left: int = 0
    wall_s: float = 0.0


def status_mb(pid: int, key: str) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


async def start_bot(code: Path, workdir: Path, fake: FakeDiscord, image_api: str) -> asyncio.subprocess.Process:
    site = workdir / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "IMAGE_", "QUOTA_", "RESULT_", "MAX_"))}
    env.update(
        PYTHONPATH=f"{site}{os.pathsep}{code}",
        BENCH_DISCORD_API=fake.api_base,
        BENCH_DISCORD_GATEWAY=fake.gateway_url,
        DISCORD_TOKEN=TOKEN,
        IMAGE_API_KEY=DEFAULT_API_KEY,
        IMAGE_API_BASE_URL=image_api,
        DATABASE_PATH=str(workdir / "retouch.db"),
        QUOTA_DEFAULT_LIMIT="-1",
        LOG_LEVEL="WARNING",
    )
    log = open(workdir / "bot.log", "wb")
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", cwd=workdir, env=env, stdout=log, stderr=log)
    await asyncio.wait_for(fake.ready_sent.wait(), 60)
    for _ in range(400):
        if any(c["name"] == "edit" for c in fake.global_commands):
            break
        await asyncio.sleep(0.05)
    return proc


async def watch_rss(pid: int, ceiling_mb: float, run: Run, stop: asyncio.Event) -> None:
    """Stop the bot if it goes over the ceiling (the machine is shared)."""
    while not stop.is_set():
        if status_mb(pid, "VmRSS") > ceiling_mb:
            run.over_ceiling = True
            os.kill(pid, 9)
            return
        await asyncio.sleep(0.05)


async def measure(label: str, code: Path, args: argparse.Namespace, inputs: list[bytes], image_api: str) -> Run:
    run = Run(label)
    digests = [hashlib.sha256(data).hexdigest() for data in inputs]
    async with FakeDiscord() as fake, aiohttp.ClientSession() as session:
        undo = fake.patch_discord()
        origin = image_api.rsplit("/v1", 1)[0]
        async with session.post(f"{origin}/_fake/reset", json={}) as resp:
            resp.raise_for_status()
        async with session.post(f"{origin}/_fake/default",
                                json={"kind": "images", "fill": "noise", "width": 256, "height": 256, "delay": args.provider_delay}) as resp:
            resp.raise_for_status()
        with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
            bot = await start_bot(code, Path(tmp), fake, image_api)
            stop = asyncio.Event()
            watcher = asyncio.create_task(watch_rss(bot.pid, args.rss_ceiling_mb, run, stop))
            try:
                run.start_mb = status_mb(bot.pid, "VmRSS")
                members = [fake.member(f"member{i}") for i in range(args.members)]
                started = time.monotonic()
                records = await asyncio.gather(*(
                    fake.invoke(
                        "edit", by=member, prompt=f"member {m} edit {e}",
                        **{("image" if i == 0 else f"image{i + 1}"): FakeAttachment.image(data, filename=f"input{i + 1}.png")
                           for i, data in enumerate(inputs)},
                    )
                    for m, member in enumerate(members) for e in range(args.edits_per_member)
                ))
                waiting = asyncio.ensure_future(
                    asyncio.gather(*(r.wait_result(timeout=args.timeout) for r in records), return_exceptions=True)
                )
                await asyncio.wait({waiting, watcher}, return_when=asyncio.FIRST_COMPLETED)
                if run.over_ceiling:
                    waiting.cancel()
                    run.peak_mb = args.rss_ceiling_mb
                    return run
                finals = await waiting
                run.wall_s = time.monotonic() - started
                if not run.over_ceiling:
                    run.peak_mb = status_mb(bot.pid, "VmHWM")
                for final in finals:
                    if isinstance(final, BaseException):
                        run.other.append(f"{type(final).__name__}: {final}"[:120])
                    elif final.files or final.embeds:
                        run.delivered += 1
                    elif REFUSED in (final.content or ""):
                        run.refused += 1
                    else:
                        run.other.append((final.content or "")[:120])
                async with session.get(f"{origin}/_fake/requests") as resp:
                    recorded = [r for r in await resp.json() if r["path"].endswith("/images/edits")]
                run.requests = len(recorded)
                run.intact = sum(
                    [f["sha256"] for f in r["files"] if f["field"].startswith("image")] == digests for r in recorded
                )
                spill = Path(tmp) / "waiting-inputs"
                run.files_left = len(list(spill.rglob("*.input"))) if spill.is_dir() else 0
            finally:
                stop.set()
                await watcher
                if bot.returncode is None:
                    bot.terminate()
                await asyncio.wait_for(bot.wait(), 60)
        undo()
    return run


def report(run: Run, inputs: list[bytes]) -> str:
    peak = f"over the {run.peak_mb:.0f} MB ceiling" if run.over_ceiling else f"{run.peak_mb:7.0f} MB"
    lines = [
        f"{run.label}",
        f"  peak RSS {peak}  (after start-up {run.start_mb:.0f} MB)",
        f"  {run.delivered} delivered, {run.refused} refused at once (MAX_EDITS_PER_MEMBER), "
        f"{len(run.other)} other; {run.wall_s:.1f} s",
        f"  provider: {run.requests} calls, {run.intact} with the {len(inputs)} inputs byte-identical and in order",
        f"  waiting edits' files left on disk: {run.files_left}",
    ]
    lines += [f"  other: {o}" for o in run.other[:5]]
    return "\n".join(lines)


def _git(*argv: str) -> str:
    done = subprocess.run(["git", "-C", str(ROOT), *argv], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(argv)}: {done.stderr.strip()}")
    return done.stdout.strip()


async def driver(args: argparse.Namespace) -> int:
    inputs = input_pngs(args.inputs, args.input_mb)
    size_mb = sum(len(d) for d in inputs) / 1e6
    print(f"{args.members} members x {args.edits_per_member} edits, each with {args.inputs} inputs "
          f"({size_mb / args.inputs:.1f} MB each, {size_mb:.0f} MB per edit); provider {args.provider_delay:g} s per call")
    proc, image_api = spawn(fill="noise", keep_file_bytes=False)
    runs: list[Run] = []
    before_dir: Path | None = None
    try:
        if args.before:
            sha = _git("rev-parse", "--verify", "--quiet", f"{args.before}^{{commit}}")
            before_dir = Path(tempfile.mkdtemp(prefix="bench-memory-before-")) / sha[:12]
            _git("worktree", "add", "--detach", "--quiet", str(before_dir), sha)
            label = f"before: {args.before} ({_git('log', '-1', '--format=%h %s', sha)[:70]})"
            runs.append(await measure(label, before_dir, args, inputs, image_api))
            print(report(runs[-1], inputs), flush=True)
        runs.append(await measure("after: this checkout", ROOT, args, inputs, image_api))
        print(report(runs[-1], inputs), flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if before_dir is not None:
            try:
                _git("worktree", "remove", "--force", str(before_dir))
            except RuntimeError:
                shutil.rmtree(before_dir, ignore_errors=True)
                _git("worktree", "prune")
            shutil.rmtree(before_dir.parent, ignore_errors=True)
    after = runs[-1]
    ok = not after.over_ceiling and after.peak_mb < TARGET_MB
    print(f"{'PASS' if ok else 'MISS'}  peak RSS under {TARGET_MB:.0f} MB: {after.peak_mb:.0f} MB")
    whole = after.requests == after.intact == after.delivered and after.files_left == 0
    print(f"{'PASS' if whole else 'MISS'}  every delivered edit's inputs reached the provider unchanged; no file left")
    if len(runs) == 2 and not runs[0].over_ceiling and runs[0].peak_mb:
        print(f"after / before peak RSS: {after.peak_mb / runs[0].peak_mb:.2f}x")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=30)
    parser.add_argument("--edits-per-member", type=int, default=10)
    parser.add_argument("--inputs", type=int, default=4, help="files per edit: image, image2, ... (at most 4)")
    parser.add_argument("--input-mb", type=float, default=20.0)
    parser.add_argument("--provider-delay", type=float, default=1.0, help="seconds the fake provider takes per call")
    parser.add_argument("--before", metavar="REF", help="also run the bot at this git ref, first")
    parser.add_argument("--rss-ceiling-mb", type=float, default=12000.0)
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds an edit may take to its result")
    return asyncio.run(driver(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
