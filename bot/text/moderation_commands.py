"""How /quota, /usage and /settings describe themselves in Discord's command picker.

Names of commands and options are fixed by the product and stay in the cogs; what each
one says about itself is here, beside every other text, so it can be translated.
"""

from __future__ import annotations

from bot.store.server_settings import MAX_IMAGES_PER_EDIT

LIMIT = "Images per period: -1 = unlimited, 0 = blocked"
PUBLIC = "Post it in the channel"

USAGE = "How many images you have left, and when your quota resets"

QUOTA = "Set and inspect image quotas (moderators)"
QUOTA_SET = "Give one member their own limit (overrides roles and the server default)"
QUOTA_SET_OPTIONS = {"user": "The member", "limit": LIMIT, "period": "Per day, week or month (default: the server's)"}
QUOTA_RESET = "Clear a member's usage in the current period"
QUOTA_RESET_OPTIONS = {"user": "The member whose used images go back to zero"}
QUOTA_DEFAULT = "Set the server-wide limit for members without another rule"
QUOTA_DEFAULT_OPTIONS = {"limit": LIMIT, "period": "Per day, week or month (default: keep the current one)"}
QUOTA_ROLE = "Set a limit for everyone with a role (a member gets their best role)"
QUOTA_ROLE_OPTIONS = {"role": "The role", "limit": LIMIT, "period": "Per day, week or month (default: the server's)"}
QUOTA_CLEAR = "Remove a member's override, a role's limit, or the server default"
QUOTA_CLEAR_OPTIONS = {
    "user": "Remove this member's own limit",
    "role": "Remove this role's limit",
    "server_default": "Remove the server default (members fall back to the bot's default)",
}
QUOTA_SHOW = "A member's limit, usage and reset time, and which rule applies"
QUOTA_SHOW_OPTIONS = {"user": "The member (default: you, plus the server's rules)", "public": PUBLIC}
QUOTA_REPORT = "Top members this period, and spend against the money caps"
QUOTA_REPORT_OPTIONS = {"public": PUBLIC}
QUOTA_BUDGET = "Cap this server's estimated spend per period (no amount: remove the cap)"
QUOTA_BUDGET_OPTIONS = {
    "amount": "US dollars per period, e.g. 25 (leave out to remove the budget)",
    "period": "Per day, week or month (default: keep the current one, else month)",
}

SETTINGS = "Retouch's settings for this server (moderators)"
SETTINGS_LOG_CHANNEL = "Log every edit, refusal and rejection in a channel (no channel: turn it off)"
SETTINGS_LOG_CHANNEL_OPTIONS = {"channel": "Where to log (leave out to turn the log off)"}
SETTINGS_SHOW = "Every setting for this server, and the bot-wide ones that apply"
SETTINGS_MODELS = "Which models members may use (leave out, or `all`, to allow every model)"
SETTINGS_MODELS_OPTIONS = {"allowed": "Comma-separated model names, e.g. gpt-image-2, gpt-image-1-mini; `all` allows every model"}
ALL_MODELS_CHOICE = "all (every model)"
SETTINGS_MAX_IMAGES = "The most images (n) one edit may ask for in this server"
SETTINGS_MAX_IMAGES_OPTIONS = {"n": f"1-{MAX_IMAGES_PER_EDIT}; {MAX_IMAGES_PER_EDIT} is the bot's maximum (no extra limit)"}
BLOCKED_WORDS = "Words and phrases prompts may not contain"
WORDS = {"words": "Comma-separated words or phrases, e.g. dragon, red panda"}
BLOCKED_WORDS_ADD = "Refuse prompts containing these words or phrases"
BLOCKED_WORDS_REMOVE = "Allow these words or phrases again"
BLOCKED_WORDS_LIST = "The words and phrases prompts may not contain"
