"""The Python host around the component: threads, traps, hostile inputs, patching.

Every expected value here is computed by stock litellm (the `stock` fixture) in this
process; the accelerated path must give the same answer, and the component must keep
serving afterwards.
"""

from __future__ import annotations

import importlib
import json
import os
import random
import threading

import litellm
import pytest
import wasmtime

import fast_litellm
from fast_litellm import _patch, tokens
from fast_litellm._component import COMPONENT
from fast_litellm._rust import SimpleTokenCounter

from conftest import outcome

MODELS = ["gpt-3.5-turbo", "gpt-4o", "gpt-4", "gpt-4o-mini", "gpt-4.1", "o1", "text-davinci-003"]

WORDS = [
    "hello", "world", "héllo", "naïve", "日本語のテキスト", "Ελληνικά", "🙂", "👩‍👩‍👧", "  ", "\n", "\t",
    "x" * 40, "1234567890", "<|endoftext|>", "def f(x):\n    return x * 2", "ünïcödé", "混合 mixed",
    "\u200b", "ﬁ", "مرحبا", "Привет", "   leading", "trailing   ", "{\"json\": [1, 2, 3]}",
]


# -- helpers ---------------------------------------------------------------------------


def _stats() -> dict:
    return fast_litellm.get_performance_stats()


def _served(stats: dict, op: str = "token_counter") -> int:
    return stats["operations"].get(op, {}).get("component", 0)


def _handed(stats: dict, reason: str, op: str = "token_counter") -> int:
    return stats["operations"].get(op, {}).get("handed_to_litellm", {}).get(reason, 0)


def _random_text(rng: random.Random, max_words: int = 30) -> str:
    return "".join(rng.choice(WORDS) + rng.choice(["", " ", " ", "\n"]) for _ in range(rng.randint(0, max_words)))


def _random_message(rng: random.Random) -> dict:
    kind = rng.randrange(6)
    if kind == 0:
        return {"role": "system", "content": _random_text(rng)}
    if kind == 1:
        return {"role": "user", "content": _random_text(rng), **({"name": "alice"} if rng.random() < 0.3 else {})}
    if kind == 2:
        blocks = [{"type": "text", "text": _random_text(rng, 10)} for _ in range(rng.randint(1, 3))]
        return {"role": "user", "content": blocks}
    if kind == 3:
        args = json.dumps({"city": _random_text(rng, 3), "days": rng.randint(1, 9)}, ensure_ascii=False)
        call = {"id": f"call_{rng.randrange(10**6)}", "type": "function",
                "function": {"name": rng.choice(["get_weather", "lookup"]), "arguments": args}}
        return {"role": "assistant", "content": None, "tool_calls": [call]}
    if kind == 4:
        return {"role": "tool", "tool_call_id": "call_1", "content": _random_text(rng, 8)}
    return {"role": "assistant", "content": _random_text(rng)}


def _random_case(rng: random.Random, stock) -> tuple[str, dict, object]:
    """(operation, kwargs, stock result)."""
    model = rng.choice(MODELS)
    roll = rng.random()
    if roll < 0.65:
        kwargs = {"model": model, "messages": [_random_message(rng) for _ in range(rng.randint(1, 6))]}
        if rng.random() < 0.2:
            kwargs["count_response_tokens"] = True
        return "token_counter", kwargs, stock.token_counter(**kwargs)
    if roll < 0.85:
        kwargs = {"model": model, "text": _random_text(rng, 60)}
        return "token_counter", kwargs, stock.token_counter(**kwargs)
    text = _random_text(rng, 40)
    if roll < 0.93:
        kwargs = {"model": model, "text": text}
        return "encode", kwargs, stock.encode(**kwargs)
    kwargs = {"model": model, "tokens": stock.encode(model=model, text=text)}
    return "decode", kwargs, stock.decode(**kwargs)


def _live(label: str):
    module, name = label.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)


_REPLACEMENTS = {
    "token_counter": tokens.token_counter,
    "messages_reach_token_count": tokens.messages_reach_token_count,
    "encode": tokens.encode,
    "decode": tokens.decode,
}


# -- threads -------------------------------------------------------------------------------


