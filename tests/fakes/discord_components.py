"""Discord's rules for message components and modals, as pure functions the fake Discord uses.

Limits come from the public API reference (developers/components/reference): what Discord
answers 400 / 50035 Invalid Form Body for when a bot sends it, and what a member can and
cannot do in the client (click a disabled button, submit a modal without a required field).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

# Component types (developers/components/reference "Component Types").
ACTION_ROW = 1
BUTTON = 2
STRING_SELECT = 3
TEXT_INPUT = 4
USER_SELECT, ROLE_SELECT, MENTIONABLE_SELECT, CHANNEL_SELECT = 5, 6, 7, 8
SECTION = 9
TEXT_DISPLAY = 10
CONTAINER = 17
LABEL = 18
FILE_UPLOAD = 19
RADIO_GROUP, CHECKBOX_GROUP, CHECKBOX = 21, 22, 23

SELECTS = {STRING_SELECT, USER_SELECT, ROLE_SELECT, MENTIONABLE_SELECT, CHANNEL_SELECT}
MODAL_ONLY = {TEXT_INPUT, LABEL, FILE_UPLOAD, RADIO_GROUP, CHECKBOX_GROUP, CHECKBOX}
LABEL_CHILDREN = SELECTS | {TEXT_INPUT, FILE_UPLOAD, RADIO_GROUP, CHECKBOX_GROUP, CHECKBOX}
LINK_STYLE, PREMIUM_STYLE = 5, 6
COMPONENTS_V2 = 1 << 15


def walk(components: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every component, depth first: rows' children, a Label's component, a Section's accessory."""
    for component in components or []:
        yield component
        yield from walk(component.get("components") or [])
        for key in ("component", "accessory"):
            child = component.get(key)
            if isinstance(child, dict):
                yield from walk([child])


def assign_ids(components: list[dict[str, Any]]) -> None:
    """Discord numbers components that have no `id` (or id 0) sequentially, skipping ids in use."""
    used = {c["id"] for c in walk(components) if c.get("id")}
    next_id = 1
    for component in walk(components):
        if not component.get("id"):
            while next_id in used:
                next_id += 1
            component["id"] = next_id
            used.add(next_id)


def find(components: list[dict[str, Any]], custom_id: str) -> dict[str, Any] | None:
    return next((c for c in walk(components) if c.get("custom_id") == custom_id), None)


def custom_ids(components: list[dict[str, Any]]) -> list[str]:
    return [c["custom_id"] for c in walk(components) if c.get("custom_id") is not None]


def _custom_id_errors(components: list[dict[str, Any]]) -> list[str]:
    errors = []
    ids = custom_ids(components)
    for cid in ids:
        if not isinstance(cid, str) or not 1 <= len(cid) <= 100:
            errors.append(f"custom_id {cid!r} must be 1-100 characters")
    duplicates = sorted({cid for cid in ids if ids.count(cid) > 1})
    if duplicates:
        errors.append(f"custom_ids must be unique, repeated: {duplicates}")
    return errors


def _select_errors(select: dict[str, Any], *, in_modal: bool) -> list[str]:
    errors = []
    cid = select.get("custom_id")
    if not cid:
        errors.append("a select needs a custom_id")
    min_values = select.get("min_values")
    max_values = select.get("max_values")
    if min_values is not None and not 0 <= min_values <= 25:
        errors.append(f"select {cid}: min_values must be 0-25")
    if max_values is not None and not 1 <= max_values <= 25:
        errors.append(f"select {cid}: max_values must be 1-25")
    if min_values is not None and max_values is not None and min_values > max_values:
        errors.append(f"select {cid}: min_values > max_values")
    if select["type"] == STRING_SELECT:
        options = select.get("options") or []
        if not 1 <= len(options) <= 25:
            errors.append(f"select {cid}: needs 1-25 options")
        for option in options:
            for key in ("label", "value"):
                if not isinstance(option.get(key), str) or not 1 <= len(option[key]) <= 100:
                    errors.append(f"select {cid}: option {key} must be 1-100 characters")
        values = [o.get("value") for o in options]
        if len(set(values)) != len(values):
            errors.append(f"select {cid}: option values must be unique")
    if in_modal:
        if select.get("disabled"):
            errors.append(f"select {cid}: modals cannot have disabled components")
        if select.get("required", True) and min_values == 0:
            errors.append(f"select {cid}: min_values 0 needs required=false")
    return errors


