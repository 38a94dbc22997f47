"""Image processing for Retouch (Pillow only, no Discord types).

formats: what a file is, by its bytes · decode: safe decoding (bombs, EXIF) · pixels: modes,
resizing, encoding · prepare: one input image for a model · mask: an edit mask for it ·
inputs: both, in a worker thread · delivery_plan: outputs into Discord-sized messages.
CPU-heavy calls run in worker threads (`*_async`) so the event loop never blocks.
"""

from .delivery_plan import DeliveredFile, Message, plan_delivery, plan_delivery_async
from .errors import DeliveryError, ImageRejected, MaskRejected, RejectReason
from .formats import (
    OutputImage,
    can_decode,
    content_type_for,
    extension_for,
    sniff_format,
)
from .inputs import PreparedInput, prepare_input, prepare_input_async
from .mask import PreparedMask, prepare_mask, prepare_mask_for
from .painted import derive_painted_mask
from .prepare import (
    DALLE2_LIMITS,
    GPT_IMAGE_LIMITS,
    ImageLimits,
    PreparedImage,
    prepare_image,
)

__all__ = [
    "DALLE2_LIMITS",
    "GPT_IMAGE_LIMITS",
    "DeliveredFile",
    "DeliveryError",
    "ImageLimits",
    "ImageRejected",
    "MaskRejected",
    "Message",
    "OutputImage",
    "PreparedImage",
    "PreparedInput",
    "PreparedMask",
    "RejectReason",
    "can_decode",
    "content_type_for",
    "derive_painted_mask",
    "extension_for",
    "plan_delivery",
    "plan_delivery_async",
    "prepare_image",
    "prepare_input",
    "prepare_input_async",
    "prepare_mask",
    "prepare_mask_for",
    "sniff_format",
]