def test_sixteen_threads_agree_with_stock(stock):
    n_threads, calls_per_thread = 16, 200
    rng = random.Random(20240601)
    cases = [_random_case(rng, stock) for _ in range(800)]  # stock, single-threaded
    plans = [random.Random(seed).choices(range(len(cases)), k=calls_per_thread) for seed in range(n_threads)]
    # decode through our function even when it is not installed (tokens.SERVE_DECODE), so
    # the component's decode path is exercised under contention too
    funcs = {"token_counter": litellm.token_counter, "encode": litellm.encode, "decode": tokens.decode}
    assert litellm.encode is tokens.encode

    COMPONENT.load()
    instantiations = COMPONENT.instantiations
    before = _stats()
    start = threading.Barrier(n_threads)
    mismatches: list = []
    errors: list = []
    done = [0] * n_threads

    def worker(t: int) -> None:
        try:
            start.wait()
            for i in plans[t]:
                op, kwargs, expected = cases[i]
                got = funcs[op](**kwargs)
                if got != expected:
                    mismatches.append((t, op, kwargs, expected, got))
                done[t] += 1
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append((t, repr(exc)))

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(n_threads)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()

    after = _stats()
    assert errors == []
    assert mismatches == [], mismatches[:3]
    assert done == [calls_per_thread] * n_threads
    assert after["component_traps"] == before["component_traps"]
    assert COMPONENT.instantiations == instantiations
    # every call really went through the component (the generator only builds requests
    # it models), none around it
    for op in funcs:
        calls = sum(1 for plan in plans for i in plan if cases[i][0] == op)
        assert calls > 0
        assert _served(after, op) - _served(before, op) == calls, (op, calls, after)
        handed = after["operations"][op]["litellm"] - before["operations"].get(op, {}).get("litellm", 0)
        assert handed == 0, (op, after)


# -- traps and re-instantiation -------------------------------------------------------------


def _raise_trap(calls: list):
    def boom(*args):
        calls.append(args)
        raise wasmtime.WasmtimeError("injected trap")

    return boom


@pytest.mark.parametrize("path", ["count_request", "count_text", "messages_reach"])
def test_trap_is_served_by_litellm_and_instance_rebuilt(stock, monkeypatch, path):
    from litellm.litellm_core_utils import token_counter as core

    messages = [{"role": "user", "content": "trap me, then recover"}]
    if path == "count_request":
        op, bound = "token_counter", "count_request"
        call = lambda: litellm.token_counter(model="gpt-4o", messages=messages)  # noqa: E731
        expected = stock.token_counter(model="gpt-4o", messages=messages)
    elif path == "count_text":
        op, bound = "token_counter", "count_text"
        call = lambda: litellm.token_counter(model="gpt-3.5-turbo", text="trap me")  # noqa: E731
        expected = stock.token_counter(model="gpt-3.5-turbo", text="trap me")
    else:
        op, bound = "messages_reach_token_count", "count_request"
        call = lambda: core.messages_reach_token_count("gpt-4o", messages, 5)  # noqa: E731
        expected = stock.messages_reach_token_count("gpt-4o", messages, 5)

    COMPONENT.load()
    fast_litellm.reset_errors()
    instance = COMPONENT._instance
    instantiations = COMPONENT.instantiations
    calls: list = []
    boom = _raise_trap(calls)
    if bound == "count_request":
        monkeypatch.setattr(instance, "count_request", boom)
    else:  # one bound function per encoding
        monkeypatch.setattr(instance, "count_text", [boom] * len(instance.count_text))

    before = _stats()
    assert call() == expected
    trapped = _stats()
    assert len(calls) == 1  # the injected trap really ran
    assert trapped["component_traps"] == before["component_traps"] + 1
    assert _handed(trapped, "component_error", op) == _handed(before, "component_error", op) + 1
    assert _served(trapped, op) == _served(before, op)
    # the poisoned instance was dropped; recording the error for the circuit breaker
    # already built its replacement
    assert COMPONENT._instance is not instance
    assert COMPONENT.instantiations == instantiations + 1
    assert fast_litellm.get_feature_status()["rust_token_counting"]["errors"] == 1

    assert call() == expected
    recovered = _stats()
    assert len(calls) == 1  # the new instance does not carry the fault
    assert COMPONENT.instantiations == instantiations + 1
    assert COMPONENT._instance is not None and COMPONENT._instance is not instance
    assert _served(recovered, op) == _served(trapped, op) + 1
    assert recovered["component_traps"] == trapped["component_traps"]
    assert recovered["component_instantiations"] == instantiations + 1
    # the rebuilt instance carries litellm's settings and counts everything else right too
    other = {"model": "gpt-4", "messages": [{"role": "system", "content": "ünïcödé " * 50}]}
    before = _stats()
    assert litellm.token_counter(**other) == stock.token_counter(**other)
    assert _served(_stats()) == _served(before) + 1


