#!/usr/bin/env python
"""Stock litellm vs fast-litellm, side by side, in one process and one run.

    .venv/bin/python benches/bench_tokens.py            # full run (~1-2 min on 2 vCPU)
    .venv/bin/python benches/bench_tokens.py --quick    # smoke test (< 30 s)

Both phases call the public litellm API (`litellm.token_counter`, `litellm.encode`,
`litellm.decode`): the stock phase runs after `fast_litellm.remove_acceleration()`, the
accelerated phase after `fast_litellm.apply_acceleration()`. Phases alternate, several
rounds, and the table shows the median time per call over all samples of each phase.

Honesty rules this script enforces:

* Inputs are generated deterministically (random.Random with fixed seeds) and vary from
  call to call. The component remembers counts of whole strings up to 256 bytes; within a
  phase no short input repeats, and that memo is emptied before every accelerated phase, so
  every short text the accelerated phase counts is counted for the first time. (Roles, a
  system prompt or a tool definition repeated across requests do hit it, as in real use.)
  The component also remembers BPE results of pre-tokenizer pieces (words) for the life of
  the process, which Python cannot clear: the numbers are steady-state numbers, and about
  4% of the generated words are never-repeating names/identifiers/hex codes so that not
  every piece is a memo hit.
* Before timing, every input is run through both phases and the results must be identical.
* During each accelerated phase the performance counters must show every call served by
  the component; during each stock phase they must not move. Otherwise exit code 1.

Results go to stdout (a table) and to benches/results/tokens.json.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from importlib.metadata import version as dist_version
from pathlib import Path
from typing import Any, Callable

os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"  # no network: litellm's bundled cost map

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
COMMAND = ".venv/bin/python benches/bench_tokens.py"
# The foundation issue's targets: short chats at least 3x cheaper, no row slower than stock.
SHORT_CHAT_TARGET = 3.0
FLOOR_RATIO = 1.0
SHORT_CHAT_ROWS = {"chat_short_gpt35", "chat_short_gpt4o"}


# Handed-off calls run litellm's own code plus our routing check and bookkeeping; they
# cannot beat stock. The row reports that cost; it has no target (on this VM its noise,
# +-5 us on a 50-100 us call, is as large as the cost itself).
HANDOFF_ROWS = {"chat_short_handed_off", "chat_file_handed_off"}


def target_for(key: str) -> float:
    if key in HANDOFF_ROWS:
        return 0.0
    return SHORT_CHAT_TARGET if key in SHORT_CHAT_ROWS else FLOOR_RATIO


class BenchError(SystemExit):
    def __init__(self, message: str) -> None:
        print(f"\nBENCHMARK INVALID: {message}", file=sys.stderr, flush=True)
        super().__init__(1)


# --------------------------------------------------------------------------------------
# Deterministic, realistic inputs
# --------------------------------------------------------------------------------------

_WORDS = (
    "the of and to in a is that for it as was with be by on not he I this are or his from at "
    "which but have an they you were her she there been one all we their has would when if so "
    "no will can more about said what out up them some could into only time than other then "
    "also new like first any two may people these over after year just most well very through "
    "where much before should between such being each under while never three system model "
    "request response latency budget customer invoice shipment deadline quarterly forecast "
    "database migration schedule release candidate regression benchmark throughput kernel "
    "memory allocation thread socket parser tokenizer embedding vector cluster replica region "
    "meeting agenda summary draft contract clause liability warranty payment refund account "
    "weather forecast temperature humidity mountain river village harbour bridge library "
    "recipe flour butter oven minutes garlic pepper lemon chapter character narrator journey "
    "approximately unfortunately nevertheless straightforward reproducible configuration "
    "internationalization authentication authorization observability asynchronous"
).split()
_NON_ASCII = (
    "café naïve résumé façade coöperate Zürich São Paulo München Kraków Ærøskøbing "
    "東京 大阪 北京 서울 Москва Αθήνα İstanbul Ελληνικά déjà-vu über señor jalapeño "
    "— – … “quoted” «guillemets» €12 £7 ¥300 ±0.5 °C µs → ✓ 🙂 🚀"
).split()
_ENDINGS = (".", ".", ".", ".", "?", "!", "...", ".")


_ONSETS = ("b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z",
           "br", "ch", "cl", "dr", "gr", "kr", "pl", "sh", "st", "th", "tr", "")
_VOWELS = ("a", "e", "i", "o", "u", "ai", "ea", "ou", "y")
_CODAS = ("", "", "n", "r", "s", "l", "x", "nd", "rk", "st", "m")


def _pseudo_word(rng: random.Random) -> str:
    """A word the memos have (almost surely) never seen: a name, an identifier, a code.
    Real requests carry many of these; without them every piece of text would recur."""
    syl = "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS) for _ in range(rng.randint(2, 4)))
    kind = rng.randrange(5)
    if kind == 0:
        return syl.capitalize()
    if kind == 1:
        return f"{syl}_{rng.randrange(10, 9999)}"
    if kind == 2:
        half = len(syl) // 2
        return syl[:half] + syl[half:].capitalize()
    if kind == 3:
        return f"{rng.getrandbits(32):08x}"
    return syl


def _word(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.04:
        return _pseudo_word(rng)
    if r < 0.09:
        return rng.choice(_NON_ASCII)
    if r < 0.16:
        kind = rng.randrange(6)
        if kind == 0:
            return str(rng.randrange(1, 10_000))
        if kind == 1:
            return f"{rng.uniform(0, 1000):.2f}"
        if kind == 2:
            return f"{rng.randrange(1, 100)}%"
        if kind == 3:
            return f"{rng.randrange(1990, 2031)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
        if kind == 4:
            return f"v{rng.randrange(0, 5)}.{rng.randrange(0, 20)}.{rng.randrange(0, 10)}"
        return f"#{rng.randrange(100, 99_999)}"
    return rng.choice(_WORDS)


def sentence(rng: random.Random, lo: int = 6, hi: int = 24) -> str:
    words = [_word(rng) for _ in range(rng.randint(lo, hi))]
    for i in range(1, len(words) - 1):
        r = rng.random()
        if r < 0.08:
            words[i] += ","
        elif r < 0.10:
            words[i] += ";"
        elif r < 0.11:
            words[i] = f"({words[i]})"
        elif r < 0.12:
            words[i] = f'"{words[i]}"'
    words[0] = words[0][:1].upper() + words[0][1:]
    return " ".join(words) + rng.choice(_ENDINGS)


def short_text(rng: random.Random, lo: int = 1, hi: int = 3) -> str:
    return " ".join(sentence(rng, 4, 18) for _ in range(rng.randint(lo, hi)))


def prose(rng: random.Random, chars: int) -> str:
    """Mixed prose of exactly `chars` characters: paragraphs of sentences, numbers,
    punctuation, some non-ASCII words."""
    paragraphs: list[str] = []
    total = 0
    while total < chars:
        p = " ".join(sentence(rng) for _ in range(rng.randint(3, 7)))
        paragraphs.append(p)
        total += len(p) + 2
    return "\n\n".join(paragraphs)[:chars]


def distinct(make: Callable[[random.Random], Any], count: int, seed: int) -> list:
    """`count` items from `make`, no two equal."""
    rng = random.Random(seed)
    seen: set = set()
    out = []
    while len(out) < count:
        item = make(rng)
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out


class Unique:
    """Short texts, never the same one twice (per instance)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.seen: set[str] = set()

    def text(self, lo: int = 1, hi: int = 3) -> str:
        while True:
            t = short_text(self.rng, lo, hi)
            if t not in self.seen:
                self.seen.add(t)
                return t


