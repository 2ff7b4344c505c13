"""fast-litellm: litellm's hot paths in a sandboxed WebAssembly component.

`import fast_litellm` accelerates litellm's token counting, encode and decode in place,
with exactly the results stock litellm gives. Anything the component cannot serve exactly
is handed to litellm's own code, and counted (`get_performance_stats()`).
"""

from __future__ import annotations

import gc
import json
import logging
from importlib.metadata import PackageNotFoundError, version as _version

# Importing wasmtime's ctypes bindings creates many objects; with litellm's ~300k objects
# tracked, the collector passes they trigger made the import 2-3x slower (measured 210 ms
# vs 90 ms). Collection is paused for the import and restored after it (see the end).
_gc_was_enabled = gc.isenabled()
gc.disable()

try:
    from . import _patch
    from ._component import COMPONENT, ComponentUnavailable
    from ._flags import FLAGS, env_switch
    from ._metrics import METRICS
    from ._pending import get_connection_stats
    from ._advanced_router import select as get_available_deployment
    from . import _ratelimit, tokens
    from ._stats import STATS
except BaseException:
    if _gc_was_enabled:
        gc.enable()
    raise

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
    "is_enabled",
    "get_feature_status",
    "set_feature_state",
    "reset_errors",
    "configure_breaker",
    "get_shadow_mismatches",
    "record_performance",
    "compare_implementations",
    "get_recommendations",
    "export_performance_data",
    "prometheus_metrics",
    "register_prometheus_collector",
    "check_rate_limit",
    "configure_rate_limit",
    "get_rate_limit_stats",
    "get_available_deployment",
    "router_changed",
    # documented API whose feature is not built yet: it raises NotImplementedError
    "get_connection_stats",
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


def get_performance_stats(component: str | None = None) -> dict:
    """Calls served by the component vs handed to litellm, per operation and reason, and
    (`metrics`) latency per component, operation and path: count, errors, mean, p50, p95,
    p99 in microseconds, and by input size. `component` filters the metrics. Calls are
    timed 1 in 8 per operation and path, each sample counting for 8 (failures and shadow
    mode: each, counting for 1); `operations` counts every call exactly."""
    stats = STATS.snapshot()
    stats["component_instantiations"] = COMPONENT.instantiations
    stats["metrics"] = _metrics_or_empty(lambda: METRICS.snapshot(component))
    return stats


def reset_performance_stats() -> None:
    STATS.reset()
    _metrics_or_empty(METRICS.reset)
    tokens.restart_sampling()


def _metrics_or_empty(read):
    """Metrics live in the component: none to read if it never loaded (and reading must
    not load it, e.g. under FAST_LITELLM_DISABLE_ALL)."""
    if not COMPONENT.loaded:
        return []
    try:
        return read()
    except ComponentUnavailable:
        return []


def record_performance(component: str, operation: str, duration_ms: float, success: bool = True,
                       path: str = "accelerated", input_size: int = 0) -> None:
    """Record a sample of your own (e.g. a code path you time yourself) in the component's
    metrics; it shows in get_performance_stats(), exports and Prometheus. Without the
    component (it could not load) the sample is dropped: metrics live there."""
    try:
        METRICS.record(component, operation, duration_ms, success, path, input_size)
    except ComponentUnavailable:
        pass


def compare_implementations(rust_component: str = "token_counting", python_component: str = "token_counting") -> dict:
    """Per operation: the accelerated path of `rust_component` against the litellm path of
    `python_component` (p50, mean, count) and the p50 speed-up. Shadow mode times both
    paths on the same inputs; otherwise the litellm path holds the handed-off calls."""
    series = get_performance_stats()["metrics"]
    fast = {s["operation"]: s for s in series if s["component"] == rust_component and s["path"] == "accelerated"}
    slow = {s["operation"]: s for s in series if s["component"] == python_component and s["path"] == "litellm"}
    out = {}
    for op in sorted(set(fast) & set(slow)):
        a, b = fast[op], slow[op]
        out[op] = {
            "accelerated": {k: a[k] for k in ("count", "p50_us", "mean_us", "p99_us")},
            "litellm": {k: b[k] for k in ("count", "p50_us", "mean_us", "p99_us")},
            "speedup_p50": (b["p50_us"] / a["p50_us"]) if a["p50_us"] else None,
        }
    return out


def get_recommendations() -> list[str]:
    """Advice derived from what was measured in this process (see docs)."""
    advice = _metrics_or_empty(METRICS.recommendations)
    mismatches = FLAGS.mismatch_count
    if mismatches:
        advice.append(f"shadow mode recorded {mismatches} answers that differ from litellm's: keep the "
                      "feature in shadow and report them (get_shadow_mismatches())")
    for name, f in (FLAGS.status() if COMPONENT.loaded else {}).items():
        if f.get("times_opened"):
            advice.append(f"{name}: the circuit breaker opened {f['times_opened']} time(s); see the logs")
    ops = STATS.snapshot()["operations"]
    for op, entry in ops.items():
        total = entry["component"] + entry["litellm"]
        if total >= 100 and entry["litellm"] > entry["component"]:
            top = max(entry["handed_to_litellm"], key=entry["handed_to_litellm"].get)
            advice.append(f"{op}: most calls ({entry['litellm']} of {total}) went to litellm, mainly "
                          f"'{top}'; see README 'How fallback works'")
    return advice


def export_performance_data(component: str | None = None, format: str = "json") -> str:
    """The metrics as JSON (the same data as get_performance_stats()) or CSV."""
    if format == "json":
        return json.dumps(get_performance_stats(component), indent=2)
    if format == "csv":
        try:
            return METRICS.csv(component)
        except ComponentUnavailable:
            return METRICS.CSV_HEADER
    raise ValueError(f"format must be 'json' or 'csv', got {format!r}")


