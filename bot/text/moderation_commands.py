"""How /quota, /usage and /settings describe themselves in Discord's command picker.

Names of commands and options are fixed by the product and stay in the cogs; what each
one says about itself is here, beside every other text, so it can be translated.
"""

from __future__ import annotations

from bot.store.server_settings import MAX_IMAGES_PER_EDIT
from bot.text.i18n import N_, N_filled

LIMIT = N_("Images per period: -1 = unlimited, 0 = blocked")
PUBLIC = N_("Post it in the channel")

USAGE = N_("How many images you have left, and when your quota resets")

QUOTA = N_("Set and inspect image quotas (moderators)")
QUOTA_SET = N_("Give one member their own limit (overrides roles and the server default)")
QUOTA_SET_OPTIONS = {"user": N_("The member"), "limit": LIMIT, "period": N_("Per day, week or month (default: the server's)")}
QUOTA_RESET = N_("Clear a member's usage in the current period")
QUOTA_RESET_OPTIONS = {"user": N_("The member whose used images go back to zero")}
QUOTA_DEFAULT = N_("Set the server-wide limit for members without another rule")
QUOTA_DEFAULT_OPTIONS = {"limit": LIMIT, "period": N_("Per day, week or month (default: keep the current one)")}
QUOTA_ROLE = N_("Set a limit for everyone with a role (a member gets their best role)")
QUOTA_ROLE_OPTIONS = {"role": N_("The role"), "limit": LIMIT, "period": N_("Per day, week or month (default: the server's)")}
QUOTA_CLEAR = N_("Remove a member's override, a role's limit, or the server default")
QUOTA_CLEAR_OPTIONS = {
    "user": N_("Remove this member's own limit"),
    "role": N_("Remove this role's limit"),
    "server_default": N_("Remove the server default (members fall back to the bot's default)"),
}
QUOTA_SHOW = N_("A member's limit, usage and reset time, and which rule applies")
QUOTA_SHOW_OPTIONS = {"user": N_("The member (default: you, plus the server's rules)"), "public": PUBLIC}
QUOTA_REPORT = N_("Top members this period, and spend against the money caps")
QUOTA_REPORT_OPTIONS = {"public": PUBLIC}
QUOTA_BUDGET = N_("Cap this server's estimated spend per period (no amount: remove the cap)")
QUOTA_BUDGET_OPTIONS = {
    "amount": N_("US dollars per period, e.g. 25 (leave out to remove the budget)"),
    "period": N_("Per day, week or month (default: keep the current one, else month)"),
}

SETTINGS = N_("Retouch's settings for this server (moderators)")
SETTINGS_LOG_CHANNEL = N_("Log every edit, refusal and rejection in a channel (no channel: turn it off)")
SETTINGS_LOG_CHANNEL_OPTIONS = {"channel": N_("Where to log (leave out to turn the log off)")}
SETTINGS_SHOW = N_("Every setting for this server, and the bot-wide ones that apply")
SETTINGS_MODELS = N_("Which models members may use (leave out, or `all`, to allow every model)")
SETTINGS_MODELS_OPTIONS = {"allowed": N_("Comma-separated model names, e.g. gpt-image-2, gpt-image-1-mini; `all` allows every model")}
ALL_MODELS_CHOICE = N_("all (every model)")
SETTINGS_MAX_IMAGES = N_("The most images (n) one edit may ask for in this server")
SETTINGS_MAX_IMAGES_OPTIONS = {
    "n": N_filled("1-%(most)s; %(most)s is the bot's maximum (no extra limit)", most=MAX_IMAGES_PER_EDIT),
}
BLOCKED_WORDS = N_("Words and phrases prompts may not contain")
WORDS = {"words": N_("Comma-separated words or phrases, e.g. dragon, red panda")}
BLOCKED_WORDS_ADD = N_("Refuse prompts containing these words or phrases")
BLOCKED_WORDS_REMOVE = N_("Allow these words or phrases again")
BLOCKED_WORDS_LIST = N_("The words and phrases prompts may not contain")