SYSTEM_PROMPTS = [
    "You are a helpful assistant.",
    "You are a concise assistant for a logistics company. Answer in at most three sentences.",
    "You are a senior software engineer reviewing code. Point out bugs first, style second.",
    "You are a friendly travel agent. Ask one clarifying question when the request is vague.",
    "You are a careful financial analyst. State assumptions explicitly and show your numbers.",
]

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_current_weather",
        "description": "Get the current weather and a short forecast for a location.",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {
                    "type": "string",
                    "description": "The city and state or country, e.g. San Francisco, CA",
                },
                "unit": {
                    "type": "string",
                    "enum": ["celsius", "fahrenheit"],
                    "description": "Temperature unit to report in.",
                },
                "days": {
                    "type": "integer",
                    "description": "Number of forecast days to include, 0 for current conditions only.",
                },
                "include_hourly": {
                    "type": "boolean",
                    "description": "Whether to include an hourly breakdown.",
                },
            },
            "required": ["location"],
        },
    },
}


# Twenty tools of the weather tool's shape, each named and described apart.
TOOLBOX = [
    {"type": "function", "function": {**WEATHER_TOOL["function"], "name": f"tool_{i}",
                                      "description": f"{WEATHER_TOOL['function']['description']} Variant {i}."}}
    for i in range(20)
]


def conversation(u: Unique, n_messages: int = 20) -> list[dict]:
    msgs = [{"role": "system", "content": u.rng.choice(SYSTEM_PROMPTS)}]
    for i in range(n_messages - 1):
        role = "user" if i % 2 == 0 else "assistant"
        msgs.append({"role": role, "content": u.text(1, 3 if role == "user" else 4)})
    return msgs


def short_chats(count: int, seed: int) -> list[list[dict]]:
    u = Unique(seed)
    return [[{"role": "user", "content": u.text()}] for _ in range(count)]


# --------------------------------------------------------------------------------------
# Rows
# --------------------------------------------------------------------------------------


class Row:
    """One benchmark row. `call(item)` is timed per item; `per` items make one reported
    unit (1 call, or 1 batch of 100 texts)."""

    def __init__(self, key: str, label: str, operation: str, n: int, pool: list, call: Callable[[Any], Any],
                 acc_call: Callable[[Any], Any] | None = None, calls_per_item: int = 1, unit: str = "call",
                 cycle: bool = False, note: str = "") -> None:
        self.key, self.label, self.operation, self.n = key, label, operation, n
        self.pool, self.stock_call, self.acc_call = pool, call, acc_call or call
        self.calls_per_item, self.unit, self.cycle, self.note = calls_per_item, unit, cycle, note
        self.samples: dict[str, list[float]] = {"stock": [], "accelerated": []}
        # False when fast_litellm deliberately leaves this operation to litellm (no patch
        # target for it): the "accelerated" phase then runs litellm's own function.
        self.patched = True
        self.served: dict[str, int] = {"component": 0, "litellm": 0, "batch_calls": 0}

    def items_for_sample(self, k: int) -> list:
        if self.cycle:  # long texts (not memoised): cycle a pool
            return [self.pool[(k * self.n + i) % len(self.pool)] for i in range(self.n)]
        return self.pool[k * self.n:(k + 1) * self.n]


