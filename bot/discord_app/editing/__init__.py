"""Editing on Discord: every way a member starts or steers an edit.

`/edit` (cogs/edit.py), Apps › Edit image (cogs/edit_image_menu.py) and the buttons under
results and placeholders (cogs/result_buttons.py) only register themselves and translate
Discord's values; what they share lives here:

- `orders`: the requester, and submitting an order built by `bot.edits.order_builder`
- `inputs`: uploaded files and pictures found on a message, read when the service asks
- `message_images`: finding the pictures a message carries
- `modals`: the Edit image and Edit again forms
- `interaction_surface`: how an edit answers on an interaction (progress, result, private)
- `confirm_view`: the private Confirm / Cancel question (mask preview, cost)
- `buttons` and `button_actions`: the buttons under results, and what a click does
- `result_messages`: outgoing result images as upload payloads, sent without copying
"""
