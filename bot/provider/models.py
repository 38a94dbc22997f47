"""What each image model accepts, as data.

The table is the single place that knows model limits; `request.validate` enforces it and
the /edit command reads its choices from it. Self-hosters extend or override it with the
`IMAGE_MODELS_JSON` setting, a JSON object of model name -> partial spec:

    {"my-flux-edit": {"base": "gpt-image-1", "max_images": 4, "sizes": ["1024x1024"]},
     "gpt-image-2": {"max_image_bytes": 52428800}}

Keys are the `ModelSpec` field names below; lists become tuples; `null` for a value set
means "any value, let the provider decide"; `supports` lists the optional request fields
the model accepts. `base` names a model to inherit from; without it an existing entry is
overridden in place and a new one starts from the permissive generic spec.

Unknown models (a custom provider's own names) are NOT refused: `ModelTable.get` returns
a permissive generic spec that sends whatever the member chose and lets the provider
decide. This keeps the bot usable with any OpenAI-compatible provider; the client's
"drop a field the provider calls unknown_parameter and retry once" covers the rest.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields, replace
from typing import Any

MiB = 1024 * 1024

DEFAULT_MODEL = "gpt-image-2"

# Optional request fields a model may accept (prompt, image and model are always sent).
OPTIONAL_FIELDS: frozenset[str] = frozenset({
    "mask", "n", "size", "quality", "background", "output_format", "output_compression",
    "input_fidelity", "response_format", "stream", "partial_images", "user",
})

GPT_SIZES = ("auto", "1024x1024", "1536x1024", "1024x1536")
GPT_QUALITIES = ("auto", "low", "medium", "high")
GPT_OUTPUT_FORMATS = ("png", "jpeg", "webp")
GPT_BACKGROUNDS = ("auto", "opaque", "transparent")

# gpt-image-2 accepts any WxH within these bounds (see `free_size_problem`).
FREE_SIZE_MULTIPLE = 16
FREE_SIZE_MAX_RATIO = 3
FREE_SIZE_MIN_PIXELS = 655_360
FREE_SIZE_MAX_PIXELS = 8_294_400
FREE_SIZE_EDGE_LIMIT = 3840  # exclusive
# Offered as choices for free-size models next to the fixed sizes; any valid WxH works.
FREE_SIZE_SUGGESTIONS = (
    "2048x2048", "2048x1152", "1152x2048", "2560x1440", "1440x2560", "3072x2048", "2048x3072",
)


@dataclass(frozen=True)
class ModelSpec:
    name: str
    max_images: int = 16
    max_image_bytes: int = 25 * MiB  # API.md: 50 MB in new docs, 25 MB is the safe default
    max_mask_bytes: int = 4 * MiB
    max_prompt_chars: int = 32_000
    max_n: int = 10
    # None means "not checked here": the provider decides.
    sizes: tuple[str, ...] | None = GPT_SIZES
    free_size: bool = False  # any WxH passing `free_size_problem`, besides `sizes`
    qualities: tuple[str, ...] | None = GPT_QUALITIES
    output_formats: tuple[str, ...] | None = GPT_OUTPUT_FORMATS
    backgrounds: tuple[str, ...] | None = GPT_BACKGROUNDS
    input_fidelities: tuple[str, ...] | None = ("high", "low")
    input_formats: tuple[str, ...] = ("png", "jpeg", "webp")
    square_input: bool = False  # dall-e-2 wants one square PNG
    max_partial_images: int = 3
    supports: frozenset[str] = OPTIONAL_FIELDS
    returns: str = "b64_json"  # informational: the client reads b64_json and url alike
    generic: bool = False  # True for the fallback spec of a model not in the table

    def accepts(self, field_name: str) -> bool:
        return field_name in self.supports


_GPT_IMAGE_1 = ModelSpec(
    name="gpt-image-1",
    supports=OPTIONAL_FIELDS - {"response_format"},
)

BUILTIN_MODELS: tuple[ModelSpec, ...] = (
    ModelSpec(
        name="gpt-image-2",
        free_size=True,
        # transparent backgrounds and input_fidelity are rejected by gpt-image-2 (reported)
        backgrounds=("auto", "opaque"),
        input_fidelities=None,
        supports=OPTIONAL_FIELDS - {"response_format", "input_fidelity"},
    ),
    replace(_GPT_IMAGE_1, name="gpt-image-1.5"),
    replace(_GPT_IMAGE_1, name="chatgpt-image-latest"),
    # input_fidelity on mini: conflicting reports; not sending it costs nothing.
    replace(
        _GPT_IMAGE_1,
        name="gpt-image-1-mini",
        input_fidelities=None,
        supports=OPTIONAL_FIELDS - {"response_format", "input_fidelity"},
    ),
    _GPT_IMAGE_1,
    ModelSpec(
        name="dall-e-2",
        max_images=1,
        max_image_bytes=4 * MiB,
        max_prompt_chars=1_000,
        sizes=("256x256", "512x512", "1024x1024"),
        qualities=("standard",),
        output_formats=None,
        backgrounds=None,
        input_fidelities=None,
        input_formats=("png",),
        square_input=True,
        supports=frozenset({"mask", "n", "size", "quality", "response_format", "user"}),
        returns="url",
    ),
    ModelSpec(
        name="qwen-image-edit",
        max_images=3,
        max_image_bytes=10 * MiB,
        max_prompt_chars=800,
        max_n=1,
        sizes=None,
        qualities=None,
        output_formats=None,
        backgrounds=None,
        input_fidelities=None,
        supports=frozenset({"n", "size", "response_format", "user"}),
        returns="url",
    ),
)


def generic_spec(name: str) -> ModelSpec:
    """Permissive spec for a model the table does not know: the provider decides."""
    return ModelSpec(
        name=name,
        max_image_bytes=50 * MiB,
        sizes=None,
        qualities=None,
        output_formats=None,
        backgrounds=None,
        input_fidelities=None,
        input_formats=("png", "jpeg", "webp", "gif"),
        generic=True,
    )


def parse_size(size: str) -> tuple[int, int] | None:
    width, sep, height = size.lower().partition("x")
    if not sep or not width.isdigit() or not height.isdigit():
        return None
    return int(width), int(height)


def free_size_problem(width: int, height: int) -> str | None:
    """Why WxH breaks gpt-image-2's size rule, or None when it is fine."""
    if width % FREE_SIZE_MULTIPLE or height % FREE_SIZE_MULTIPLE:
        return f"both width and height must be multiples of {FREE_SIZE_MULTIPLE}"
    if max(width, height) >= FREE_SIZE_EDGE_LIMIT:
        return f"each edge must be under {FREE_SIZE_EDGE_LIMIT} pixels"
    if max(width, height) > FREE_SIZE_MAX_RATIO * min(width, height):
        return f"the long edge may be at most {FREE_SIZE_MAX_RATIO} times the short edge"
    pixels = width * height
    if not FREE_SIZE_MIN_PIXELS <= pixels <= FREE_SIZE_MAX_PIXELS:
        return (
            f"the image must have between {FREE_SIZE_MIN_PIXELS:,} and "
            f"{FREE_SIZE_MAX_PIXELS:,} pixels (this is {pixels:,})"
        )
    return None


