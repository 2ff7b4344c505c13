"""Rate limiters in the component, against reference models written from their definitions."""

from __future__ import annotations

import asyncio
import math
import threading
from collections import deque

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fast_litellm
from fast_litellm._component import COMPONENT
from fast_litellm._rust import SimpleRateLimiter
from fast_litellm._ratelimit import RateLimiter

NEVER = None


class Reference:
    """Plain-Python limiters, one state per key, no memory bounds."""

    def __init__(self, algorithm: str, limit: int, window_ms: int) -> None:
        self.algorithm, self.limit, self.window = algorithm, limit, window_ms
        self.state: dict = {}

    def check(self, key: str, cost: int, now: int) -> dict:
        limit, window = self.limit, self.window
        if self.algorithm == "fixed-window":
            start, used = self.state.get(key, (now, 0))
            if now - start >= window:
                start, used = now, 0
            if used + cost > limit:
                self.state[key] = (start, used)
                return {"allowed": False, "remaining_requests": limit - used,
                        "retry_after_ms": NEVER if cost > limit else start + window - now}
            self.state[key] = (start, used + cost)
            return {"allowed": True, "remaining_requests": limit - used - cost, "retry_after_ms": 0}
        if self.algorithm == "token-bucket":
            tokens, last = self.state.get(key, (float(limit), now))
            rate = limit / window
            tokens = min(tokens + max(now - last, 0) * rate, float(limit))
            if tokens + 1e-9 >= cost:
                tokens = max(tokens - cost, 0.0)
                self.state[key] = (tokens, now)
                return {"allowed": True, "remaining_requests": int(tokens), "retry_after_ms": 0}
            self.state[key] = (tokens, now)
            return {"allowed": False, "remaining_requests": int(tokens),
                    "retry_after_ms": NEVER if cost > limit else math.ceil((cost - tokens) / rate)}
        log = self.state.setdefault(key, deque())
        while log and now - log[0][0] >= window:
            log.popleft()
        used = sum(c for _, c in log)
        if used + cost <= limit:
            log.append((now, cost))
            return {"allowed": True, "remaining_requests": limit - used - cost, "retry_after_ms": 0}
        if cost > limit:
            return {"allowed": False, "remaining_requests": limit - used, "retry_after_ms": NEVER}
        freed = limit - used
        for t, c in log:
            freed += c
            if freed >= cost:
                return {"allowed": False, "remaining_requests": limit - used, "retry_after_ms": t + window - now}
        raise AssertionError("unreachable")


steps = st.lists(st.tuples(st.sampled_from(["a", "b", "c,d"]), st.integers(0, 4), st.integers(0, 700)),
                 min_size=1, max_size=60)


@settings(max_examples=300, deadline=None)
@given(algorithm=st.sampled_from(["fixed-window", "token-bucket", "sliding-window"]),
       limit=st.integers(1, 6), window_ms=st.sampled_from([500, 1000, 60_000]), steps=steps)
def test_decisions_match_the_reference(algorithm, limit, window_ms, steps):
    now = [1_000_000]
    limiter = RateLimiter(limit, window_ms / 1000, algorithm, clock=lambda: now[0])
    reference = Reference(algorithm, limit, window_ms)
    for key, cost, dt in steps:
        now[0] += dt
        assert limiter.check(key, cost) == reference.check(key, cost, now[0]), (key, cost, now[0])


def test_simple_rate_limiter_api_and_errors():
    now = [0]
    limiter = SimpleRateLimiter(requests_per_minute=2, clock=lambda: now[0])
    assert limiter.is_allowed("u") and limiter.get_remaining("u") == 1
    assert limiter.check("u") == {"allowed": True, "remaining_requests": 0, "retry_after_ms": 0}
    assert limiter.check("u") == {"allowed": False, "remaining_requests": 0, "retry_after_ms": 60_000}
    now[0] = 60_000
    assert limiter.is_allowed("u")
    stats = limiter.get_stats()
    assert (stats["allowed"], stats["denied"], stats["keys"]) == (3, 1, 1)  # peeks are not counted
    with pytest.raises(ValueError, match="requests_per_minute"):
        SimpleRateLimiter(requests_per_minute=-5)
    with pytest.raises(ValueError, match="requests_per_minute"):
        SimpleRateLimiter(requests_per_minute=1.5)
    with pytest.raises(ValueError, match="algorithm"):
        SimpleRateLimiter(requests_per_minute=5, algorithm="leaky")
    with pytest.raises(ValueError, match="key must be a str"):
        limiter.check(42)
    with pytest.raises(ValueError, match="cost"):
        RateLimiter(5).check("k", cost=-1)