def build_rows(quick: bool, samples: int) -> list[Row]:
    import litellm
    from fast_litellm._rust import SimpleTokenCounter

    scale = 0.25 if quick else 1.0

    def n_(full: int) -> int:
        return max(2, int(full * scale))

    counter = SimpleTokenCounter()
    gpt35, gpt4o = "gpt-3.5-turbo", "gpt-4o"
    rows: list[Row] = []

    # 1 short chat, distinct per call
    n = n_(400)
    pool = short_chats(n * samples, 101)
    rows.append(Row("chat_short_gpt35", "token_counter: 1 short chat, gpt-3.5-turbo", "token_counter", n, pool,
                    lambda m: litellm.token_counter(model=gpt35, messages=m)))
    # A model litellm counts with its own HuggingFace tokenizer: every call is handed back;
    # this row measures what the hand-off check costs (the ratio shows it, about 1.0x).
    n = n_(200)
    pool = short_chats(n * samples, 107)
    hf_model = "claude-sonnet-4-5"
    rows.append(Row("chat_short_handed_off", f"token_counter: 1 short chat, {hf_model} (litellm's HF)",
                    "token_counter_handoff", n, pool,
                    lambda m: litellm.token_counter(model=hf_model, messages=m)))
    # A request litellm must serve (a file block is not modelled): handed back before any
    # component call; the row measures what that costs.
    n = n_(200)
    pool = [m[:-1] + [{"role": "user", "content": [{"type": "text", "text": m[-1]["content"]},
                                                   {"type": "file", "file": {"filename": "notes.txt"}}]}]
            for m in short_chats(n * samples, 108)]
    rows.append(Row("chat_file_handed_off", "token_counter: 1 short chat + a file block, gpt-4o (litellm's)",
                    "token_counter_handoff", n, pool, lambda m: litellm.token_counter(model=gpt4o, messages=m)))
    n = n_(300)
    pool = short_chats(n * samples, 102)
    rows.append(Row("chat_short_gpt4o", "token_counter: 1 short chat, gpt-4o", "token_counter", n, pool,
                    lambda m: litellm.token_counter(model=gpt4o, messages=m)))

    # system + 10 KB user message, a different 10 KB text each call of a phase (the
    # component remembers strings over 8 KB once it has seen them twice)
    n = n_(12)
    docs = distinct(lambda r: prose(r, 10_240), n * samples, 103)
    pool = [[{"role": "system", "content": SYSTEM_PROMPTS[i % len(SYSTEM_PROMPTS)]},
             {"role": "user", "content": d}] for i, d in enumerate(docs)]
    rows.append(Row("chat_system_10kb", "token_counter: system + 10 KB user, gpt-3.5-turbo", "token_counter", n,
                    pool, lambda m: litellm.token_counter(model=gpt35, messages=m)))

    # an agent's 40 KB system prompt, the same on every call, + a short user message
    n = n_(10)
    big_system = {"role": "system", "content": prose(random.Random(110), 40_960)}
    pool = [[big_system] + chat for chat in short_chats(n * samples, 111)]
    rows.append(Row("chat_system_40kb_repeated", "token_counter: 40 KB system prompt (every call) + short user, gpt-4o",
                    "token_counter", n, pool, lambda m: litellm.token_counter(model=gpt4o, messages=m)))

    # 20-message conversation
    n = n_(50)
    u = Unique(104)
    pool = [conversation(u) for _ in range(n * samples)]
    rows.append(Row("chat_20_messages", "token_counter: 20 messages, gpt-3.5-turbo", "token_counter", n, pool,
                    lambda m: litellm.token_counter(model=gpt35, messages=m)))

    # short chat + 1 tool
    n = n_(250)
    pool = short_chats(n * samples, 105)
    rows.append(Row("chat_short_1_tool", "token_counter: short chat + 1 tool, gpt-3.5-turbo", "token_counter", n,
                    pool, lambda m: litellm.token_counter(model=gpt35, messages=m, tools=[WEATHER_TOOL])))

    # short chat + 20 tools (an agent's toolbox: the same definitions on every request)
    n = n_(100)
    pool = short_chats(n * samples, 107)
    rows.append(Row("chat_short_20_tools", "token_counter: short chat + 20 tools, gpt-4o", "token_counter", n,
                    pool, lambda m: litellm.token_counter(model=gpt4o, messages=m, tools=TOOLBOX)))

    # text= short
    n = n_(400)
    u = Unique(106)
    pool = [u.text() for _ in range(n * samples)]
    rows.append(Row("text_short", "token_counter: text= short, gpt-3.5-turbo", "token_counter", n, pool,
                    lambda t: litellm.token_counter(model=gpt35, text=t)))

    # 100 texts, one call each (time for all 100)
    n = n_(5)
    u = Unique(107)
    texts = [u.text() for _ in range(100 * n * samples)]
    pool = [texts[i:i + 100] for i in range(0, len(texts), 100)]

    def hundred(batch: list[str]) -> list[int]:
        return [litellm.token_counter(model=gpt35, text=t) for t in batch]

    rows.append(Row("text_100_one_by_one", "token_counter: 100 texts one by one (per 100)", "token_counter", n,
                    pool, hundred, calls_per_item=100, unit="100 texts"))

    # 100 texts: stock = 100 litellm.token_counter(text=...) calls, accelerated = one batch call
    n = n_(5)
    u = Unique(108)
    texts = [u.text() for _ in range(100 * n * samples)]
    pool = [texts[i:i + 100] for i in range(0, len(texts), 100)]
    rows.append(Row("text_100_batch", "SimpleTokenCounter.count_tokens_batch(100) vs 100 calls", "batch", n,
                    pool, hundred, acc_call=lambda batch: counter.count_tokens_batch(batch, gpt35),
                    calls_per_item=1, unit="100 texts",
                    note="accelerated = fast_litellm._rust.SimpleTokenCounter().count_tokens_batch"))

    # encode / decode 10 KB
    n = n_(12)
    enc_docs = distinct(lambda r: prose(r, 10_240), 20, 109)
    rows.append(Row("encode_10kb", "encode: 10 KB text", "encode", n, enc_docs,
                    lambda t: litellm.encode(model=gpt35, text=t), cycle=True))
    n = n_(12)
    dec_docs = distinct(lambda r: prose(r, 10_240), 20, 110)
    rows.append(Row("decode_10kb", "decode: tokens of 10 KB text", "decode", n, dec_docs,  # tokens filled in later
                    lambda toks: litellm.decode(model=gpt35, tokens=toks), cycle=True))
    return rows