# -- hostile inputs ---------------------------------------------------------------------------

_BAD_TOKEN_COUNTER_INPUTS = [
    {"text": "\ud800"},
    {"text": "a\udfffb\ud83d"},
    {"text": ["ok", "\udc80"]},
    {"messages": [{"role": "user", "content": "\ud800 lone"}]},
    {"messages": [{"role": "user", "content": [{"type": "text", "text": "x\udbff"}]}]},
    {"messages": "hello"},
    {"messages": {"role": "user", "content": "not a list"}},
    {"messages": [1, 2]},
    {"messages": [None]},
    {"messages": [{"content": "no role"}]},
    {"messages": [{"role": "user"}]},
    {"messages": [{"role": "user", "content": 123}]},
    {"messages": [{"role": "user", "content": 1.5}]},
    {"messages": [{"role": "user", "content": {"a": 1}}]},
    {"messages": [{"role": "user", "content": ["a", "b"]}]},
    {"messages": [{"role": "user", "content": [{"type": "text"}]}]},
    {"messages": [{"role": "user", "content": [{"type": "mystery", "x": 1}]}]},
    {"messages": [{"role": "user", "content": b"bytes"}]},
    {"messages": [{"role": "user", "content": "x", "name": 7}]},
    {"messages": [{"role": "assistant", "content": None, "tool_calls": "bad"}]},
    {"messages": [{"role": "assistant", "content": None, "tool_calls": [123]}]},
    {"messages": [{"role": "assistant", "content": None, "tool_calls": [{}]}]},
    {"messages": [{"role": "assistant", "content": None, "tool_calls": [{"function": None}]}]},
    {"messages": [{"role": "assistant", "content": None, "tool_calls": [{"function": "f"}]}]},
    {"messages": [{"role": "assistant", "content": None,
                   "tool_calls": [{"id": "1", "type": "function", "function": {"name": 1, "arguments": {}}}]}]},
    {"messages": [{"role": "assistant", "content": None,
                   "tool_calls": [{"id": "1", "type": "function", "function": {"arguments": "{}"}}]}]},
    {"messages": [{"role": "user", "content": "x"}], "tools": "not tools"},
    {"messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function"}]},
    {"messages": [{"role": "user", "content": "x"}], "tool_choice": {"type": "function"}},
    {"messages": None},
    {"text": 5},
    {"text": None, "messages": None},
    {"text": "both", "messages": [{"role": "user", "content": "x"}]},
]


def _cyclic_messages():
    message = {"role": "user", "content": "x"}
    message["self"] = message
    return [message]


def _assert_component_still_serves(stock, instantiations: int, traps: int) -> None:
    kwargs = {"model": "gpt-3.5-turbo", "messages": [{"role": "user", "content": "still healthy?"}]}
    expected = stock.token_counter(**kwargs)
    before = _stats()
    assert litellm.token_counter(**kwargs) == expected
    after = _stats()
    assert _served(after) == _served(before) + 1, "the component did not serve a normal call"
    assert COMPONENT.instantiations == instantiations
    assert after["component_traps"] == traps


@pytest.mark.parametrize("model", ["gpt-3.5-turbo", "gpt-4o"])
@pytest.mark.parametrize("kwargs", _BAD_TOKEN_COUNTER_INPUTS + [{"messages": _cyclic_messages()}],
                         ids=lambda kw: repr(kw)[:60])
def test_bad_token_counter_input_matches_stock_and_does_not_poison(stock, model, kwargs):
    COMPONENT.load()
    instantiations = COMPONENT.instantiations
    traps = _stats()["component_traps"]
    expected = outcome(stock.token_counter, model=model, **kwargs)
    got = outcome(litellm.token_counter, model=model, **kwargs)
    assert got == expected
    _assert_component_still_serves(stock, instantiations, traps)


