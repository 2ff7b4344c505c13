"""The component's fixed window against litellm's own proxy limiter (parallel_request_limiter
v3, in-memory, one requests-per-minute descriptor), on the same generated requests.

Within one window the two decide every request alike. Across window boundaries they do
not, and we do not claim they do: v3 anchors windows at whole seconds, keeps its counters in
litellm's TTL cache (whose expiry is not refreshed by increments and can end a window twice),
and its default 200-entry cache forgets windows; docs/design.md lists these. That is also why
fast-litellm does not patch v3 (its decisions depend on that cache's state).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

from hypothesis import given, settings
from hypothesis import strategies as st
from litellm.caching.dual_cache import DualCache
from litellm.caching.in_memory_cache import InMemoryCache
from litellm.proxy.hooks.parallel_request_limiter_v3 import _PROXY_MaxParallelRequestsHandler_v3
from litellm.proxy.utils import InternalUsageCache

from fast_litellm._ratelimit import RateLimiter

NOW_S = 1_700_000_000.25


def v3_handler():
    cache = InMemoryCache(max_size_in_memory=100_000, clock=lambda: NOW_S)
    return _PROXY_MaxParallelRequestsHandler_v3(
        InternalUsageCache(DualCache(in_memory_cache=cache)),
        time_provider=lambda: datetime.fromtimestamp(NOW_S, tz=timezone.utc))


async def v3_decisions(handler, limit: int, keys: list[str]) -> list[tuple[bool, int]]:
    out = []
    for key in keys:
        response = await handler.should_rate_limit([{"key": "api_key", "value": key, "rate_limit": {
            "requests_per_unit": limit, "tokens_per_unit": None, "window_size": 60}}])
        status = response["statuses"][0]
        out.append((response["overall_code"] == "OK", max(status["limit_remaining"], 0)))
    return out


@settings(max_examples=150, deadline=None)
@given(limit=st.integers(1, 12), keys=st.lists(st.sampled_from([f"sk-{i}" for i in range(6)]), min_size=1,
                                               max_size=120))
def test_within_a_window_the_component_decides_as_litellm_v3(limit, keys):
    stock = asyncio.run(v3_decisions(v3_handler(), limit, keys))
    limiter = RateLimiter(limit, 60, "fixed-window", clock=lambda: int(NOW_S * 1000))
    ours = [(d["allowed"], d["remaining_requests"]) for d in map(limiter.check, keys)]
    assert ours == stock
