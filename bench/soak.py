"""Soak: 2,000 edits through one `python -m bot` process; memory, descriptors, tasks, ledger.

    python bench/soak.py                 # ~3-6 min on 2 shared cores
    python bench/soak.py --edits 300     # a quicker look

One real bot process (`python -m bot`, pointed at the fakes as tests/support/process.py
does) lives through every edit. This driver hosts the fake Discord and the fake image API
(tests/fakes/) and sends, with `--concurrency` members at once (default 12), from many
members in #general, two other channels and DMs:
- plain /edits: n = 1..4, inputs from 48x48 to 640x480, answers from 64x64 to
  1024x1024 (noise or flat PNGs), the provider taking 0-0.3 s;
- re-rolls: Re-roll pressed on an earlier result (a new edit, the same inputs);
- provider failures: 500, 503 then success on the retry, 503 every time, a 400
  moderation rejection, a dropped connection;
- cancels: Cancel pressed as soon as the placeholder shows it (in the queue, or already
  running), and Cancel pressed while the provider is working (the call held open).
Each edit's answer is scripted by a tag in its prompt, so the driver knows what every
member must end up with.

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
- the bot stops cleanly (exit 0) afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import random
import signal
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.measure import machine_busy_s, proc_counters  # noqa: E402
from tests.fakes.discord_server import FakeAttachment, FakeDiscord, SentMessage  # noqa: E402
from tests.fakes.image_api import FakeImageAPI, RecordedRequest, Reply, make_image  # noqa: E402
from tests.support.process import bot_environment  # noqa: E402

RSS_GROWTH_LIMIT = 0.10
FD_MARGIN = 5
TASK_MARGIN = 3
SLICES = 10
MiB = 1024 * 1024

# The mix, per 100 edits: (kind, weight).
MIX: list[tuple[str, int]] = [
    ("ok", 60),
    ("reroll", 10),
    ("err500", 4),
    ("err503_then_ok", 4),
    ("err503_always", 2),
    ("moderation", 4),
    ("drop", 4),
    ("cancel_early", 6),
    ("cancel_running", 6),
]
FAILURES = {"err500", "err503_always", "moderation", "drop"}
CANCELS = {"cancel_early", "cancel_running"}
INPUTS = [(48, 48, "solid"), (256, 256, "noise"), (640, 480, "noise"), (1024, 768, "solid")]
OUTPUTS = [(64, 64, "noise"), (256, 256, "noise"), (512, 512, "noise"), (1024, 1024, "solid")]


# --- the provider: answers scripted by a tag in the prompt -------------------------------


class ScriptedImageAPI(FakeImageAPI):
    """The fake image API, answering each edit by the `[soak:N]` tag in its prompt: the
    driver decides what each edit's provider does, whatever order the calls arrive in."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.scripts: dict[str, list[Reply]] = {}
        self.calls: collections.Counter[str] = collections.Counter()

    def script(self, tag: str, *replies: Reply) -> None:
        """Calls for `tag` get these replies in order, the last one from then on."""
        self.scripts[tag] = list(replies)

    def _next(self, route: str, recorded: RecordedRequest, default: Reply) -> Reply:
        self.requests.clear()  # 2,000 recorded uploads would be the driver's own leak
        if route != "edits":
            return super()._next(route, recorded, default)
        prompt = recorded.field("prompt") or ""
        tag = prompt[prompt.find("[soak:"):].split("]", 1)[0] + "]" if "[soak:" in prompt else ""
        replies = self.scripts.get(tag)
        if not replies:
            return super()._next(route, recorded, default)
        reply = replies[min(self.calls[tag], len(replies) - 1)]
        self.calls[tag] += 1
        return reply


# --- the members' side ----------------------------------------------------------------------


@dataclass
class Action:
    index: int
    kind: str
    n: int
    input_index: int
    output_index: int
    delay: float


@dataclass
class Outcome:
    action: Action
    kind: str  # what was actually done ("reroll" falls back to "ok" without a result)
    edit_id: int | None = None  # the ledger id, when the member saw one (buttons)
    files: int = 0
    state: str = ""  # delivered / refused / cancelled_queued / cancelled_running / late_cancel
    text: str = ""
    problems: list[str] = field(default_factory=list)


