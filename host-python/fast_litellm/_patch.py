"""Installing our functions at the names litellm really calls, and taking them out again.

Every target is checked against the live litellm object: a target counts as patched only
while `getattr(module, name)` is our function. A litellm whose internals we do not
recognise (a missing module or function, a changed signature), or a litellm release
the suite was not run against (_versions), is left alone and `health_check()` says why.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import threading
from dataclasses import dataclass
from typing import Any, Callable

from . import _versions, tokens

log = logging.getLogger("fast_litellm")
_lock = threading.Lock()
_MISSING = object()


@dataclass
class Target:
    module: str
    name: str
    replacement: Callable[..., Any]
    operation: str  # the key of tokens.ORIGINALS this target's original serves
    # the litellm object expected there, when it is not ORIGINALS[operation] itself
    expected: Callable[..., Any] | None = None
    original: Any = _MISSING
    had_attribute: bool = True
    problem: str | None = None
    applied: bool = False

    @property
    def label(self) -> str:
        return f"{self.module}.{self.name}"

    def live(self) -> Any:
        module = importlib.import_module(self.module)
        return module.__dict__.get(self.name, _MISSING)


# litellm's core function signatures, as of the verified releases; a different one means the
# semantics may have moved and the piece stays unpatched.
_EXPECTED_PARAMS = {
    "token_counter": ["model", "custom_tokenizer", "text", "messages", "count_response_tokens",
                      "tools", "tool_choice", "use_default_image_token_count", "default_token_count"],
    "messages_reach_token_count": ["model", "messages", "threshold", "tools", "use_default_image_token_count"],
    "encode": ["model", "text", "custom_tokenizer"],
    "decode": ["model", "tokens", "custom_tokenizer", "skip_special_tokens"],
}

# Internals tokens.py relies on to choose exactly as litellm does.
_REQUIRED_INTERNALS = [
    ("litellm.litellm_core_utils.token_counter", "openai_tokenizer_encoding_name"),
    ("litellm.litellm_core_utils.token_counter", "uses_legacy_message_accounting"),
    ("litellm.litellm_core_utils.token_counter", "TIKTOKEN_ENCODE_CHUNK_SIZE_CHARS"),
    ("litellm.litellm_core_utils.token_counter", "TOKEN_COUNTER_MAX_EXACT_CHARS"),
    ("litellm.litellm_core_utils.token_counter", "EXTRAPOLATION_SAMPLES"),
    ("litellm.utils", "huggingface_tokenizer_kind"),
    ("litellm.utils", "convert_list_message_to_dict"),
    ("litellm._lazy_imports", "get_token_counter_new"),
    ("litellm._lazy_imports", "get_messages_reach_token_count"),
]


def _targets() -> list[Target]:
    tc, mr = tokens.token_counter, tokens.messages_reach_token_count
    import litellm.utils

    wrapper = litellm.utils.token_counter  # checks disable_token_counter, then the funnel
    return [
        # The public entry points: served directly, saving the wrapper's extra call (ours
        # makes the same disable_token_counter check before anything else).
        Target("litellm.utils", "token_counter", tc, "token_counter", expected=wrapper),
        Target("litellm", "token_counter", tc, "token_counter", expected=wrapper),
        # The funnel nearly every caller goes through (litellm.token_counter included).
        Target("litellm._lazy_imports", "_token_counter_new_func", tc, "token_counter"),
        Target("litellm.litellm_core_utils.token_counter", "token_counter", tc, "token_counter"),
        # Modules that bound the core function by name at import.
        Target("litellm.compression.compress", "token_counter", tc, "token_counter"),
        Target("litellm.llms.openai.common_utils", "token_counter", tc, "token_counter"),
        Target("litellm._lazy_imports", "_messages_reach_token_count_func", mr, "messages_reach_token_count"),
        Target("litellm.litellm_core_utils.token_counter", "messages_reach_token_count", mr,
               "messages_reach_token_count"),
        Target("litellm.utils", "encode", tokens.encode, "encode"),
        Target("litellm", "encode", tokens.encode, "encode"),
    ] + ([
        Target("litellm.utils", "decode", tokens.decode, "decode"),
        Target("litellm", "decode", tokens.decode, "decode"),
    ] if tokens.SERVE_DECODE else [])


TARGETS: list[Target] = []
UNRECOGNISED: list[str] = []  # what in litellm did not look as expected


def _core_functions() -> dict[str, Callable[..., Any]]:
    """litellm's own functions, resolved through its lazy loaders."""
    import litellm._lazy_imports as lazy
    import litellm.utils as utils

    return {
        "token_counter": lazy.get_token_counter_new(),
        "messages_reach_token_count": lazy.get_messages_reach_token_count(),
        "encode": utils.encode,
        "decode": utils.decode,
    }


