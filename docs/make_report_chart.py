"""Draws docs/report-chart.png: the chart `/quota report` attaches, from a REAL run.

Run from the repository root (no network, no Discord account, no API key needed):

    python docs/make_report_chart.py            # writes docs/report-chart.png

The local fakes start in this process (tests/fakes: Discord and the image API) and the
real bot connects to them as the end-to-end tests do. Six members run real `/edit`s
(two models, 1-4 images each) spread over the first days of a month: between edits the
quota store's clock is moved to the day in question, which is the only thing not as in
production (a real month takes a month). Then a moderator runs `/quota report`, and the
PNG the bot attached is written out as it reached the fake Discord.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.dont_write_bytecode = True
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.conftest import make_settings, running_bot  # noqa: E402
from tests.fakes.discord_server import FakeAttachment, FakeDiscord  # noqa: E402
from tests.fakes.image_api import FakeImageAPI, make_image  # noqa: E402

MEMBERS = ["Alice", "Bruno", "Chiara", "Dmitri", "Emeka", "Fumiko"]
MODELS = ["gpt-image-2", "gpt-image-1-mini"]
MONTH_START = datetime(2026, 12, 1, 9, tzinfo=UTC)
DAYS = 12


async def main(out: Path) -> None:
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        async with FakeDiscord() as fake, FakeImageAPI() as api:
            undo = fake.patch_discord()
            try:
                settings = make_settings(Path(tmp), image_api_base_url=api.base_url, image_api_key=api.api_key,
                                         quota_default_limit=-1, quota_default_period="month")
                async with running_bot(settings, fake) as bot:
                    members = [fake.member(name.lower()) for name in MEMBERS]  # shown as "Alice", ...
                    for day in range(DAYS):
                        now = MONTH_START + timedelta(days=day)
                        bot.store._clock = lambda now=now: now  # noqa: SLF001  (see the docstring)
                        for _ in range(rng.randint(1, 5)):
                            who = rng.choices(members, weights=[6, 4, 3, 2, 1, 1])[0]
                            rec = await fake.invoke("edit", by=who, image=FakeAttachment.image(make_image(48, 48)),
                                                    prompt="a paper boat", n=rng.randint(1, 4), model=rng.choice(MODELS))
                            await rec.wait_result(timeout=30)
                    bot.store._clock = lambda: MONTH_START + timedelta(days=DAYS - 1, hours=10)  # noqa: SLF001
                    reply = await (await fake.invoke("quota report", by=fake.moderator())).wait_reply(timeout=60)
                    [chart] = reply.files
                    out.write_bytes(chart.data)
                    print(f"wrote {out} ({len(chart.data):,} bytes) from {len(api.edits)} edits")
            finally:
                undo()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "report-chart.png")
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main(parser.parse_args().out))
