"""Image processing for Retouch (Pillow only, no discord imports).

Every function here is synchronous CPU work meant for a worker thread; each has an
``*_async`` twin that runs it via ``asyncio.to_thread`` so the event loop never blocks.
"""

from .errors import DeliveryError, ImageRejected, MaskRejected, RejectReason
from .fit import DeliveredFile, Message, OutputImage, plan_delivery, plan_delivery_async
from .mask import PreparedMask, prepare_mask, prepare_mask_async, prepare_mask_for
from .pipeline import PreparedInput, prepare_input, prepare_input_async
from .prepare import (
    DALLE2_LIMITS,
    GPT_IMAGE_LIMITS,
    QWEN_IMAGE_LIMITS,
    ImageLimits,
    PreparedImage,
    prepare_image,
    prepare_image_async,
)
from .sniff import can_decode, content_type_for, extension_for, sniff_format

__all__ = [
    "DALLE2_LIMITS",
    "GPT_IMAGE_LIMITS",
    "QWEN_IMAGE_LIMITS",
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
    "extension_for",
    "plan_delivery",
    "plan_delivery_async",
    "prepare_image",
    "prepare_image_async",
    "prepare_input",
    "prepare_input_async",
    "prepare_mask",
    "prepare_mask_async",
    "prepare_mask_for",
    "sniff_format",
]
