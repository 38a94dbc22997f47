import pytest

from bot.provider import DEFAULT_MODEL, ModelTable, load_model_table
from bot.provider.models import free_size_problem


def test_builtin_table_knows_the_documented_models():
    table = load_model_table()
    for name in ["gpt-image-2", "gpt-image-1.5", "gpt-image-1-mini", "gpt-image-1", "dall-e-2",
                 "qwen-image-edit"]:
        assert name in table
        assert not table.get(name).generic
    assert DEFAULT_MODEL == "gpt-image-2"
    assert table.get("dall-e-2").max_images == 1
    assert table.get("qwen-image-edit").max_n == 1
    assert not table.get("gpt-image-2").accepts("input_fidelity")
    assert table.get("gpt-image-1").accepts("input_fidelity")
    assert not table.get("gpt-image-1").accepts("response_format")
    assert table.get("dall-e-2").accepts("response_format")


def test_unknown_model_gets_a_permissive_generic_spec():
    spec = load_model_table().get("flux-kontext-pro")
    assert spec.generic and spec.name == "flux-kontext-pro"
    assert spec.sizes is None and spec.qualities is None
    assert spec.accepts("response_format") and spec.accepts("input_fidelity")


def test_choices_for_the_edit_command():
    table = load_model_table()
    assert table.sizes_for("gpt-image-1") == ["auto", "1024x1024", "1536x1024", "1024x1536"]
    sizes2 = table.sizes_for("gpt-image-2")
    assert sizes2[:4] == ["auto", "1024x1024", "1536x1024", "1024x1536"]
    assert "2048x2048" in sizes2
    assert all(free_size_problem(*map(int, s.split("x"))) is None for s in sizes2[1:])
    assert table.qualities_for("dall-e-2") == ["standard"]
    assert table.qualities_for("qwen-image-edit") == []
    assert table.output_formats_for("gpt-image-2") == ["png", "jpeg", "webp"]
    assert table.backgrounds_for("gpt-image-2") == ["auto", "opaque"]
    assert "transparent" in table.backgrounds_for("gpt-image-1.5")
    assert "gpt-image-2" in table.names()


def test_extend_from_json_adds_and_overrides():
    table = load_model_table(
        '{"my-edit": {"base": "gpt-image-1", "max_images": 4, "sizes": ["1024x1024"]},'
        ' "gpt-image-2": {"max_image_bytes": 52428800},'
        ' "loose": {"qualities": null, "supports": ["n", "size"]}}'
    )
    mine = table.get("my-edit")
    assert mine.max_images == 4 and mine.sizes == ("1024x1024",)
    assert mine.accepts("input_fidelity")  # inherited from gpt-image-1
    assert table.get("gpt-image-2").max_image_bytes == 52428800
    assert table.get("gpt-image-2").free_size  # the rest is kept
    loose = table.get("loose")
    assert not loose.generic and loose.supports == frozenset({"n", "size"})
    # the original table is unchanged
    assert ModelTable.builtin().get("gpt-image-2").max_image_bytes == 25 * 1024 * 1024


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("not json", "not valid JSON"),
        ("[1]", "JSON object"),
        ('{"m": 3}', "must map to an object"),
        ('{"m": {"max_imagez": 3}}', "unknown key"),
        ('{"m": {"max_images": "3"}}', "non-negative integer"),
        ('{"m": {"sizes": "1024x1024"}}', "list of strings"),
        ('{"m": {"base": "nope"}}', "unknown base"),
        ('{"m": {"supports": ["colour"]}}', "unknown field"),
    ],
)
def test_bad_models_json_gives_one_clear_line(text, fragment):
    with pytest.raises(ValueError) as info:
        load_model_table(text)
    message = str(info.value)
    assert fragment in message and "\n" not in message
    assert message.startswith("IMAGE_MODELS_JSON")


@pytest.mark.parametrize(
    "size, ok",
    [
        ((1024, 1024), True),
        ((3824, 2160), True),
        ((1000, 1000), False),  # not multiples of 16
        ((3840, 2160), False),  # edge must be < 3840
        ((2400, 784), False),  # ratio > 3:1
        ((768, 768), False),  # 589,824 pixels < 655,360
        ((2048, 2048), True),
    ],
)
def test_gpt_image_2_free_size_rule(size, ok):
    assert (free_size_problem(*size) is None) is ok
