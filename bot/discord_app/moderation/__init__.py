"""Moderators' side of Discord: who is a moderator, how their answers look, what /quota,
/usage and /settings do, and the audit log channel. The cogs only register the commands
and translate Discord's arguments into the values these modules take."""
