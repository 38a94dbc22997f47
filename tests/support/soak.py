"""The soak's load: scripted members and a scripted provider, and what the ledger must hold.

Shared by bench/soak.py (2,000 edits through `python -m bot`, memory and descriptors read
from outside) and tests/e2e/test_soak.py (a short run against the bot in-process). Every
edit's provider answer is scripted by a `[soak:N]` tag in its prompt, so the driver knows
what each member must end up with whatever order the calls arrive in:
- plain /edits: n = 1..4, inputs from 48x48 to 1024x768, answers from 64x64 to
  1024x1024 (noise or flat PNGs), the provider taking 0-0.3 s;
- re-rolls: Re-roll pressed on the member's last result (a new edit, the same inputs);
- provider failures: 500, 503 then success on the retry, 503 every time, a 400 safety
  rejection, a dropped connection;
- cancels: Cancel pressed as soon as the placeholder shows it (in the queue, or already
  running), and Cancel pressed while the provider is working (the call held open).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import random
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.fakes.discord_server import FakeAttachment, FakeDiscord, SentMessage
from tests.fakes.image_api import FakeImageAPI, RecordedRequest, Reply, make_image

SLICES = 10

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
    # delivered / refused / cancelled_queued / cancelled_running / late_cancel (ended before
    # Cancel showed) / delivered_after_cancel (Cancel pressed as the result went out)
    state: str = ""
    text: str = ""
    problems: list[str] = field(default_factory=list)


def plan(count: int, seed: int) -> list[Action]:
    """`count` actions in SLICES equal slices. With 100 or more per slice every slice is
    the same mix in the same order (so their memory peaks compare like with like); fewer
    cannot hold every kind in its share, so the whole run holds the mix instead."""
    size = count // SLICES
    rng = random.Random(seed)
    kinds = [k for k, w in MIX for _ in range(w)]
    span = size if size >= len(kinds) else size * SLICES

    def action(i: int) -> tuple[str, int, int, int, float]:
        return (kinds[(i * len(kinds)) // span], rng.randint(1, 4), rng.randrange(len(INPUTS)),
                rng.randrange(len(OUTPUTS)), rng.choice([0.0, 0.05, 0.1, 0.3]))

    one = [action(i) for i in range(span)]
    rng.shuffle(one)
    repeated = one * (size * SLICES // span)
    return [Action(i, kind, n, inp, out, delay) for i, (kind, n, inp, out, delay) in enumerate(repeated)]


def edit_id_of(message: SentMessage, action: str) -> int | None:
    for custom_id in message.custom_ids:
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
    """Runs actions as members would (one member, one edit at a time) and records what each
    member ended up with."""

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
        tag = f"[soak:{action.index}]"
        previous = self.members.last_result.get(member.id)
        reroll_id = edit_id_of(previous, "reroll") if previous is not None else None
        # A re-roll needs a result of this member's to press it on; without one, a plain edit.
        kind = "ok" if action.kind == "reroll" and reroll_id is None else action.kind
        outcome = Outcome(action, kind)
        if kind == "reroll":
            assert previous is not None
            rec = await self.fake.click(previous, f"retouch:reroll:{reroll_id}", by=member)
        else:
            self._script(action, tag)
            image = FakeAttachment.image(self.inputs[action.input_index], "photo.png")
            rec = await self.fake.invoke("edit", by=member, dm=dm, in_channel=channel, image=image,
                                         prompt=f"a lighthouse at dusk {tag}", n=action.n)
        if kind in CANCELS:
            await self._cancel(rec, kind, member, outcome)
        final = await rec.wait_result(timeout=self.timeout)
        if kind == "cancel_running":
            self.api.open_gate(tag)  # the abandoned call's connection is gone; free the fake's side
        own = [m for m in rec.messages if m is not rec.message]  # not the result a re-roll was clicked on
        outcome.files = sum(len(m.files) for m in own)
        outcome.text = final.text
        result = next((m for m in own if m.files), None)
        if result is None:
            outcome.state = outcome.state or "refused"
        else:
            # A Cancel that came too late (the bot says the edit isn't running any more).
            outcome.state = "delivered" if outcome.state in ("", "late_cancel") else "delivered_after_cancel"
            outcome.edit_id = next((i for i in (edit_id_of(m, "reroll") for m in own) if i is not None), None)
            self.members.last_result[member.id] = result
            self.files_seen += outcome.files
            for m in own:  # keep the counts, not 2,000 edits' images in this process
                for f in m.files:
                    f.data = b""
        outcome.problems.extend(rec.violations)
        return outcome

    async def _cancel(self, rec: Any, kind: str, member: Any, outcome: Outcome) -> None:
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


# --- the database afterwards ------------------------------------------------------------------


def ledger(db_path: Path) -> dict[int, tuple[str, int, int | None, str | None]]:
    with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as db:
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


async def run_slice(soak: Soak, actions: list[Action], concurrency: int) -> None:
    queue = iter(actions)

    async def worker() -> None:
        for action in queue:  # a shared iterator: each action runs once
            await soak.run(action)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