_SPEC_FIELDS = {f.name: f for f in fields(ModelSpec)}
_CONFIGURABLE = sorted(set(_SPEC_FIELDS) - {"name", "generic"})
_TUPLE_FIELDS = {
    "sizes", "qualities", "output_formats", "backgrounds", "input_fidelities", "input_formats",
}
_NULLABLE_FIELDS = _TUPLE_FIELDS - {"input_formats"}
_INT_FIELDS = {
    "max_images", "max_image_bytes", "max_mask_bytes", "max_prompt_chars", "max_n",
    "max_partial_images",
}
_BOOL_FIELDS = {"free_size", "square_input"}


def _coerce(model: str, key: str, value: Any) -> Any:
    where = f"IMAGE_MODELS_JSON: model {model!r}, key {key!r}"
    if key in _INT_FIELDS:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{where}: expected a non-negative integer, got {value!r}")
        return value
    if key in _BOOL_FIELDS:
        if not isinstance(value, bool):
            raise ValueError(f"{where}: expected true or false, got {value!r}")
        return value
    if key in _TUPLE_FIELDS:
        if value is None and key in _NULLABLE_FIELDS:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"{where}: expected a list of strings, got {value!r}")
        return tuple(value)
    if key == "supports":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"{where}: expected a list of field names, got {value!r}")
        unknown = set(value) - OPTIONAL_FIELDS
        if unknown:
            raise ValueError(
                f"{where}: unknown field(s) {sorted(unknown)}; known: {sorted(OPTIONAL_FIELDS)}"
            )
        return frozenset(value)
    if key == "returns":
        if value not in ("b64_json", "url"):
            raise ValueError(f"{where}: expected \"b64_json\" or \"url\", got {value!r}")
        return value
    raise ValueError(f"{where}: unknown key; known keys: {', '.join(_CONFIGURABLE)}, base")