@pytest.mark.parametrize(
    "messages",
    [kw["messages"] for kw in _BAD_TOKEN_COUNTER_INPUTS if set(kw) == {"messages"}] + [_cyclic_messages()],
    ids=lambda m: repr(m)[:60],
)
def test_bad_messages_reach_token_count_input_matches_stock(stock, messages):
    from litellm.litellm_core_utils import token_counter as core

    assert core.messages_reach_token_count is tokens.messages_reach_token_count
    COMPONENT.load()
    instantiations = COMPONENT.instantiations
    traps = _stats()["component_traps"]
    for threshold in (1, 10**6):
        expected = outcome(stock.messages_reach_token_count, "gpt-4o", messages, threshold)
        got = outcome(core.messages_reach_token_count, "gpt-4o", messages, threshold)
        assert got == expected, threshold
    _assert_component_still_serves(stock, instantiations, traps)


@pytest.mark.parametrize(
    "op, kwargs",
    [
        ("encode", {"text": "\ud800"}),
        ("encode", {"text": "a\udc80b\udfff"}),
        ("encode", {"text": None}),
        ("encode", {"text": 12}),
        ("decode", {"tokens": [10**9]}),
        ("decode", {"tokens": [-1]}),
        ("decode", {"tokens": [2**32 + 5]}),
        ("decode", {"tokens": ["a"]}),
        ("decode", {"tokens": [True, 9906]}),
        ("decode", {"tokens": "9906"}),
        ("decode", {"tokens": None}),
        ("decode", {"tokens": [100276, 9906]}),  # a special token's id
    ],
    ids=repr,
)
def test_bad_encode_decode_input_matches_stock_and_does_not_poison(stock, op, kwargs):
    COMPONENT.load()
    instantiations = COMPONENT.instantiations
    traps = _stats()["component_traps"]
    expected = outcome(getattr(stock, op), model="gpt-4o", **kwargs)
    # our function itself: litellm.decode is only ours while tokens.SERVE_DECODE is on
    got = outcome(getattr(tokens, op), model="gpt-4o", **kwargs)
    assert got == expected
    _assert_component_still_serves(stock, instantiations, traps)


@pytest.mark.parametrize(
    "kwargs",
    [{"messages": None}, {"messages": "hello"}, {"messages": [{"role": "assistant", "tool_calls": [{}]}]}],
    ids=repr,
)
def test_input_litellm_raises_on_is_handed_off_once(stock, monkeypatch, kwargs):
    """litellm's own function runs once, and its exception is not booked as a component error."""
    calls = []
    original = tokens.ORIGINALS["token_counter"]

    def counting(*args, **kw):
        calls.append(args)
        return original(*args, **kw)

    monkeypatch.setitem(tokens.ORIGINALS, "token_counter", counting)
    before = _stats()
    _, error = outcome(litellm.token_counter, model="gpt-3.5-turbo", **kwargs)
    after = _stats()
    assert error is not None
    assert len(calls) == 1, "litellm's token_counter ran more than once for one call"
    assert _handed(after, "component_error") == _handed(before, "component_error")


# -- patching -----------------------------------------------------------------------------------


# Installed unconditionally; litellm.decode / litellm.utils.decode join them while
# tokens.SERVE_DECODE is on (decode is left to litellm while it is faster there).
# the public token_counter names held litellm's wrapper (litellm.utils.token_counter)
_WRAPPER_LABELS = {"litellm.utils.token_counter", "litellm.token_counter"}
_CORE_LABELS = _WRAPPER_LABELS | {
    "litellm._lazy_imports._token_counter_new_func",
    "litellm.litellm_core_utils.token_counter.token_counter",
    "litellm.compression.compress.token_counter",
    "litellm.llms.openai.common_utils.token_counter",
    "litellm._lazy_imports._messages_reach_token_count_func",
    "litellm.litellm_core_utils.token_counter.messages_reach_token_count",
    "litellm.utils.encode",
    "litellm.encode",
}
_DECODE_LABELS = {"litellm.utils.decode", "litellm.decode"}


def _serves_decode() -> bool:
    return bool(getattr(tokens, "SERVE_DECODE", True))


