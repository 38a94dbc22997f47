"""Image processing for Retouch (Pillow only, no Discord types).

formats: what a file is, by its bytes · decode: safe decoding (bombs, EXIF) · pixels: modes,
resizing, encoding · prepare: one input image for a model · mask: an edit mask for it from
the member's upload (mask_png: the provider's mask format · mask_shape: does it fit the
image · painted: a mask from a painted copy · morphology: cleaning binary masks) ·
regions: a mask from `/edit region:` · mask_preview: the image with its mask drawn over it ·
inputs: image and mask, in a worker thread · delivery_plan: outputs into Discord-sized messages.
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
from .mask_preview import (
    PREVIEW_FILENAME,
    render_mask_preview,
    render_mask_preview_async,
)
from .painted import derive_painted_mask
from .prepare import (
    DALLE2_LIMITS,
    GPT_IMAGE_LIMITS,
    ImageLimits,
    PreparedImage,
    prepare_image,
)
from .regions import (
    PRESET_DESCRIPTIONS,
    REGION_EXAMPLE,
    REGION_PRESETS,
    Region,
    RegionError,
    parse_region,
    prepare_region_mask,
    region_mask,
)

__all__ = [
    "DALLE2_LIMITS",
    "GPT_IMAGE_LIMITS",
    "PRESET_DESCRIPTIONS",
    "PREVIEW_FILENAME",
    "REGION_EXAMPLE",
    "REGION_PRESETS",
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
    "Region",
    "RegionError",
    "RejectReason",
    "can_decode",
    "content_type_for",
    "derive_painted_mask",
    "extension_for",
    "parse_region",
    "plan_delivery",
    "plan_delivery_async",
    "prepare_image",
    "prepare_input",
    "prepare_input_async",
    "prepare_mask",
    "prepare_mask_for",
    "prepare_region_mask",
    "region_mask",
    "render_mask_preview",
    "render_mask_preview_async",
    "sniff_format",
]
