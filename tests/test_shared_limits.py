"""Limits shared through a real Redis: the same decisions as the component, no
over-admission across processes, and an outage that crashes nothing and whose local
admissions reach Redis when it is back."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fast_litellm._ratelimit import RateLimiter
from redis_server import RedisServer


@pytest.fixture(scope="module")
def redis_url():
    server = RedisServer().start()
    yield server.url
    server.stop()


class Clock:
    def __init__(self, now: int = 1_700_000_000_000) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


steps = st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(0, 4), st.integers(0, 700)),
                 min_size=1, max_size=60)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(limit=st.integers(1, 8), window_ms=st.integers(1, 2_000), steps=steps)
def test_redis_decides_as_the_component_does(redis_url, limit, window_ms, steps):
    clock = Clock()
    shared = RateLimiter(limit, window_ms / 1000, clock=clock, redis=redis_url, name=uuid.uuid4().hex)
    local = RateLimiter(limit, window_ms / 1000, clock=clock)
    for key, cost, advance in steps:
        clock.now += advance
        assert shared.check(key, cost) == local.check(key, cost), (key, cost, clock.now)
    assert shared.stats()["redis_outages"] == 0


def test_only_the_fixed_window_is_shared(redis_url):
    with pytest.raises(ValueError, match="fixed-window"):
        RateLimiter(10, 60, "sliding-window", redis=redis_url)


HAMMER = """
import json, sys, time
from fast_litellm._ratelimit import RateLimiter
url, name, start_at, attempts = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
limiter = RateLimiter(1000, 60, redis=url, name=name)
time.sleep(max(0.0, start_at - time.time()))
decisions = [limiter.check("hot") for _ in range(attempts)]
print(json.dumps({"admitted": sum(d["allowed"] for d in decisions),
                  "denials_without_retry": sum(1 for d in decisions if not d["allowed"] and not d["retry_after_ms"]),
                  "outages": limiter.stats()["redis_outages"]}))
"""


def test_four_processes_never_admit_past_the_limit(redis_url):
    name, start_at = uuid.uuid4().hex, time.time() + 4
    procs = [subprocess.Popen([sys.executable, "-c", HAMMER, redis_url, name, str(start_at), "600"],
                              stdout=subprocess.PIPE, text=True) for _ in range(4)]
    results = [json.loads(p.communicate(timeout=120)[0]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    # 2,400 attempts on one key within one 60 s window: exactly the limit is admitted,
    # spread over the processes, and every denial says when to retry
    assert sum(r["admitted"] for r in results) == 1000
    assert all(r["denials_without_retry"] == 0 and r["outages"] == 0 for r in results)


def test_redis_outage_limits_locally_warns_once_and_resyncs(caplog):
    server = RedisServer().start()
    try:
        clock, name = Clock(), uuid.uuid4().hex
        limiter = RateLimiter(10, 60, clock=clock, redis=server.url, name=name, redis_retry_s=0)
        assert all(limiter.check("k")["allowed"] for _ in range(3))  # in Redis, mirrored locally

        server.stop()
        with caplog.at_level(logging.WARNING, logger="fast_litellm"):
            during = [limiter.check("k")["allowed"] for _ in range(10)]
        # this process knows its own 3: 7 more fit locally; one warning for the whole outage
        assert during == [True] * 7 + [False] * 3
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1 and "Redis does not answer" in warnings[0].getMessage()
        assert limiter.stats()["redis_available"] is False

        # an empty Redis (no persistence) has forgotten the 3 admitted before the outage (a
        # restart's documented slack); the resync adds the 7 admitted locally
        server.start()
        assert limiter.check("k")["allowed"] is True  # 7 + 1
        other = RateLimiter(10, 60, clock=clock, redis=server.url, name=name)  # another process's view
        assert other.check("k") == {"allowed": True, "remaining_requests": 1, "retry_after_ms": 0}
        assert other.check("k")["allowed"] is True
        assert other.check("k")["allowed"] is False
        stats = limiter.stats()
        assert stats["redis_available"] is True and stats["redis_outages"] == 1
        assert stats["keys_to_resync"] == 0 and stats["decided_locally"] == 10
    finally:
        server.stop()


def test_importing_fast_litellm_does_not_import_redis():
    # redis-py takes ~140 ms to import: only shared limiters pay for it
    code = "import sys, fast_litellm; assert 'redis' not in sys.modules, 'redis imported'"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_admissions_older_than_a_window_are_not_resynced():
    server = RedisServer().start()
    try:
        clock, name = Clock(), uuid.uuid4().hex
        limiter = RateLimiter(5, 60, clock=clock, redis=server.url, name=name, redis_retry_s=0)
        assert limiter.check("k")["allowed"]
        server.stop()
        assert [limiter.check("k")["allowed"] for _ in range(5)] == [True] * 4 + [False]
        server.start()
        clock.now += 150_000  # Redis is back 2.5 windows later: those admissions are history
        assert limiter.check("k") == {"allowed": True, "remaining_requests": 4, "retry_after_ms": 0}
        assert limiter.stats()["keys_to_resync"] == 0
    finally:
        server.stop()


def test_limiters_with_other_limits_do_not_share_keys(redis_url):
    clock, name = Clock(), uuid.uuid4().hex
    per_user = RateLimiter(2, 60, clock=clock, redis=redis_url, name=name)
    per_model = RateLimiter(100, 60, clock=clock, redis=redis_url, name=name)
    assert [per_user.check("x")["allowed"] for _ in range(3)] == [True, True, False]
    assert per_model.check("x")["remaining_requests"] == 99


def test_an_async_client_is_refused_clearly():
    import redis.asyncio

    with pytest.raises(ValueError, match="synchronous"):
        RateLimiter(10, 60, redis=redis.asyncio.Redis())
