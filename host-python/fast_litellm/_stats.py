"""Counters of what the component served and what went back to litellm, and why."""

from __future__ import annotations

import threading
from collections import Counter


class Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._served: Counter = Counter()  # operation -> calls served by the component
        self._handed: Counter = Counter()  # (operation, reason) -> calls served by litellm
        self._traps = 0

    def served(self, operation: str) -> None:
        with self._lock:
            self._served[operation] += 1

    def served_fast(self) -> tuple:
        """(lock, counter) for a caller that increments inline on its hot path."""
        return self._lock, self._served

    def handed_off(self, operation: str, reason: str) -> None:
        with self._lock:
            self._handed[(operation, reason)] += 1

    def record_trap(self) -> None:
        with self._lock:
            self._traps += 1

    def snapshot(self) -> dict:
        with self._lock:
            operations = sorted(set(self._served) | {op for op, _ in self._handed})
            out: dict = {}
            for op in operations:
                reasons = {r: n for (o, r), n in sorted(self._handed.items()) if o == op}
                out[op] = {
                    "component": self._served[op],
                    "litellm": sum(reasons.values()),
                    "handed_to_litellm": reasons,
                }
            return {"operations": out, "component_traps": self._traps}

    def reset(self) -> None:
        with self._lock:
            self._served.clear()
            self._handed.clear()
            self._traps = 0


STATS = Stats()
