"""Deployment selection: stock litellm against fast-litellm, in the same run, as ratios.

    .venv/bin/python benches/bench_routing.py [strategy ...]   (part of `just bench`; about 5 minutes)

Routers of 50 deployments in 5 groups and 1,000 in 50, each strategy, sync
(`get_available_deployment`) and async (`async_get_available_deployment`, what
`acompletion` uses). The same Router answers both columns: "stock" calls litellm's
original method (kept by fast_litellm), "fast" the installed one. Rounds alternate
between the two; each figure is the median of 21 rounds of 400 selections (a fast round
lasts about 10 ms: with shorter rounds a noisy moment of this VM decided the median).
Before timing, both columns pick from the same seeded `random` and must pick the same
deployments. Strategies the component does not serve yet go to litellm through our
method: their ratio is the cost of asking.
v1 usage-based-routing has no async selector: litellm's async path runs its sync one.
"(pre-call)": the Router has `enable_pre_call_checks=True` (context window with the
request's token count, rpm, params checks per deployment).
latency-, cost- and usage-based routing score what litellm's callbacks logged: every
deployment of the measured group has successes logged through the strategy's own
callback first.
"""

from __future__ import annotations

import asyncio
import datetime
import os
import random
import statistics
import sys
import time

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import fast_litellm  # noqa: E402
from fast_litellm import _router  # noqa: E402
from fast_litellm._component import COMPONENT  # noqa: E402

STRATEGIES = ("simple-shuffle", "least-busy", "usage-based-routing-v2", "latency-based-routing",
              "cost-based-routing", "usage-based-routing")
SIZES = ((50, 5), (1000, 50))
MESSAGES = [{"role": "user", "content": "hello"}]
ROUNDS, PER_ROUND = 21, 400


def model_list(deployments: int, groups: int, weighted: bool) -> list[dict]:
    return [{"model_name": f"group-{i % groups}",
             "litellm_params": {"model": "openai/gpt-4o-mini", "api_key": "sk-test",
                                "api_base": f"http://127.0.0.1:9/{i}",
                                **({"rpm": 1000 + i, "tpm": 100_000 + i} if weighted else {})},
             "model_info": {"id": f"dep-{i}"}} for i in range(deployments)]


def log_successes(router, strategy: str) -> None:
    """Three successes per deployment of group-1 through the strategy's own callback, so
    its map (or usage counters) holds latencies and this minute's usage (as a busy
    proxy's does)."""
    from litellm import ModelResponse

    if strategy not in ("latency-based-routing", "cost-based-routing", "usage-based-routing-v2",
                        "usage-based-routing"):
        return
    selector = getattr(router, router._DEFAULT_SELECTOR_ATTR_BY_STRATEGY[strategy])
    for i, deployment in enumerate(router.model_list):
        if deployment["model_name"] != "group-1":
            continue
        if strategy == "usage-based-routing-v2":
            selector.pre_call_check(deployment)
            payload = {"model_group": "group-1", "model_id": deployment["model_info"]["id"], "total_tokens": 30 + i,
                       "hidden_params": {"litellm_model_name": deployment["litellm_params"]["model"]}}
            selector.log_success_event({"standard_logging_object": payload}, None, None, None)
            continue
        for k in range(3):
            start = datetime.datetime.now()
            end = start + datetime.timedelta(seconds=0.2 + (i % 7) * 0.01 + k * 0.001)
            kwargs = {"litellm_params": {"metadata": {"model_group": "group-1"},
                                         "model_info": {"id": deployment["model_info"]["id"]}}}
            usage = {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30}
            selector.log_success_event(kwargs, ModelResponse(usage=usage), start, end)


def _core(router):
    """What a request's selection runs on: litellm 1.109's Router forwards to its core."""
    return router.__dict__.get("_core", router)


def _sync(router, stock: bool):
    core = _core(router)
    method = _router.ORIGINALS["get_available_deployment"] if stock else type(core).get_available_deployment
    return lambda: method(core, "group-1", MESSAGES)


def _async(router, stock: bool):
    core = _core(router)
    name = _router._entry_points()["async_get_available_deployment"]  # what acompletion calls
    method = _router.ORIGINALS["async_get_available_deployment"] if stock else getattr(type(core), name)
    if stock and core is router and router.routing_strategy == "usage-based-routing":
        # litellm 1.106's async path is one call for v1, `self.get_available_deployment(...)`,
        # which is ours once installed: stock is that call to its own sync method
        sync = _router.ORIGINALS["get_available_deployment"]

        async def method(core, model, request_kwargs, messages):
            return sync(core, model, messages, None, False, request_kwargs)
    return lambda: method(core, "group-1", {}, MESSAGES)