def _assert_all_patched(stock) -> None:
    status = fast_litellm.get_patch_status()
    assert len(status) == len(_patch.TARGETS)
    assert set(status) == _CORE_LABELS | (_DECODE_LABELS if _serves_decode() else set())
    for label, entry in status.items():
        assert entry["patched"] is True, (label, entry)
        assert "problem" not in entry, (label, entry)
        assert _live(label) is _REPLACEMENTS[entry["operation"]], label
    assert litellm._lazy_imports._token_counter_new_func is fast_litellm.tokens.token_counter
    assert litellm.litellm_core_utils.token_counter.token_counter is tokens.token_counter
    assert litellm.encode is tokens.encode and litellm.utils.encode is tokens.encode
    decode = tokens.decode if _serves_decode() else stock.decode
    assert litellm.decode is decode and litellm.utils.decode is decode
    assert fast_litellm.health_check()["status"] == "accelerated"


def test_patch_status_reports_the_live_objects(stock):
    _assert_all_patched(stock)
    # the originals kept for hand-offs are litellm's, never our own functions
    for op, fn in tokens.ORIGINALS.items():
        assert fn is not _REPLACEMENTS[op]
        assert fn.__module__.startswith("litellm"), (op, fn)


def test_apply_twice_is_idempotent(stock):
    targets = list(_patch.TARGETS)
    originals = dict(tokens.ORIGINALS)
    assert fast_litellm.apply_acceleration() is True
    assert fast_litellm.apply_acceleration() is True
    assert len(_patch.TARGETS) == len(targets)
    assert all(a is b for a, b in zip(_patch.TARGETS, targets))  # nothing re-captured
    assert all(tokens.ORIGINALS[op] is fn for op, fn in originals.items())
    _assert_all_patched(stock)


def test_remove_restores_exact_originals_and_apply_reinstalls(stock):
    labels = {t.label: t.operation for t in _patch.TARGETS}
    assert _CORE_LABELS <= set(labels)
    originals = dict(tokens.ORIGINALS)
    wrapper = next(t.original for t in _patch.TARGETS if t.label == "litellm.utils.token_counter")
    assert wrapper.__module__ == "litellm.utils" and wrapper is not originals["token_counter"]
    kwargs = {"model": "gpt-4o", "messages": [{"role": "user", "content": "restore me"}]}
    expected = stock.token_counter(**kwargs)
    try:
        assert fast_litellm.remove_acceleration() is True
        for label, op in labels.items():
            assert _live(label) is (wrapper if label in _WRAPPER_LABELS else originals[op]), label
        assert litellm.encode is stock.encode is litellm.utils.encode
        assert litellm.decode is stock.decode is litellm.utils.decode
        assert litellm._lazy_imports._token_counter_new_func is stock.token_counter
        assert litellm._lazy_imports._messages_reach_token_count_func is stock.messages_reach_token_count
        assert litellm.litellm_core_utils.token_counter.token_counter is stock.token_counter
        assert not any(entry["patched"] for entry in fast_litellm.get_patch_status().values())
        assert fast_litellm.health_check()["status"] == "unaccelerated"
        assert fast_litellm.remove_acceleration() is False  # nothing left to restore

        before = _stats()
        assert litellm.token_counter(**kwargs) == expected
        assert litellm.decode(model="gpt-4o", tokens=litellm.encode(model="gpt-4o", text="round trip")) == "round trip"
        assert _stats()["operations"] == before["operations"]  # stock litellm, not us
    finally:
        applied = fast_litellm.apply_acceleration()
    assert applied is True
    _assert_all_patched(stock)
    assert all(tokens.ORIGINALS[op] is fn for op, fn in originals.items())
    before = _stats()
    assert litellm.token_counter(**kwargs) == expected
    assert _served(_stats()) == _served(before) + 1


