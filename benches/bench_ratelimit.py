"""Rate limiter costs: one check, and bytes per key at 1,000,000 keys, per algorithm.

    .venv/bin/python benches/bench_ratelimit.py          (part of `just bench`)

The comparison with litellm's own in-memory v3 limiter for the same decisions is not
here yet: v3's `should_rate_limit` is async and descriptor-based and needs a harness
(see the rate-limiting issue). Memory is the growth of the component's linear memory,
which never shrinks, so hash-table growth is included.
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


def main() -> int:
    import fast_litellm  # noqa: F401
    from fast_litellm._rust import SimpleRateLimiter

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
    print("target (rate-limiting issue): at most 64 bytes per key; litellm v3 comparison: not measured yet")
    return 0


if __name__ == "__main__":
    sys.exit(main())
