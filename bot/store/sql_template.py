"""SQL text for both databases, written once, filled once per dialect, and checked.

Most statements read the same on SQLite and PostgreSQL. Where they differ (arrays
instead of json_each, the bot's day row split into slots on PostgreSQL), a template names
the piece `{name}` and each dialect supplies a fragment for it; pieces several statements
share (what a ledger row counts, the open rows' id range) are fragments too, and a
fragment may itself name others. `fill` raises `SqlTemplateError` when a template names
a fragment nobody supplied, or when a brace is still left afterwards (a typo such as
`{counted`, a fragment nested in a loop), so text is never patched by search and replace
and a mistake cannot pass unnoticed. A statement each database spells its own way
throughout (the reservation: a function call on PostgreSQL) is a `PerDialect`.

Stores fill their statements when their module is imported (`build`, for both dialects),
so a broken template fails at import and in tests/store/test_sql_template.py, never in
the middle of an edit. Templates cannot hold literal braces (none of ours needs one: a
PostgreSQL array is written ARRAY[...] or passed as a parameter).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, is_dataclass
from typing import TypeVar

from bot.store.backend import Dialect

DIALECTS: tuple[Dialect, ...] = ("sqlite", "postgresql")

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
# Fragments naming fragments: deeper than this is a loop, not a design.
_MAX_NESTING = 4

S = TypeVar("S")


class SqlTemplateError(ValueError):
    """A template that cannot become a complete statement."""


@dataclass(frozen=True, slots=True)
class PerDialect:
    """A statement each database spells its own way throughout."""

    sqlite: str
    postgresql: str


def fill(template: str, fragments: Mapping[str, str]) -> str:
    """`template` with every `{name}` replaced by `fragments[name]` (fragments may name
    fragments). Raises SqlTemplateError for a name without a fragment or a brace left over."""
    text = template
    for _ in range(_MAX_NESTING + 1):
        names = set(_PLACEHOLDER.findall(text))
        if not names:
            break
        missing = sorted(names - fragments.keys())
        if missing:
            raise SqlTemplateError(
                f"no SQL fragment for {', '.join('{' + m + '}' for m in missing)} in {_shown(template)}"
            )
        text = _PLACEHOLDER.sub(lambda m: fragments[m.group(1)], text)
    if "{" in text or "}" in text:
        left = _PLACEHOLDER.search(text)
        what = left.group(0) if left else "a stray brace"
        raise SqlTemplateError(f"{what} remains after filling {_shown(template)}")
    return text


def build(statements: type[S], templates: Mapping[str, str | PerDialect], dialect: Dialect, fragments: Mapping[str, str]) -> S:
    """One dialect's statements: a `statements` dataclass with each field filled from the
    template of the same name. Every field needs a template and every template a field."""
    if not is_dataclass(statements):
        raise TypeError(f"{statements!r} is not a dataclass")
    wanted = {f.name for f in fields(statements)}
    if wanted != templates.keys():
        missing, extra = sorted(wanted - templates.keys()), sorted(templates.keys() - wanted)
        raise SqlTemplateError(f"{statements.__name__}: no template for {missing}, no field for {extra}")
    texts = {}
    for name, template in templates.items():
        text = getattr(template, dialect) if isinstance(template, PerDialect) else template
        texts[name] = fill(text, fragments)
    return statements(**texts)


def _shown(template: str) -> str:
    return repr(" ".join(template.split())[:100])