@dataclass(frozen=True)
class ModelTable:
    """Immutable name -> ModelSpec mapping; `extend_from_json` returns a new table."""

    specs: dict[str, ModelSpec] = field(default_factory=dict)

    @classmethod
    def builtin(cls) -> ModelTable:
        return cls({spec.name: spec for spec in BUILTIN_MODELS})

    def get(self, name: str) -> ModelSpec:
        return self.specs.get(name) or generic_spec(name)

    def __contains__(self, name: object) -> bool:
        return name in self.specs

    def names(self) -> list[str]:
        return list(self.specs)

    def sizes_for(self, name: str) -> list[str]:
        spec = self.get(name)
        if not spec.accepts("size"):
            return []
        sizes = list(spec.sizes or ())
        if spec.free_size:
            sizes += [s for s in FREE_SIZE_SUGGESTIONS if s not in sizes]
        return sizes

    def qualities_for(self, name: str) -> list[str]:
        spec = self.get(name)
        return list(spec.qualities or ()) if spec.accepts("quality") else []

    def output_formats_for(self, name: str) -> list[str]:
        spec = self.get(name)
        return list(spec.output_formats or ()) if spec.accepts("output_format") else []

    def backgrounds_for(self, name: str) -> list[str]:
        spec = self.get(name)
        return list(spec.backgrounds or ()) if spec.accepts("background") else []

    def extend_from_json(self, text: str) -> ModelTable:
        """A new table with the models of an IMAGE_MODELS_JSON value added or overridden.

        Raises ValueError with a one-line, setting-named message on any mistake.
        """
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"IMAGE_MODELS_JSON is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ValueError("IMAGE_MODELS_JSON must be a JSON object of model name -> settings")
        specs = dict(self.specs)
        for name, overrides in data.items():
            if not isinstance(overrides, dict):
                raise ValueError(f"IMAGE_MODELS_JSON: model {name!r} must map to an object")
            overrides = dict(overrides)
            base_name = overrides.pop("base", None)
            if base_name is not None:
                if base_name not in specs:
                    raise ValueError(
                        f"IMAGE_MODELS_JSON: model {name!r} has unknown base {base_name!r}; "
                        f"known: {', '.join(specs)}"
                    )
                base = specs[base_name]
            else:
                base = specs.get(name) or generic_spec(name)
            changes = {key: _coerce(name, key, value) for key, value in overrides.items()}
            specs[name] = replace(base, name=name, generic=False, **changes)
        return ModelTable(specs)


def load_model_table(extra_json: str | None = None) -> ModelTable:
    """The built-in table, extended by an IMAGE_MODELS_JSON value when given."""
    table = ModelTable.builtin()
    if extra_json and extra_json.strip():
        table = table.extend_from_json(extra_json)
    return table
