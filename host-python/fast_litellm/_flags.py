"""Feature flags and circuit breakers, host side.

The component's `control` interface is the source of truth: it validates states, owns the
rollout hash and the breaker state machine, so every host of the component decides alike.
This module reads the configuration sources, pushes them into the component, and keeps a
local copy of the decisions so that an accelerated call pays no boundary crossing for
bookkeeping: the component is asked only when something changes (a state is set, an error
is recorded, a cool-off ends).

Precedence, lowest first: defaults, the JSON file named by FAST_LITELLM_FEATURE_CONFIG,
FAST_LITELLM_RUST_<FEATURE> environment variables, FAST_LITELLM_DISABLE_ALL=1, runtime
calls (`set_feature_state`). A bad file or value logs one warning naming the key and
leaves the lower-precedence value in force.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import threading
import time
from collections import deque
from types import SimpleNamespace
from typing import Any

log = logging.getLogger("fast_litellm")

ACCELERATED, STOCK, SHADOW = 0, 1, 2

# Features the package knows. Token counting and routing (simple-shuffle) are built and
# on by default; the others stay disabled and have nothing to accelerate in litellm yet.
DEFAULTS = {
    "rust_token_counting": "enabled",
    "rust_routing": "enabled",
    "rust_rate_limiting": "disabled",
    "rust_connection_pooling": "disabled",
}
IMPLEMENTED = {"rust_token_counting", "rust_routing"}
_SWITCH_ON = ("1", "true", "yes", "on")
_MAX_COUNT = 2**32 - 1  # breaker counts: WIT u32 (wasmtime-py wraps larger ints)
_MAX_SECONDS = 10**9  # breaker windows: ~31 years, far inside the WIT u64 of ms


def env_switch(var: str) -> bool:
    """Whether an on/off environment variable (FAST_LITELLM_DISABLE_ALL, ...) is on."""
    return os.environ.get(var, "").strip().lower() in _SWITCH_ON


def _now_ms() -> int:
    return int(time.monotonic() * 1000)


def bucket(request_id: str) -> int:
    """The component's rollout bucket (FNV-1a 64 of the UTF-8 bytes, modulo 100), computed
    here so a decision needs no crossing; tests check it against the component's."""
    h = 0xCBF29CE484222325
    for b in request_id.encode("utf-8", "surrogatepass"):
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h % 100


class _Feature:
    __slots__ = ("name", "state", "source", "kind", "percent", "open_until", "half_open", "events")

    def __init__(self, name: str) -> None:
        self.name = name
        self.state = "enabled"
        self.source = "default"
        self.kind = ACCELERATED
        self.percent = 100
        self.open_until = 0  # ms; while now < open_until the breaker is open
        self.half_open = False
        # outcomes reported to the component since its breaker last closed: replayed into
        # a re-instantiated component so a trap cannot reset the breaker it feeds
        self.events: list[tuple[int, bool]] = []

    def set(self, state: str, source: str) -> None:
        self.state, self.source = state, source
        if state == "enabled":
            self.kind, self.percent = ACCELERATED, 100
        elif state == "disabled":
            self.kind, self.percent = STOCK, 0
        elif state == "shadow":
            self.kind, self.percent = SHADOW, 100
        else:  # rollout:N / canary:N, already validated by the component
            self.kind, self.percent = ACCELERATED, int(state.split(":", 1)[1])


