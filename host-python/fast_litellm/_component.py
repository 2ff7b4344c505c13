"""Loading the WebAssembly component and calling it safely.

One compiled component per process, cached on disk (compiling the 50 MB component takes
about 3 s, loading the cached form under 1 ms). One instance, behind a lock: a wasmtime
Store is not thread-safe, and per-thread instances would each hold their own tokenizer
tables (tens of MB). A call that traps poisons the instance; the next call builds a new one.
"""

from __future__ import annotations

import array
import hashlib
import json
import logging
import os
import threading
from pathlib import Path
from typing import Any, Callable

from . import _invoke
from ._stats import STATS

log = logging.getLogger("fast_litellm")

INTERFACE = "fast-litellm:component/tokenizer@0.1.0"
CONTROL_INTERFACE = "fast-litellm:component/control@0.1.0"
METRICS_INTERFACE = "fast-litellm:component/metrics@0.1.0"
RATELIMIT_INTERFACE = "fast-litellm:component/ratelimit@0.1.0"
ROUTER_INTERFACE = "fast-litellm:component/router@0.1.0"
ENCODINGS = ("cl100k_base", "o200k_base", "p50k_base", "r50k_base")
_WIT_ENCODINGS = tuple(name.replace("_", "-") for name in ENCODINGS)
BUNDLED = Path(__file__).parent / "component" / "fast_litellm.wasm"


class ComponentUnavailable(RuntimeError):
    """The component could not be loaded; litellm stays unaccelerated."""


class InstanceChanged(RuntimeError):
    """The instance a caller's state lives in was replaced (a trap): state must be rebuilt."""


def component_path() -> Path:
    override = os.environ.get("FAST_LITELLM_COMPONENT")
    return Path(override) if override else BUNDLED


def cache_dir() -> Path:
    override = os.environ.get("FAST_LITELLM_CACHE_DIR")
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "fast-litellm"


def _wasmtime_version() -> str:
    from importlib.metadata import version

    return version("wasmtime")


def component_digest(path: Path) -> str:
    """sha256 of the component. `just build` records it beside the bundled file (`.sha256`,
    with the size) so a warm import does not read and hash 50 MB. Only the bundled file
    is trusted with a record; a FAST_LITELLM_COMPONENT build is always hashed."""
    sidecar = path.with_name(path.name + ".sha256")
    if path != BUNDLED:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    try:
        digest, size = sidecar.read_text().split()
        if int(size) == path.stat().st_size and len(digest) == 64:
            return digest
    except (OSError, ValueError):
        pass
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _load_compiled(engine: Any, path: Path) -> tuple[Any, dict]:
    """Compile `path`, or load the cached compiled form; returns (component, cache info)."""
    from wasmtime.component import Component

    key = f"{_wasmtime_version()}-{component_digest(path)[:24]}"
    cached = cache_dir() / f"{key}.cwasm"
    info = {"cache_file": str(cached), "cache_hit": False, "cache_error": None}
    if cached.is_file():
        try:
            component = Component.deserialize_file(engine, str(cached))
            info["cache_hit"] = True
            return component, info
        except Exception as exc:  # truncated or foreign file: rebuild it
            info["cache_error"] = f"unreadable cache file, recompiled: {exc}"
            log.warning("fast_litellm: %s", info["cache_error"])
    component = Component(engine, path.read_bytes())
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(f".tmp{os.getpid()}")
        tmp.write_bytes(component.serialize())
        os.replace(tmp, cached)  # atomic: a reader never sees half a file
    except OSError as exc:
        info["cache_error"] = f"cache not writable, compiled in memory: {exc}"
    return component, info


