"""fast-litellm: litellm's hot paths in a sandboxed WebAssembly component.

`import fast_litellm` accelerates litellm's token counting, encode and decode in place,
with exactly the results stock litellm gives. Anything the component cannot serve exactly
is handed to litellm's own code, and counted (`get_performance_stats()`).
"""

from __future__ import annotations

import logging
import os
from importlib.metadata import PackageNotFoundError, version as _version

from . import _patch
from ._component import COMPONENT, ComponentUnavailable
from ._stats import STATS

try:
    __version__ = _version("fast-litellm")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.1.0"

log = logging.getLogger("fast_litellm")

__all__ = [
    "RUST_ACCELERATION_AVAILABLE",
    "__version__",
    "apply_acceleration",
    "remove_acceleration",
    "health_check",
    "get_patch_status",
    "get_performance_stats",
    "reset_performance_stats",
]


def _component_loads() -> bool:
    try:
        COMPONENT.load()
        return True
    except ComponentUnavailable:
        return False


def apply_acceleration() -> bool:
    """Patch litellm; True only if the token counting funnel is now served by us."""
    try:
        return _patch.apply()
    except Exception as exc:  # never break the user's program
        log.warning("fast_litellm: acceleration not applied (%s: %s)", type(exc).__name__, exc)
        return False


def remove_acceleration() -> bool:
    """Restore litellm's original objects; True if anything was restored."""
    return _patch.remove()


def get_patch_status() -> dict:
    """Per patch target: is the live litellm object ours right now."""
    return _patch.status()


def get_performance_stats() -> dict:
    """Calls served by the component vs handed to litellm, per operation and reason."""
    stats = STATS.snapshot()
    stats["component_instantiations"] = COMPONENT.instantiations
    return stats


def reset_performance_stats() -> None:
    STATS.reset()


def health_check() -> dict:
    """What is on, what is off, and why."""
    try:
        import litellm

        litellm_version = _version("litellm")
    except Exception as exc:  # pragma: no cover - litellm is a dependency
        litellm_version = f"unavailable: {exc}"
    from . import _versions

    patches = get_patch_status()
    active = _patch.is_active()
    return {
        "status": "accelerated" if active else "unaccelerated",
        "rust_available": RUST_ACCELERATION_AVAILABLE,
        "fast_litellm_version": __version__,
        "component_path": str(COMPONENT.path),
        "component_error": COMPONENT.load_error,
        "compiled_cache": dict(COMPONENT.cache_info),
        "litellm_version": litellm_version,
        "litellm_version_tested": _versions.is_tested(litellm_version),
        "tested_litellm_range": _versions.TESTED_RANGE,
        "unrecognised_litellm_internals": list(_patch.UNRECOGNISED),
        "patches": patches,
    }


RUST_ACCELERATION_AVAILABLE: bool = False

if os.environ.get("FAST_LITELLM_DISABLE_ALL", "").strip().lower() not in ("1", "true", "yes"):
    RUST_ACCELERATION_AVAILABLE = apply_acceleration() or _component_loads()
else:
    log.info("fast_litellm: FAST_LITELLM_DISABLE_ALL is set; litellm left unaccelerated")
