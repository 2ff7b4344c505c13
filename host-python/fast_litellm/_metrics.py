"""Latency metrics, host side: time calls, buffer samples, send them to the component in
packed batches (its `metrics` interface keeps the histograms, so every host reports alike).

A sample costs two clock reads and a list extend; the component is called once per 1,024
samples, or when someone reads the metrics. `FAST_LITELLM_METRICS=0` turns sampling off.
"""

from __future__ import annotations

import array
import json
import logging
import os
import threading
from time import perf_counter_ns
from typing import Any

from ._component import COMPONENT

log = logging.getLogger("fast_litellm")

_MAX_DURATION_MS = 1e12  # 31 years: its ns fit the component's u64
FLUSH_AT = 4 * 1024  # ints in the buffer: 1,024 samples of 4
COMPONENT_NAME = "token_counting"  # the feature area our operations belong to


class Metrics:
    # the component's CSV header, for an export without the component (test_metrics checks it)
    CSV_HEADER = "component,operation,path,count,errors,mean_us,p50_us,p95_us,p99_us\n"

    def __init__(self) -> None:
        self.enabled = os.environ.get("FAST_LITELLM_METRICS", "1").strip().lower() not in ("0", "false", "no", "off")
        # flat (series, ok, ns, size) quadruples; always this one list (the hot path binds it)
        self.buffer: list[int] = []
        self._lock = threading.Lock()
        self._series: dict[tuple[str, str, str], int] = {}
        self.dropped_batches = 0

    def series(self, component: str, operation: str, path: str) -> int:
        key = (component, operation, path)
        sid = self._series.get(key)
        if sid is None:
            with self._lock:
                sid = self._series.get(key)
                if sid is None:
                    sid = COMPONENT.metrics("register-series", component, operation, path)
                    self._series[key] = sid
        return sid

    def push_to(self, instance: Any) -> None:
        """A re-instantiated component gets the same series ids (registered in id order);
        its histograms start empty."""
        register = instance.metrics_func("register-series")
        for (component, operation, path), _sid in sorted(self._series.items(), key=lambda kv: kv[1]):
            register(instance.store, component, operation, path)

    def install(self) -> None:
        if self.push_to not in COMPONENT.on_instantiate:
            COMPONENT.on_instantiate.append(self.push_to)

    def sample(self, sid: int, ok: bool, started_ns: int, size: int, weight: int = 1) -> None:
        """A call timed from `started_ns`, standing for `weight` calls (1 timed in n)."""
        buf = self.buffer
        buf.extend((sid, int(ok) | (weight - 1) << 1, perf_counter_ns() - started_ns, size))
        if len(buf) >= FLUSH_AT:
            self.flush_quietly()

    def flush_quietly(self) -> None:
        """flush() for a call's hot path: a failure drops the batch (logged once) instead of
        failing the call that happened to fill the buffer."""
        try:
            self.flush()
        except Exception as exc:  # noqa: BLE001 - bookkeeping must not break a served call
            self.dropped_batches += 1
            if self.dropped_batches == 1:
                log.warning("fast-litellm: sending latency samples to the component failed (%s); "
                            "that batch is dropped", exc)

    def flush(self) -> None:
        with self._lock:
            buf = self.buffer
            n = len(buf)  # what other threads append meanwhile stays for the next batch
            batch = buf[:n]
            del buf[:n]
        if batch:
            packed = array.array("Q", batch).tobytes().decode("latin-1")
            COMPONENT.record_packed(packed)

    def record(self, component: str, operation: str, duration_ms: float, success: bool, path: str,
               input_size: int) -> None:
        # samples are u64s in the component (ns, size): larger values would fail the batch
        if type(duration_ms) not in (int, float) or not 0 <= duration_ms <= _MAX_DURATION_MS:
            raise ValueError(f"duration_ms must be a number of ms from 0 to {_MAX_DURATION_MS:.0e}, "
                             f"got {duration_ms!r}")
        if type(input_size) is not int or not 0 <= input_size < 2**64:
            raise ValueError(f"input_size must be an int from 0 to 2**64-1, got {input_size!r}")
        for name, value in (("component", component), ("operation", operation), ("path", path)):
            if not isinstance(value, str) or not value:
                raise ValueError(f"{name} must be a non-empty str, got {value!r}")
        sid = self.series(component, operation, path)
        self.buffer.extend((sid, bool(success), int(duration_ms * 1e6), input_size))
        if len(self.buffer) >= FLUSH_AT:  # bounded like the hot path's samples
            self.flush()

    def snapshot(self, component: str | None = None) -> list[dict]:
        self.flush()
        return json.loads(COMPONENT.metrics("snapshot", component))

    def csv(self, component: str | None = None) -> str:
        self.flush()
        return COMPONENT.metrics("csv", component)

    def prometheus(self) -> str:
        self.flush()
        return COMPONENT.metrics("prometheus")

    def recommendations(self, min_samples: int = 20) -> list[str]:
        self.flush()
        return list(COMPONENT.metrics("recommendations", min_samples))

    def reset(self) -> None:
        with self._lock:
            del self.buffer[:]
        COMPONENT.metrics("reset")


METRICS = Metrics()


def input_size(operation: str, args: tuple) -> int:
    """A cheap size of a call's input, in characters: the text, or the string contents of
    the messages (what dominates the cost), for per-size latency statistics. Calls the
    component served report the size of the request it received instead (its JSON), which
    is already known; both land in the same coarse size classes."""
    if operation == "encode":
        text = args[1]
        return len(text) if type(text) is str else 0
    if operation == "decode":
        tokens = args[1]
        return len(tokens) if type(tokens) in (list, tuple) else 0
    text = args[2] if operation == "token_counter" else None
    if type(text) is str:
        return len(text)
    messages = args[3] if operation == "token_counter" else args[1]
    size = 0
    if type(messages) in (list, tuple):
        for m in messages:
            if type(m) is dict:
                content = m.get("content")
                if type(content) is str:
                    size += len(content)
    return size
