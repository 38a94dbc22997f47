"""One answer's worth of text: a title, its lines, and titled sections below them.

The Discord side shows a Panel as one embed (bot/discord_app/moderation/embeds.py);
here it is only values, so replies can be built and read without Discord.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Section:
    name: str
    lines: Sequence[str]


@dataclass(frozen=True)
class Panel:
    title: str | None
    lines: Sequence[str] = ()
    sections: Sequence[Section] = field(default_factory=tuple)
