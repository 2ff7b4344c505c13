"""Rate limiter costs: litellm's in-memory v3 limiter against the component on the same
requests (the same decisions, checked), one check, and bytes per key at 1,000,000 keys.

    .venv/bin/python benches/bench_ratelimit.py          (part of `just bench`)

litellm's side is the proxy's `parallel_request_limiter_v3` `should_rate_limit` with one
requests-per-minute descriptor and no Redis, awaited as the proxy awaits it; its in-memory
cache is made large enough never to evict (at the default 200 entries it forgets windows
past about 100 keys and the decisions differ). Both sides get a fixed clock, so every
request falls in one window. Memory is the growth of the component's linear memory, which
never shrinks, so hash-table growth is included.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

KEYS = 1_000_000
CHILD = """
import os, sys, time
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
import fast_litellm
from fast_litellm._component import COMPONENT
from fast_litellm._ratelimit import RateLimiter
algorithm, keys = sys.argv[1], int(sys.argv[2])
limiter = RateLimiter(10, 60, algorithm, clock=lambda: 0)
limiter.check("warm")
before = COMPONENT.ratelimit("memory-bytes")
t0 = time.perf_counter()
for i in range(keys):
    limiter.check(f"key-{i}")
elapsed = time.perf_counter() - t0
grown = COMPONENT.ratelimit("memory-bytes") - before
print(f"{grown / keys:.1f} {elapsed / keys * 1e6:.2f}")
"""


V3_KEYS, V3_LIMIT, V3_REQUESTS = 1_000, 50, 50_000


def versus_litellm_v3() -> tuple[float, float, int]:
    """(µs per stock v3 check, µs per component check, denials), after checking that both
    sides decided every request alike."""
    import asyncio
    import random
    from datetime import datetime, timezone

    from litellm.caching.dual_cache import DualCache
    from litellm.caching.in_memory_cache import InMemoryCache
    from litellm.proxy.hooks.parallel_request_limiter_v3 import _PROXY_MaxParallelRequestsHandler_v3
    from litellm.proxy.utils import InternalUsageCache

    from fast_litellm._ratelimit import RateLimiter

    now_s = 1_700_000_000.0
    rng = random.Random(7)
    requests = [f"sk-key-{rng.randrange(V3_KEYS)}" for _ in range(V3_REQUESTS)]

    def stock_handler():
        cache = InMemoryCache(max_size_in_memory=10 * V3_KEYS, clock=lambda: now_s)
        return _PROXY_MaxParallelRequestsHandler_v3(
            InternalUsageCache(DualCache(in_memory_cache=cache)),
            time_provider=lambda: datetime.fromtimestamp(now_s, tz=timezone.utc))

    async def stock_pass() -> tuple[float, list[bool]]:
        handler = stock_handler()
        decisions = []
        t0 = time.perf_counter()
        for key in requests:
            response = await handler.should_rate_limit([{"key": "api_key", "value": key, "rate_limit": {
                "requests_per_unit": V3_LIMIT, "tokens_per_unit": None, "window_size": 60}}])
            decisions.append(response["overall_code"] == "OK")
        return (time.perf_counter() - t0) / len(requests) * 1e6, decisions

    def component_pass() -> tuple[float, list[bool]]:
        limiter = RateLimiter(V3_LIMIT, 60, "fixed-window", clock=lambda: int(now_s * 1000))
        check = limiter.check
        t0 = time.perf_counter()
        decisions = [check(key)["allowed"] for key in requests]
        return (time.perf_counter() - t0) / len(requests) * 1e6, decisions

    stock_us, comp_us = [], []
    for _ in range(3):
        s_us, stock_decisions = asyncio.run(stock_pass())
        c_us, comp_decisions = component_pass()
        if stock_decisions != comp_decisions:
            raise SystemExit("litellm v3 and the component decided differently: the comparison is void")
        stock_us.append(s_us)
        comp_us.append(c_us)
    return statistics.median(stock_us), statistics.median(comp_us), stock_decisions.count(False)


def main() -> int:
    import fast_litellm  # noqa: F401
    from fast_litellm._rust import SimpleRateLimiter

    stock_us, comp_us, denied = versus_litellm_v3()
    print(f"litellm v3 in-memory should_rate_limit vs component fixed window, {V3_REQUESTS:,} requests over "
          f"{V3_KEYS:,} keys, limit {V3_LIMIT} ({denied:,} denied by both, every decision equal):")
    print(f"  litellm {stock_us:.2f} µs, component {comp_us:.2f} µs per check: {stock_us / comp_us:.1f}x "
          f"(target 10x)")

    limiter = SimpleRateLimiter(requests_per_minute=10**9)
    keys = [f"user-{i % 1000}" for i in range(20_000)]
    for k in keys[:1000]:
        limiter.check(k)
    samples = []
    for _ in range(7):
        t0 = time.perf_counter()
        for k in keys:
            limiter.check(k)
        samples.append((time.perf_counter() - t0) / len(keys) * 1e6)
    print(f"SimpleRateLimiter.check (fixed window, 1,000 hot keys): {statistics.median(samples):.2f} µs per check")
    print(f"{'algorithm':<16} {'bytes/key at 1M keys':>22} {'µs per new-key check':>22}")
    for algorithm in ("fixed-window", "token-bucket", "sliding-window"):
        out = subprocess.run([sys.executable, "-c", CHILD, algorithm, str(KEYS)], capture_output=True, text=True,
                             check=True).stdout.split()
        print(f"{algorithm:<16} {out[0]:>22} {out[1]:>22}")
    print("target (rate-limiting issue): at most 64 bytes per key")
    return 0


if __name__ == "__main__":
    sys.exit(main())
