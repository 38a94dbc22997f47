"""Start-up cost of the language catalogues, with and without them, in the same run.

    python bench/languages.py [--rounds 5]

Three catalogue folders, alternated round by round so a drift of the machine favours none:
- none: no catalogue at all (every text English);
- repo: bot/locale as committed (translators may not have filled it yet);
- full: the committed catalogues with every entry filled (msgstr = the English text, same
  size as a finished translation), what a fully translated release reads.
For each: the wall time of reading every catalogue (`catalogues.load`, in the worker
thread the translator uses at start), and the real bot's start to ready against the fake
Discord (tests/fakes), which includes loading them and building the localized sync payload.
Medians are reported.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from babel.messages.pofile import read_po, write_po  # noqa: E402

from bot.text import catalogues  # noqa: E402


def filled_copy(target: Path) -> None:
    for locale, path in catalogues.catalogue_paths().items():
        with path.open("rb") as f:
            cat = read_po(f, locale=locale)
        for message in cat:
            if not message.id:
                continue
            if isinstance(message.id, (list, tuple)):
                message.string = tuple(message.id[min(i, 1)] for i in range(cat.num_plurals))
            else:
                message.string = message.id
        out = target / locale / "LC_MESSAGES" / path.name
        out.parent.mkdir(parents=True)
        with out.open("wb") as f:
            write_po(f, cat)


async def start_to_ready(folder: Path, tmp: Path) -> float:
    from tests.conftest import make_settings, running_bot
    from tests.fakes.discord_server import FakeDiscord

    catalogues.LOCALE_DIR = folder
    catalogues._loaded = False  # read them at start, as a fresh process would
    async with FakeDiscord() as fake:
        undo = fake.patch_discord()
        try:
            started = time.perf_counter()
            async with running_bot(make_settings(tmp), fake):
                return time.perf_counter() - started
        finally:
            undo()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    default_dir = catalogues.LOCALE_DIR
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "none").mkdir()
        filled_copy(tmp / "full")
        folders = {"none": tmp / "none", "repo": default_dir, "full": tmp / "full"}
        loads: dict[str, list[float]] = {k: [] for k in folders}
        starts: dict[str, list[float]] = {k: [] for k in folders}
        for round_ in range(args.rounds):
            order = list(folders) if round_ % 2 == 0 else list(reversed(folders))
            for name in order:
                started = time.perf_counter()
                found = catalogues.load(folders[name])
                loads[name].append(time.perf_counter() - started)
                run = tmp / f"run-{round_}-{name}"
                run.mkdir()
                starts[name].append(asyncio.run(start_to_ready(folders[name], run)))
        messages = {name: sum(len(c) for c in catalogues.load(folder).values()) for name, folder in folders.items()}
        catalogues.LOCALE_DIR = default_dir
        print(f"{'catalogues':<10} {'translations':>12} {'load (ms)':>10} {'start to ready (ms)':>20}")
        for name in folders:
            print(
                f"{name:<10} {messages[name]:>12} {statistics.median(loads[name]) * 1000:>10.1f} "
                f"{statistics.median(starts[name]) * 1000:>20.0f}"
            )
        del found


if __name__ == "__main__":
    main()