class Flags:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._features: dict[str, _Feature] = {}
        self._runtime: dict[str, str] = {}
        self.warnings: list[str] = []
        self.mismatches: deque = deque(maxlen=100)
        self.mismatch_count = 0
        self._ids = itertools.count()
        # True while some feature's breaker is half-open: only then do successes need
        # reporting, so the hot path checks this one attribute
        self.probing = False
        self.breaker_settings = {"error_threshold": 10, "window_s": 60.0, "cool_off_s": 30.0, "probes_to_close": 3}

    # -- configuration -----------------------------------------------------------------

    def _warn(self, message: str) -> None:
        self.warnings.append(message)
        log.warning("fast_litellm: %s", message)

    def _apply(self, feature: str, state: Any, source: str) -> bool:
        """Validate `state` in the component and take it; False (and one warning) if bad."""
        from ._component import COMPONENT

        if not isinstance(state, str):
            self._warn(f"{source}: {feature}: state must be a string, got {state!r}; keeping "
                       f"{self._features[feature].state!r}")
            return False
        if feature not in IMPLEMENTED and state != "disabled":
            self._warn(f"{source}: {feature} patches nothing in litellm yet; it stays 'disabled'")
            return False
        error = COMPONENT.control("set-state", feature, state)
        if error is not None:
            self._warn(f"{source}: {error}; keeping {self._features[feature].state!r}")
            return False
        self._features[feature].set(COMPONENT.control("state", feature), source)
        return True

    def load(self) -> None:
        """Read every source in precedence order and push the result into the component."""
        with self._lock:
            self.warnings.clear()
            self._features = {name: _Feature(name) for name in DEFAULTS}
            for name, state in DEFAULTS.items():
                self._apply(name, state, "default")
            path = os.environ.get("FAST_LITELLM_FEATURE_CONFIG")
            if path:
                for name, state in self._read_file(path).items():
                    self._apply(name, state, f"file {path}")
            for name in DEFAULTS:
                var = f"FAST_LITELLM_{name.upper()}"
                if var in os.environ:
                    self._apply(name, os.environ[var], f"env {var}")
            if env_switch("FAST_LITELLM_DISABLE_ALL"):
                for name in DEFAULTS:
                    self._apply(name, "disabled", "env FAST_LITELLM_DISABLE_ALL")
            for name, state in self._runtime.items():
                self._apply(name, state, "runtime")
            self._push_breaker_settings()

    def _read_file(self, path: str) -> dict[str, Any]:
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except (OSError, ValueError) as exc:
            self._warn(f"FAST_LITELLM_FEATURE_CONFIG={path}: unreadable ({type(exc).__name__}: {exc}); "
                       "keeping the defaults")
            return {}
        if not isinstance(data, dict):
            self._warn(f"FAST_LITELLM_FEATURE_CONFIG={path}: expected a JSON object of feature: state")
            return {}
        known = {}
        for name, state in data.items():
            if name not in DEFAULTS:
                self._warn(f"file {path}: unknown feature {name!r} (known: {', '.join(DEFAULTS)})")
            else:
                known[name] = state
        return known

    def set_state(self, feature: str, state: str) -> None:
        """Runtime setting, the highest precedence. Raises ValueError for a bad one."""
        if feature not in DEFAULTS:
            raise ValueError(f"unknown feature {feature!r}; known: {', '.join(DEFAULTS)}")
        from ._component import COMPONENT, ComponentUnavailable

        with self._lock:
            if not isinstance(state, str):
                raise ValueError(f"state must be a string, got {state!r}")
            if feature not in IMPLEMENTED and state != "disabled":
                raise ValueError(f"{feature} patches nothing in litellm yet; it can only be 'disabled'")
            try:
                error = COMPONENT.control("set-state", feature, state)
            except ComponentUnavailable:  # kept for when it loads (validated then, as a file's are)
                self._runtime[feature] = state
                return
            if error is not None:
                raise ValueError(error)
            self._runtime[feature] = state
            if feature in self._features:  # not loaded (FAST_LITELLM_DISABLE_ALL): applied at load
                self._features[feature].set(COMPONENT.control("state", feature), "runtime")

    def configure_breaker(self, error_threshold: int = 10, window_s: float = 60.0, cool_off_s: float = 30.0,
                          probes_to_close: int = 3) -> None:
        for name, value in (("error_threshold", error_threshold), ("probes_to_close", probes_to_close)):
            if type(value) is not int or not 1 <= value <= _MAX_COUNT:  # WIT u32
                raise ValueError(f"{name} must be an int from 1 to {_MAX_COUNT}, got {value!r}")
        for name, value in (("window_s", window_s), ("cool_off_s", cool_off_s)):
            if type(value) not in (int, float) or not 0 <= value <= _MAX_SECONDS:
                raise ValueError(f"{name} must be a number of seconds from 0 to {_MAX_SECONDS}, got {value!r}")
        from ._component import ComponentUnavailable

        with self._lock:
            self.breaker_settings = {"error_threshold": error_threshold, "window_s": float(window_s),
                                     "cool_off_s": float(cool_off_s), "probes_to_close": probes_to_close}
            try:
                self._push_breaker_settings()
            except ComponentUnavailable:  # pushed when it loads
                pass

    def _breaker_record(self) -> SimpleNamespace:
        """The breaker settings as the WIT record (wasmtime-py reads dashed field names)."""
        s = self.breaker_settings
        return SimpleNamespace(**{
            "error-threshold": s["error_threshold"], "window-ms": int(s["window_s"] * 1000),
            "cool-off-ms": int(s["cool_off_s"] * 1000), "probes-to-close": s["probes_to_close"]})

    def _push_breaker_settings(self) -> None:
        from ._component import COMPONENT

        COMPONENT.control("set-breaker-settings", self._breaker_record())

    def install(self) -> None:
        """Load the configuration and keep re-instantiated components in step."""
        from ._component import COMPONENT

        if self.push_to not in COMPONENT.on_instantiate:
            COMPONENT.on_instantiate.append(self.push_to)
        self.load()

    def push_to(self, instance: Any) -> None:
        """A fresh instance (after a trap) starts from defaults: give it the states and
        breaker settings in force, and replay the outcomes its breaker had seen."""
        for name, f in self._features.items():
            instance.control_func("set-state")(instance.store, name, f.state)
        instance.control_func("set-breaker-settings")(instance.store, self._breaker_record())
        record = instance.control_func("record-outcome")
        for name, f in self._features.items():
            for at, ok in f.events:
                record(instance.store, name, ok, at)

    # -- decisions (hot path: no crossing unless the breaker is involved) ----------------

    def route(self, feature: str, request_id: str | None = None) -> int | str:
        """ACCELERATED, SHADOW, or the reason litellm serves this request. Calls without a
        request id (litellm's token_counter has none) are numbered in turn, so rollout:N
        sends N% of them to the component."""
        f = self._features.get(feature)
        if f is None:
            return "feature_not_loaded"
        kind = f.kind
        if kind == STOCK:
            return "feature_disabled"
        if f.percent < 100:
            rid = request_id if request_id is not None else f"call-{next(self._ids)}"
            if bucket(rid) >= f.percent:
                return "rollout_not_selected"
        if f.open_until:
            if _now_ms() < f.open_until:
                return "breaker_open"
            f.half_open = True  # cool-off over: this request is a probe
            self.probing = True
        return kind

    def record(self, feature: str, ok: bool) -> None:
        """An outcome of the accelerated path. Successes cross only while half-open."""
        f = self._features.get(feature)
        if f is None or (ok and not f.half_open):
            return
        from ._component import COMPONENT

        with self._lock:
            now = _now_ms()
            state = COMPONENT.control("record-outcome", feature, ok, now)
            f.events.append((now, ok))
            del f.events[:-10_000]  # bounded
            if state == "open":
                f.open_until = now + int(self.breaker_settings["cool_off_s"] * 1000)
                f.half_open = False
                log.warning("fast_litellm: %s: too many errors, served by litellm for %.0f s",
                            feature, self.breaker_settings["cool_off_s"])
            elif state == "closed" and (f.half_open or f.open_until):
                # half-open probes closed it: a fresh start for the error history
                f.open_until, f.half_open = 0, False
                f.events.clear()
            self.probing = any(x.half_open for x in self._features.values())

    def record_mismatch(self, feature: str, sample: str, accelerated: Any, stock: Any) -> None:
        with self._lock:
            self.mismatch_count += 1
            self.mismatches.append({"feature": feature, "input": sample[:500],
                                    "accelerated": repr(accelerated)[:200], "stock": repr(stock)[:200]})
        self.record(feature, ok=False)

    def reset_errors(self, feature: str | None = None) -> None:
        if feature is not None and feature not in DEFAULTS:
            raise ValueError(f"unknown feature {feature!r}; known: {', '.join(DEFAULTS)}")
        from ._component import COMPONENT, ComponentUnavailable

        with self._lock:
            try:
                COMPONENT.control("reset-errors", feature)
            except ComponentUnavailable:  # no component: no errors recorded
                return
            for f in self._features.values():
                if feature is None or f.name == feature:
                    f.open_until, f.half_open = 0, False
                    f.events.clear()

    def state_of(self, feature: str) -> str | None:
        f = self._features.get(feature)
        return None if f is None else f.state

    def is_enabled(self, feature: str, request_id: str | None = None) -> bool:
        """Would a request (with this id) be served by the component right now?"""
        if not isinstance(feature, str) or feature not in DEFAULTS:
            raise ValueError(f"unknown feature {feature!r}; known: {', '.join(DEFAULTS)}")
        if request_id is not None and not isinstance(request_id, str):
            raise ValueError(f"request_id must be a str or None, got {type(request_id).__name__}")
        f = self._features.get(feature)
        if f is None:  # not loaded (FAST_LITELLM_DISABLE_ALL, no component): nothing is served
            return False
        if f.kind != ACCELERATED or feature not in IMPLEMENTED:
            return False
        if f.open_until and _now_ms() < f.open_until:
            return False
        if request_id is None:
            return f.percent > 0
        return bucket(request_id) < f.percent

    def status(self) -> dict[str, dict]:
        from ._component import COMPONENT

        out = {}
        for name, f in self._features.items():
            try:
                errors, opened = COMPONENT.control("error-counts", name)
                breaker = COMPONENT.control("breaker", name, _now_ms())
            except Exception:  # component unavailable: report what the host knows
                errors, opened, breaker = None, None, None
            out[name] = {
                "state": f.state,
                "source": f.source,
                "implemented": name in IMPLEMENTED,
                "breaker": breaker,
                "errors": errors,
                "times_opened": opened,
            }
        return out


FLAGS = Flags()
