"""Pictures of what the bot did, for moderators (no Discord here: data in, PNG bytes out)."""
