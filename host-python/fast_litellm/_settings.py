"""litellm's tunables that change counts, read from the installed litellm and handed to
the component, so a user who set e.g. TIKTOKEN_ENCODE_CHUNK_SIZE_CHARS gets the same
counts from both.

Each is read where litellm's counting reads it: the chunk size, the exact-count limit and
the tile size are default arguments, bound when litellm was imported (changing the module
constant later changes nothing, for stock or us); the others are module globals read on
every count, so `changed()` compares them per call (by identity: 16.0 == 16) and a new
value is pushed again."""

from __future__ import annotations

import threading
from operator import itemgetter
from types import SimpleNamespace
from typing import Any

# The component's setting <- token_counter.py's global it reads per count, in the order
# of _pushed_globals.
_GLOBALS_READ_PER_COUNT = {
    "extrapolation_samples": "EXTRAPOLATION_SAMPLES",
    "default_image_tokens": "DEFAULT_IMAGE_TOKEN_COUNT",
    "default_image_width": "DEFAULT_IMAGE_WIDTH",
    "default_image_height": "DEFAULT_IMAGE_HEIGHT",
    "high_res_short_side": "MAX_SHORT_SIDE_FOR_IMAGE_HIGH_RES",
    "high_res_long_side": "MAX_LONG_SIDE_FOR_IMAGE_HIGH_RES",
}
_read_globals = itemgetter(*_GLOBALS_READ_PER_COUNT.values())
assert len(_GLOBALS_READ_PER_COUNT) == 6  # _same is written out for six
_core_globals: dict[str, Any] = {}
_pushed_globals: tuple = ()  # the objects the component was last given
_refused_globals: tuple = ()  # objects it could not hold: not tried again until one changes
_push_lock = threading.Lock()
# Bumped on every push: a count that began under an older generation is not remembered.
generation = 0
# The exact-count limit pushed: only a string longer than this is extrapolated, so only
# then does EXTRAPOLATION_SAMPLES count (0 before a push: every count checks).
max_exact_chars = 0


def _bound_default(function: Any, name: str) -> Any:
    """The default litellm bound for `function`'s parameter `name`."""
    code = function.__code__
    params = code.co_varnames[:code.co_argcount]
    defaults = function.__defaults__ or ()
    index = params.index(name) - (len(params) - len(defaults))
    if index < 0:
        raise ValueError(f"{function.__name__}({name}) has no default")
    return defaults[index]


def litellm_count_settings(per_count: tuple) -> SimpleNamespace:
    """The settings for the component; `per_count`: the globals' values as read for it
    (_read_globals)."""
    from litellm.litellm_core_utils import token_counter as core

    try:
        bound = {
            "chunk_chars": _bound_default(core._get_tiktoken_count_function, "chunk_size"),
            "max_exact_chars": _bound_default(core._get_extrapolating_count_function, "max_exact_chars"),
            "tile_width": _bound_default(core.calculate_tiles_needed, "tile_width"),
            "tile_height": _bound_default(core.calculate_tiles_needed, "tile_height"),
        }
    except (AttributeError, ValueError) as exc:
        raise UnsupportedSetting(f"litellm's count settings not found where expected: {exc}") from None
    values = {**bound, **dict(zip(_GLOBALS_READ_PER_COUNT, per_count))}
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
    hold them: counts then go to litellm until a value changes again)."""
    global _core_globals, _pushed_globals, _refused_globals, generation, max_exact_chars
    from litellm.litellm_core_utils import token_counter as core

    from ._component import COMPONENT

    with _push_lock:
        core_globals = core.__dict__
        try:
            values = _read_globals(core_globals)  # read once: what is sent is what is recorded
        except KeyError as exc:
            raise UnsupportedSetting(f"litellm's count settings not found where expected: {exc}") from None
        if _same(values, _refused_globals):
            raise UnsupportedSetting("litellm's count settings are still outside what the component models")
        try:
            settings = litellm_count_settings(values)
        except UnsupportedSetting:
            _refused_globals = values
            raise
        _pushed_globals = ()
        COMPONENT.set_count_settings(settings)
        generation += 1
        max_exact_chars = getattr(settings, "max-exact-chars")
        _core_globals, _pushed_globals, _refused_globals = core_globals, values, ()


def _same(values: tuple, pushed: tuple) -> bool:
    """Identity, not equality, per value: 16.0 == 16, but litellm counts differently with
    it. Written out for the six globals: any(map(is_not, ...)) cost twice as much."""
    return len(pushed) == 6 and not (
        values[0] is not pushed[0] or values[1] is not pushed[1] or values[2] is not pushed[2]
        or values[3] is not pushed[3] or values[4] is not pushed[4] or values[5] is not pushed[5])


def changed() -> bool:
    """True if a global litellm reads per count is not the object pushed (about 0.3 us)."""
    try:
        return not _same(_read_globals(_core_globals), _pushed_globals)
    except KeyError:  # never pushed, or litellm's module lost one
        return True
