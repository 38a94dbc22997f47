"""Client for OpenAI-compatible `POST {base}/images/edits` providers (no Discord here).

    client = ImageEditClient(session, base_url=..., api_key=..., models=load_model_table())
    result = await client.edit(EditRequest(prompt="add a hat", images=[png_bytes], n=2))
    result.images[0].data, result.usage, estimate_cost(result.usage, result.model, prices)
"""

from bot.images.formats import OutputImage

from .client import EditResult, ImageEditClient
from .errors import (
    BadResponse,
    BillingError,
    InvalidRequest,
    ModelNotFound,
    PayloadTooLarge,
    ProviderAuthError,
    ProviderError,
    ProviderRejected,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    WrongBaseURL,
    redact,
    register_secret,
)
from .models import DEFAULT_MODEL, ModelSpec, ModelTable, load_model_table
from .pricing import DEFAULT_PRICES, Price, estimate_cost, load_prices
from .request import EditRequest, build_form, opaque_user_id, validate
from .response import PartialImage
from .usage import Usage, normalize_usage

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_PRICES",
    "BadResponse",
    "BillingError",
    "EditRequest",
    "EditResult",
    "ImageEditClient",
    "InvalidRequest",
    "ModelNotFound",
    "ModelSpec",
    "ModelTable",
    "OutputImage",
    "PartialImage",
    "PayloadTooLarge",
    "Price",
    "ProviderAuthError",
    "ProviderError",
    "ProviderRejected",
    "ProviderTimeout",
    "ProviderUnavailable",
    "RateLimited",
    "Usage",
    "WrongBaseURL",
    "build_form",
    "estimate_cost",
    "load_model_table",
    "load_prices",
    "normalize_usage",
    "opaque_user_id",
    "redact",
    "register_secret",
    "validate",
]