def message_component_errors(components: list[dict[str, Any]], flags: int) -> list[str]:
    """What Discord refuses in a message's `components` (classic action rows or components V2)."""
    errors = _custom_id_errors(components)
    everything = list(walk(components))
    for component in everything:
        if component.get("type") in MODAL_ONLY:
            errors.append(f"component type {component.get('type')} is only valid in modals")
        if component.get("type") == BUTTON:
            errors += _button_errors(component)
        elif component.get("type") in SELECTS:
            errors += _select_errors(component, in_modal=False)
    if flags & COMPONENTS_V2:
        if len(everything) > 40:
            errors.append("at most 40 components in a components-V2 message")
        return errors
    if len(components) > 5:
        errors.append("at most 5 action rows")
    for row in components:
        if row.get("type") != ACTION_ROW:
            errors.append(f"top-level component type {row.get('type')} needs the IS_COMPONENTS_V2 flag")
            continue
        children = row.get("components") or []
        kinds = {c.get("type") for c in children}
        if kinds & SELECTS:
            if len(children) != 1:
                errors.append("an action row holds exactly one select, alone")
        elif not 1 <= len(children) <= 5:
            errors.append("an action row holds 1-5 buttons")
    return errors


def _button_errors(button: dict[str, Any]) -> list[str]:
    errors = []
    style = button.get("style")
    label = button.get("label")
    if label is not None and len(label) > 80:
        errors.append("button label is at most 80 characters")
    if style == LINK_STYLE:
        if not button.get("url") or button.get("custom_id") is not None:
            errors.append("a link button needs a url and no custom_id")
    elif style == PREMIUM_STYLE:
        if not button.get("sku_id") or button.get("custom_id") is not None:
            errors.append("a premium button needs a sku_id and no custom_id")
    elif style in (1, 2, 3, 4):
        if not button.get("custom_id") or button.get("url"):
            errors.append("a non-link button needs a custom_id and no url")
        if not label and not button.get("emoji"):
            errors.append("a button needs a label or an emoji")
    else:
        errors.append(f"unknown button style {style!r}")
    return errors


def modal_errors(modal: dict[str, Any]) -> list[str]:
    """What Discord refuses in an interaction callback of type 9 (MODAL)."""
    errors = []
    custom_id = modal.get("custom_id")
    if not isinstance(custom_id, str) or not 1 <= len(custom_id) <= 100:
        errors.append("modal custom_id must be 1-100 characters")
    title = modal.get("title")
    if not isinstance(title, str) or not 1 <= len(title) <= 45:
        errors.append(f"modal title must be 1-45 characters (got {len(title or '')})")
    components = modal.get("components") or []
    if not 1 <= len(components) <= 5:
        errors.append(f"a modal holds 1-5 top-level components (got {len(components)})")
    errors += _custom_id_errors(components)
    for top in components:
        kind = top.get("type")
        if kind == LABEL:
            label = top.get("label")
            if not isinstance(label, str) or not 1 <= len(label) <= 45:
                errors.append("a Label's label must be 1-45 characters")
            if len(top.get("description") or "") > 100:
                errors.append("a Label's description is at most 100 characters")
            child = top.get("component") or {}
            if child.get("type") not in LABEL_CHILDREN:
                errors.append(f"a Label cannot hold component type {child.get('type')}")
            else:
                errors += _modal_input_errors(child, legacy_row=False)
        elif kind == ACTION_ROW:  # deprecated, still accepted: one text input per row
            children = top.get("components") or []
            if len(children) != 1 or children[0].get("type") != TEXT_INPUT:
                errors.append("an action row in a modal holds exactly one text input")
            else:
                errors += _modal_input_errors(children[0], legacy_row=True)
        elif kind == TEXT_DISPLAY:
            if not top.get("content"):
                errors.append("a text display needs content")
        else:
            errors.append(f"component type {kind} is not valid at the top of a modal")
    return errors


