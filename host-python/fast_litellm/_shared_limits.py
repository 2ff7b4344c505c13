"""Limits shared by many processes through Redis.

A shared limiter keeps each key's window in Redis and decides in one Lua script, atomically,
so processes and hosts that share a Redis never admit past the limit together (no slack while
Redis answers). The script makes the same decisions as the component's fixed window (litellm
v3's: anchored at a key's first request; denials use nothing), given the same clock; a clock
that steps back stays in the current window here (hosts' clocks differ a little), where the
component starts a new one.

When Redis does not answer, the process goes on limiting locally in the component (which
mirrors this process's admissions, so it knows its own share of the window), logs one
warning per outage, and lets one caller try Redis again every `retry_s`. On the first answer
after an outage it adds what it admitted locally meanwhile to the shared windows, anchored
where those admissions started; admissions older than a window are dropped, as a window
would have. During an outage each process limits on its own: n processes can admit up to n
times the limit in that window. A Redis that restarts empty forgets its windows: what was
admitted before the restart is not counted again.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

log = logging.getLogger("fast_litellm")

# KEYS[1]: the key's Redis name. ARGV: now ms, window ms, limit, cost, force ("1": add
# without checking, for a resync). Returns {allowed 0/1, remaining, retry-after ms (-1:
# never)}. The script decides by the clock it is given; the key outlives its window by a
# minute of grace, for hosts whose clocks differ a little (and for tests that inject one).
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
if cost > limit then return {0, math.max(limit - used, 0), -1} end
return {0, math.max(limit - used, 0), tonumber(start) + window - now}
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
        if isinstance(redis, str):
            redis = redis_py.Redis.from_url(redis, socket_timeout=0.5, socket_connect_timeout=0.5)
        elif not isinstance(redis, redis_py.Redis):
            raise ValueError(f"redis must be a URL or a synchronous redis.Redis client, got {type(redis).__name__}")
        # what a Redis that does not answer raises through redis-py (its errors, and socket
        # errors raised before redis-py wraps them)
        self._unavailable = (redis_py.exceptions.RedisError, OSError)
        self.client = redis
        # limiters with other limits or windows must not count into the same keys
        self.prefix = f"fast_litellm:ratelimit:{name}:{limit}:{window_ms}:"
        self.limit, self.window_ms, self.retry_s = limit, window_ms, retry_s
        self._script = redis.register_script(FIXED_WINDOW)
        self._lock = threading.Lock()
        self._down_until = 0.0  # monotonic s: while down, Redis is not asked before then
        self._owed: dict[str, list[int]] = {}  # admitted locally in an outage: key -> [first ms, cost]
        self.outages = 0
        self.allowed = self.denied = 0  # decisions this process returned, by Redis or locally
        self.local_decisions = 0

    @property
    def available(self) -> bool:
        return self._down_until == 0.0

    def _run(self, key: str, cost: int, now_ms: int, force: bool = False, client: Any = None) -> Any:
        return self._script(keys=[self.prefix + key], args=[now_ms, self.window_ms, self.limit, cost,
                                                            "1" if force else "0"], client=client)

    def check(self, key: str, cost: int, now_ms: int) -> dict | None:
        """Redis's decision, or None when Redis cannot be asked now (decide locally)."""
        if self._down_until:
            with self._lock:  # one caller probes a Redis that was down; the others go on locally
                probe = bool(self._down_until)
                if probe:
                    if time.monotonic() < self._down_until:
                        return None
                    self._down_until = time.monotonic() + self.retry_s
            if probe:
                return self._probe(key, cost, now_ms)
        try:
            if self._owed:  # admitted locally while a probe was bringing Redis back
                self._resync(now_ms)
            allowed, remaining, retry = self._run(key, cost, now_ms)
        except self._unavailable as exc:
            self._went_down(exc)
            return None
        return self._decided(allowed, remaining, retry, cost)

    def _probe(self, key: str, cost: int, now_ms: int) -> dict | None:
        """Ask a Redis that was down; on an answer, first add what was admitted meanwhile."""
        try:
            self._resync(now_ms)
            allowed, remaining, retry = self._run(key, cost, now_ms)
        except self._unavailable:
            return None  # still down: the next probe comes after retry_s
        with self._lock:
            self._down_until = 0.0
        log.info("fast-litellm: Redis answers again; rate limits are shared again")
        return self._decided(allowed, remaining, retry, cost)

    def _decided(self, allowed: int, remaining: int, retry: int, cost: int) -> dict:
        if cost:
            with self._lock:
                if allowed == 1:
                    self.allowed += 1
                else:
                    self.denied += 1
        return {"allowed": allowed == 1, "remaining_requests": remaining,
                "retry_after_ms": None if retry < 0 else retry}

    def decided_locally(self, key: str, cost: int, allowed: bool, now_ms: int) -> None:
        """Count a decision made during an outage; remember an admission, to add to Redis
        when it is back."""
        if not cost:
            return
        with self._lock:
            self.local_decisions += 1
            if not allowed:
                self.denied += 1
                return
            self.allowed += 1
            owed = self._owed.get(key)
            if owed is None or now_ms - owed[0] >= self.window_ms:
                self._owed[key] = [now_ms, cost]  # a new window of local admissions
            else:
                owed[1] += cost

    def _resync(self, now_ms: int) -> None:
        """Add the outage's admissions, in one round trip; anchored where they started."""
        with self._lock:
            owed, self._owed = self._owed, {}
        live = [(key, first, cost) for key, (first, cost) in owed.items() if now_ms - first < self.window_ms]
        if not live:
            return
        try:
            pipe = self.client.pipeline(transaction=False)
            for key, first, cost in live:
                self._run(key, cost, first, force=True, client=pipe)
            pipe.execute()
        except self._unavailable:
            with self._lock:  # not added: keep them for the next probe (a window bounds them),
                for key, first, cost in live:  # with what was admitted locally meanwhile
                    later = self._owed.get(key)
                    self._owed[key] = [first, cost + (later[1] if later else 0)]
            raise

    def _went_down(self, exc: BaseException) -> None:
        with self._lock:
            if self._down_until:
                return  # another caller already saw this outage
            self._down_until = time.monotonic() + self.retry_s
            self.outages += 1
        log.warning("fast-litellm: Redis does not answer (%s); limiting locally, per process, until it does", exc)

    def stats(self) -> dict:
        return {"allowed": self.allowed, "denied": self.denied, "redis_available": self.available,
                "redis_outages": self.outages, "decided_locally": self.local_decisions,
                "keys_to_resync": len(self._owed)}
