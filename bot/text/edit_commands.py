"""How /edit and Apps › Edit image describe themselves in Discord's command picker (like
`moderation_commands.py`), beside every other text so they can be translated. Option
names are fixed by PRODUCT.md and stay in the cog. No Discord types."""

from __future__ import annotations

EDIT_IMAGE_MENU = "Edit image"  # the Apps-menu (message) command

EDIT = "Edit an image with AI: attach it and describe the change"
EDIT_OPTIONS = {
    "image": "The picture to edit (PNG, JPEG, WebP; GIF/BMP/TIFF are converted)",
    "prompt": "What should change, e.g. 'give the cat a red scarf'",
    "mask": "Optional: where to edit. Transparent (or white on black) areas get edited",
    "model": "Which AI model to use",
    "size": "Output size, e.g. 1024x1024 (auto keeps the model's choice)",
    "quality": "Higher quality is slower and costs more",
    "n": "How many versions to make (1-10); each counts against your quota",
    "output_format": "File type of the result",
    "background": "Transparent needs png or webp output",
    "region": "Or let Retouch make the mask: top, bottom, left, right, center, border, or rect:X,Y,W,H / ellipse:X,Y,W,H in %",
    "mask_preview": "Show me the mask on my picture first; nothing is counted until I confirm",
    "image2": "Optional second input image, for models that combine several (e.g. gpt-image-2)",
    "image3": "Optional third input image",
    "image4": "Optional fourth input image",
}
