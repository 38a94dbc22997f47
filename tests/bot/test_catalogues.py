"""The translation catalogues: complete, consistent with the code, and never a crash.

The real catalogues (bot/locale) are filled by translators; what a translation does at
run time is tested with small catalogues written here (tests/support/catalogues.py)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.store.models import MemberUsage, Rule
from bot.text import catalogue_tools, catalogues, edit_status, quota_replies
from bot.text.i18n import DISCORD_LOCALES, catalogue_locale, language, money, num, t, tn
from tests.support.catalogues import catalogues_from, write_catalogue

LANGUAGES = sorted(DISCORD_LOCALES.values())


def _read(path: Path, locale: str | None = None):  # type: ignore[no-untyped-def]
    with path.open("rb") as f:
        return read_po(f, locale=locale)


def _key(message) -> tuple:  # type: ignore[no-untyped-def]
    return (message.context, tuple(message.id) if isinstance(message.id, (list, tuple)) else message.id)


def test_there_is_a_catalogue_for_every_language_retouch_offers():
    assert sorted(catalogues.catalogue_paths()) == LANGUAGES
    assert {catalogue_locale(d) for d in ("de", "es-ES", "fr", "pt-BR", "ja", "zh-CN")} == set(LANGUAGES)


def test_the_template_holds_every_sentence_of_the_code(tmp_path, monkeypatch):
    """Re-extracting bot/text gives the committed template: a sentence added without
    `catalogue_tools extract` (README "Languages") fails here."""
    monkeypatch.setattr(catalogue_tools, "TEMPLATE", tmp_path / "fresh.pot")
    monkeypatch.chdir(tmp_path)
    catalogue_tools.extract()
    fresh = {_key(m) for m in _read(tmp_path / "fresh.pot") if m.id}
    committed = {_key(m) for m in _read(catalogues.TEMPLATE) if m.id}
    assert fresh - committed == set(), "sentences missing from bot/locale/retouch.pot: run catalogue_tools extract"
    assert committed - fresh == set(), "sentences in the template that the code no longer has"


@pytest.mark.parametrize("locale", LANGUAGES)
def test_every_message_is_in_every_catalogue_with_the_same_placeholders(locale):
    template = {_key(m): m for m in _read(catalogues.TEMPLATE) if m.id}
    catalogue = {_key(m): m for m in _read(catalogues.catalogue_paths()[locale], locale) if m.id}
    assert set(template) - set(catalogue) == set(), f"{locale}: run catalogue_tools update"
    assert set(catalogue) - set(template) == set(), f"{locale}: sentences the code no longer has"
    wrong = []
    for key, message in catalogue.items():
        ids = message.id if isinstance(message.id, (list, tuple)) else (message.id,)
        forms = message.string if isinstance(message.string, (list, tuple)) else (message.string,)
        allowed = {tuple(catalogues.placeholders(i)) for i in ids}
        wrong += [(key, form) for form in forms if form and tuple(catalogues.placeholders(form)) not in allowed]
    assert wrong == [], f"{locale}: translations whose placeholders differ from the English"


@pytest.mark.parametrize("locale", LANGUAGES)
def test_plural_forms_are_those_translators_were_told(locale):
    catalog = _read(catalogues.catalogue_paths()[locale], locale)
    assert catalog.num_plurals == {"ja": 1, "zh_CN": 1}.get(locale, 2)


def test_a_translation_is_used_in_its_language_only(tmp_path):
    write_catalogue(tmp_path, "de", {"Your quota was refunded.": "Dein Kontingent wurde erstattet."})
    with catalogues_from(tmp_path):
        with language("de"):
            assert edit_status.REFUNDED == "Dein Kontingent wurde erstattet."
        with language("fr"):  # no French catalogue here: English
            assert edit_status.REFUNDED == "Your quota was refunded."
        with language("ko"):  # a language Retouch does not offer: English
            assert edit_status.REFUNDED == "Your quota was refunded."
        assert edit_status.REFUNDED == "Your quota was refunded."


def test_a_broken_missing_or_empty_translation_falls_back_to_english_per_sentence(tmp_path, caplog):
    write_catalogue(
        tmp_path, "de",
        {
            "Unknown model `%(model)s`. Choose one of: %(allowed)s.": "Unbekanntes Modell `%(modell)s`.",  # renamed placeholder
            "Requested by %(name)s": "Angefordert von %(name)s",
            "Sizes of %(model)s": "",  # not translated yet
            "Retouch is restarting — nothing was reserved.": "Retouch startet neu %(oops)s",  # an extra one
        },
    )
    with catalogues_from(tmp_path), language("de"):
        assert edit_status.unknown_model("x", ["a"]) == "Unknown model `x`. Choose one of: a."
        assert t("Requested by %(name)s", name="Ana") == "Angefordert von Ana"
        assert t("Sizes of %(model)s", model="m") == "Sizes of m"
        assert t("Retouch is restarting — nothing was reserved.") == "Retouch is restarting — nothing was reserved."
        assert t("a sentence no catalogue has") == "a sentence no catalogue has"
    assert "2 translations kept in English" in caplog.text


def test_plural_forms_follow_the_language(tmp_path):
    write_catalogue(tmp_path, "fr", {}, {("%(n)s image", "%(n)s images"): ("%(n)s image", "%(n)s images")})
    write_catalogue(tmp_path, "ja", {}, {("%(n)s image", "%(n)s images"): ("%(n)s 枚",)})
    with catalogues_from(tmp_path):
        with language("fr"):  # French: 0 and 1 are singular
            assert [tn("%(n)s image", "%(n)s images", n) for n in (0, 1, 2)] == ["0 image", "1 image", "2 images"]
        with language("ja"):
            assert tn("%(n)s image", "%(n)s images", 5) == "5 枚"
        with language("en"):
            assert [tn("%(n)s image", "%(n)s images", n) for n in (0, 1, 2)] == ["0 images", "1 image", "2 images"]


def test_numbers_and_money_are_written_for_the_language():
    with language("en-US"):
        assert (num(1234567), money(1234.5), money(0.0042)) == ("1,234,567", "$1,234.50", "$0.0042")
    with language("de"):
        assert (num(1234567), money(1234.5), money(0.0042)) == ("1.234.567", "1.234,50\xa0$", "0,0042\xa0$")
    with language("fr"):
        assert num(1234567) == "1\u202f234\u202f567" and money(0.5).startswith("0,50")
    with language("ja"):
        assert money(1234.5) == "$1,234.50"


def test_a_whole_reply_is_written_in_the_member_language(tmp_path):
    write_catalogue(
        tmp_path, "de",
        {"Your image quota": "Dein Bildkontingent", "Resets %(when)s": "Wird %(when)s zurückgesetzt", "this week": "diese Woche"},
    )
    resets = datetime(2026, 12, 7, tzinfo=timezone.utc)
    usage = MemberUsage(
        limit=10, period="week", rule=Rule.BOT, rule_detail=None, used=3, reserved_in_flight=0, remaining=7,
        period_start=resets, resets_at=resets, images=3, input_tokens=12345, output_tokens=0, total_tokens=12345,
        cost_usd=1.5,
    )
    with catalogues_from(tmp_path), language("de"):
        panel = quota_replies.own_usage(usage)
    assert panel.title == "Dein Bildkontingent"
    assert f"Wird <t:{int(resets.timestamp())}:R>" in panel.lines[2]
    assert "Used diese Woche: 3" in panel.lines[1]  # untranslated sentence, translated part
    assert "12.345 in" in panel.lines[3] and "1,50\xa0$" in panel.lines[3]


def test_the_report_chart_is_drawn_with_the_reader_words_unless_its_font_lacks_them(tmp_path):
    from datetime import date

    from bot.reports import chart
    from bot.text import report_chart

    write_catalogue(tmp_path, "de", {"Top members": "Aktivste Mitglieder", "Usage this week": "Nutzung diese Woche"})
    write_catalogue(tmp_path, "ja", {"Top members": "上位メンバー"})
    days = [date(2026, 11, 30), date(2026, 12, 1)]
    start, last = datetime(2026, 11, 30, tzinfo=timezone.utc), datetime(2026, 12, 6, tzinfo=timezone.utc)
    with catalogues_from(tmp_path):
        with language("de"):
            data = chart.ChartData(report_chart.title("week", start, last), days, [], [], report_chart.labels(days))
        with language("ja"):  # DejaVu Sans has no Japanese glyphs: English, not boxes
            ja = report_chart.labels(days)
    sent = chart.decode(chart.encode(data))  # what the drawing worker receives
    assert sent.title == "Nutzung diese Woche: Nov. 30 – Dez. 06, 2026 (UTC)"
    assert sent.labels.top_members == "Aktivste Mitglieder" and sent.labels.day_ticks == ["Nov. 30", "Dez. 01"]
    assert (ja.top_members, ja.day_ticks) == ("Top members", ["Nov 30", "Dec 01"])
