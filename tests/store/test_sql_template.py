"""SQL written once for both databases: fragments fill it, and what cannot be filled is an
error at import, not a statement the database first sees in the middle of an edit."""

from __future__ import annotations

from dataclasses import dataclass, fields

import pytest

from bot.store import ledger, report_series, spend_caps, usage_reports
from bot.store.quota_sql import FRAGMENTS
from bot.store.sql_template import DIALECTS, PerDialect, SqlTemplateError, build, fill


def test_named_fragments_are_substituted_also_inside_fragments() -> None:
    fragments = {"open": "status = 'reserved' AND {recent}", "recent": "id >= :first"}
    assert fill("SELECT id FROM ledger WHERE {open}", fragments) == (
        "SELECT id FROM ledger WHERE status = 'reserved' AND id >= :first"
    )


def test_a_template_naming_a_missing_fragment_is_refused() -> None:
    with pytest.raises(SqlTemplateError, match=r"no SQL fragment for \{day_images\}"):
        fill("SELECT {day_images}", {"counted": "1"})
    with pytest.raises(SqlTemplateError, match=r"\{nowhere\}"):
        fill("SELECT {a}", {"a": "{nowhere}"})  # missing one level down


@pytest.mark.parametrize("template", ["SELECT {counted", "SELECT counted}", "SELECT '{}'", "SELECT {{counted}}"])
def test_a_brace_left_after_filling_is_refused(template: str) -> None:
    with pytest.raises(SqlTemplateError, match="remains"):
        fill(template, {"counted": "1"})


def test_fragments_naming_each_other_in_a_loop_are_refused() -> None:
    with pytest.raises(SqlTemplateError, match=r"\{a\} remains|\{b\} remains"):
        fill("SELECT {a}", {"a": "{b}", "b": "{a}"})


def test_text_without_placeholders_is_returned_as_written() -> None:
    sql = "SELECT user_id FROM ledger WHERE id = ? AND created_at >= :start::float8"
    assert fill(sql, {}) == sql


@dataclass(frozen=True)
class TwoStatements:
    read: str
    touch: str


def test_build_fills_every_statement_for_its_dialect() -> None:
    templates = {
        "read": PerDialect(sqlite="SELECT json_each", postgresql="SELECT unnest"),
        "touch": "UPDATE ledger SET alive_at = :now WHERE {ids_match}",
    }
    lite = build(TwoStatements, templates, "sqlite", FRAGMENTS["sqlite"])
    pg = build(TwoStatements, templates, "postgresql", FRAGMENTS["postgresql"])
    assert (lite.read, pg.read) == ("SELECT json_each", "SELECT unnest")
    assert lite.touch.endswith("id IN (SELECT value FROM json_each(:ids))")
    assert pg.touch.endswith("id = ANY(:ids::bigint[])")


def test_build_needs_exactly_one_template_per_statement() -> None:
    with pytest.raises(SqlTemplateError, match=r"no template for \['touch'\]"):
        build(TwoStatements, {"read": "SELECT 1"}, "sqlite", {})
    with pytest.raises(SqlTemplateError, match=r"no field for \['extra'\]"):
        build(TwoStatements, {"read": "SELECT 1", "touch": "SELECT 2", "extra": "SELECT 3"}, "sqlite", {})


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("module", [ledger, spend_caps, usage_reports, report_series], ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_every_quota_statement_is_complete_in_each_dialect(module: object, dialect: str) -> None:
    """What the store runs: every statement filled, nothing of the other database in it."""
    statements = module.SQL[dialect]  # type: ignore[attr-defined]
    for field in fields(statements):
        text = getattr(statements, field.name)
        assert "{" not in text and "}" not in text, (field.name, text)
        if dialect == "sqlite":
            assert "::" not in text and "ANY(" not in text, (field.name, text)  # PostgreSQL's casts, arrays
        else:
            assert "json_each" not in text, (field.name, text)  # SQLite's


def test_the_day_images_differ_exactly_where_postgresql_splits_the_row() -> None:
    lite, pg = usage_reports.SQL["sqlite"].usage, usage_reports.SQL["postgresql"].usage
    assert "scope = -1" in lite and "BETWEEN -64 AND -1" in pg