def plan(count: int, seed: int) -> list[Action]:
    """`count` actions in SLICES slices, each slice the same shuffled mix (so their peaks
    compare like with like)."""
    size = count // SLICES
    rng = random.Random(seed)
    kinds = [k for k, w in MIX for _ in range(w)]
    one: list[tuple[str, int, int, int, float]] = []
    for i in range(size):
        kind = kinds[(i * len(kinds)) // size] if size >= len(kinds) else rng.choice(kinds)
        one.append((kind, rng.randint(1, 4), rng.randrange(len(INPUTS)), rng.randrange(len(OUTPUTS)), rng.choice([0.0, 0.05, 0.1, 0.3])))
    rng.shuffle(one)
    actions = []
    for s in range(SLICES):
        for j, (kind, n, inp, out, delay) in enumerate(one):
            actions.append(Action(s * size + j, kind, n, inp, out, delay))
    return actions


def ids(message: SentMessage) -> list[str]:
    return message.custom_ids


def edit_id_of(message: SentMessage, action: str) -> int | None:
    for custom_id in ids(message):
        if custom_id.startswith(f"retouch:{action}:"):
            return int(custom_id.rsplit(":", 1)[1])
    return None


class Members:
    """Members who have no edit in progress (one edit each at a time: the per-member cap
    must not refuse any), spread over #general, two other channels and DMs."""

    def __init__(self, fake: FakeDiscord, count: int) -> None:
        channels = [None, fake.text_channel("art"), fake.text_channel("memes")]
        self.idle: collections.deque[tuple[Any, Any, bool]] = collections.deque()
        for i in range(count):
            dm = i % 8 == 7
            self.idle.append((fake.member(f"soak{i}"), None if dm else channels[i % 3], dm))
        self.free = asyncio.Condition()
        self.last_result: dict[int, SentMessage] = {}  # member id -> their latest result

    async def take(self) -> tuple[Any, Any, bool]:
        async with self.free:
            await self.free.wait_for(lambda: bool(self.idle))
            return self.idle.popleft()

    async def give_back(self, who: tuple[Any, Any, bool]) -> None:
        async with self.free:
            self.idle.append(who)
            self.free.notify()


class Soak:
    def __init__(self, fake: FakeDiscord, api: ScriptedImageAPI, members: Members, timeout: float) -> None:
        self.fake = fake
        self.api = api
        self.members = members
        self.timeout = timeout
        self.inputs = [make_image(w, h, fill=fill, seed=i) for i, (w, h, fill) in enumerate(INPUTS)]
        self.outcomes: list[Outcome] = []
        self.files_seen = 0

    def _script(self, action: Action, tag: str) -> None:
        w, h, fill = OUTPUTS[action.output_index]
        ok = Reply.images(action.n, size=(w, h), fill=fill, delay=action.delay)
        scripts: dict[str, list[Reply]] = {
            "ok": [ok],
            "reroll": [ok],
            "err500": [Reply.error(500, "The server had an error while processing your request.", type="server_error")],
            "err503_then_ok": [Reply.error(503, "overloaded", type="server_error", retry_after_ms=50), ok],
            "err503_always": [Reply.error(503, "overloaded", type="server_error", retry_after_ms=50)],
            "moderation": [Reply.error(400, "Your request was rejected by the safety system.", code="moderation_blocked",
                                       type="image_generation_user_error")],
            "drop": [Reply.drop()],
            "cancel_early": [Reply.images(action.n, size=(w, h), fill=fill, delay=0.5)],
            "cancel_running": [Reply.images(action.n, size=(w, h), fill=fill, gate=tag)],
        }
        self.api.script(tag, *scripts[action.kind])

    async def run(self, action: Action) -> None:
        who = await self.members.take()
        try:
            outcome = await self._run(action, who)
        except Exception as exc:  # noqa: BLE001 - one member's failure is a finding, not a crash
            outcome = Outcome(action, action.kind, problems=[f"{type(exc).__name__}: {exc}"])
        finally:
            await self.members.give_back(who)
        self.outcomes.append(outcome)

    async def _run(self, action: Action, who: tuple[Any, Any, bool]) -> Outcome:
        member, channel, dm = who
        kind = action.kind
        previous = self.members.last_result.get(member.id)
        if kind == "reroll" and previous is None:
            kind = "ok"
        tag = f"[soak:{action.index}]"
        if kind == "reroll":
            reroll_id = edit_id_of(previous, "reroll") if previous is not None else None
            if reroll_id is None:
                kind = "ok"
        outcome = Outcome(action, kind)
        if kind == "reroll":
            assert previous is not None and reroll_id is not None
            rec = await self.fake.click(previous, f"retouch:reroll:{reroll_id}", by=member)
        else:
            self._script(action, tag)
            image = FakeAttachment.image(self.inputs[action.input_index], "photo.png")
            rec = await self.fake.invoke("edit", by=member, dm=dm, in_channel=channel, image=image,
                                         prompt=f"a lighthouse at dusk {tag}", n=action.n)
        if kind in CANCELS:
            await self._cancel(rec, kind, tag, member, outcome)
        final = await rec.wait_result(timeout=self.timeout)
        if kind == "cancel_running":
            self.api.open_gate(tag)  # the abandoned call's connection is gone; free the fake's side
        own = [m for m in rec.messages if m is not rec.message]  # not the result a re-roll was clicked on
        result = next((m for m in own if m.files), None)
        outcome.files = sum(len(m.files) for m in own)
        outcome.text = final.text
        if result is not None:
            outcome.edit_id = next((i for i in (edit_id_of(m, "reroll") for m in own) if i is not None), None)
            outcome.state = outcome.state or "delivered"
            if outcome.state == "late_cancel" or kind not in CANCELS:
                self.members.last_result[member.id] = result
            self.files_seen += outcome.files
            for m in own:  # keep the counts, not 2,000 edits' images in this process
                for f in m.files:
                    f.data = b""
        else:
            outcome.state = outcome.state or "refused"
        outcome.problems.extend(rec.violations)
        return outcome

    async def _cancel(self, rec: Any, kind: str, tag: str, member: Any, outcome: Outcome) -> None:
        def placeholder(r: Any) -> bool:
            """The Cancel button is there (for cancel_running: the provider is working), or
            the edit already ended (an edited placeholder without it)."""
            if r.original is None or r.violations:
                return bool(r.violations)
            if edit_id_of(r.original, "cancel") is None:
                return r.original.edits > 0 or bool(r.followups)
            return kind != "cancel_running" or "Editing" in (r.original.content or "")

        await rec.wait_for(placeholder, self.timeout)
        if rec.violations or rec.original is None or edit_id_of(rec.original, "cancel") is None:
            outcome.state = "late_cancel"  # finished before the Cancel could be pressed
            return
        content = rec.original.content or ""
        outcome.state = "cancelled_queued" if "In the queue" in content else "cancelled_running"
        edit_id = edit_id_of(rec.original, "cancel")
        outcome.edit_id = edit_id
        click = await self.fake.click(rec.original, f"retouch:cancel:{edit_id}", by=member)
        await click.wait_ack(10)
        outcome.problems.extend(click.violations)


# --- the bot process, seen from outside ----------------------------------------------------


@dataclass
class Sample:
    label: str
    peak_rss_mb: float
    rss_mb: float
    fds: int
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
        return Sample(label, self.status_kb("VmHWM") / 1024, self.status_kb("VmRSS") / 1024, self.fds())

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


# --- the database afterwards ------------------------------------------------------------------


def ledger(db_path: Path) -> dict[int, tuple[str, int, int | None, str | None]]:
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT id, status, images_reserved, images_delivered, refund_reason FROM ledger").fetchall()
    return {r[0]: (r[1], r[2], r[3], r[4]) for r in rows}


def check_ledger(outcomes: list[Outcome], rows: dict[int, tuple[str, int, int | None, str | None]], files_seen: int) -> list[tuple[str, bool, str]]:
    open_rows = [i for i, r in rows.items() if r[0] == "reserved"]
    delivered_db = sum(r[2] or 0 for r in rows.values() if r[0] == "committed")
    mismatched = []
    for o in outcomes:
        if o.files and o.edit_id is not None:
            row = rows.get(o.edit_id)
            if row is None or row[0] != "committed" or row[2] != o.files:
                mismatched.append(f"edit {o.edit_id}: Discord got {o.files} image(s), ledger {row}")
        elif o.files:
            mismatched.append(f"action {o.action.index}: {o.files} image(s) with no edit id on the result")
    refunded_db = sum(1 for r in rows.values() if r[0] == "refunded")
    not_delivered = sum(1 for o in outcomes if not o.files)
    cancels = [o for o in outcomes if o.state.startswith("cancelled") and not o.files]
    cancel_rows_wrong = [o.edit_id for o in cancels if o.edit_id is None or rows.get(o.edit_id, ("",))[0] != "refunded"]
    return [
        ("no reservation left open", not open_rows, f"{len(open_rows)} row(s) still 'reserved'" + (f": ids {open_rows[:10]}" if open_rows else "")),
        ("ledger rows = edits started", len(rows) == len(outcomes), f"{len(rows)} rows for {len(outcomes)} edits"),
        ("delivered images: ledger = Discord", delivered_db == files_seen and not mismatched,
         f"ledger {delivered_db}, Discord {files_seen}; {len(mismatched)} edit(s) differ" + (f", e.g. {mismatched[0]}" if mismatched else "")),
        ("every edit not delivered is refunded", refunded_db == not_delivered and not cancel_rows_wrong,
         f"{refunded_db} refunded rows, {not_delivered} edits without images"
         + (f"; cancelled but not refunded: {cancel_rows_wrong[:5]}" if cancel_rows_wrong else "")),
    ]


# --- the run ----------------------------------------------------------------------------------


async def run_slice(soak: Soak, actions: list[Action], concurrency: int) -> None:
    queue = iter(actions)

    async def worker() -> None:
        for action in queue:  # a shared iterator: each action runs once
            await soak.run(action)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


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
    return report(args, soak, samples, rows, wall, bot_cpu, other_cpu, exit_code, hwm_reset)


def report(args: argparse.Namespace, soak: Soak, samples: list[Sample], rows: dict[int, Any], wall: float,
           bot_cpu: float, other_cpu: float, exit_code: int, hwm_reset: bool) -> int:
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