def prometheus_metrics() -> str:
    """Prometheus text exposition of the metrics (serve it from your /metrics endpoint);
    empty without the component."""
    try:
        return METRICS.prometheus()
    except ComponentUnavailable:
        return ""


def register_prometheus_collector(registry=None):
    """Expose the metrics through prometheus_client (optional extra: fast-litellm[prometheus])."""
    try:
        from prometheus_client import REGISTRY
        from prometheus_client.parser import text_string_to_metric_families
    except ImportError as exc:
        raise ImportError("prometheus_client is not installed: pip install 'fast-litellm[prometheus]'") from exc

    class _Collector:
        def collect(self):
            yield from text_string_to_metric_families(prometheus_metrics())

    collector = _Collector()
    (registry or REGISTRY).register(collector)
    return collector


def is_enabled(feature: str, request_id: str | None = None) -> bool:
    """Would a request (with this id) be served by the component right now? Rollout and
    canary decisions hash the id exactly as the component does, in every process. False
    while the feature's litellm code is not patched (removed, not recognised, not loaded)."""
    return FLAGS.is_enabled(feature, request_id) and _patched(feature)


def _patched(feature: str) -> bool:
    if feature == "rust_token_counting":
        return _patch.is_active()
    if feature == "rust_routing":
        from . import _router

        return _router.status()["patched"]
    return True  # not implemented: FLAGS.is_enabled said False already


def get_feature_status() -> dict:
    """Per feature: state, where it came from, breaker state, errors, times opened."""
    return FLAGS.status()


def set_feature_state(feature: str, state: str) -> None:
    """Set `enabled`, `disabled`, `shadow`, `rollout:N` or `canary:N` at run time (the
    highest precedence). Raises ValueError naming a bad feature or state."""
    FLAGS.set_state(feature, state)


def reset_errors(feature: str | None = None) -> None:
    """Forget recorded errors and close the breaker of one feature, or of all."""
    FLAGS.reset_errors(feature)


def configure_breaker(error_threshold: int = 10, window_s: float = 60.0, cool_off_s: float = 30.0,
                      probes_to_close: int = 3) -> None:
    """Errors within `window_s` that switch a feature to litellm for `cool_off_s`; then
    `probes_to_close` successful half-open probes switch it back."""
    FLAGS.configure_breaker(error_threshold, window_s, cool_off_s, probes_to_close)


def get_shadow_mismatches() -> dict:
    """Shadow mode: how many answers differed from litellm's, and the last 100 samples."""
    return {"count": FLAGS.mismatch_count, "samples": list(FLAGS.mismatches)}


def check_rate_limit(key: str, cost: int = 1) -> dict:
    """Admit `cost` requests for `key` against the default limiter (60 per minute per key
    unless `configure_rate_limit` set another): `allowed`, `remaining_requests`,
    `retry_after_ms` (None when the cost can never fit). The decision is made in the
    component. This is a standalone limiter: litellm's own limiters are not patched yet."""
    return _ratelimit.default_limiter().check(key, cost)


def configure_rate_limit(requests_per_minute: int, algorithm: str = "fixed-window",
                         redis_url: str | None = None) -> None:
    """Replace the default limiter (`fixed-window`, `token-bucket` or `sliding-window`).
    With `redis_url`, the limit is shared by every process using that Redis (fixed-window)."""
    _ratelimit.configure(requests_per_minute, algorithm, redis_url)


def get_rate_limit_stats() -> dict:
    """The default limiter's algorithm, limit, window, allowed and denied counts, keys held."""
    return _ratelimit.default_limiter().stats()


def _component_version() -> str | None:
    if not COMPONENT.loaded:
        return None
    try:
        return COMPONENT.call_plain("component-version")
    except Exception:
        return None


def router_changed(router) -> None:
    """Tell fast-litellm that a litellm Router's deployments were edited in place (a dict in
    `router.model_list` changed): the next selection reads them again. Router methods
    (`add_deployment`, `upsert_deployment`, `delete_deployment`, `set_model_list`,
    `update_settings`) need no call."""
    from . import _router

    _router.invalidate(router)


def health_check() -> dict:
    """What is on, what is off, and why."""
    from . import _router

    from . import _versions

    litellm_version = _versions.installed()
    patches = get_patch_status()
    active = _patch.is_active()
    return {
        "status": "accelerated" if active else "unaccelerated",
        "rust_available": RUST_ACCELERATION_AVAILABLE,
        "fast_litellm_version": __version__,
        "component_path": str(COMPONENT.path),
        "component_version": _component_version(),
        "component_error": COMPONENT.load_error,
        "compiled_cache": dict(COMPONENT.cache_info),
        "litellm_version": litellm_version,
        "litellm_version_verified": _versions.is_verified(litellm_version),
        "litellm_verified_features": list(_versions.verified_features(litellm_version)),
        "verified_litellm_versions": list(_versions.VERIFIED),
        "unrecognised_litellm_internals": list(_patch.UNRECOGNISED),
        "patches": patches,
        "routing": _router.status(),
        "features": FLAGS.status() if COMPONENT.loaded else {},
        "configuration_warnings": list(FLAGS.warnings),
    }


RUST_ACCELERATION_AVAILABLE: bool = False

try:
    if not env_switch("FAST_LITELLM_DISABLE_ALL"):
        RUST_ACCELERATION_AVAILABLE = apply_acceleration() or _component_loads()
    else:
        log.info("fast_litellm: FAST_LITELLM_DISABLE_ALL is set; litellm left unaccelerated")
finally:
    if _gc_was_enabled:
        gc.enable()
