"""The money settings: amounts in US dollars, empty meaning off, one clear line when wrong."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, load_settings

ENV = {"DISCORD_TOKEN": "t" * 30, "IMAGE_API_KEY": "sk-" + "k" * 30}


def test_defaults_are_off():
    settings = load_settings(ENV, env_file=None)
    assert settings.global_spend_limit_usd is None and settings.global_spend_period == "month"
    assert settings.confirm_cost_above_usd is None and settings.unpriced_image_usd is None


def test_amounts_and_periods():
    settings = load_settings(
        {**ENV, "GLOBAL_SPEND_LIMIT_USD": "$25", "GLOBAL_SPEND_PERIOD": "Week", "CONFIRM_COST_ABOVE_USD": "0.5",
         "UNPRICED_IMAGE_USD": "0", "GLOBAL_DAILY_IMAGE_LIMIT": ""},
        env_file=None,
    )
    assert (settings.global_spend_limit_usd, settings.global_spend_period) == (25.0, "week")
    assert (settings.confirm_cost_above_usd, settings.unpriced_image_usd) == (0.5, 0.0)
    assert load_settings({**ENV, "GLOBAL_SPEND_LIMIT_USD": " "}, env_file=None).global_spend_limit_usd is None


@pytest.mark.parametrize(
    ("name", "value"),
    [("GLOBAL_SPEND_LIMIT_USD", "ten"), ("GLOBAL_SPEND_LIMIT_USD", "-1"), ("CONFIRM_COST_ABOVE_USD", "nan"),
     ("UNPRICED_IMAGE_USD", "inf"), ("GLOBAL_SPEND_PERIOD", "year")],
)
def test_bad_values_name_the_setting(name, value):
    with pytest.raises(ConfigError) as info:
        load_settings({**ENV, name: value}, env_file=None)
    message = str(info.value)
    assert message.startswith(name) and "\n" not in message
