"""litellm's tunables that change counts, read from the installed litellm and handed to
the component, so a user who set e.g. TIKTOKEN_ENCODE_CHUNK_SIZE_CHARS gets the same
counts from both."""

from __future__ import annotations

from types import SimpleNamespace


def litellm_count_settings() -> SimpleNamespace:
    # token_counter.py imported these names; its copies are the ones it counts with.
    from litellm.litellm_core_utils import token_counter as core

    values = {
        "chunk_chars": core.TIKTOKEN_ENCODE_CHUNK_SIZE_CHARS,
        "max_exact_chars": core.TOKEN_COUNTER_MAX_EXACT_CHARS,
        "extrapolation_samples": core.EXTRAPOLATION_SAMPLES,
        "default_image_tokens": core.DEFAULT_IMAGE_TOKEN_COUNT,
        "default_image_width": core.DEFAULT_IMAGE_WIDTH,
        "default_image_height": core.DEFAULT_IMAGE_HEIGHT,
        "high_res_short_side": core.MAX_SHORT_SIDE_FOR_IMAGE_HIGH_RES,
        "high_res_long_side": core.MAX_LONG_SIDE_FOR_IMAGE_HIGH_RES,
        "tile_width": core.MAX_TILE_WIDTH,
        "tile_height": core.MAX_TILE_HEIGHT,
    }
    for name, value in values.items():
        # wasmtime-py does not range-check: -1 would arrive as 4294967295.
        if type(value) is not int or not 0 < value < 2**32:
            raise UnsupportedSetting(f"litellm setting {name}={value!r} is outside what the component models")
    # wasmtime-py reads record fields by their WIT names, dashes included.
    return SimpleNamespace(**{name.replace("_", "-"): value for name, value in values.items()})


class UnsupportedSetting(ValueError):
    pass


def push_litellm_settings() -> None:
    from ._component import COMPONENT

    COMPONENT.set_count_settings(litellm_count_settings())