# --------------------------------------------------------------------------------------
# Phases, parity, counters
# --------------------------------------------------------------------------------------


def stock_phase() -> None:
    import fast_litellm

    fast_litellm.remove_acceleration()
    live = [label for label, s in fast_litellm.get_patch_status().items() if s.get("patched")]
    if live:
        raise BenchError(f"remove_acceleration() left patches live: {live}")


def accelerated_phase() -> None:
    import fast_litellm

    if not fast_litellm.apply_acceleration():
        raise BenchError(f"apply_acceleration() failed: {json.dumps(fast_litellm.health_check(), default=str)}")
    # Empty the component's short-string memo (set-count-settings does that), so no input
    # of this phase is answered from a previous phase. apply_acceleration() already pushes
    # the settings; pushing again keeps that true if apply() ever stops doing it.
    from fast_litellm._settings import push_litellm_settings
    from fast_litellm.tokens import forget_remembered_counts

    push_litellm_settings()
    forget_remembered_counts()  # the host's memos of counts (tools, long texts), likewise


def stats_totals() -> dict[str, tuple[int, int]]:
    import fast_litellm

    snap = fast_litellm.get_performance_stats()
    out = {op: (v["component"], v["litellm"]) for op, v in snap["operations"].items()}
    out["__traps__"] = (snap["component_traps"], 0)
    return out


def stats_delta(before: dict, after: dict) -> dict[str, tuple[int, int]]:
    out = {}
    for op in set(before) | set(after):
        b, a = before.get(op, (0, 0)), after.get(op, (0, 0))
        d = (a[0] - b[0], a[1] - b[1])
        if d != (0, 0):
            out[op] = d
    return out


def patched_operations() -> set[str]:
    """Operations fast_litellm has a live patch for (call in the accelerated phase)."""
    import fast_litellm

    return {s["operation"] for s in fast_litellm.get_patch_status().values() if s.get("patched")}


def mark_unpatched(rows: list[Row]) -> None:
    """Rows whose operation fast_litellm deliberately leaves to litellm are measured and
    labelled as such; any other unpatched operation makes the run invalid."""
    from fast_litellm import tokens

    deliberate = {"decode"} if getattr(tokens, "SERVE_DECODE", True) is False else set()
    ops = patched_operations()
    for row in rows:
        if row.operation not in ("batch", "token_counter_handoff") and row.operation not in ops:
            if row.operation not in deliberate:
                raise BenchError(f"row '{row.label}': litellm.{row.operation} is not patched after "
                                 f"apply_acceleration(): {json.dumps(fast_litellm_patch_status(), default=str)}")
            row.patched = False
            row.note = (f"not accelerated: fast_litellm does not patch litellm.{row.operation} "
                        "(tokens.SERVE_DECODE is False: left to litellm by design); both columns run "
                        "litellm's own function")


def fast_litellm_patch_status() -> dict:
    import fast_litellm

    return fast_litellm.get_patch_status()