def test_health_check_keys_and_status():
    health = fast_litellm.health_check()
    assert set(health) == {
        "status", "rust_available", "fast_litellm_version", "component_path", "component_version", "component_error",
        "compiled_cache", "litellm_version", "litellm_version_verified", "litellm_verified_features",
        "verified_litellm_versions", "unrecognised_litellm_internals", "patches", "routing", "features", "configuration_warnings",
    }
    assert health["features"]["rust_token_counting"]["state"] == "enabled"
    assert health["configuration_warnings"] == []
    assert health["status"] == "accelerated"
    assert health["component_version"] == fast_litellm.__version__
    assert health["rust_available"] is True
    assert health["component_error"] is None
    assert health["component_path"] == str(COMPONENT.path) and COMPONENT.path.is_file()
    assert set(health["compiled_cache"]) == {"cache_file", "cache_hit", "cache_error"}
    # the pinned release, or the one `just test` / `just test-litellm` runs the suite on next
    release = os.environ.get("FAST_LITELLM_TEST_RELEASE", "1.106.2")
    assert health["litellm_version"] == release
    verified = {"1.106.2": ["rust_token_counting", "rust_routing"],
                "1.106.10": ["rust_token_counting", "rust_routing"], "1.109.1": ["rust_token_counting", "rust_routing"]}
    assert health["litellm_version_verified"] is (release in verified)
    assert health["litellm_verified_features"] == verified.get(release, [])
    assert health["verified_litellm_versions"] == list(verified)
    assert health["unrecognised_litellm_internals"] == []
    assert health["patches"] == fast_litellm.get_patch_status()
    assert all(entry["patched"] for entry in health["patches"].values())
    json.dumps(health)  # plain data, loggable as is


# -- SimpleTokenCounter (the old PyO3 API) ----------------------------------------------------


def _batch_texts() -> list[str]:
    rng = random.Random(7)
    texts = ["", "", " ", "a", "hello world", "日本語", "🙂" * 20, "naïve café", "x" * 5000]
    texts += [_random_text(rng, 50) for _ in range(100 - len(texts))]
    assert len(texts) == 100
    return texts


@pytest.mark.parametrize("model", ["gpt-3.5-turbo", "gpt-4o"])
def test_simple_token_counter_counts(stock, model):
    counter = SimpleTokenCounter()
    texts = _batch_texts()
    expected = [litellm.token_counter(model=model, text=t) for t in texts]
    assert expected == [stock.token_counter(model=model, text=t) for t in texts]
    assert [counter.count_tokens(t, model=model) for t in texts] == expected
    assert counter.count_tokens_batch(texts, model=model) == expected
    assert counter.count_tokens_batch(tuple(texts), model=model) == expected
    assert counter.count_tokens_batch([], model=model) == []


def test_simple_token_counter_default_model(stock):
    counter = SimpleTokenCounter()
    assert counter.count_tokens("hello there, wörld") == stock.token_counter(model="gpt-3.5-turbo", text="hello there, wörld")


def test_simple_token_counter_cost_and_limits():
    counter = SimpleTokenCounter(model_max_tokens=1234)
    prompt, completion = litellm.cost_per_token(model="gpt-3.5-turbo", prompt_tokens=1000, completion_tokens=250)
    assert counter.estimate_cost(1000, 250, model="gpt-3.5-turbo") == prompt + completion
    assert counter.estimate_cost(1000, 250) == prompt + completion
    assert prompt + completion > 0
    assert counter.estimate_cost(0, 0) == 0

    info = litellm.get_model_info("gpt-3.5-turbo")
    assert counter.get_model_limits("gpt-3.5-turbo") == {
        "max_input_tokens": info["max_input_tokens"],
        "max_output_tokens": info["max_output_tokens"],
        "max_tokens": info["max_tokens"],
        "known": True,
    }
    assert counter.get_model_limits("no-such-model-fast-litellm-test") == {
        "max_input_tokens": 1234, "max_output_tokens": 1234, "max_tokens": 1234, "known": False,
    }


@pytest.mark.parametrize("bad", [-1, 0, 1.5, "4096", None, True])
def test_simple_token_counter_rejects_bad_max_tokens(bad):
    with pytest.raises(ValueError):
        SimpleTokenCounter(model_max_tokens=bad)


@pytest.mark.parametrize("bad", [None, 5, b"bytes", ["a"]])
def test_simple_token_counter_rejects_non_str_text(bad):
    counter = SimpleTokenCounter()
    with pytest.raises(ValueError):
        counter.count_tokens(bad)
    with pytest.raises(ValueError):
        counter.count_tokens_batch(["ok", bad])


def test_simple_token_counter_rejects_bad_batch_and_costs():
    counter = SimpleTokenCounter()
    with pytest.raises(ValueError):
        counter.count_tokens_batch("not a list")
    with pytest.raises(ValueError):
        counter.estimate_cost(-1, 0)
    with pytest.raises(ValueError):
        counter.estimate_cost(0, 2.5)
