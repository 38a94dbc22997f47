import pytest

from bot.provider import (
    DEFAULT_PRICES,
    Usage,
    estimate_cost,
    load_prices,
    normalize_usage,
)
from bot.provider.pricing import estimate_request_cost, output_tokens_per_image
from tests.fakes.image_api import USAGE_COMET, USAGE_OPENAI


def test_openai_usage_shape():
    assert normalize_usage(USAGE_OPENAI) == Usage(
        input_tokens=226, input_image_tokens=194, input_text_tokens=32,
        output_tokens=4160, total_tokens=4386,
    )


def test_cometapi_usage_shape_ignores_its_zero_prompt_tokens():
    assert normalize_usage(USAGE_COMET) == Usage(
        input_tokens=785, input_image_tokens=768, input_text_tokens=17,
        output_tokens=196, total_tokens=981,
    )


def test_zeros_in_one_family_fall_back_to_the_other():
    usage = normalize_usage({
        "input_tokens": 0, "output_tokens": 0, "prompt_tokens": 50, "completion_tokens": 70,
        "prompt_tokens_details": {"image_tokens": 40, "text_tokens": 10},
    })
    assert usage == Usage(50, 40, 10, 70, 120)


def test_total_is_the_providers_number_verbatim():
    # Not input + output: the provider's own figure is what the member sees.
    usage = normalize_usage({"input_tokens": 10, "output_tokens": 20, "total_tokens": 31})
    assert usage is not None and usage.total_tokens == 31


@pytest.mark.parametrize("value", [None, "usage", 3, [], {}, {"foo": 1}, {"input_tokens": None}])
def test_missing_or_empty_usage_is_none(value):
    assert normalize_usage(value) is None


def test_garbage_values_do_not_crash():
    usage = normalize_usage({
        "input_tokens": "12", "output_tokens": -5, "total_tokens": True,
        "input_tokens_details": "x", "prompt_tokens_details": {"image_tokens": 2.0},
    })
    assert usage == Usage(12, 2, None, None, None)


def test_default_prices_cover_the_gpt_image_models():
    assert set(DEFAULT_PRICES) == {"gpt-image-1", "gpt-image-1-mini", "gpt-image-1.5", "gpt-image-2"}


def test_cost_with_image_text_split():
    usage = Usage(226, 194, 32, 4160, 4386)
    cost = estimate_cost(usage, "gpt-image-1", DEFAULT_PRICES)
    assert cost == pytest.approx((32 * 5 + 194 * 10 + 4160 * 40) / 1e6)


def test_cost_without_split_uses_the_higher_input_rate():
    usage = Usage(input_tokens=1000, output_tokens=0)
    assert estimate_cost(usage, "gpt-image-2", DEFAULT_PRICES) == pytest.approx(1000 * 8 / 1e6)


def test_cost_unknown_model_or_usage_is_none():
    assert estimate_cost(Usage(1, None, None, 1, 2), "qwen-image-edit", DEFAULT_PRICES) is None
    assert estimate_cost(None, "gpt-image-2", DEFAULT_PRICES) is None
    assert estimate_cost(Usage(), "gpt-image-2", DEFAULT_PRICES) is None


def test_prices_setting_overrides_and_adds():
    prices = load_prices('{"gpt-image-2": {"output": 24}, "qwen-image-edit": '
                         '{"text_input": 0, "image_input": 0, "output": 20}}')
    assert prices["gpt-image-2"].output == 24 and prices["gpt-image-2"].text_input == 5
    assert estimate_cost(Usage(10, 5, 5, 1000, 1010), "qwen-image-edit", prices) == pytest.approx(0.02)


@pytest.mark.parametrize("text", ["{", "[]", '{"x": 1}', '{"x": {"out": 1}}',
                                  '{"x": {"output": -1}}', '{"new": {"output": 1}}'])
def test_bad_prices_json_is_refused(text):
    with pytest.raises(ValueError, match="IMAGE_PRICES_JSON"):
        load_prices(text)


# -- estimates before the call ---------------------------------------------------------


def test_estimate_uses_the_published_output_tokens_per_image():
    assert output_tokens_per_image("1024x1024", "low") == 272
    assert output_tokens_per_image("1536x1024", "medium") == 1568
    assert output_tokens_per_image("1024x1536", "high") == 6240
    # the provider's own choice: assume the dearest it could make
    assert output_tokens_per_image("auto", "auto") == output_tokens_per_image(None, None) == 6240
    # free sizes (gpt-image-2) scale with their area
    assert output_tokens_per_image("2048x2048", "high") == 4 * 4160


def test_estimate_is_never_below_what_the_fake_provider_bills():
    # The fake bills 226 input tokens (194 image, 32 text) and 4160 output per image.
    prices = load_prices()
    for n in (1, 4):
        billed = estimate_cost(Usage(226, 194, 32, 4160 * n, 226 + 4160 * n), "gpt-image-2", prices)
        estimate = estimate_request_cost("gpt-image-2", prices, size="1024x1024", quality="high", n=n, prompt="give the cat a red scarf")
        assert billed is not None and estimate is not None and estimate >= billed


def test_estimate_grows_with_n_size_and_quality():
    prices = load_prices()

    def cost(**kw):
        return estimate_request_cost("gpt-image-1", prices, prompt="x", **kw)

    assert cost(n=2, size="1024x1024", quality="low") > cost(n=1, size="1024x1024", quality="low")
    assert cost(size="1536x1024", quality="low") > cost(size="1024x1024", quality="low")
    assert cost(size="1024x1024", quality="high") > cost(size="1024x1024", quality="medium")
    assert cost(size="1024x1024", quality="high", n=1) == pytest.approx((1 * 5 + 1000 * 10 + 4160 * 40) / 1e6)


def test_estimate_for_a_model_without_a_price():
    prices = load_prices()
    assert estimate_request_cost("dall-e-2", prices, n=3) is None
    assert estimate_request_cost("dall-e-2", prices, n=3, unpriced_image_usd=0.02) == pytest.approx(0.06)
    assert estimate_request_cost("gpt-image-2", prices, n=1, unpriced_image_usd=99) < 1
