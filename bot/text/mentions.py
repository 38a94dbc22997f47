"""Discord's mention syntax: every member's client renders it as a name it can resolve."""

from __future__ import annotations


def user(user_id: int) -> str:
    return f"<@{user_id}>"


def role(role_id: int) -> str:
    return f"<@&{role_id}>"


def channel(channel_id: int) -> str:
    return f"<#{channel_id}>"