def _check_internals(originals: dict[str, Callable[..., Any]]) -> list[str]:
    problems = []
    for module, name in _REQUIRED_INTERNALS:
        try:
            if not hasattr(importlib.import_module(module), name):
                problems.append(f"{module}.{name} not found")
        except Exception as exc:
            problems.append(f"{module}: {type(exc).__name__}: {exc}")
    for operation, expected in _EXPECTED_PARAMS.items():
        fn = originals.get(operation)
        try:
            params = list(inspect.signature(fn).parameters) if fn is not None else None
        except (TypeError, ValueError):
            params = None
        if params != expected:
            problems.append(f"{operation} signature {params} differs from the tested {expected}")
    return problems


def apply() -> bool:
    """Install every recognised target; True if at least the main funnel is live."""
    from ._component import COMPONENT, ComponentUnavailable
    from ._flags import FLAGS
    from ._metrics import METRICS
    from ._settings import UnsupportedSetting, push_litellm_settings

    with _lock:
        if any(t.applied for t in TARGETS):
            return is_active()
        unverified = _versions.unverified_problem()
        originals: dict[str, Callable[..., Any]] = {}
        if unverified is not None:  # counting and routing both stay litellm's
            from . import _router

            _warn_once(unverified)
            UNRECOGNISED[:] = _router.PROBLEMS[:] = [unverified]
        else:
            try:
                originals = _core_functions()
                UNRECOGNISED[:] = _check_internals(originals)
            except Exception as exc:
                UNRECOGNISED[:] = [f"litellm token counting not found: {type(exc).__name__}: {exc}"]
        try:  # loaded even so: the limiters do not depend on litellm
            COMPONENT.load()
            FLAGS.install()
            METRICS.install()
        except ComponentUnavailable:
            return False
        if unverified is not None:
            return False
        _install_routing()  # decided on the release, then the Router's own internals (health_check()["routing"])
        if not UNRECOGNISED:
            try:
                tokens.learn_release()
                push_litellm_settings()
                tokens.forget_remembered_counts()  # counted under the settings pushed before
            except UnsupportedSetting as exc:
                UNRECOGNISED[:] = [str(exc)]
        if UNRECOGNISED:  # token counting stays litellm's
            return False
        for op, fn in originals.items():
            tokens.ORIGINALS.setdefault(op, fn)
        TARGETS[:] = _targets()
        for target in TARGETS:
            try:
                module = importlib.import_module(target.module)
            except Exception as exc:
                target.problem = f"module not importable: {type(exc).__name__}"
                continue
            current = module.__dict__.get(target.name, _MISSING)
            expected = target.expected or tokens.ORIGINALS[target.operation]
            if target.module == "litellm" and current is _MISSING:
                # resolved lazily by litellm.__getattr__; pinning ours makes it the answer
                target.had_attribute = False
            elif current is not expected:
                target.problem = "holds an object that is not litellm's function; left alone"
                continue
            target.original = current
            setattr(module, target.name, target.replacement)
            target.applied = True
        return is_active()


_warned: set[str] = set()


def _warn_once(problem: str) -> None:
    if problem not in _warned:
        _warned.add(problem)
        log.warning("fast_litellm: %s; see health_check()", problem)


def _install_routing() -> None:
    """Deployment selection on the component: a Router we do not recognise stays stock
    (its problems are in health_check()), and never stops token counting."""
    from . import _router

    unverified = _versions.unverified_problem(_versions.ROUTING)
    if unverified is not None:
        _warn_once(unverified)
        _router.PROBLEMS[:] = [unverified]
        return
    try:
        _router.install()
    except Exception as exc:
        _router.PROBLEMS[:] = [f"litellm's Router not patched: {type(exc).__name__}: {exc}"]


def remove() -> bool:
    """Put litellm's exact original objects back; True if anything was restored."""
    with _lock:
        restored = False
        for target in TARGETS:
            if not target.applied:
                continue
            module = importlib.import_module(target.module)
            if module.__dict__.get(target.name) is target.replacement:
                if target.had_attribute:
                    setattr(module, target.name, target.original)
                else:
                    delattr(module, target.name)
                restored = True
            target.applied = False
        TARGETS.clear()
        from . import _router

        return _router.uninstall() or restored


def is_active() -> bool:
    return any(t.applied and t.live() is t.replacement for t in TARGETS if t.name == "_token_counter_new_func")


def status() -> dict[str, dict]:
    """Per target: whether the live litellm object is ours right now."""
    out = {}
    for target in TARGETS or _targets():
        try:
            live = target.live() is target.replacement
        except Exception:
            live = False
        out[target.label] = {
            "patched": live,
            "operation": target.operation,
            **({"problem": target.problem} if target.problem else {}),
        }
    return out