@pytest.mark.parametrize("make, argument", [
    (lambda: SimpleRateLimiter(requests_per_minute=2**32), "requests_per_minute"),
    (lambda: SimpleRateLimiter(requests_per_minute=2**64), "requests_per_minute"),
    (lambda: SimpleRateLimiter(requests_per_minute=True), "requests_per_minute"),
    (lambda: SimpleRateLimiter(window_seconds=0.0001), "window_seconds"),
    (lambda: SimpleRateLimiter(window_seconds=float("inf")), "window_seconds"),
    (lambda: SimpleRateLimiter(window_seconds=1e300), "window_seconds"),
    (lambda: RateLimiter(2**40), "limit"),
    (lambda: RateLimiter(5, window_s=float("nan")), "window_s"),
    (lambda: RateLimiter(5, window_s=True), "window_s"),
    (lambda: fast_litellm.configure_rate_limit(2**64), "requests_per_minute"),
])
def test_out_of_range_settings_raise_at_construction(make, argument):
    """What the component cannot hold (wasmtime-py would wrap the integer, not refuse it)
    is refused when the limiter is made, naming the argument, not at its first check."""
    with pytest.raises(ValueError, match=argument):
        make()
    assert fast_litellm.get_rate_limit_stats()["limit"] == 60  # the default limiter kept


def test_costs_past_u64_never_fit_and_bad_clocks_raise():
    limiter = RateLimiter(10, clock=lambda: 0)
    for cost in (2**64, 2**64 + 3, 2**100):  # not wrapped to 0 or 3: no limit holds them
        assert limiter.check("k", cost) == {"allowed": False, "remaining_requests": 10, "retry_after_ms": None}
    assert limiter.check("k", 3)["remaining_requests"] == 7
    for reading in (-1, 1.5, "0", None, 2**64):
        with pytest.raises(ValueError, match="clock"):
            RateLimiter(10, clock=lambda reading=reading: reading).check("k")


def test_module_level_check_rate_limit():
    fast_litellm.configure_rate_limit(requests_per_minute=3)
    results = [fast_litellm.check_rate_limit("tenant-9")["allowed"] for _ in range(5)]
    assert results == [True, True, True, False, False]
    assert fast_litellm.check_rate_limit("tenant-9")["retry_after_ms"] > 0
    stats = fast_litellm.get_rate_limit_stats()
    assert stats["limit"] == 3 and stats["allowed"] == 3 and stats["denied"] == 3
    fast_litellm.configure_rate_limit(requests_per_minute=60)


