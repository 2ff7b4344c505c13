"""Rate limiters held in the component (its `ratelimit` interface).

Decisions are made in the component, under the component lock, so concurrent callers in
threads or asyncio tasks can never be admitted past a limit. The time comes from the host
(`clock`, ms), so tests inject one and every host of the component decides alike.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from ._component import COMPONENT, ComponentUnavailable
from ._shared_limits import SharedWindows, wall_ms

ALGORITHMS = ("fixed-window", "token-bucket", "sliding-window", "max-parallel")
log = logging.getLogger("fast_litellm")
_NEVER = 2**63 - 2  # retry_after_ms when the cost can never fit
# What the component takes (WIT u64s, which wasmtime-py wraps instead of refusing): limits
# up to u32 max, windows up to 2^31 ms, costs and times up to u64 max
MAX_LIMIT, MAX_WINDOW_MS, _U64_MAX = 2**32 - 1, 2**31, 2**64 - 1


def monotonic_ms() -> int:
    return time.monotonic_ns() // 1_000_000


def check_limit(limit: Any, name: str = "limit") -> None:
    if type(limit) is not int or not 0 < limit <= MAX_LIMIT:
        raise ValueError(f"{name} must be an int from 1 to {MAX_LIMIT}, got {limit!r}")


def check_window(seconds: Any, name: str = "window_s") -> None:
    if (not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or not math.isfinite(seconds)
            or not 1 <= int(seconds * 1000) <= MAX_WINDOW_MS):
        raise ValueError(f"{name} must be a number of seconds from 0.001 to {MAX_WINDOW_MS // 1000} "
                         f"(24.8 days), got {seconds!r}")


def _check_arguments(key: Any, cost: Any) -> None:
    if not isinstance(key, str):
        raise ValueError(f"key must be a str, got {type(key).__name__}")
    if type(cost) is not int or cost < 0:
        raise ValueError(f"cost must be a non-negative int, got {cost!r}")


class RateLimiter:
    """`limit` units per `window_s` per key, with one of ALGORITHMS. "max-parallel" holds
    `limit` slots in flight per key instead: `check` takes slots, `release` gives them
    back (or `with limiter.slot(key)`), and a slot never released frees itself after
    `window_s` (its lease).

    With `redis` (a URL or a redis-py client), the limit is shared by every process that
    uses the same Redis and `name` (fixed-window only; see _shared_limits); the default
    clock is then the wall clock, the one timebase processes share."""

    def __init__(self, limit: int, window_s: float = 60.0, algorithm: str = "fixed-window",
                 clock: Callable[[], int] | None = None, redis: Any = None, name: str = "default",
                 redis_retry_s: float = 1.0) -> None:
        check_limit(limit)
        check_window(window_s)
        if algorithm not in ALGORITHMS:
            raise ValueError(f"algorithm must be one of {', '.join(ALGORITHMS)}, got {algorithm!r}")
        if redis is not None and algorithm != "fixed-window":
            raise ValueError(f"limits shared through Redis use the fixed-window algorithm, got {algorithm!r}")
        self.limit, self.window_ms, self.algorithm = limit, int(window_s * 1000), algorithm
        self.shared = None if redis is None else SharedWindows(redis, name, limit, self.window_ms, redis_retry_s)
        self.clock = clock or (monotonic_ms if redis is None else wall_ms)
        self._lock = threading.Lock()
        self._instance: Any = None
        self._id = -1

    def _limiter_id(self) -> int:
        """The component-side limiter, created on first use and again after a
        re-instantiation (a trap loses the instance's limiters, and with them the counts of
        the current window)."""
        instance = COMPONENT._instance
        if instance is None or instance is not self._instance:
            with self._lock:
                COMPONENT.load()
                if COMPONENT._instance is not self._instance:  # not created meanwhile by another thread
                    created = COMPONENT.ratelimit("create", self.algorithm, self.limit, self.window_ms)
                    if isinstance(created, str):  # result<u32, string>: an error message
                        raise ValueError(created)
                    self._id, self._instance = created, COMPONENT._instance
        return self._id

    def check(self, key: str, cost: int = 1) -> dict:
        """Admit `cost` units for `key` now, or say when they would fit."""
        if type(key) is not str or type(cost) is not int or cost < 0:  # the common case: one test
            _check_arguments(key, cost)
        now = self._now()
        if self.shared is not None:
            return self._check_shared(key, cost, now)
        return self._check_local(key, cost, now)

    def _now(self) -> int:
        """The clock's reading, as the component takes it (a u64 of ms)."""
        now = self.clock()
        if type(now) is not int or not 0 <= now <= _U64_MAX:
            raise ValueError(f"the limiter's clock must return a non-negative int of ms, it returned {now!r}")
        return now

    def _check_shared(self, key: str, cost: int, now: int) -> dict:
        decision = self.shared.check(key, cost, now)
        if decision is None:  # Redis does not answer: this process limits on its own
            decision = self._check_local(key, cost, now)
            self.shared.decided_locally(key, cost, decision["allowed"], now)
            return decision
        if decision["allowed"] and cost:
            try:  # mirror: this process's share, for an outage; Redis has decided already
                self._check_local(key, cost, now)
            except Exception as exc:  # noqa: BLE001 - a lost mirror only weakens outage limiting
                _log_mirror_failure(exc)
        return decision

    def _check_local(self, key: str, cost: int, now: int) -> dict:
        try:
            return self._decide(key, cost, now)
        except UnicodeEncodeError as exc:
            raise ValueError(f"key must be text that UTF-8 can encode: {exc}") from None
        except ComponentUnavailable as exc:  # no decision without it: never a guessed one
            raise RuntimeError(f"rate limiting needs the component, which could not load: {exc}") from exc
        except Exception:  # noqa: BLE001 - a trap: the instance is rebuilt, try once on it
            # (the rebuilt instance's limiters start empty: this window's counts are lost)
            try:
                return self._decide(key, cost, now)
            except Exception as exc:
                raise RuntimeError(f"the rate limiter's component failed twice: {exc}") from exc

    def _decide(self, key: str, cost: int, now: int) -> dict:
        if cost == 1:
            instance = COMPONENT._instance  # the common case inline: this limiter exists
            limiter = self._id if instance is not None and instance is self._instance else self._limiter_id()
            packed = COMPONENT.call("ratelimit_packed", None, f"{limiter},{now},{key}")
            if packed == -(2**63):  # the instance was replaced between lookup and call
                packed = COMPONENT.call("ratelimit_packed", None, f"{self._limiter_id()},{now},{key}")
            if packed == -(2**63):
                raise RuntimeError("the component lost this limiter")
            if packed >= 0:
                return {"allowed": True, "remaining_requests": packed, "retry_after_ms": 0}
            retry = -packed - 1
            return {"allowed": False, "remaining_requests": 0, "retry_after_ms": None if retry >= _NEVER else retry}
        # a cost past u64 fits no limit, as u64 max does not
        packed = COMPONENT.call("ratelimit_cost_packed", None, f"{self._limiter_id()},{now},{min(cost, _U64_MAX)},{key}")
        if packed is None:
            raise RuntimeError("the component lost this limiter")
        allowed, remaining, retry = packed.split(",")
        retry = int(retry)
        return {"allowed": allowed == "1", "remaining_requests": int(remaining),
                "retry_after_ms": None if retry >= _NEVER else retry}

    def release(self, key: str, cost: int = 1) -> int:
        """Give back `cost` slots of a max-parallel limiter; returns the slots free after."""
        _check_arguments(key, cost)
        if self.algorithm != "max-parallel":
            raise ValueError(f"release applies to max-parallel limiters, this one is {self.algorithm}")
        now = self._now()
        try:
            left = COMPONENT.call("ratelimit_release_packed", None,
                                  f"{self._limiter_id()},{now},{min(cost, _U64_MAX)},{key}")
        except UnicodeEncodeError as exc:
            raise ValueError(f"key must be text that UTF-8 can encode: {exc}") from None
        if left < 0:
            raise RuntimeError("the component refused the release" if left == -1 else "the component lost this limiter")
        return left

    @contextmanager
    def slot(self, key: str, cost: int = 1) -> Iterator[dict]:
        """Hold `cost` slots for the `with` block if admitted (the decision is yielded:
        check `allowed`); they are released when the block ends, however it ends."""
        decision = self.check(key, cost)
        instance = self._instance  # the instance holding this lease
        try:
            yield decision
        finally:
            # a trap replaced the instance meanwhile: the lease went with it, and giving it
            # back now would end a lease taken on the new instance
            if decision["allowed"] and cost and COMPONENT._instance is instance:
                try:
                    self.release(key, cost)
                except Exception as exc:  # noqa: BLE001 - the lease ends the slot anyway
                    log.warning("fast-litellm: releasing a slot of %r failed (%s); it frees when its lease ends",
                                key, exc)

    def remaining(self, key: str) -> int:
        """What is left for `key` now, without using any of it."""
        return self.check(key, cost=0)["remaining_requests"]

    def stats(self) -> dict:
        allowed, denied, keys = COMPONENT.ratelimit("stats", self._limiter_id())
        stats = {"algorithm": self.algorithm, "limit": self.limit, "window_s": self.window_ms / 1000,
                 "allowed": allowed, "denied": denied, "keys": keys}
        if self.shared is not None:  # decisions returned; "keys": this process's local mirror
            stats.update(self.shared.stats())
        return stats


_mirror_failures = [0]


def _log_mirror_failure(exc: BaseException) -> None:
    _mirror_failures[0] += 1
    if _mirror_failures[0] == 1:
        log.warning("fast-litellm: the component could not mirror a shared admission (%s); Redis decides, "
                    "limiting during a Redis outage starts from fewer admissions", exc)


_default: RateLimiter | None = None


def default_limiter() -> RateLimiter:
    """The limiter behind fast_litellm.check_rate_limit: 60 requests per minute per key
    unless configure_rate_limit() says otherwise."""
    global _default
    if _default is None:
        _default = RateLimiter(60, 60.0)
    return _default


def configure(requests_per_minute: int, algorithm: str = "fixed-window", redis_url: str | None = None) -> RateLimiter:
    if algorithm == "max-parallel":  # check_rate_limit has no release: slots would never come back
        raise ValueError("the default limiter counts requests per minute; for max-parallel slots use "
                         "fast_litellm._ratelimit.RateLimiter(n, algorithm='max-parallel') and its slot()")
    check_limit(requests_per_minute, "requests_per_minute")
    global _default
    _default = RateLimiter(requests_per_minute, 60.0, algorithm, redis=redis_url)
    return _default