def _same_picks(router, is_async: bool) -> bool:
    picks = []
    for stock in (True, False):
        random.seed(1234)
        if is_async:
            call = _async(router, stock)

            async def run():
                return [(await call())["model_info"]["id"] for _ in range(300)]
            picks.append(asyncio.run(run()))
        else:
            call = _sync(router, stock)
            picks.append([call()["model_info"]["id"] for _ in range(300)])
    return picks[0] == picks[1]


def _time_sync(call) -> float:
    t0 = time.perf_counter()
    for _ in range(PER_ROUND):
        call()
    return (time.perf_counter() - t0) / PER_ROUND * 1e6


def _time_async(call) -> float:
    async def run() -> float:
        for _ in range(20):
            await call()
        t0 = time.perf_counter()
        for _ in range(PER_ROUND):
            await call()
        return (time.perf_counter() - t0) / PER_ROUND * 1e6
    return asyncio.run(run())


def _medians(router, is_async: bool) -> tuple[float, float]:
    make, timer = (_async, _time_async) if is_async else (_sync, _time_sync)
    stock, fast = make(router, True), make(router, False)
    timer(stock), timer(fast)  # warm
    rounds: dict[bool, list[float]] = {True: [], False: []}
    for i in range(ROUNDS):
        for use_stock in ((True, False) if i % 2 else (False, True)):
            rounds[use_stock].append(timer(stock if use_stock else fast))
    return statistics.median(rounds[True]), statistics.median(rounds[False])


def _component_bytes_per_deployment(rows: int = 1000, copies: int = 200) -> float:
    """Linear memory the component grows by per deployment held (plans of `copies`
    routers of `rows` deployments each; the memory is wasm pages, so measure many)."""
    import json

    groups = json.dumps([[[i, 1.0, 1000.0, 100000.0, None] for i in range(rows)]])
    before = COMPONENT.ratelimit("memory-bytes")
    handles = [COMPONENT.router("create", groups) for _ in range(copies)]
    grown = COMPONENT.ratelimit("memory-bytes") - before
    for handle in handles:
        COMPONENT.router("remove", handle)
    return grown / (rows * copies)


def main() -> int:
    from litellm import Router

    if not fast_litellm.health_check()["routing"].get("patched"):
        print("routing is not patched:", fast_litellm.health_check()["routing"], file=sys.stderr)
        return 1
    print(f"{'router':>9} {'strategy':<30} {'mode':<6} {'stock µs':>9} {'fast µs':>8} {'ratio':>7}  served by")
    failures = 0
    strategies = [s for s in STRATEGIES if s in sys.argv[1:]] or STRATEGIES
    for deployments, groups in SIZES:
        for strategy in strategies:
            variants = ((False, False), (True, False), (True, True)) if strategy == "simple-shuffle" else ((True, False),)
            for weighted, checks in variants:
                router = Router(model_list=model_list(deployments, groups, weighted), routing_strategy=strategy,
                                enable_pre_call_checks=checks)
                log_successes(router, strategy)
                report = _router.router_report(router)
                served = "component" if report["accelerated_groups"] else f"litellm ({report.get('reason')})"
                label = strategy + (" (rpm)" if weighted and strategy == "simple-shuffle" else "")
                label += " (pre-call)" if checks else ""
                for is_async in (False, True):
                    if strategy == "cost-based-routing" and not is_async:
                        continue  # litellm has no sync selector for it (raises)
                    if not _same_picks(router, is_async):
                        print(f"{deployments}/{groups} {label} {'async' if is_async else 'sync'}: "
                              "picks differ from stock", file=sys.stderr)
                        failures += 1
                    stock_us, fast_us = _medians(router, is_async)
                    print(f"{deployments:>5}/{groups:<3} {label:<30} {'async' if is_async else 'sync':<6} "
                          f"{stock_us:>9.1f} {fast_us:>8.1f} {stock_us / fast_us:>6.1f}x  {served}", flush=True)
    print(f"component memory per deployment held: {_component_bytes_per_deployment():.0f} bytes")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
