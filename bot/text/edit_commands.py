"""How /edit and Apps › Edit image describe themselves in Discord's command picker (like
`moderation_commands.py`), beside every other text so they can be translated. Option
names are fixed by PRODUCT.md and stay in the cog. No Discord types."""

from __future__ import annotations

from bot.text.i18n import N_

EDIT_IMAGE_MENU = N_("Edit image")  # the Apps-menu (message) command

EDIT = N_("Edit an image with AI: attach it and describe the change")
EDIT_OPTIONS = {
    "image": N_("The picture to edit (PNG, JPEG, WebP; GIF/BMP/TIFF are converted)"),
    "prompt": N_("What should change, e.g. 'give the cat a red scarf'"),
    "mask": N_("Optional: where to edit. Transparent (or white on black) areas get edited"),
    "model": N_("Which AI model to use"),
    "size": N_("Output size, e.g. 1024x1024 (auto keeps the model's choice)"),
    "quality": N_("Higher quality is slower and costs more"),
    "n": N_("How many versions to make (1-10); each counts against your quota"),
    "output_format": N_("File type of the result"),
    "background": N_("Transparent needs png or webp output"),
    "region": N_("Or let Retouch make the mask: top, bottom, left, right, center, border, or rect:X,Y,W,H / ellipse:X,Y,W,H in %"),
    "mask_preview": N_("Show me the mask on my picture first; nothing is counted until I confirm"),
    "image2": N_("Optional second input image, for models that combine several (e.g. gpt-image-2)"),
    "image3": N_("Optional third input image"),
    "image4": N_("Optional fourth input image"),
}