class _Instance:
    """A Store, an instance and the bound hot functions."""

    def __init__(self, engine: Any, component: Any, settings: Any) -> None:
        import wasmtime
        from wasmtime.component import Linker

        linker = Linker(engine)
        linker.add_wasip2()
        self.store = store = wasmtime.Store(engine)
        store.set_wasi(wasmtime.WasiConfig())
        instance = linker.instantiate(store, component)
        self.func = func = self._interface(instance, store, INTERFACE)
        self.control_func = self._interface(instance, store, CONTROL_INTERFACE)
        self.metrics_func = self._interface(instance, store, METRICS_INTERFACE)
        self.ratelimit_func = self._interface(instance, store, RATELIMIT_INTERFACE)
        self.router_func = self._interface(instance, store, ROUTER_INTERFACE)
        if settings is not None:
            func("set-count-settings")(store, settings)
        S, E = _invoke.STRING, _invoke.Enum
        count_text, encode, decode = func("count-text"), func("encode-packed"), func("decode-packed")
        self.count_text = [_invoke.bind(count_text, store, (E(e), S), "u64") for e in _WIT_ENCODINGS]
        self.encode = [_invoke.bind(encode, store, (E(e), S), "string") for e in _WIT_ENCODINGS]
        self.decode = [_invoke.bind(decode, store, (E(e), S), "option-string") for e in _WIT_ENCODINGS]
        count_texts = func("count-texts-packed")
        self.count_texts = [_invoke.bind(count_texts, store, (E(e), S), "option-string") for e in _WIT_ENCODINGS]
        self.count_request = _invoke.bind(func("count-request"), store, (S,), "s64")
        self.ratelimit_packed = _invoke.bind(self.ratelimit_func("check-packed"), store, (S,), "s64")
        # any cost, and releases: the generic API's record and result lifting cost 120-180 us
        self.ratelimit_cost_packed = _invoke.bind(self.ratelimit_func("check-cost-packed"), store, (S,),
                                                  "option-string")
        self.ratelimit_release_packed = _invoke.bind(self.ratelimit_func("release-packed"), store, (S,), "s64")
        self.record_packed = _invoke.bind(self.metrics_func("record-packed"), store, (S,), "u32")
        self.router_packed = _invoke.bind(self.router_func("select-packed"), store, (S,), "s64")
        self.router_candidates = _invoke.bind(self.router_func("candidates-packed"), store, (S,), "option-string")

    @staticmethod
    def _interface(instance: Any, store: Any, name: str) -> Callable[[str], Any]:
        """A lookup of functions in one exported interface (cold paths: generic API)."""
        iface = instance.get_export_index(store, name)
        if iface is None:
            raise ComponentUnavailable(f"component does not export {name}")

        def func(fn: str) -> Any:
            index = instance.get_export_index(store, fn, iface)
            if index is None:
                raise ComponentUnavailable(f"component lacks {name}#{fn}")
            return instance.get_func(store, index)

        return func


