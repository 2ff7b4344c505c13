"""`fast-litellm bench`: stock litellm vs fast-litellm in one process, as ratios.

A compact, installable version of the repository's `benches/bench_tokens.py` (which has
more rows, the import rows and the full method): generated inputs that never repeat
within a phase, parity checked on every input first, phases interleaved, medians.
Writes the results as JSON and, with matplotlib installed (`fast-litellm[bench]`), a PNG
chart of the ratios.
"""

from __future__ import annotations

import json
import platform
import random
import statistics
import sys
import time
from importlib.metadata import version
from typing import Any, Callable

WORDS = ("the model counts tokens for every request and the router picks a deployment while "
         "limits hold per key minute budget latency cost stream tool weather city forecast "
         "résumé naïve 東京 données 42 1999 3.14 #id-7f3a").split()


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) + rng.choice(["", "", ",", ".", "!", "?"]) for _ in range(words))


def _rows(rng: random.Random, n: int) -> list[tuple[str, str, list, Callable[[Any], Any]]]:
    import litellm

    tool = [{"type": "function", "function": {
        "name": "get_weather", "description": "Current weather for a city",
        "parameters": {"type": "object", "required": ["city"], "properties": {
            "city": {"type": "string", "description": "City name"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}}}}]
    short = [[{"role": "user", "content": _text(rng, 12) + f" #{i}"}] for i in range(n)]
    long_docs = [[{"role": "system", "content": "You are a helpful assistant."},
                  {"role": "user", "content": _text(rng, 1700)}] for _ in range(20)]
    convo = [[{"role": ("user", "assistant")[k % 2], "content": _text(rng, 15) + f" {i}.{k}"} for k in range(20)]
             for i in range(n // 10 + 2)]
    texts = [_text(rng, 10) + f" {i}" for i in range(n)]
    docs = [_text(rng, 1700) for _ in range(20)]

    def tc(**kwargs: Any) -> Any:  # looked up per call: the stock phase must reach stock litellm
        return litellm.token_counter(**kwargs)

    return [
        ("short_chat", "1 short chat, gpt-3.5-turbo", short, lambda m: tc(model="gpt-3.5-turbo", messages=m)),
        ("short_chat_4o", "1 short chat, gpt-4o", short, lambda m: tc(model="gpt-4o", messages=m)),
        ("system_10kb", "system + 10 KB user", long_docs, lambda m: tc(model="gpt-3.5-turbo", messages=m)),
        ("chat_20", "20 messages", convo, lambda m: tc(model="gpt-3.5-turbo", messages=m)),
        ("chat_tool", "short chat + 1 tool", short, lambda m: tc(model="gpt-3.5-turbo", messages=m, tools=tool)),
        ("text_short", "text= short", texts, lambda t: tc(model="gpt-3.5-turbo", text=t)),
        ("encode_10kb", "encode 10 KB", docs, lambda t: litellm.encode(model="gpt-3.5-turbo", text=t)),
    ]


def _progress(done: int, total: int, label: str) -> None:
    width = 30
    filled = width * done // total
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {label:<32}")
    sys.stderr.flush()


def run(rounds: int = 7, per_sample: int = 60, seed: int = 20261122) -> dict:
    import fast_litellm

    if not fast_litellm.apply_acceleration():
        raise SystemExit(f"fast-litellm is not active here: {json.dumps(fast_litellm.health_check(), default=str)}")
    rng = random.Random(seed)
    rows = _rows(rng, per_sample * rounds * 2)
    # parity first, on every input
    for key, _label, pool, call in rows:
        fast_litellm.remove_acceleration()
        expected = [call(x) for x in pool]
        fast_litellm.apply_acceleration()
        if [call(x) for x in pool] != expected:
            raise SystemExit(f"parity failure in row {key}: accelerated != stock")
    results = []
    steps, step = len(rows) * rounds * 2, 0
    for key, label, pool, call in rows:
        samples: dict[str, list[float]] = {"stock": [], "accelerated": []}
        k = 0
        for r in range(rounds):
            for phase in (("stock", "accelerated") if r % 2 == 0 else ("accelerated", "stock")):
                (fast_litellm.remove_acceleration if phase == "stock" else fast_litellm.apply_acceleration)()
                if len(pool) >= per_sample * rounds * 2:
                    items = pool[k * per_sample:(k + 1) * per_sample]
                else:
                    items = [pool[(k * per_sample + i) % len(pool)] for i in range(min(per_sample, 20))]
                k += 1
                t0 = time.perf_counter()
                for item in items:
                    call(item)
                samples[phase].append((time.perf_counter() - t0) / len(items))
                step += 1
                _progress(step, steps, label)
        fast_litellm.apply_acceleration()
        stock_us = statistics.median(samples["stock"]) * 1e6
        acc_us = statistics.median(samples["accelerated"]) * 1e6
        results.append({"key": key, "label": label, "stock_us": stock_us, "accelerated_us": acc_us,
                        "ratio": stock_us / acc_us})
    sys.stderr.write("\n")
    return {
        "benchmark": "fast-litellm bench",
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "python": platform.python_version(),
        "litellm": version("litellm"),
        "wasmtime": version("wasmtime"),
        "fast_litellm": fast_litellm.__version__,
        "rounds": rounds,
        "samples_per_phase": per_sample,
        "rows": results,
    }


def table(report: dict) -> str:
    lines = [f"{'row':<32} {'stock us':>10} {'accel us':>10} {'ratio':>7}", "-" * 62]
    for r in report["rows"]:
        lines.append(f"{r['label']:<32} {r['stock_us']:>10.1f} {r['accelerated_us']:>10.1f} {r['ratio']:>6.1f}x")
    return "\n".join(lines)


def chart(report: dict, path: str) -> bool:
    """A PNG bar chart of the ratios; False if matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    rows = report["rows"]
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(rows) + 1.5))
    labels = [r["label"] for r in rows][::-1]
    ratios = [r["ratio"] for r in rows][::-1]
    bars = ax.barh(labels, ratios, color=["#2a7" if x >= 1 else "#c33" for x in ratios])
    ax.axvline(1.0, color="#444", linewidth=1)
    ax.bar_label(bars, labels=[f"{x:.1f}x" for x in ratios], padding=3)
    ax.set_xlabel("speed-up over stock litellm (stock time / accelerated time)")
    ax.set_title(f"fast-litellm {report['fast_litellm']} vs litellm {report['litellm']}")
    ax.set_xlim(0, max(ratios) * 1.2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
