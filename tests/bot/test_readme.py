"""The README is the front door: it must stay true to the code."""

from __future__ import annotations

import re
from pathlib import Path

from bot.config import settings_table

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_every_setting_is_in_the_settings_table():
    rows = set(re.findall(r"^\| `([A-Z_]+)` \|", README, flags=re.MULTILINE))
    names = {name for name, _, _ in settings_table()}
    assert names == rows, f"missing from README: {names - rows}; not settings: {rows - names}"


def test_the_first_two_commands_run_the_bot_then_the_tests():
    blocks = re.findall(r"```sh\n(.*?)\n```", README, flags=re.DOTALL)
    assert blocks[0].strip() == "pip install -r requirements.lock && python -m bot"
    assert blocks[1].strip() == "pip install -r requirements-dev.lock && python -m pytest"
    ci = (Path(__file__).resolve().parents[2] / ".ci" / "run").read_text()
    assert "\n" + blocks[1].strip() + "\n" in ci, ".ci/run must call exactly the README's test command"


def section(title: str) -> str:
    """The README's text under a heading that starts with `title`, up to the next heading of that level."""
    match = re.search(rf"^(#+) {re.escape(title)}.*$", README, flags=re.MULTILINE)
    assert match, f"no section {title!r}"
    level = len(match.group(1))
    rest = README[match.end():]
    end = re.search(rf"^#{{1,{level}}} ", rest, flags=re.MULTILINE)
    return rest[: end.start()] if end else rest


def test_each_reader_finds_their_part_members_right_after_the_set_up():
    headings = re.findall(r"^#+ (.*)$", README, flags=re.MULTILINE)
    order = [next(i for i, h in enumerate(headings) if h.startswith(title)) for title in (
        "Set-up", "For members", "For moderators", "How quotas work", "Moderator controls", "Settings", "Development",
    )]
    assert order == sorted(order), headings


async def registered_commands() -> tuple[dict[str, list[str]], list[str]]:
    """Every slash command (qualified name → its options) and message command the bot
    registers, read from the loaded extensions (no connection needed)."""
    import discord

    from bot.config import Settings
    from bot.discord_app.retouch_bot import Retouch, discover_extensions

    bot = Retouch(Settings(discord_token="t" * 30, image_api_key="k" * 30, database_path=Path("unused.db")))
    for name in discover_extensions():
        await bot.load_extension(name)
    slash = {
        c.qualified_name: [p.name for p in c.parameters]
        for c in bot.tree.walk_commands()
        if isinstance(c, discord.app_commands.Command)
    }
    menus = [c.name for c in bot.tree.get_commands(type=discord.AppCommandType.message)]
    return slash, menus


async def test_every_command_and_every_edit_option_is_documented():
    slash, menus = await registered_commands()
    for name in slash:
        assert f"/{name}" in README, f"/{name} is not in the README"
    for name in menus:
        assert f"Apps › {name}" in README, f"the Apps-menu command {name!r} is not in the README"
    members = section("For members")
    usage = re.search(r"^`/edit (.*)`$", members, flags=re.MULTILINE)
    assert usage, "the /edit usage line"
    shown = re.findall(r"\[?(\w+)[:\]]", usage.group(1))
    assert shown == slash["edit"], "the usage line lists /edit's options in Discord's order"
    rows = {name for row in re.findall(r"^\| ((?:`\w+`(?:, )?)+) \|", members, flags=re.MULTILINE) for name in re.findall(r"`(\w+)`", row)}
    assert set(slash["edit"]) <= rows, f"options without a row: {set(slash['edit']) - rows}"


def test_benchmark_figures_live_in_bench_readme():
    root = Path(__file__).resolve().parents[2]
    bench_readme = (root / "bench" / "README.md").read_text()
    assert "(bench/README.md)" in README
    assert not re.search(r"pairs/s|ack latency|peak RSS", README), "figures belong in bench/README.md"
    for script in sorted((root / "bench").glob("*.py")):
        if '__name__ == "__main__"' in script.read_text():
            assert f"bench/{script.name}" in bench_readme, f"bench/{script.name} is not in bench/README.md"


def test_every_repository_path_the_readme_names_exists():
    root = Path(__file__).resolve().parents[2]
    quoted = [word for span in re.findall(r"`([^`\n]+)`", README) for word in span.split()]
    paths = [w.rstrip(".,;:)") for w in quoted if re.match(r"(bot|cogs|tests|migrations|bench|docs|\.ci)/", w)]
    assert len(paths) > 10, paths
    missing = [p for p in paths if "<" not in p and "*" not in p and not (root / p).exists()]
    assert not missing, f"the README names paths that do not exist: {missing}"