class Component:
    """The process-wide component: lazy, locked, self-healing."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._engine: Any = None
        self._compiled: Any = None
        self._instance: _Instance | None = None
        self._settings: Any = None
        self.path = component_path()
        self.load_error: str | None = None
        self.cache_info: dict = {}
        self.instantiations = 0
        # called with each new instance (under the lock) to give it the host's state
        self.on_instantiate: list[Callable[[_Instance], None]] = []

    @property
    def loaded(self) -> bool:
        """Compiled (or loaded from cache) at some point in this process."""
        return self._compiled is not None

    def load(self) -> None:
        """Compile (or load from cache) and instantiate; raises ComponentUnavailable."""
        with self._lock:
            self._ensure_instance()

    def _ensure_instance(self) -> _Instance:
        if self._instance is not None:
            return self._instance
        if self.load_error is not None:
            raise ComponentUnavailable(self.load_error)
        try:
            if self._compiled is None:
                import wasmtime

                if not self.path.is_file():
                    raise ComponentUnavailable(f"component file not found: {self.path}")
                self._engine = wasmtime.Engine()
                self._compiled, self.cache_info = _load_compiled(self._engine, self.path)
            instance = _Instance(self._engine, self._compiled, self._settings)
            for hook in self.on_instantiate:
                hook(instance)
            self._instance = instance
            self.instantiations += 1
        except Exception as exc:
            self.load_error = f"{type(exc).__name__}: {exc}"
            log.warning("fast_litellm: component unavailable, litellm stays unaccelerated (%s)", self.load_error)
            raise ComponentUnavailable(self.load_error) from exc
        return self._instance

    def set_count_settings(self, settings: Any) -> None:
        with self._lock:
            self._settings = settings
            if self._instance is not None:
                self._instance.func("set-count-settings")(self._instance.store, settings)

    def call(self, bound: str, index: int | None, text: str) -> Any:
        """Run one bound function (`_Instance.<bound>`, optionally `[index]`); a trap drops
        the instance so the next call rebuilds it."""
        with self._lock:
            instance = self._instance or self._ensure_instance()
            fn = getattr(instance, bound)
            try:
                return fn(text) if index is None else fn[index](text)
            except UnicodeEncodeError:
                raise  # the input (lone surrogates) never reached the component
            except Exception:
                self._instance = None
                STATS.record_trap()
                raise

    def call_plain(self, name: str, *args: Any) -> Any:
        """A `tokenizer` call through wasmtime's generic API, for cold paths and lists."""
        return self._generic("func", name, args)

    def control(self, name: str, *args: Any) -> Any:
        """A call into the `control` interface (flags, breakers): cold path, generic API."""
        return self._generic("control_func", name, args)

    def metrics(self, name: str, *args: Any) -> Any:
        """A call into the `metrics` interface (batched samples, reports)."""
        return self._generic("metrics_func", name, args)

    def ratelimit(self, name: str, *args: Any) -> Any:
        """A call into the `ratelimit` interface."""
        return self._generic("ratelimit_func", name, args)

    def router(self, name: str, *args: Any) -> Any:
        """A call into the `router` interface (plans: cold path)."""
        return self._generic("router_func", name, args)

    def router_packed(self, request: str, generation: int) -> int:
        """A selection, on the instance the router's plan was created in (`generation`:
        `instantiations` then); InstanceChanged if a trap has replaced it since."""
        return self._on_plan_instance("router_packed", request, generation)

    def router_candidates(self, request: str, generation: int) -> str | None:
        """A group's candidates (`candidates-packed`), like router_packed."""
        return self._on_plan_instance("router_candidates", request, generation)

    def _on_plan_instance(self, name: str, request: str, generation: int) -> Any:
        with self._lock:
            instance = self._instance
            if instance is None or self.instantiations != generation:
                raise InstanceChanged(f"plan of instance {generation}, now {self.instantiations}")
            try:
                return getattr(instance, name)(request)
            except Exception:
                self._instance = None
                STATS.record_trap()
                raise

    def record_packed(self, samples: str) -> int:
        return self.call("record_packed", None, samples)

    def _generic(self, interface: str, name: str, args: tuple) -> Any:
        """Call `name` of the instance's `interface` lookup; a trap drops the instance."""
        with self._lock:
            instance = self._ensure_instance()
            try:
                return getattr(instance, interface)(name)(instance.store, *args)
            except Exception:
                self._instance = None
                STATS.record_trap()
                raise

    # -- typed helpers -------------------------------------------------------------------

    def count_text(self, encoding: int, text: str) -> int:
        return self.call("count_text", encoding, text)

    def count_request(self, request: str) -> int:
        return self.call("count_request", None, request)

    def encode(self, encoding: int, text: str) -> list[int]:
        packed = self.call("encode", encoding, text)
        return array.array("I", packed.encode("latin-1")).tolist()

    def decode(self, encoding: int, tokens: array.array) -> str | None:
        return self.call("decode", encoding, tokens.tobytes().decode("latin-1"))

    def count_texts(self, encoding: int, texts: list[str]) -> list[int] | None:
        """Counts for `texts` (strs) in one call; None if they are not all plain strings."""
        packed = self.call("count_texts", encoding, json.dumps(texts, ensure_ascii=False))
        if packed is None:
            return None
        return array.array("I", packed.encode("latin-1")).tolist()


COMPONENT = Component()
