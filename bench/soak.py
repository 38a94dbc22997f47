"""Soak: 2,000 edits through one `python -m bot` process; memory, descriptors, tasks, ledger.

    python bench/soak.py                 # ~3 min on 2 shared cores
    python bench/soak.py --edits 300     # a quicker look

One real bot process (`python -m bot`, pointed at the fakes as tests/support/process.py
does) lives through every edit. This driver hosts the fake Discord and the fake image API
(tests/fakes/) and sends the load of tests/support/soak.py, `--concurrency` members at
once (default 12), from many members in #general, two other channels and DMs (the fake
Discord serves one server): plain /edits (n = 1..4, mixed input and output sizes),
re-rolls, provider failures (500, 503 once then success, 503 every time, a 400 safety
rejection, a dropped connection) and Cancels pressed while queued or running. Each edit's
answer is scripted by a tag in its prompt, so the driver knows what every member must end
up with.

The edits run in ten equal slices with the same mix; the first is the warm-up. After each
slice the driver waits for every member's outcome and reads, from outside the process,
the bot's peak RSS over the slice (the kernel's VmHWM, reset before each slice through
/proc/PID/clear_refs), its RSS and its open file descriptors; after the warm-up and at the
end it also waits for a fresh health report (HEALTH_FILE, which carries the event loop's
task count) and reads the descriptors again then. At the end it reads the database.

Verdicts (exit 1 when one fails):
- peak RSS: no later slice peaks more than 10 % above the warm-up slice's peak;
- no ledger row is left 'reserved';
- the images the ledger counts as delivered are the images the fake Discord received, edit
  by edit (each result's buttons carry its ledger id), and every failure or cancel is
  refunded;
- open file descriptors and asyncio tasks at the end at most FD_MARGIN / TASK_MARGIN above
  their level after the warm-up;
- every member got an answer in time, and Discord saw no rule broken (acks within 3 s...);
- no ERROR line or traceback in the bot's log (provider failures are WARNINGs);
- the bot stops cleanly (exit 0) afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.measure import machine_busy_s, proc_counters  # noqa: E402
from tests.fakes.discord_server import FakeDiscord  # noqa: E402
from tests.fakes.image_api import FakeImageAPI  # noqa: E402
from tests.support.process import bot_environment  # noqa: E402
from tests.support.soak import MIX, SLICES, Members, ScriptedImageAPI, Soak, check_ledger, ledger, plan, run_slice  # noqa: E402

RSS_GROWTH_LIMIT = 0.10
FD_MARGIN = 5
TASK_MARGIN = 3
MiB = 1024 * 1024
LEVELS = {"WARNING", "ERROR", "CRITICAL"}


# --- the bot process, seen from outside ----------------------------------------------------


@dataclass
class Sample:
    label: str
    peak_rss_mb: float
    rss_mb: float
    fds: int
    anon_mb: float  # RssAnon: the heap (Python objects, malloc arenas, SQLite's page cache)
    file_mb: float  # RssFile: mapped files (code of the libraries, touched as paths are first taken)
    tasks: int | None = None
    fds_rested: int | None = None  # read with the health report, after a pause


class BotProcess:
    """`python -m bot` pointed at the fakes; read from /proc (the same uid may)."""

    def __init__(self, proc: asyncio.subprocess.Process, health: Path, log: Path) -> None:
        self.proc = proc
        self.health = health
        self.log = log

    @classmethod
    async def start(cls, folder: Path, fake: FakeDiscord, api: FakeImageAPI, concurrent: int) -> "BotProcess":
        health = folder / "health.json"
        env = bot_environment(
            folder, fake, api,
            DATABASE_PATH=str(folder / "retouch.db"),
            HEALTH_FILE=str(health),
            QUOTA_DEFAULT_LIMIT="100000",  # a real limit, checked on every reservation, never reached
            ALLOW_DMS="true",
            # The provider's safety rejections in the mix would pause members after 3 strikes
            # (their later edits refused before any reservation): not what is soaked here.
            SAFETY_STRIKES="100",
            MAX_CONCURRENT_EDITS=str(concurrent),
            LOG_LEVEL="WARNING",
            SHUTDOWN_GRACE_SECONDS="5",
        )
        log = folder / "bot.log"
        with open(log, "wb") as out:
            proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", cwd=folder, env=env, stdout=out, stderr=out)
        await asyncio.wait_for(fake.ready_sent.wait(), 60)
        for _ in range(600):
            if any(c["name"] == "edit" for c in fake.global_commands):
                break
            await asyncio.sleep(0.05)
        return cls(proc, health, log)

    def status_kb(self, key: str) -> int:
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
        raise KeyError(key)

    def reset_peak(self) -> bool:
        try:
            with open(f"/proc/{self.proc.pid}/clear_refs", "w") as f:
                f.write("5")  # VmHWM := VmRSS
            return True
        except OSError:
            return False

    def fds(self) -> int:
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def sample(self, label: str) -> Sample:
        return Sample(label, self.status_kb("VmHWM") / 1024, self.status_kb("VmRSS") / 1024, self.fds(),
                      self.status_kb("RssAnon") / 1024, self.status_kb("RssFile") / 1024)

    async def rested(self, sample: Sample, timeout: float = 40.0) -> Sample:
        """Waits for a health report written after now (the bot idle meanwhile), and adds its
        task count and the descriptors then to `sample`."""
        since = time.time()
        async with asyncio.timeout(timeout):
            while True:
                try:
                    state = json.loads(self.health.read_text())
                except (OSError, ValueError):
                    state = {}
                if state.get("ts", 0) > since and "tasks" in state:
                    sample.tasks = int(state["tasks"])
                    sample.fds_rested = self.fds()
                    return sample
                await asyncio.sleep(0.5)

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    async def stop(self) -> int:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 60)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
                return -9
        return self.proc.returncode or 0


# --- the run ----------------------------------------------------------------------------------


async def driver(args: argparse.Namespace) -> int:
    actions = plan(args.edits, args.seed)
    size = len(actions) // SLICES
    async with FakeDiscord() as fake, ScriptedImageAPI() as api:
        with tempfile.TemporaryDirectory(prefix="bench-soak-") as tmp:
            folder = Path(tmp)
            bot = await BotProcess.start(folder, fake, api, args.max_concurrent_edits)
            members = Members(fake, args.members)
            soak = Soak(fake, api, members, args.timeout)
            samples: list[Sample] = []
            started = time.monotonic()
            cpu0 = sum(proc_counters(bot.proc.pid)[1:])
            busy0 = machine_busy_s()
            driver_cpu0 = time.process_time()
            hwm_reset = bot.reset_peak()
            exit_code = None
            try:
                for s in range(SLICES):
                    part = actions[s * size:(s + 1) * size]
                    t0 = time.monotonic()
                    run = asyncio.ensure_future(run_slice(soak, part, args.concurrency))
                    exited = asyncio.ensure_future(bot.proc.wait())
                    await asyncio.wait({run, exited}, return_when=asyncio.FIRST_COMPLETED)
                    if not run.done():
                        run.cancel()
                        await asyncio.gather(run, return_exceptions=True)
                        raise RuntimeError(f"the bot exited during slice {s + 1} (code {bot.proc.returncode}):\n{bot.tail()}")
                    exited.cancel()
                    run.result()
                    took = time.monotonic() - t0
                    sample = bot.sample("warm-up" if s == 0 else f"slice {s + 1}")
                    if s in (0, SLICES - 1):
                        await bot.rested(sample)
                    samples.append(sample)
                    bot.reset_peak()
                    print(f"{sample.label:>9}: {len(part)} edits in {took:5.1f} s, peak RSS {sample.peak_rss_mb:6.1f} MB, "
                          f"RSS {sample.rss_mb:6.1f} MB, fds {sample.fds}"
                          + (f", after a pause: fds {sample.fds_rested}, tasks {sample.tasks}" if sample.tasks is not None else ""),
                          flush=True)
                    for o in soak.outcomes[-len(part):]:
                        for problem in o.problems:
                            print(f"           action {o.action.index} ({o.kind}, n={o.action.n}, ended {o.state or '?'}, "
                                  f"edit {o.edit_id}): {problem}", flush=True)
                wall = time.monotonic() - started
                bot_cpu = sum(proc_counters(bot.proc.pid)[1:]) - cpu0
                other_cpu = max(0.0, machine_busy_s() - busy0 - bot_cpu - (time.process_time() - driver_cpu0))
                rows = ledger(folder / "retouch.db")
            except BaseException:
                print(f"\n--- bot log (tail) ---\n{bot.tail()}", file=sys.stderr)
                raise
            finally:
                exit_code = await bot.stop()
            if exit_code != 0:
                print(f"\n--- bot log (tail) ---\n{bot.tail()}", file=sys.stderr)
            db_mb = (folder / "retouch.db").stat().st_size / MiB  # the WAL is folded in at a clean stop
            log_lines = bot.log.read_text(errors="replace").splitlines()
            levels = collections.Counter(w for line in log_lines for w in line.split()[:4] if w in LEVELS)
            print(f"\nbot log: {len(log_lines)} lines, {dict(levels)}")
            log_errors = [line for line in log_lines if "Traceback" in line or any(f" {lv} " in f" {line} " for lv in ("ERROR", "CRITICAL"))]
            for line in log_errors[:10]:
                print(f"  {line[:200]}")
    return report(args, soak, samples, rows, wall, bot_cpu, other_cpu, exit_code, hwm_reset, db_mb, log_errors)


def report(args: argparse.Namespace, soak: Soak, samples: list[Sample], rows: dict[int, Any], wall: float,
           bot_cpu: float, other_cpu: float, exit_code: int, hwm_reset: bool, db_mb: float, log_errors: list[str]) -> int:
    outcomes = soak.outcomes
    by_kind = collections.Counter(o.kind for o in outcomes)
    by_state = collections.Counter(o.state for o in outcomes)
    print(f"\n{len(outcomes)} edits in {wall:.0f} s through one bot process ({args.concurrency} members at a time, "
          f"MAX_CONCURRENT_EDITS={args.max_concurrent_edits}); bot CPU {bot_cpu:.0f} s ({bot_cpu / max(1, len(outcomes)) * 1000:.0f} ms "
          f"per edit); other processes on the machine {other_cpu:.0f} CPU s meanwhile")
    print("  asked: " + ", ".join(f"{k} {by_kind[k]}" for k, _ in MIX if by_kind[k]))
    print("  ended: " + ", ".join(f"{k} {v}" for k, v in sorted(by_state.items())) + f"; {soak.files_seen} images delivered")
    reasons = collections.Counter(r[3] for r in rows.values() if r[0] == "refunded")
    print("  refunds by reason: " + ", ".join(f"{k} {v}" for k, v in reasons.most_common()))
    print("  peak RSS per slice MB: " + " / ".join(f"{s.peak_rss_mb:.0f}" for s in samples)
          + ("" if hwm_reset else " (VmHWM could not be reset: process-lifetime peaks)"))
    print("  RSS after each slice MB: " + " / ".join(f"{s.rss_mb:.0f}" for s in samples))
    print("  of it heap (RssAnon) MB: " + " / ".join(f"{s.anon_mb:.0f}" for s in samples))
    print("  of it mapped files (RssFile) MB: " + " / ".join(f"{s.file_mb:.0f}" for s in samples))
    print(f"  database at the end: {db_mb:.1f} MB (SQLite caches up to 64 MiB of it in the heap: it grows with the ledger)")
    print("  open fds after each slice: " + " / ".join(str(s.fds) for s in samples))
    warm, end = samples[0], samples[-1]
    later_peak = max(s.peak_rss_mb for s in samples[1:]) if len(samples) > 1 else warm.peak_rss_mb
    growth = later_peak / warm.peak_rss_mb - 1
    problems = [(o.action.index, o.kind, p) for o in outcomes for p in o.problems]
    answered = [o for o in outcomes if not o.problems]
    verdicts: list[tuple[str, bool, str]] = [
        (f"peak RSS after warm-up grows < {RSS_GROWTH_LIMIT:.0%}", growth < RSS_GROWTH_LIMIT,
         f"{warm.peak_rss_mb:.0f} MB in the warm-up, at most {later_peak:.0f} MB after ({growth:+.1%})"),
        *check_ledger(outcomes, rows, soak.files_seen),
        (f"open fds back to the warm-up level (+{FD_MARGIN})", (end.fds_rested or 0) <= (warm.fds_rested or 0) + FD_MARGIN,
         f"{warm.fds_rested} after the warm-up, {end.fds_rested} at the end"),
        (f"asyncio tasks back to the warm-up level (+{TASK_MARGIN})", (end.tasks or 0) <= (warm.tasks or 0) + TASK_MARGIN,
         f"{warm.tasks} after the warm-up, {end.tasks} at the end"),
        ("every member answered, no Discord rule broken", not problems,
         f"{len(answered)}/{len(outcomes)}" + (f"; e.g. action {problems[0][0]} ({problems[0][1]}): {problems[0][2]}" if problems else "")),
        ("no error or traceback in the bot's log", not log_errors, f"{len(log_errors)} line(s)"),
        ("the bot stops cleanly afterwards", exit_code == 0, f"exit code {exit_code}"),
    ]
    print()
    for label, ok, value in verdicts:
        print(f"  {'PASS' if ok else 'FAIL'}  {label:<48} {value}")
    return 0 if all(ok for _, ok, _ in verdicts) else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=2000, help=f"edits over the bot's life (a multiple of {SLICES})")
    parser.add_argument("--concurrency", type=int, default=12, help="members with an edit in progress at once")
    parser.add_argument("--members", type=int, default=60, help="distinct members (every 8th in DMs)")
    parser.add_argument("--max-concurrent-edits", type=int, default=4, help="the bot's MAX_CONCURRENT_EDITS")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds one member waits for their outcome")
    parser.add_argument("--seed", type=int, default=18)
    args = parser.parse_args()
    if args.edits < SLICES * 10 or args.edits % SLICES:
        parser.error(f"--edits must be a multiple of {SLICES}, at least {SLICES * 10}")
    if not 1 <= args.concurrency <= args.members:
        parser.error("--concurrency must be between 1 and --members")
    return asyncio.run(driver(args))


if __name__ == "__main__":
    sys.exit(main())