def _modal_input_errors(component: dict[str, Any], *, legacy_row: bool) -> list[str]:
    kind = component["type"]
    cid = component.get("custom_id")
    if not cid:
        return [f"component type {kind} in a modal needs a custom_id"]
    if kind == TEXT_INPUT:
        errors = []
        if component.get("style") not in (1, 2):
            errors.append(f"text input {cid}: style must be 1 (short) or 2 (paragraph)")
        label = component.get("label")
        if legacy_row and not label:
            errors.append(f"text input {cid}: outside a Label it needs a label")
        if label is not None and len(label) > 45:
            errors.append(f"text input {cid}: label is at most 45 characters")
        min_length, max_length = component.get("min_length"), component.get("max_length")
        if min_length is not None and not 0 <= min_length <= 4000:
            errors.append(f"text input {cid}: min_length must be 0-4000")
        if max_length is not None and not 1 <= max_length <= 4000:
            errors.append(f"text input {cid}: max_length must be 1-4000")
        if len(component.get("value") or "") > 4000:
            errors.append(f"text input {cid}: value is at most 4000 characters")
        if len(component.get("placeholder") or "") > 100:
            errors.append(f"text input {cid}: placeholder is at most 100 characters")
        return errors
    if kind in SELECTS:
        return _select_errors(component, in_modal=True)
    if kind == FILE_UPLOAD:
        errors = []
        min_values, max_values = component.get("min_values"), component.get("max_values")
        if min_values is not None and not 0 <= min_values <= 10:
            errors.append(f"file upload {cid}: min_values must be 0-10")
        if max_values is not None and not 1 <= max_values <= 10:
            errors.append(f"file upload {cid}: max_values must be 1-10")
        if min_values is not None and max_values is not None and min_values > max_values:
            errors.append(f"file upload {cid}: min_values > max_values")
        # "min_values must be either omitted or at least 1 if required is omitted or true"
        if component.get("required", True) and min_values == 0:
            errors.append(f"file upload {cid}: min_values 0 needs required=false")
        return errors
    return []


def _bounds(component: dict[str, Any]) -> tuple[int, int]:
    # discord.py sends `"min_values": null` when unset; null means the API default (1).
    low = component.get("min_values")
    high = component.get("max_values")
    return (1 if low is None else low), (1 if high is None else high)


def text_input_value(component: dict[str, Any], value: Any) -> str:
    """The value a member can submit for a text input, or AssertionError saying why not."""
    cid = component["custom_id"]
    if value is None:
        value = component.get("value") or ""  # pre-filled text is submitted as is
    if not isinstance(value, str):
        raise AssertionError(f"text input {cid!r} takes a string, not {value!r}")
    if not value:
        if component.get("required", True):
            raise AssertionError(f"text input {cid!r} is required: the member cannot submit it empty")
        return value
    if component.get("min_length") is not None and len(value) < component["min_length"]:
        raise AssertionError(f"text input {cid!r} needs at least {component['min_length']} characters")
    if component.get("max_length") is not None and len(value) > component["max_length"]:
        raise AssertionError(f"text input {cid!r} takes at most {component['max_length']} characters")
    return value


def select_values(component: dict[str, Any], values: Any, *, in_modal: bool) -> list[str]:
    """The values a member can pick in a string select, or AssertionError saying why not."""
    cid = component["custom_id"]
    options = [o["value"] for o in component.get("options") or []]
    if values is None:  # untouched: the options marked `default` stay selected
        values = [o["value"] for o in component.get("options") or [] if o.get("default")]
    if isinstance(values, str):
        values = [values]
    values = list(values)
    unknown = [v for v in values if v not in options]
    if unknown:
        raise AssertionError(f"select {cid!r} has no option(s) {unknown}; options: {options}")
    low, high = _bounds(component)
    if not values and in_modal and not component.get("required", True):
        return values
    if not low <= len(values) <= high:
        raise AssertionError(f"select {cid!r} takes {low}-{high} value(s), got {len(values)}")
    return values


def upload_count_ok(component: dict[str, Any], count: int) -> None:
    cid = component["custom_id"]
    if count == 0 and not component.get("required", True):
        return
    low, high = _bounds(component)
    if count == 0 and component.get("required", True):
        raise AssertionError(f"file upload {cid!r} is required: the member cannot submit without a file")
    if not low <= count <= high:
        raise AssertionError(f"file upload {cid!r} takes {low}-{high} file(s), got {count}")
