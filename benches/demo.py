#!/usr/bin/env python
"""fast-litellm in 30 seconds: stock litellm and fast-litellm on the same requests.

    .venv/bin/python benches/demo.py        (or: just demo)

No API keys and no network: token counting is local, and the completion at the end uses
litellm's own `mock_response`. For the full, careful benchmark run `just bench`.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"  # litellm's bundled cost map, no fetch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_tokens import WEATHER_TOOL, Unique, prose  # noqa: E402  (same input generators)

OK, BAD = "\u2713", "\u2717"


def stock() -> None:
    import fast_litellm

    fast_litellm.remove_acceleration()


def accelerated() -> None:
    import fast_litellm
    from fast_litellm._settings import push_litellm_settings

    fast_litellm.apply_acceleration()
    push_litellm_settings()  # start with an empty short-string memo: no flattering repeats


def counters() -> dict[str, tuple[int, int, dict]]:
    import fast_litellm

    ops = fast_litellm.get_performance_stats()["operations"]
    return {op: (v["component"], v["litellm"], dict(v["handed_to_litellm"])) for op, v in ops.items()}


def delta(before: dict, after: dict, op: str = "token_counter") -> tuple[int, int, dict]:
    b, a = before.get(op, (0, 0, {})), after.get(op, (0, 0, {}))
    reasons = {k: n - b[2].get(k, 0) for k, n in a[2].items() if n - b[2].get(k, 0)}
    return a[0] - b[0], a[1] - b[1], reasons


def interleaved_us(fn: Callable[[Any], Any], variants: list, rounds: int = 6) -> tuple[float, float]:
    """Median µs per call, stock and accelerated, over `rounds` alternating chunks of
    distinct inputs (each input used once per phase)."""
    per = max(1, len(variants) // rounds)
    times: dict[str, list[float]] = {"stock": [], "accelerated": []}
    for r, k in enumerate(range(0, len(variants), per)):
        chunk = variants[k:k + per]
        for phase in (("stock", "accelerated") if r % 2 == 0 else ("accelerated", "stock")):
            stock() if phase == "stock" else accelerated()
            t0 = time.perf_counter()
            for v in chunk:
                fn(v)
            times[phase].append((time.perf_counter() - t0) / len(chunk))
    return statistics.median(times["stock"]) * 1e6, statistics.median(times["accelerated"]) * 1e6


def fmt_us(us: float) -> str:
    return f"{us:,.0f} µs" if us >= 100 else f"{us:.1f} µs"


def routing_demo(strategy: str, label: str) -> bool:
    """Router.get_available_deployment / async_get_available_deployment with `strategy`,
    stock vs accelerated: the same seeded picks (from the same router state), then the
    time per selection. A Router registers its strategy's callbacks in litellm's global
    lists: they are taken back after the demo."""
    import litellm

    saved = {name: list(value) for name, value in vars(litellm).items()
             if "callback" in name and isinstance(value, list)}
    try:
        return _routing_demo(strategy, label)
    finally:
        for name, value in saved.items():
            getattr(litellm, name)[:] = value


def _routing_demo(strategy: str, label: str) -> bool:
    import asyncio

    from litellm import Router

    from bench_routing import log_successes

    print(f"\nRouter(routing_strategy={strategy!r}): {label}, 50 deployments in 5 groups")
    router = Router(model_list=[
        {"model_name": f"group-{i % 5}", "litellm_params": {"model": "openai/gpt-4o-mini", "api_key": "sk-demo",
                                                            "api_base": f"http://127.0.0.1:9/{i}", "rpm": 100 + i},
         "model_info": {"id": f"dep-{i}"}} for i in range(50)], routing_strategy=strategy)
    log_successes(router, strategy)  # latency samples / usage, as litellm's callbacks record them
    messages = [{"role": "user", "content": "hello"}]
    async_only = strategy == "cost-based-routing"  # litellm has no sync cost-based selector

    async def select_async(n: int) -> list[str]:
        return [(await router.async_get_available_deployment("group-1", request_kwargs={}, messages=messages))[
            "model_info"]["id"] for _ in range(n)]

    def picks() -> list[str]:
        random.seed(2026)
        if async_only:
            return asyncio.run(select_async(200))
        return [router.get_available_deployment("group-1", messages=messages)["model_info"]["id"]
                for _ in range(200)]

    stock()
    stock_picks = picks()
    accelerated()
    before = counters()
    fast_picks = picks()
    served, handed, reasons = delta(before, counters(), "route")
    equal = stock_picks == fast_picks and served == 200 and handed == 0
    timings = [] if async_only else [("sync", interleaved_us(
        lambda _: router.get_available_deployment("group-1", messages=messages), [None] * 600))]
    async_us = interleaved_us(lambda _: asyncio.run(select_async(50)), [None] * 12)
    timings.append(("async", (async_us[0] / 50, async_us[1] / 50)))
    _stop_background_sync(router, strategy)
    print(f"  200 seeded picks: {OK + ' the same deployments as stock' if equal else BAD + ' DIFFERENT'}"
          f" ({served} served, {handed} handed to litellm)")
    for mode, (s_us, a_us) in timings:
        print(f"  {mode:<5} {fmt_us(s_us):>10} stock  {fmt_us(a_us):>10} accelerated  {s_us / a_us:>5.1f}x")
    return equal


def _stop_background_sync(router, strategy: str) -> None:
    """litellm's scoring selectors, made outside a running event loop, start their Redis
    sync task on a loop of their own that nothing runs: cancel it there, so the demo ends
    without asyncio's "Task was destroyed but it is pending" (stock's, not ours)."""
    import asyncio

    attr = router._DEFAULT_SELECTOR_ATTR_BY_STRATEGY.get(strategy)
    task = getattr(getattr(router, attr, None), "_sync_task", None) if attr else None
    if task is not None and not task.done() and not task.get_loop().is_running():
        task.cancel()
        task.get_loop().run_until_complete(asyncio.gather(task, return_exceptions=True))


ROUTING_DEMOS = (("simple-shuffle", "litellm's default, rpm-weighted"),
                 ("latency-based-routing", "lowest latency logged"),
                 ("usage-based-routing-v2", "fewest tokens this minute"),
                 ("cost-based-routing", "cheapest, async only"))


def main() -> int:
    t_start = time.perf_counter()
    print("fast-litellm demo: stock litellm vs fast-litellm, same requests, no API keys\n")
    import litellm
    import fast_litellm  # importing it is all it takes: litellm is accelerated in place

    # ---- health -------------------------------------------------------------------------
    hc = fast_litellm.health_check()
    patches = hc["patches"]
    live = sum(1 for p in patches.values() if p.get("patched"))
    cache = hc["compiled_cache"]
    print("health_check()")
    print(f"  status          {hc['status']}")
    print(f"  component       {hc['component_path']}")
    hit = cache.get("cache_hit")
    print(f"  compiled cache  {'hit' if hit else 'miss (compiled now, cached for next time)'}"
          f"  ({cache.get('cache_file')})")
    print(f"  patches live    {live}/{len(patches)}")
    print(f"  litellm         {hc['litellm_version']} (verified: {', '.join(hc['verified_litellm_versions'])})")
    if hc["status"] != "accelerated":
        print(f"\n{BAD} fast-litellm is not accelerating here: {hc.get('component_error') or hc['unrecognised_litellm_internals']}")
        return 1

    # ---- requests -----------------------------------------------------------------------
    u = Unique(2026)
    rng = random.Random(11)
    doc = prose(rng, 10_240)
    system = "You are a helpful assistant. Answer briefly and cite the document when you can."

    def short_chat(i: int) -> list[dict]:
        return [{"role": "user", "content": u.text()}]

    requests = [
        # label, model, kwargs builder (distinct input per call), calls to time
        ("short chat", "gpt-3.5-turbo", lambda i: {"messages": short_chat(i)}, 600),
        ("long document (10 KB)", "gpt-3.5-turbo",
         lambda i: {"messages": [{"role": "system", "content": system},
                                 {"role": "user", "content": f"Summarise report {i}:\n\n{doc}"}]}, 25),
        ("chat + weather tool", "gpt-3.5-turbo",
         lambda i: {"messages": short_chat(i), "tools": [WEATHER_TOOL]}, 400),
        ("short chat", "gpt-4o", lambda i: {"messages": short_chat(i)}, 600),
        ("short chat", "claude-sonnet-4-5", lambda i: {"messages": short_chat(i)}, 100),
    ]

    print("\nlitellm.token_counter(...) on the same inputs, stock vs accelerated")
    head = f"  {'request':<22} {'model':<18} {'stock':>6} {'accel':>6}     {'stock time':>10} {'accel time':>10} {'speed-up':>8}  served by"
    print(head)
    print("  " + "-" * (len(head) - 2))
    all_equal = True
    speedups = []
    for label, model, build, n in requests:
        first = build(-1)
        variants = [build(i) for i in range(n)]
        check = variants[:50]
        # the same inputs through both
        stock()
        litellm.token_counter(model=model, **build(-2))  # warm-up (tokenizer tables)
        s_counts = [litellm.token_counter(model=model, **kw) for kw in [first, *check]]
        accelerated()
        litellm.token_counter(model=model, **build(-3))  # warm-up
        before = counters()
        a_counts = [litellm.token_counter(model=model, **kw) for kw in [first, *check]]
        served, handed, reasons = delta(before, counters())
        s_us, a_us = interleaved_us(lambda kw: litellm.token_counter(model=model, **kw), variants)
        equal = s_counts == a_counts
        all_equal &= equal
        if handed == 0 and served:
            speedups.append(s_us / a_us)
            who, ratio = "component", f"{s_us / a_us:>7.1f}x"
        else:
            who = f"litellm ({', '.join(reasons)})" if not served else \
                f"component {served}, litellm {handed} ({', '.join(reasons)})"
            ratio = f"{'n/a':>8}"
        print(f"  {label:<22} {model:<18} {s_counts[0]:>6} {a_counts[0]:>6} {OK if equal else BAD + ' DIFFERENT'}  "
              f"{fmt_us(s_us):>11} {fmt_us(a_us):>10} {ratio}  {who}")

    # ---- routing --------------------------------------------------------------------------
    for strategy, label in ROUTING_DEMOS:
        all_equal &= routing_demo(strategy, label)

    # ---- a real litellm call path ---------------------------------------------------------
    messages = [
        {"role": "system", "content": "You are a haiku poet."},
        {"role": "user", "content": "Write a haiku about counting tokens quickly."},
    ]
    reply = "Tokens fall like rain / counted swift inside the shell / the bill stays the same"

    def mock_stream() -> tuple[Any, int, float]:
        t0 = time.perf_counter()
        stream = litellm.completion(model="gpt-3.5-turbo", messages=messages, mock_response=reply,
                                    stream=True, stream_options={"include_usage": True})
        chunks = list(stream)
        text = "".join((c.choices[0].delta.content or "") for c in chunks if c.choices)
        usage = next((c.usage for c in reversed(chunks) if getattr(c, "usage", None)), None)
        built = litellm.stream_chunk_builder(chunks, messages=messages)
        elapsed = time.perf_counter() - t0
        assert text == reply, text
        return (usage.prompt_tokens, usage.completion_tokens, built.usage.prompt_tokens,
                built.usage.completion_tokens), len(chunks), elapsed

    print("\nlitellm.completion(model='gpt-3.5-turbo', mock_response=..., stream=True), consumed fully")
    stock()
    mock_stream()  # first completion imports litellm's streaming machinery
    s_usage, s_chunks, s_t = mock_stream()
    accelerated()
    mock_stream()
    before = counters()
    a_usage, a_chunks, a_t = mock_stream()
    served, handed, reasons = delta(before, counters())
    equal = s_usage == a_usage
    all_equal &= equal and served > 0 and handed == 0
    print(f"  usage (prompt, completion) from the stream / stream_chunk_builder:")
    print(f"    stock        {s_usage[:2]} / {s_usage[2:]}   {s_chunks} chunks, {s_t * 1e3:.1f} ms")
    print(f"    accelerated  {a_usage[:2]} / {a_usage[2:]}   {a_chunks} chunks, {a_t * 1e3:.1f} ms  "
          f"{OK if equal else BAD + ' DIFFERENT'}")
    print(f"  token_counter calls inside that completion: {served} served by the component, "
          f"{handed} handed to litellm{' (' + ', '.join(reasons) + ')' if reasons else ''}")
    print("  (a whole completion costs far more than its token counting, so its time barely moves)")

    stats = fast_litellm.get_performance_stats()
    tc = stats["operations"].get("token_counter", {})
    print(f"\nget_performance_stats(): token_counter served by the component {tc.get('component', 0)} times, "
          f"handed to litellm {tc.get('litellm', 0)} times {tc.get('handed_to_litellm') or ''}; "
          f"traps {stats['component_traps']}")

    live_ops = {p["operation"] for p in fast_litellm.get_patch_status().values() if p.get("patched")}
    ops = [op for op in ("token_counter", "encode", "decode") if op in live_ops]
    names = ", ".join(f"litellm.{op}" for op in ops)
    if fast_litellm.health_check()["routing"].get("patched"):
        names += (" and the Router's deployment selection (every built-in strategy but lar1 and provider budgets; "
                  "latency, usage and cost scored by litellm's own rules, in the host, among the component's "
                  "candidates)")
    matched = ("every count and pick above matches stock litellm exactly" if all_equal
               else "NOT every count or pick above matched stock litellm (marked " + BAD + ")")
    print(
        f"\nSummary: with `import fast_litellm`, {names} are answered by a sandboxed Rust "
        f"WebAssembly component, and {matched}. On the requests the "
        f"component served, counting ran {min(speedups):.1f}x to {max(speedups):.1f}x faster than stock "
        "litellm here. Models litellm counts with a HuggingFace tokenizer (here claude-sonnet-4-5) "
        "are handed back to litellm's own code and counted as such, so nothing changes for them. "
        "Real calls such as a streaming completion keep working, with their token counting served "
        "by the component. These are quick medians on a few hundred distinct inputs on whatever "
        "else this machine is doing; for the careful, interleaved benchmark with parity checks on "
        "every input run `just bench` (results: docs/benchmarks.md)."
        f"  [demo took {time.perf_counter() - t_start:.0f} s]"
    )
    if not all_equal:
        print(f"\n{BAD} some results differed from stock litellm (see above)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