@pytest.mark.parametrize("round_", range(5))
def test_sixteen_threads_never_over_admit(round_):
    # a fresh limiter each time: its very first use is concurrent too (found a race there)
    limiter = RateLimiter(500, 60, clock=lambda: 0)  # a frozen clock: one window
    admitted = []
    start = threading.Barrier(16)

    def hammer():
        start.wait()
        admitted.append(sum(limiter.check("shared")["allowed"] for _ in range(200)))

    threads = [threading.Thread(target=hammer) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(admitted) == 500  # 3,200 attempts, exactly the limit admitted


def test_a_thousand_asyncio_tasks_never_over_admit():
    limiter = RateLimiter(250, 60, algorithm="sliding-window", clock=lambda: 5)

    async def one() -> bool:
        await asyncio.sleep(0)
        return limiter.check("shared")["allowed"]

    async def main() -> list:
        return await asyncio.gather(*(one() for _ in range(1000)))

    assert sum(asyncio.run(main())) == 250


def test_a_million_keys_bounded_and_reclaimed():
    now = [0]
    limiter = RateLimiter(10, 1, clock=lambda: now[0])
    limiter.check("warm")
    before = COMPONENT.ratelimit("memory-bytes")
    for i in range(1_000_000):
        limiter.check(f"k{i}")
    grown = COMPONENT.ratelimit("memory-bytes") - before
    print(f"1,000,000 keys: linear memory grew {grown / 1e6:.1f} MB, {grown / 1e6:.1f} bytes per key")
    assert limiter.stats()["keys"] == 1_000_001
    now[0] = 1_000  # a window later: the idle keys move to the old generation...
    limiter.check("fresh")
    now[0] = 2_000  # ...and two windows later they are gone
    limiter.check("fresh")
    assert limiter.stats()["keys"] == 1


class SlotsReference:
    """Max-parallel slots as leases: taken by check, ended by release (oldest first) or
    after a window."""

    def __init__(self, limit: int, window_ms: int) -> None:
        self.limit, self.window, self.leases = limit, window_ms, {}

    def _live(self, key: str, now: int) -> list:
        live = [(t, c) for t, c in self.leases.get(key, []) if now - t < self.window]
        self.leases[key] = live
        return live

    def check(self, key: str, cost: int, now: int) -> dict:
        live = self._live(key, now)
        used = sum(c for _, c in live)
        if used + cost <= self.limit:
            if cost:
                live.append((now, cost))
            return {"allowed": True, "remaining_requests": self.limit - used - cost, "retry_after_ms": 0}
        if cost > self.limit:
            return {"allowed": False, "remaining_requests": self.limit - used, "retry_after_ms": NEVER}
        freed = self.limit - used
        for t, c in live:
            freed += c
            if freed >= cost:
                return {"allowed": False, "remaining_requests": self.limit - used, "retry_after_ms": t + self.window - now}
        raise AssertionError("unreachable")

    def release(self, key: str, cost: int, now: int) -> int:
        live = self._live(key, now)
        while cost and live:
            t, c = live.pop(0)
            if c > cost:
                live.insert(0, (t, c - cost))
                cost = 0
            else:
                cost -= c
        return self.limit - sum(c for _, c in live)


slot_steps = st.lists(st.tuples(st.sampled_from(["take", "give"]), st.sampled_from(["a", "b,c"]), st.integers(0, 3),
                                st.integers(0, 400)), min_size=1, max_size=80)


@settings(max_examples=300, deadline=None)
@given(limit=st.integers(1, 5), window_ms=st.sampled_from([300, 1000, 60_000]), steps=slot_steps)
def test_max_parallel_matches_the_reference(limit, window_ms, steps):
    now = [1_000_000]
    limiter = RateLimiter(limit, window_ms / 1000, "max-parallel", clock=lambda: now[0])
    reference = SlotsReference(limit, window_ms)
    for op, key, cost, dt in steps:
        now[0] += dt
        if op == "take":
            assert limiter.check(key, cost) == reference.check(key, cost, now[0]), (op, key, cost, now[0])
        else:
            assert limiter.release(key, cost) == reference.release(key, cost, now[0]), (op, key, cost, now[0])


@settings(max_examples=200, deadline=None)
@given(limit=st.integers(1, 4), requests=st.lists(st.tuples(st.integers(0, 300), st.integers(1, 999)), min_size=1,
                                                  max_size=60))
def test_max_parallel_never_has_more_than_the_limit_in_flight(limit, requests):
    # requests start at increasing times and hold their slot for less than the lease
    window = 1_000
    now = [0]
    limiter = RateLimiter(limit, window / 1000, "max-parallel", clock=lambda: now[0])
    ends: list[int] = []  # when admitted requests release
    t = 0
    for gap, hold in requests:
        t += gap
        for end in sorted(e for e in ends if e <= t):  # releases due before this start
            now[0] = end
            limiter.release("k")
            ends.remove(end)
        now[0] = t
        if limiter.check("k")["allowed"]:
            ends.append(t + hold)
        assert len(ends) <= limit, (t, ends)


def test_max_parallel_slots_hold_under_sixteen_threads():
    limiter = RateLimiter(4, 60, "max-parallel")
    in_flight, peak, admitted = [0], [0], []
    lock, start = threading.Lock(), threading.Barrier(16)

    def worker():
        start.wait()
        for _ in range(50):
            with limiter.slot("deployment-1") as decision:
                if decision["allowed"]:
                    with lock:
                        in_flight[0] += 1
                        peak[0] = max(peak[0], in_flight[0])
                    admitted.append(1)
                    with lock:
                        in_flight[0] -= 1

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak[0] <= 4 and admitted  # never more than 4 inside, and slots were reused
    assert limiter.remaining("deployment-1") == 4  # every slot given back
    with pytest.raises(ValueError, match="max-parallel"):
        RateLimiter(5).release("k")


def test_a_slot_taken_before_a_trap_does_not_end_a_lease_taken_after_it():
    limiter = RateLimiter(2, 60, "max-parallel", clock=lambda: 0)
    with limiter.slot("k") as before:
        assert before["allowed"]
        COMPONENT._instance = None  # what a trap does: the next call builds a new instance
        assert limiter.check("k")["allowed"]  # a lease on the new instance (its limiter starts empty)
    # leaving the block must not give back the new instance's lease
    assert limiter.remaining("k") == 1