def check_accelerated(row: Row, delta: dict, items: int) -> None:
    """Every call of this accelerated sample must have been served by the component."""
    traps = delta.pop("__traps__", (0, 0))[0]
    handed = {op: d[1] for op, d in delta.items() if d[1]}
    if traps or (handed and row.operation != "token_counter_handoff"):
        raise BenchError(f"row '{row.label}': accelerated calls handed to litellm {handed}, traps {traps}")
    if not row.patched:
        if delta:
            raise BenchError(f"row '{row.label}': {row.operation} is not patched, yet counters moved {delta}")
        row.served["litellm_unpatched"] = row.served.get("litellm_unpatched", 0) + items * row.calls_per_item
        return
    if row.operation == "token_counter_handoff":
        # every call must be handed to litellm (HuggingFace tokenizer, file block), none served
        handed_ok = delta.get("token_counter", (0, 0)) == (0, items * row.calls_per_item)
        if not handed_ok or set(delta) - {"token_counter"}:
            raise BenchError(f"row '{row.label}': expected every call handed to litellm, counters moved {delta}")
        row.served["litellm"] += items * row.calls_per_item
        return
    if row.operation == "batch":
        # one component call per batch; no per-text token_counter calls at all
        if set(delta) - {"count_tokens_batch"} or delta.get("count_tokens_batch", (0, 0))[0] != items:
            raise BenchError(f"row '{row.label}': count_tokens_batch fell back to per-text calls {delta}")
        row.served["batch_calls"] += items
        return
    served = delta.get(row.operation, (0, 0))[0]
    expected = items * row.calls_per_item
    if served != expected or set(delta) - {row.operation}:
        raise BenchError(f"row '{row.label}': expected {expected} {row.operation} calls served by the "
                         f"component, counters moved by {delta}")
    row.served["component"] += served


def check_stock(row: Row, delta: dict) -> None:
    if delta:
        raise BenchError(f"row '{row.label}': fast_litellm counters moved during the stock phase {delta}; "
                         "the stock phase was not stock")


def parity(rows: list[Row]) -> int:
    """Stock result == accelerated result for every input of every row; returns inputs checked."""
    def all_items(row: Row) -> list:
        return row.pool

    stock_results: dict[str, list] = {}
    stock_phase()
    for row in rows:
        stock_results[row.key] = [row.stock_call(it) for it in all_items(row)]
    accelerated_phase()
    checked = 0
    for row in rows:
        before = stats_totals()
        acc = [row.acc_call(it) for it in all_items(row)]
        check_accelerated(row, stats_delta(before, stats_totals()), len(acc))
        for i, (s, a) in enumerate(zip(stock_results[row.key], acc)):
            if s != a:
                shown = repr(row.pool[i])
                shown = shown if len(shown) < 300 else shown[:300] + "..."
                sr, ar = repr(s), repr(a)
                raise BenchError(f"parity failure in row '{row.label}', input #{i}: stock={sr[:200]} "
                                 f"accelerated={ar[:200]}\n  input: {shown}")
        checked += len(acc)
    row_served_reset(rows)
    return checked


def row_served_reset(rows: list[Row]) -> None:
    for row in rows:
        row.served = {"component": 0, "litellm": 0, "batch_calls": 0}
        if not row.patched:
            row.served["litellm_unpatched"] = 0


# --------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------


def time_items(fn: Callable[[Any], Any], items: list) -> float:
    """Seconds per item, timeit-style (GC off while timing)."""
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        t0 = time.perf_counter()
        for it in items:
            fn(it)
        t1 = time.perf_counter()
    finally:
        if gc_was_enabled:
            gc.enable()
    return (t1 - t0) / len(items)


def metrics_overhead(quick: bool) -> dict:
    """Accelerated short chats with latency metrics on vs off (FAST_LITELLM_METRICS). Each
    round times the same inputs both ways, back to back, after an untimed pass (so neither
    side gets the component's warm memo first); rounds go in pairs with the order swapped,
    so whichever side runs second in a round gains nothing, and the overhead is the median
    over pairs of their on/off ratio, which a slow drift of the machine cancels out of.
    Flags and the breaker are always on and in both columns."""
    import litellm

    from fast_litellm._metrics import METRICS

    per_sample = 200
    pairs = 8 if quick else 40
    pool = short_chats(per_sample * pairs * 2, 303)
    call = lambda m: litellm.token_counter(model="gpt-3.5-turbo", messages=m)  # noqa: E731
    time_items(call, pool[:200])  # warm
    on: list[float] = []
    off: list[float] = []
    for r in range(pairs * 2):
        items = pool[r * per_sample:(r + 1) * per_sample]
        time_items(call, items)  # untimed: the same memo state for both sides
        for enabled in ((True, False) if r % 2 == 0 else (False, True)):
            METRICS.enabled = enabled
            (on if enabled else off).append(time_items(call, items))
    METRICS.enabled = True
    ratios = [(on[i] + on[i + 1]) / (off[i] + off[i + 1]) for i in range(0, len(on), 2)]
    on_us, off_us = statistics.median(on) * 1e6, statistics.median(off) * 1e6
    return {"metrics_on_us": on_us, "metrics_off_us": off_us,
            "overhead_pct": (statistics.median(ratios) - 1) * 100, "pairs": pairs, "target_pct": 5.0}


