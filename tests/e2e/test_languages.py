"""Each member reads Retouch in their Discord language, moderators in theirs, the audit
channel in the server's; prompts go upstream exactly as typed.

The sentences translated here come from small catalogues this test writes (the real ones
are being filled by translators); every other sentence of a reply stays English."""

from __future__ import annotations

import logging
import unicodedata

import pytest

from tests.conftest import make_settings, running_bot
from tests.fakes.discord_server import FakeAttachment
from tests.fakes.image_api import Reply
from tests.support.catalogues import catalogues_from, write_catalogue
from tests.support.images import png
from tests.support.polling import eventually

QUOTA_LINE = "Quota: %(left)s of %(limit)s left %(period)s · resets %(when)s"
LEFT_BUT_ASKED = (
    "You have %(left)s left %(period)s but asked for %(asked)s. "
    "Lower `n` to %(most)s, or wait until your quota resets %(when)s."
)
IMAGES = ("%(n)s image", "%(n)s images")
BUSY = "The image provider is busy right now. Try again in a minute."
TRANSLATED = {
    "de": (
        {
            "Your image quota": "Dein Bildkontingent",
            "today": "heute",
            QUOTA_LINE: "Kontingent: noch %(left)s von %(limit)s %(period)s · zurückgesetzt %(when)s",
            LEFT_BUT_ASKED: "Du hast %(period)s noch %(left)s, hast aber %(asked)s angefragt. "
            "Setz `n` auf %(most)s oder warte, bis dein Kontingent %(when)s zurückgesetzt wird.",
        },
        {IMAGES: ("%(n)s Bild", "%(n)s Bilder")},
    ),
    "ja": (
        {
            "Your image quota": "画像の割り当て",
            "today": "今日",
            QUOTA_LINE: "割り当て：%(period)s残り %(left)s / %(limit)s · リセット %(when)s",
            LEFT_BUT_ASKED: "%(period)sの残りは%(left)sですが、%(asked)s枚を依頼しました。"
            "`n` を %(most)s 以下にするか、%(when)sのリセットまでお待ちください。",
        },
        {IMAGES: ("%(n)s 枚",)},
    ),
    "fr": (
        {
            "Quota for %(member)s": "Quota de %(member)s",
            "Server rules": "Règles du serveur",
            "Limit: %(limit)s — %(rule)s": "Limite : %(limit)s — %(rule)s",
            "per day": "par jour",
            "bot default": "valeur par défaut du bot",
        },
        {IMAGES: ("%(n)s image", "%(n)s images")},
    ),
    "pt_BR": (
        {
            "Edit delivered": "Edição entregue",
            "Edit failed": "Edição falhou",
            "Edit refused": "Edição recusada",
            LEFT_BUT_ASKED: "Você tem %(left)s %(period)s, mas pediu %(asked)s. "
            "Reduza `n` para %(most)s ou espere o seu limite ser renovado %(when)s.",
            "Requester: %(member)s via %(entry)s": "Pedido por %(member)s via %(entry)s",
            BUSY: "O provedor de imagens está ocupado agora. Tente de novo em um minuto.",
        },
        {},
    ),
}
TRANSLATED["de"][0]["Delete"] = "Löschen"
TRANSLATED["ja"][0]["Only the member who asked for this edit, or a moderator, can delete it."] = (
    "この編集を依頼したメンバーかモデレーターだけが削除できます。"
)
TRANSLATED["de"][0][BUSY] = "Der Bildanbieter ist gerade ausgelastet. Versuch es in einer Minute noch einmal."


@pytest.fixture
async def bot(fake_discord, tmp_path, image_api):
    fake_discord.guild.locale = "pt-BR"  # the server's language: its audit channel
    settings = make_settings(tmp_path, image_api_base_url=image_api.base_url, image_api_key=image_api.api_key, quota_default_limit=2)
    locale_dir = tmp_path / "locale"
    for locale, (messages, plurals) in TRANSLATED.items():
        write_catalogue(locale_dir, locale, messages, plurals)
    async with running_bot(settings, fake_discord) as bot:
        with catalogues_from(locale_dir):
            yield bot


async def usage_of(fake, member):
    rec = await fake.invoke("usage", by=member)
    return (await rec.wait_reply()).embeds[0]


async def edit(fake, member, **options):
    rec = await fake.invoke("edit", by=member, image=FakeAttachment.image(png()), prompt="a red scarf", **options)
    return rec, await rec.wait_result()


@pytest.mark.parametrize(
    ("locale", "title", "summary", "refusal"),
    [
        ("de", "Dein Bildkontingent", "Kontingent: noch 1 von 2 heute", "Du hast heute noch 1 Bild, hast aber 2 angefragt."),
        ("ja", "画像の割り当て", "割り当て：今日残り 1 / 2", "今日の残りは1 枚ですが、2枚を依頼しました。"),
    ],
)
async def test_a_member_reads_usage_refusals_and_results_in_their_language(bot, fake_discord, locale, title, summary, refusal):
    member = fake_discord.member("hana", locale=locale)
    assert (await usage_of(fake_discord, member))["title"] == title
    rec, result = await edit(fake_discord, member, n=1)
    assert rec.violations == [] and len(result.files) == 1
    assert summary in result.text and "<t:" in result.text
    rec, refused = await edit(fake_discord, member, n=2)
    assert refused.ephemeral and refusal in refused.text and "`n`" in refused.text
    # someone with an English client, at the same time, reads English
    english = fake_discord.member("sam")
    assert (await usage_of(fake_discord, english))["title"] == "Your image quota"


