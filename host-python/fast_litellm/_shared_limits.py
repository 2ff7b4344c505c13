"""Limits shared by many processes through Redis.

A shared limiter keeps each key's window in Redis and decides in one Lua script, atomically,
so processes and hosts that share a Redis never admit past the limit together (no slack while
Redis answers). The script makes the same decisions as the component's fixed window (litellm
v3's: anchored at a key's first request; denials use nothing), given the same clock.

When Redis does not answer, the process goes on limiting locally in the component (which
mirrors this process's admissions, so it knows its own share of the window), logs one
warning per outage, and tries Redis again after `retry_s`. On the first answer after an
outage it first adds what it admitted locally meanwhile, so the shared window counts them.
During an outage each process limits on its own: n processes can admit up to n times the
limit in that window.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

log = logging.getLogger("fast_litellm")

# KEYS[1]: the key's hash. ARGV: now ms, window ms, limit, cost, force ("1": add without
# checking, for a resync). Returns {allowed 0/1, remaining, retry-after ms (-1: never)}.
# The script decides by the clock it is given; the key outlives its window by a minute of
# grace, for hosts whose clocks differ a little (and for tests that inject a clock).
FIXED_WINDOW = """
local now, window, limit, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'start', 'used')
local start, used = state[1], tonumber(state[2]) or 0
local fresh = not start or now - tonumber(start) >= window
if fresh then start, used = ARGV[1], 0 end
local allowed = ARGV[5] == '1' or used + cost <= limit
if allowed then used = used + cost end
if allowed or fresh then  -- a window starts at a key's first request, admitted or not
  redis.call('HSET', KEYS[1], 'start', start, 'used', used)
  redis.call('PEXPIRE', KEYS[1], math.max(tonumber(start) + window - now, 0) + 60000)
end
if allowed then return {1, math.max(limit - used, 0), 0} end
if cost > limit then return {0, limit - used, -1} end
return {0, limit - used, tonumber(start) + window - now}
"""

def wall_ms() -> int:
    """Shared limits need one timebase across processes and hosts: the wall clock."""
    return time.time_ns() // 1_000_000


class SharedWindows:
    """The Redis half of a RateLimiter (see the module comment)."""

    def __init__(self, redis: Any, name: str, limit: int, window_ms: int, retry_s: float = 1.0) -> None:
        # imported here, not with fast_litellm: redis-py takes about 140 ms to import
        try:
            import redis as redis_py
        except ImportError as exc:
            raise ValueError("limits shared through Redis need the redis package: "
                             "pip install 'fast-litellm[redis]'") from exc
        # what a Redis that does not answer raises through redis-py (its errors, and socket
        # errors raised before redis-py wraps them)
        self._unavailable = (redis_py.exceptions.RedisError, OSError)
        if isinstance(redis, str):
            redis = redis_py.Redis.from_url(redis, socket_timeout=0.5, socket_connect_timeout=0.5)
        self.client = redis
        self.prefix = f"fast_litellm:ratelimit:{name}:"
        self.limit, self.window_ms, self.retry_s = limit, window_ms, retry_s
        self._script = redis.register_script(FIXED_WINDOW)
        self._lock = threading.Lock()
        self._down_until = 0.0  # monotonic s: Redis is not asked before then
        self._owed: dict[str, int] = {}  # admitted locally during an outage, per key
        self.outages = 0
        self.allowed = self.denied = 0  # decisions this process returned, by Redis or locally
        self.local_decisions = 0

    @property
    def available(self) -> bool:
        return self._down_until == 0.0

    def _run(self, key: str, cost: int, now_ms: int, force: bool) -> list:
        return self._script(keys=[self.prefix + key],
                            args=[now_ms, self.window_ms, self.limit, cost, "1" if force else "0"])

    def check(self, key: str, cost: int, now_ms: int) -> dict | None:
        """Redis's decision, or None when Redis cannot be asked now (decide locally)."""
        if self._down_until and time.monotonic() < self._down_until:
            return None
        try:
            if self._owed:
                self._resync(now_ms)
            allowed, remaining, retry = self._run(key, cost, now_ms, force=False)
        except self._unavailable as exc:
            self._went_down(exc)
            return None
        if cost:
            with self._lock:
                if allowed == 1:
                    self.allowed += 1
                else:
                    self.denied += 1
        if self._down_until:
            self._down_until = 0.0
            log.info("fast-litellm: Redis answers again; rate limits are shared again")
        return {"allowed": allowed == 1, "remaining_requests": remaining,
                "retry_after_ms": None if retry < 0 else retry}

    def decided_locally(self, key: str, cost: int, allowed: bool) -> None:
        """Count a decision made during an outage; remember an admission, to add to Redis
        when it is back."""
        if not cost:
            return
        with self._lock:
            self.local_decisions += 1
            if allowed:
                self.allowed += 1
                self._owed[key] = self._owed.get(key, 0) + cost
            else:
                self.denied += 1

    def _resync(self, now_ms: int) -> None:
        with self._lock:
            owed, self._owed = self._owed, {}
        try:
            for key, cost in list(owed.items()):
                self._run(key, cost, now_ms, force=True)
                del owed[key]
        finally:
            if owed:  # Redis failed part-way: keep what was not added yet
                with self._lock:
                    for key, cost in owed.items():
                        self._owed[key] = self._owed.get(key, 0) + cost

    def _went_down(self, exc: BaseException) -> None:
        first = self._down_until == 0.0
        self._down_until = time.monotonic() + self.retry_s
        if first:
            self.outages += 1
            log.warning("fast-litellm: Redis does not answer (%s); limiting locally, per process, until it does",
                        exc)

    def stats(self) -> dict:
        return {"allowed": self.allowed, "denied": self.denied, "redis_available": self.available,
                "redis_outages": self.outages, "decided_locally": self.local_decisions,
                "keys_to_resync": len(self._owed)}