def run_rounds(rows: list[Row], rounds: int, samples: int, warmup: dict[str, list]) -> None:
    for r in range(rounds):
        order = ("stock", "accelerated") if r % 2 == 0 else ("accelerated", "stock")
        t_round = time.perf_counter()
        for row in rows:
            for phase in order:
                if phase == "stock":
                    stock_phase()
                    fn = row.stock_call
                else:
                    accelerated_phase()
                    fn = row.acc_call
                for w in warmup[row.key]:  # inputs not used for timing
                    fn(w)
                for k in range(samples):
                    items = row.items_for_sample(k)
                    before = stats_totals()
                    per_item = time_items(fn, items)
                    delta = stats_delta(before, stats_totals())
                    if phase == "stock":
                        check_stock(row, delta)
                    else:
                        check_accelerated(row, delta, len(items))
                    row.samples[phase].append(per_item)
        print(f"  round {r + 1}/{rounds} done in {time.perf_counter() - t_round:.1f} s", flush=True)


# --------------------------------------------------------------------------------------
# Import overhead (subprocesses)
# --------------------------------------------------------------------------------------

_FIRST_MESSAGES = '[{"role": "user", "content": "Hello! Can you summarise my last three invoices?"}]'

ACCELERATED_SNIPPET = f"""
import json, time
import litellm
t0 = time.perf_counter()
import fast_litellm
t1 = time.perf_counter()
n = litellm.token_counter(model="gpt-3.5-turbo", messages={_FIRST_MESSAGES})
t2 = time.perf_counter()
hc = fast_litellm.health_check()
st = fast_litellm.get_performance_stats()["operations"].get("token_counter", {{}})
print("RESULT " + json.dumps({{"import_s": t1 - t0, "first_call_s": t2 - t1, "count": n,
    "status": hc["status"], "cache_hit": hc["compiled_cache"].get("cache_hit"),
    "served_by_component": st.get("component", 0)}}))
"""

STOCK_SNIPPET = f"""
import json, time
import litellm
t1 = time.perf_counter()
n = litellm.token_counter(model="gpt-3.5-turbo", messages={_FIRST_MESSAGES})
t2 = time.perf_counter()
print("RESULT " + json.dumps({{"first_call_s": t2 - t1, "count": n}}))
"""

IMPORT_COMMAND = ('python -c "import litellm; t=time.perf_counter(); import fast_litellm; '
                  'print(time.perf_counter()-t)"  (plus one litellm.token_counter call after it)')


