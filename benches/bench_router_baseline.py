"""Stock litellm's deployment selection and Router construction, per routing strategy: the
baseline measured before routing was built (docs/design.md "Routing"). The side-by-side
benchmark with the accelerated column is bench_routing.py.

    .venv/bin/python benches/bench_router_baseline.py      (about 2 minutes; not in `just bench`)

Routers of 50 deployments in 5 groups and 1,000 in 50; each selection is for one group,
sync (`get_available_deployment`) and async (`async_get_available_deployment`, what
`acompletion` uses). Memory is what tracemalloc saw allocated while building the Router,
per deployment (the first build also pays for litellm's lazy imports).
"""

from __future__ import annotations

import asyncio
import os
import time
import tracemalloc

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

STRATEGIES = ("simple-shuffle", "least-busy", "usage-based-routing-v2", "latency-based-routing",
              "cost-based-routing")
SIZES = ((50, 5), (1000, 50))
SELECTIONS = 300
MESSAGES = [{"role": "user", "content": "hello"}]


def model_list(deployments: int, groups: int) -> list[dict]:
    return [{"model_name": f"group-{i % groups}",
             "litellm_params": {"model": "openai/gpt-4o-mini", "api_key": "sk-test",
                                "api_base": f"http://127.0.0.1:9/{i}", "rpm": 1000 + i, "tpm": 100_000 + i},
             "model_info": {"id": f"dep-{i}"}} for i in range(deployments)]


def main() -> int:
    from litellm import Router

    print(f"{'router':>9} {'strategy':<24} {'build ms':>9} {'KiB/dep':>8} {'sync µs':>9} {'async µs':>9}  sync outcome")
    for deployments, groups in SIZES:
        for strategy in STRATEGIES:
            tracemalloc.start()
            t0 = time.perf_counter()
            router = Router(model_list=model_list(deployments, groups), routing_strategy=strategy)
            build_ms = (time.perf_counter() - t0) * 1000
            allocated, _peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()

            def select() -> str:
                try:
                    router.get_available_deployment("group-1", messages=MESSAGES)
                    return "picked"
                except Exception as exc:  # cost-based has no sync selector: litellm raises
                    return type(exc).__name__

            outcome = select()
            t0 = time.perf_counter()
            for _ in range(SELECTIONS):
                select()
            sync_us = (time.perf_counter() - t0) / SELECTIONS * 1e6

            async def select_async() -> float:
                for _ in range(30):
                    await router.async_get_available_deployment("group-1", messages=MESSAGES, request_kwargs={})
                t0 = time.perf_counter()
                for _ in range(SELECTIONS):
                    await router.async_get_available_deployment("group-1", messages=MESSAGES, request_kwargs={})
                return (time.perf_counter() - t0) / SELECTIONS * 1e6

            async_us = asyncio.run(select_async())
            print(f"{deployments:>5}/{groups:<3} {strategy:<24} {build_ms:>9.1f} {allocated / deployments / 1024:>8.1f} "
                  f"{sync_us:>9.1f} {async_us:>9.1f}  {outcome}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