async def test_buttons_speak_the_language_of_whoever_clicks(bot, fake_discord):
    hans, hana = fake_discord.member("hans", locale="de"), fake_discord.member("hana", locale="ja")
    _, result = await edit(fake_discord, hans, n=1)
    delete = next(c for c in result.custom_ids if "delete" in c)
    assert result.component(delete)["label"] == "Löschen"  # written for the member who asked
    click = await fake_discord.click(result, delete, by=hana)
    refused = await click.wait_reply()
    assert refused.ephemeral and refused.text == "この編集を依頼したメンバーかモデレーターだけが削除できます。"
    assert not result.deleted


async def test_a_moderator_reads_quota_show_in_their_own_language(bot, fake_discord):
    member = fake_discord.member("hans", locale="de")
    await edit(fake_discord, member, n=1)
    moderator = fake_discord.moderator("claire", locale="fr")
    rec = await fake_discord.invoke("quota show", by=moderator, user=member)
    [embed] = (await rec.wait_reply()).embeds
    assert embed["title"] == "Quota de Hans"
    assert embed["description"].splitlines()[0] == "Limite : 2 images par jour — valeur par défaut du bot"
    rec = await fake_discord.invoke("quota show", by=moderator)  # their own, with the server's rules
    [embed] = (await rec.wait_reply()).embeds
    assert [f["name"] for f in embed.get("fields", [])][0] == "Règles du serveur"


async def test_the_audit_channel_speaks_the_server_language_whoever_edits(bot, fake_discord, caplog):
    caplog.set_level(logging.INFO)
    log = fake_discord.text_channel("mod-log")
    await (await fake_discord.invoke("settings log-channel", by=fake_discord.moderator(), channel=log)).wait_result()
    member = fake_discord.member("hans", locale="de")
    _, result = await edit(fake_discord, member, n=1)
    assert "Kontingent: noch 1 von 2 heute" in result.text

    def logged() -> list[dict]:
        return [e for m in fake_discord.channel_messages if m.channel_id == log.id for e in m.embeds if e.get("title")]

    await eventually(lambda: len(logged()) == 1)
    [entry] = logged()
    assert entry["title"].startswith("Edição entregue")
    assert entry["description"].startswith(f"Pedido por <@{member.id}> via /edit")
    # a refusal: the member reads it in German, the audit channel in Portuguese, the log in English
    _, refused = await edit(fake_discord, member, n=2)
    assert "Du hast heute noch 1 Bild, hast aber 2 angefragt." in refused.text
    await eventually(lambda: len(logged()) == 2)
    assert logged()[1]["title"] == "Edição recusada"
    assert "Você tem 1 image today, mas pediu 2." in logged()[1]["description"]  # no pt_BR plural/period here
    assert "You have 1 image left today but asked for 2." in caplog.text and "angefragt" not in caplog.text


async def test_a_provider_failure_reads_in_each_reader_language_and_logs_in_english(bot, fake_discord, image_api, caplog):
    caplog.set_level(logging.INFO)
    log = fake_discord.text_channel("mod-log")
    await (await fake_discord.invoke("settings log-channel", by=fake_discord.moderator(), channel=log)).wait_result()
    image_api.queue(*[Reply.error(429, "Rate limit reached", code="rate_limit_exceeded")] * 4)  # every retry too
    member = fake_discord.member("hans", locale="de")
    _, told = await edit(fake_discord, member)
    assert "Der Bildanbieter ist gerade ausgelastet." in told.text

    def logged() -> list[dict]:
        return [e for m in fake_discord.channel_messages if m.channel_id == log.id for e in m.embeds if e.get("title")]

    await eventually(lambda: len(logged()) == 1)
    [entry] = logged()
    assert entry["title"].startswith("Edição falhou")
    assert "O provedor de imagens está ocupado agora." in entry["description"]
    assert "Der Bildanbieter" not in caplog.text and "ausgelastet" not in caplog.text, "logs stay English"


async def test_a_chinese_prompt_reaches_the_provider_byte_for_byte(bot, fake_discord, image_api):
    # Chinese, an emoji, and a decomposed "é" (e + combining accent): nothing may normalise it.
    prompt = "给这只猫戴上一条红色围巾，背景换成夜晚的东京 🌃 cafe\u0301"
    assert unicodedata.normalize("NFC", prompt) != prompt
    member = fake_discord.member("li", locale="zh-CN")
    rec = await fake_discord.invoke("edit", by=member, image=FakeAttachment.image(png()), prompt=prompt)
    await rec.wait_result()
    [sent] = image_api.edits
    assert sent.fields["prompt"] == [prompt]
    assert sent.fields["prompt"][0].encode("utf-8") == prompt.encode("utf-8")