def _run_snippet(snippet: str, cache_dir: str | None) -> dict:
    env = dict(os.environ)
    env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    env.pop("FAST_LITELLM_DISABLE_ALL", None)
    if cache_dir is not None:
        env["FAST_LITELLM_CACHE_DIR"] = cache_dir
    proc = subprocess.run([sys.executable, "-c", snippet], env=env, capture_output=True, text=True, timeout=300)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        raise BenchError(f"import subprocess failed (rc {proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def import_overhead(warm_runs: int, stock_runs: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="fast-litellm-bench-cache-") as cache:
        cold = _run_snippet(ACCELERATED_SNIPPET, cache)
        if cold["cache_hit"] is not False or cold["status"] != "accelerated":
            raise BenchError(f"cold import run was not a cold, accelerated start: {cold}")
        warm = []
        for _ in range(warm_runs):
            w = _run_snippet(ACCELERATED_SNIPPET, cache)
            if w["cache_hit"] is not True or w["status"] != "accelerated" or w["served_by_component"] != 1:
                raise BenchError(f"warm import run did not load the cached component / serve the call: {w}")
            warm.append(w)
    stock = [_run_snippet(STOCK_SNIPPET, None) for _ in range(stock_runs)]
    if any(s["count"] != cold["count"] for s in stock + warm):
        raise BenchError("first-call counts differ between stock and accelerated subprocesses")

    def med_ms(values: list[float]) -> float:
        return statistics.median(values) * 1e3

    return {
        "command": IMPORT_COMMAND,
        "cold_import_ms": cold["import_s"] * 1e3,
        "cold_first_call_ms": cold["first_call_s"] * 1e3,
        "warm_import_ms_median": med_ms([w["import_s"] for w in warm]),
        "warm_import_ms_all": [w["import_s"] * 1e3 for w in warm],
        "warm_first_call_ms_median": med_ms([w["first_call_s"] for w in warm]),
        "warm_first_call_ms_all": [w["first_call_s"] * 1e3 for w in warm],
        "warm_import_plus_first_call_ms_median": med_ms([w["import_s"] + w["first_call_s"] for w in warm]),
        "stock_first_call_ms_median": med_ms([s["first_call_s"] for s in stock]),
        "stock_first_call_ms_all": [s["first_call_s"] * 1e3 for s in stock],
        "warm_runs": warm_runs,
        "stock_runs": stock_runs,
    }


# --------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------


def fmt_us(us: float) -> str:
    if us >= 10_000:
        return f"{us:,.0f}"
    if us >= 100:
        return f"{us:,.1f}"
    return f"{us:.2f}"


def machine_info() -> dict:
    cpu_model = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = None
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": affinity,
        "cpu_model": cpu_model,
        "litellm": dist_version("litellm"),
        "wasmtime": dist_version("wasmtime"),
        "tiktoken": dist_version("tiktoken"),
        "fast_litellm": __import__("fast_litellm").__version__,
        "load_average_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "git_commit": _git("rev-parse", "HEAD"),
        "git_dirty_files": _git("status", "--porcelain", "--untracked-files=no", "--", "src", "host-python", "wit"),
        "component_sha256": _component_sha256(),
    }


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10)
        return out.stdout.strip() if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def _component_sha256() -> str | None:
    import hashlib

    try:
        from fast_litellm._component import COMPONENT

        return hashlib.sha256(Path(COMPONENT.path).read_bytes()).hexdigest()
    except Exception:
        return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer iterations: a smoke test (< 30 s)")
    ap.add_argument("--output", type=Path, default=HERE / "results" / "tokens.json",
                    help="where to write the JSON results (default: benches/results/tokens.json)")
    ap.add_argument("--skip-import", action="store_true", help="skip the import-overhead subprocesses")
    args = ap.parse_args(argv)

    t_start = time.perf_counter()
    rounds, samples = (3, 2) if args.quick else (15, 5)
    warm_runs, stock_runs = (1, 1) if args.quick else (5, 5)

    import litellm  # noqa: F401
    import fast_litellm

    if not fast_litellm.RUST_ACCELERATION_AVAILABLE:
        raise BenchError(f"fast_litellm is not accelerating: {json.dumps(fast_litellm.health_check(), default=str)}")
    info = machine_info()
    mode = "quick" if args.quick else "full"
    print(f"fast-litellm benchmark ({mode}): stock litellm vs accelerated, same process")
    print(f"  python {info['python']}, litellm {info['litellm']}, wasmtime {info['wasmtime']}, "
          f"tiktoken {info['tiktoken']}, {info['cpu_count']} CPUs ({info['cpu_model']})")
    print(f"  git {str(info['git_commit'])[:12]}{' (src/host-python/wit modified)' if info['git_dirty_files'] else ''}, "
          f"component sha256 {str(info['component_sha256'])[:16]}")
    if info["load_average_at_start"]:
        print("  load average at start: " + ", ".join(f"{x:.2f}" for x in info["load_average_at_start"]))

    t = time.perf_counter()
    rows = build_rows(args.quick, samples)
    # decode's inputs: the tokens of its 10 KB texts (stock encode; parity covers encode)
    stock_phase()
    dec = next(r for r in rows if r.key == "decode_10kb")
    dec.pool = [litellm.encode(model="gpt-3.5-turbo", text=d) for d in dec.pool]
    for row in rows:  # every short input distinct within a phase
        if not row.cycle:
            assert len(row.pool) == row.n * samples, row.key
    warm_rng = random.Random(999)
    warmup = {
        row.key: ([row.pool[0]] * 2 if row.cycle else [
            # same shape as the row's inputs but never timed: swap in fresh text
            _fresh_like(row.pool[0], warm_rng) for _ in range(2)])
        for row in rows
    }
    print(f"  inputs generated in {time.perf_counter() - t:.1f} s")

    t = time.perf_counter()
    accelerated_phase()
    fast_litellm.reset_performance_stats()
    for row in rows:  # first call per encoding builds tables (50-150 ms): warm both phases
        for phase in (stock_phase, accelerated_phase):
            phase()
            for w in warmup[row.key]:
                (row.acc_call if phase is accelerated_phase else row.stock_call)(w)
    accelerated_phase()
    mark_unpatched(rows)
    checked = parity(rows)
    print(f"  parity: {checked} inputs, accelerated == stock for every one ({time.perf_counter() - t:.1f} s)")

    fast_litellm.reset_performance_stats()
    t = time.perf_counter()
    print(f"  timing: {rounds} rounds x {samples} samples per phase, phases alternating")
    run_rounds(rows, rounds, samples, warmup)
    accelerated_phase()
    perf_stats = fast_litellm.get_performance_stats()
    perf_stats.pop("metrics", None)  # latency series: in the JSON below, not the printout
    timing_s = time.perf_counter() - t
    bookkeeping = metrics_overhead(args.quick)

    imports = None
    if not args.skip_import:
        t = time.perf_counter()
        print(f"  import overhead: 1 cold + {warm_runs} warm accelerated subprocesses, {stock_runs} stock")
        imports = import_overhead(warm_runs, stock_runs)
        print(f"  ... done in {time.perf_counter() - t:.1f} s")

    # ---- table ----
    results = []
    header = f"{'row':<58} {'stock µs':>11} {'accel µs':>11} {'ratio':>7}"
    lines = [header, "-" * len(header)]
    below: list[str] = []
    unpatched: list[str] = []
    # rows the component serves first; then the ones litellm serves (hand-off, decode),
    # which show what routing costs rather than a speed-up
    served_by_litellm = [r for r in rows if not r.patched or r.key in HANDOFF_ROWS]
    ordered = [r for r in rows if r not in served_by_litellm] + served_by_litellm
    for row in ordered:
        if row is (served_by_litellm[0] if served_by_litellm else None):
            lines.append("-" * len(header))
            lines.append("served by litellm's own code (the cost of routing, not a speed-up):")
        s_us = statistics.median(row.samples["stock"]) * 1e6
        a_us = statistics.median(row.samples["accelerated"]) * 1e6
        ratio = s_us / a_us
        if not row.patched:
            flag = "  not patched (litellm's own)"
            unpatched.append(row.label)
        else:
            target = target_for(row.key)
            flag = "" if ratio >= target else f"  BELOW TARGET {target:g}x"
            if ratio < target:
                below.append(row.label)
        lines.append(f"{row.label:<58} {fmt_us(s_us):>11} {fmt_us(a_us):>11} {ratio:>6.1f}x{flag}")
        results.append({
            "key": row.key,
            "label": row.label,
            "unit": row.unit,
            "items_per_sample": row.n,
            "samples_per_phase": len(row.samples["stock"]),
            "distinct_inputs": len(row.pool),
            "stock_us": _summary(row.samples["stock"]),
            "accelerated_us": _summary(row.samples["accelerated"]),
            "ratio": ratio,
            "patched": row.patched,
            "served": row.served if row.operation != "batch" else {"count_texts_calls": row.served["batch_calls"]},
            "note": row.note,
        })
    if imports:
        lines.append("-" * len(header))
        lines.append(f"{'import fast_litellm, cold (compiles the component)':<58} {'':>11} "
                     f"{imports['cold_import_ms']:>8.1f} ms")
        lines.append(f"{'import fast_litellm, warm (cached compiled component)':<58} {'':>11} "
                     f"{imports['warm_import_ms_median']:>8.1f} ms")
        lines.append(f"{'first token_counter call after import (warm)':<58} "
                     f"{imports['stock_first_call_ms_median']:>8.1f} ms "
                     f"{imports['warm_first_call_ms_median']:>8.1f} ms")
        lines.append(f"{'import fast_litellm + first call (stock: first call only)':<58} "
                     f"{imports['stock_first_call_ms_median']:>8.1f} ms "
                     f"{imports['warm_import_plus_first_call_ms_median']:>8.1f} ms")
    table = "\n".join(lines)

    print()
    print("median per call in µs; rows '(per 100)' and count_tokens_batch time all 100 texts;"
          " ratio = stock / accelerated")
    print(table)
    print()
    print("fast_litellm.get_performance_stats() over the timed rounds (accelerated phases, warm-up calls included):")
    print(json.dumps(perf_stats, indent=2))
    print(f"\nbookkeeping: accelerated short chat with latency metrics on {bookkeeping['metrics_on_us']:.2f} µs, "
          f"off {bookkeeping['metrics_off_us']:.2f} µs: {bookkeeping['overhead_pct']:+.1f}% "
          f"(median over {bookkeeping['pairs']} pairs of rounds; target at most +5%)")
    if below:
        print("\nrows below their target (short chats 3x, every row 1x): " + "; ".join(below))
    for row in rows:
        if not row.patched:
            print(f"\n{row.label}: {row.note}")

    total_s = time.perf_counter() - t_start
    out = {
        "benchmark": "tokens",
        "mode": mode,
        "command": COMMAND + (" --quick" if args.quick else ""),
        "argv": [sys.executable, *sys.argv],
        "date_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": info,
        "method": {
            "rounds": rounds,
            "samples_per_phase_per_round": samples,
            "phase_order": "alternating stock/accelerated, first phase swapped every round",
            "statistic": "median of per-item time over all samples of the phase",
            "gc_disabled_while_timing": True,
            "stock": "fast_litellm.remove_acceleration(), then the public litellm API",
            "accelerated": "fast_litellm.apply_acceleration(), then the public litellm API",
            "short_inputs_distinct_within_phase": True,
            "memo_cleared_before_each_accelerated_phase": True,
        },
        "parity_inputs_checked": checked,
        "bookkeeping": bookkeeping,
        "rows": results,
        "import_overhead": imports,
        "performance_stats_accelerated_timing": perf_stats,
        "rows_below_target": below,
        "rows_not_patched": unpatched,
        "targets": {"short_chat_rows": SHORT_CHAT_TARGET, "every_row": FLOOR_RATIO},
        "load_average_at_end": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "timing_seconds": timing_s,
        "total_seconds": total_s,
        "table": table,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    try:
        shown = args.output.resolve().relative_to(ROOT)
    except ValueError:
        shown = args.output
    if out["load_average_at_end"]:
        print("load average at end: " + ", ".join(f"{x:.2f}" for x in out["load_average_at_end"]))
    print(f"\nresults written to {shown} (total {total_s:.0f} s)")
    return 0


def _summary(values: list[float]) -> dict:
    us = sorted(v * 1e6 for v in values)
    q = statistics.quantiles(us, n=4) if len(us) >= 2 else [us[0]] * 3
    return {"median": statistics.median(us), "min": us[0], "max": us[-1], "q1": q[0], "q3": q[2],
            "samples": us}


def _fresh_like(item: Any, rng: random.Random) -> Any:
    """A warm-up input shaped like `item` whose texts are never timed."""
    if isinstance(item, str):
        return "warm-up: " + short_text(rng)
    if isinstance(item, list) and item and isinstance(item[0], str):
        return ["warm-up: " + short_text(rng) for _ in item]
    if isinstance(item, list):
        return [dict(m, content="warm-up: " + short_text(rng)) if m["role"] != "system" else m for m in item]
    return item


if __name__ == "__main__":
    sys.exit(main())
