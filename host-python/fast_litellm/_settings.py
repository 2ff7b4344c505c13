"""litellm's tunables that change counts, read from the installed litellm and handed to
the component, so a user who set e.g. TIKTOKEN_ENCODE_CHUNK_SIZE_CHARS gets the same
counts from both.

Each is read where litellm's counting reads it: the chunk size, the exact-count limit and
the tile size are default arguments, bound when litellm was imported (changing the module
constant later changes nothing, for stock or us); the others are module globals read on
every count, so `changed()` compares them per call and a new value is pushed again."""

from __future__ import annotations

import threading
from operator import itemgetter
from types import SimpleNamespace
from typing import Any

# token_counter.py's globals read per count, in the order of _pushed_globals.
_GLOBALS_READ_PER_COUNT = (
    "EXTRAPOLATION_SAMPLES",
    "DEFAULT_IMAGE_TOKEN_COUNT",
    "DEFAULT_IMAGE_WIDTH",
    "DEFAULT_IMAGE_HEIGHT",
    "MAX_SHORT_SIDE_FOR_IMAGE_HIGH_RES",
    "MAX_LONG_SIDE_FOR_IMAGE_HIGH_RES",
)
_read_globals = itemgetter(*_GLOBALS_READ_PER_COUNT)
_core_globals: dict[str, Any] = {}
_pushed_globals: tuple = ()
_push_lock = threading.Lock()


def _bound_default(function: Any, name: str) -> Any:
    """The default litellm bound for `function`'s parameter `name`."""
    code = function.__code__
    params = code.co_varnames[:code.co_argcount]
    defaults = function.__defaults__ or ()
    index = params.index(name) - (len(params) - len(defaults))
    if index < 0:
        raise ValueError(f"{function.__name__}({name}) has no default")
    return defaults[index]


def litellm_count_settings() -> SimpleNamespace:
    from litellm.litellm_core_utils import token_counter as core

    try:
        bound = {
            "chunk_chars": _bound_default(core._get_tiktoken_count_function, "chunk_size"),
            "max_exact_chars": _bound_default(core._get_extrapolating_count_function, "max_exact_chars"),
            "tile_width": _bound_default(core.calculate_tiles_needed, "tile_width"),
            "tile_height": _bound_default(core.calculate_tiles_needed, "tile_height"),
        }
        per_count = dict(zip(("extrapolation_samples", "default_image_tokens", "default_image_width",
                              "default_image_height", "high_res_short_side", "high_res_long_side"),
                             _read_globals(core.__dict__)))
    except (AttributeError, KeyError, ValueError) as exc:
        raise UnsupportedSetting(f"litellm's count settings not found where expected: {exc}") from None
    values = {**bound, **per_count}
    for name, value in values.items():
        # wasmtime-py does not range-check: -1 would arrive as 4294967295.
        if type(value) is not int or not 0 < value < 2**32:
            raise UnsupportedSetting(f"litellm setting {name}={value!r} is outside what the component models")
    # wasmtime-py reads record fields by their WIT names, dashes included.
    return SimpleNamespace(**{name.replace("_", "-"): value for name, value in values.items()})


class UnsupportedSetting(ValueError):
    pass


def push_litellm_settings() -> None:
    """Hand litellm's current values to the component (UnsupportedSetting if it cannot
    hold them; the values then count as not pushed)."""
    global _core_globals, _pushed_globals
    from litellm.litellm_core_utils import token_counter as core

    from ._component import COMPONENT

    with _push_lock:
        _pushed_globals = ()
        COMPONENT.set_count_settings(litellm_count_settings())
        _core_globals = core.__dict__
        _pushed_globals = _read_globals(_core_globals)


def changed() -> bool:
    """True if a global litellm reads per count is not the value pushed (about 0.1 us)."""
    try:
        return _read_globals(_core_globals) != _pushed_globals
    except KeyError:  # never pushed, or litellm's module lost one
        return True
