"""`import fast_litellm` in fresh processes: the compiled-component cache and every way
loading can go wrong. Whatever happens, the import succeeds and litellm's counts are the
stock ones; only the health report says what was lost.

Each case runs `sys.executable -c ...` with its own FAST_LITELLM_CACHE_DIR, so the user's
cache is never touched. Timings are printed (pytest -s), never asserted.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import environment_without_our_settings

# Requests whose stock counts the parent process computes; the child must reproduce them.
CASES = [
    {"model": "gpt-3.5-turbo", "text": "Hello, world! This is fast-litellm."},
    {"model": "gpt-4o", "text": "naïve café, 日本語のテキスト, 🙂🙂"},
    {"model": "gpt-4o", "messages": [{"role": "system", "content": "You are terse."},
                                     {"role": "user", "content": "Count me, please.", "name": "bob"}]},
    {"model": "gpt-4", "messages": [
        {"role": "user", "content": [{"type": "text", "text": "two"}, {"type": "text", "text": "blocks"}]},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{\"a\": 1}"}}]},
    ]},
]

CHILD = r"""
import json, os, sys, time
t0 = time.perf_counter()
import litellm
t1 = time.perf_counter()
import fast_litellm
t2 = time.perf_counter()
from fast_litellm import tokens
from fast_litellm._component import COMPONENT

cases = json.loads(sys.argv[1])
counts = [litellm.token_counter(**case) for case in cases]
stock = tokens.ORIGINALS.get("token_counter")
out = {
    "health": fast_litellm.health_check(),
    "available": fast_litellm.RUST_ACCELERATION_AVAILABLE,
    "counts": counts,
    "stock_counts": [stock(**case) for case in cases] if stock is not None else None,
    "funnel_is_ours": litellm._lazy_imports._token_counter_new_func is tokens.token_counter,
    "stats": fast_litellm.get_performance_stats(),
    "instantiations": COMPONENT.instantiations,
    "import_litellm_s": t1 - t0,
    "import_fast_litellm_s": t2 - t1,
}
if os.environ.get("PROBE_API"):  # the public API, after the health report was taken
    from fast_litellm._rust import SimpleTokenCounter

    def outcome(call):
        try:
            return ["ok", call()]
        except Exception as exc:
            return ["raised", type(exc).__name__, str(exc)]

    out["api"] = {
        "is_enabled": [fast_litellm.is_enabled(f) for f in ("rust_token_counting", "rust_routing")],
        "set_feature_state": outcome(lambda: fast_litellm.set_feature_state("rust_routing", "shadow")),
        "reset_errors": outcome(fast_litellm.reset_errors),
        "configure_breaker": outcome(lambda: fast_litellm.configure_breaker(error_threshold=5)),
        "record_performance": outcome(lambda: fast_litellm.record_performance("mine", "op", 1.5)),
        "prometheus": outcome(lambda: type(fast_litellm.prometheus_metrics()).__name__),
        "csv": outcome(lambda: fast_litellm.export_performance_data(format="csv").splitlines()[0]),
        "count_tokens": outcome(lambda: [SimpleTokenCounter().count_tokens(c["text"], c["model"])
                                         for c in cases if "text" in c]),
        "count_tokens_batch": outcome(lambda: SimpleTokenCounter().count_tokens_batch(["Hello, world!"], "gpt-4o")),
        "check_rate_limit": outcome(lambda: fast_litellm.check_rate_limit("k")["allowed"]),
    }
print("RESULT:" + json.dumps(out))
"""


@pytest.fixture(scope="module")
def expected(stock):
    return [stock.token_counter(**case) for case in CASES]


def _env(**extra: str) -> dict:
    env = environment_without_our_settings()
    env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    env.update(extra)
    return env


def _parse(proc: subprocess.CompletedProcess | tuple, label: str) -> dict:
    stdout, stderr, rc = proc
    assert rc == 0, f"{label}: exit {rc}\n{stderr[-4000:]}"
    lines = [line for line in stdout.splitlines() if line.startswith("RESULT:")]
    assert len(lines) == 1, f"{label}: no result\n{stdout[-2000:]}\n{stderr[-4000:]}"
    result = json.loads(lines[0][len("RESULT:"):])
    result["stderr"] = stderr
    return result


def _run(tmp_path: Path, label: str, **env: str) -> dict:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(CASES)],
        env=_env(**env), cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    result = _parse((proc.stdout, proc.stderr, proc.returncode), label)
    print(f"\n[{label}] process {time.perf_counter() - start:.2f}s, import litellm "
          f"{result['import_litellm_s']:.2f}s, import fast_litellm {result['import_fast_litellm_s']:.3f}s, "
          f"cache {result['health']['compiled_cache']}")
    return result


def _cwasm_files(directory: Path) -> list[Path]:
    return sorted(directory.iterdir()) if directory.is_dir() else []


def _assert_accelerated(result: dict, expected: list[int]) -> None:
    health = result["health"]
    assert health["status"] == "accelerated", health
    assert result["available"] is True
    assert health["component_error"] is None
    assert all(entry["patched"] for entry in health["patches"].values()), health["patches"]
    assert result["funnel_is_ours"] is True
    assert result["counts"] == expected
    assert result["stock_counts"] == expected
    assert result["stats"]["operations"]["token_counter"]["component"] == len(CASES)
    assert result["stats"]["component_traps"] == 0


def _assert_unaccelerated(result: dict, expected: list[int]) -> None:
    health = result["health"]
    assert health["status"] == "unaccelerated", health
    assert result["available"] is False
    assert not any(entry["patched"] for entry in health["patches"].values()), health["patches"]
    assert result["funnel_is_ours"] is False
    assert result["counts"] == expected  # litellm's own code answered


# -- the cache ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def warm_cache(tmp_path_factory, expected):
    """A cache dir populated by one cold import: (dir, the cold process's result)."""
    directory = tmp_path_factory.mktemp("cache") / "fast-litellm"  # does not exist yet
    result = _run(directory.parent, "cold", FAST_LITELLM_CACHE_DIR=str(directory))
    return directory, result


def test_cold_import_writes_one_cwasm(warm_cache, expected):
    directory, result = warm_cache
    files = _cwasm_files(directory)
    assert len(files) == 1 and files[0].suffix == ".cwasm", files  # no temp file left behind
    assert files[0].stat().st_size > 1_000_000
    cache = result["health"]["compiled_cache"]
    assert cache == {"cache_file": str(files[0]), "cache_hit": False, "cache_error": None}
    _assert_accelerated(result, expected)


def test_second_process_hits_the_cache(warm_cache, expected, tmp_path):
    directory, _ = warm_cache
    before = [(f.name, f.stat().st_mtime_ns) for f in _cwasm_files(directory)]
    result = _run(tmp_path, "warm", FAST_LITELLM_CACHE_DIR=str(directory))
    cache = result["health"]["compiled_cache"]
    assert cache["cache_hit"] is True and cache["cache_error"] is None
    assert cache["cache_file"] == str(directory / before[0][0])
    assert [(f.name, f.stat().st_mtime_ns) for f in _cwasm_files(directory)] == before  # not rewritten
    _assert_accelerated(result, expected)


def _truncate_half(path: Path) -> None:
    size = path.stat().st_size
    with open(path, "r+b") as f:
        f.truncate(size // 2)


def _garbage(path: Path) -> None:
    path.write_bytes(os.urandom(path.stat().st_size))


def _empty(path: Path) -> None:
    path.write_bytes(b"")


@pytest.mark.parametrize("corrupt", [_truncate_half, _garbage, _empty], ids=["truncated", "garbage", "empty"])
def test_corrupt_cache_is_recompiled_and_rewritten(warm_cache, expected, tmp_path, corrupt):
    source_dir, _ = warm_cache
    (source,) = _cwasm_files(source_dir)
    directory = tmp_path / "cache"
    directory.mkdir()
    cached = directory / source.name
    shutil.copyfile(source, cached)
    corrupt(cached)
    corrupted_size = cached.stat().st_size
    assert corrupted_size != source.stat().st_size or corrupt is _garbage

    result = _run(tmp_path, f"corrupt-{corrupt.__name__}", FAST_LITELLM_CACHE_DIR=str(directory))
    cache = result["health"]["compiled_cache"]
    assert cache["cache_hit"] is False
    assert cache["cache_error"] is not None and "recompiled" in cache["cache_error"], cache
    assert cache["cache_file"] == str(cached)
    _assert_accelerated(result, expected)
    assert _cwasm_files(directory) == [cached]
    assert cached.stat().st_size == source.stat().st_size  # rewritten whole

    again = _run(tmp_path, f"after-{corrupt.__name__}", FAST_LITELLM_CACHE_DIR=str(directory))
    assert again["health"]["compiled_cache"] == {"cache_file": str(cached), "cache_hit": True, "cache_error": None}
    _assert_accelerated(again, expected)


def test_unwritable_cache_dir_compiles_in_memory(expected, tmp_path):
    blocker = tmp_path / "a-regular-file"
    blocker.write_text("not a directory")
    directory = blocker / "fast-litellm"  # mkdir under a file fails
    result = _run(tmp_path, "unwritable", FAST_LITELLM_CACHE_DIR=str(directory))
    cache = result["health"]["compiled_cache"]
    assert cache["cache_hit"] is False
    assert cache["cache_error"] is not None and "not writable" in cache["cache_error"], cache
    _assert_accelerated(result, expected)
    assert blocker.read_text() == "not a directory"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-regular-file"]  # no stray temp files


def test_concurrent_cold_imports_share_one_cache_file(expected, tmp_path):
    directory = tmp_path / "cache"
    start = time.perf_counter()
    procs = [
        subprocess.Popen([sys.executable, "-c", CHILD, json.dumps(CASES)], env=_env(FAST_LITELLM_CACHE_DIR=str(directory)),
                         cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = []
    for i, proc in enumerate(procs):
        stdout, stderr = proc.communicate(timeout=300)
        results.append(_parse((stdout, stderr, proc.returncode), f"concurrent-{i}"))
    print(f"\n[concurrent x2] {time.perf_counter() - start:.2f}s")
    for result in results:
        assert result["health"]["compiled_cache"]["cache_error"] is None
        _assert_accelerated(result, expected)
    files = _cwasm_files(directory)
    assert len(files) == 1 and files[0].suffix == ".cwasm", files  # atomic replace, no temp files
    again = _run(tmp_path, "after-concurrent", FAST_LITELLM_CACHE_DIR=str(directory))
    assert again["health"]["compiled_cache"]["cache_hit"] is True
    _assert_accelerated(again, expected)


# -- no usable component -------------------------------------------------------------------------


def _missing(path: Path) -> None:
    pass


def _garbage_component(path: Path) -> None:
    path.write_bytes(os.urandom(64 * 1024))


def _core_module_not_component(path: Path) -> None:
    path.write_bytes(b"\0asm\x01\x00\x00\x00")  # a valid, empty core module


@pytest.mark.parametrize("make", [_missing, _garbage_component, _core_module_not_component],
                         ids=["missing", "garbage", "core-module"])
def test_unusable_component_leaves_litellm_working(expected, tmp_path, make):
    component = tmp_path / "fast_litellm.wasm"
    make(component)
    directory = tmp_path / "cache"
    result = _run(tmp_path, f"component-{make.__name__}", FAST_LITELLM_COMPONENT=str(component),
                  FAST_LITELLM_CACHE_DIR=str(directory))
    health = result["health"]
    _assert_unaccelerated(result, expected)
    assert health["component_path"] == str(component)
    assert health["component_error"], health
    if make is _missing:
        assert "not found" in health["component_error"]
    assert result["instantiations"] == 0
    assert result["stats"]["operations"] == {}  # nothing went through us
    assert _cwasm_files(directory) == []  # nothing bogus was cached


def test_disable_all_patches_nothing(expected, tmp_path):
    directory = tmp_path / "cache"
    result = _run(tmp_path, "disable-all", FAST_LITELLM_DISABLE_ALL="1", FAST_LITELLM_CACHE_DIR=str(directory))
    _assert_unaccelerated(result, expected)
    assert result["health"]["component_error"] is None  # not a failure: nothing was tried
    assert result["instantiations"] == 0
    assert result["stats"]["operations"] == {}
    assert _cwasm_files(directory) == []  # the component was never even compiled


@pytest.mark.parametrize("setting", ["disable-all", "missing-component"])
def test_the_api_answers_without_acceleration(expected, tmp_path, setting):
    """Nothing in the public API raises because fast-litellm is off or its component is
    missing: flags read False and accept settings for later, metrics calls are no-ops or
    empty, SimpleTokenCounter counts through litellm. The rate limiter decides in the
    component: without it, a clear error, never a guessed decision."""
    env = ({"FAST_LITELLM_DISABLE_ALL": "1"} if setting == "disable-all"
           else {"FAST_LITELLM_COMPONENT": str(tmp_path / "missing.wasm")})
    result = _run(tmp_path, setting, PROBE_API="1", FAST_LITELLM_CACHE_DIR=str(tmp_path / "cache"), **env)
    _assert_unaccelerated(result, expected)
    api = result["api"]
    assert api["is_enabled"] == [False, False]
    for name in ("set_feature_state", "reset_errors", "configure_breaker", "record_performance"):
        assert api[name] == ["ok", None], (name, api[name])
    assert api["prometheus"] == ["ok", "str"]
    assert api["csv"] == ["ok", "component,operation,path,count,errors,mean_us,p50_us,p95_us,p99_us"]
    assert api["count_tokens"] == ["ok", [expected[i] for i, case in enumerate(CASES) if "text" in case]]
    assert api["count_tokens_batch"][0] == "ok"
    if setting == "disable-all":  # an explicit call may load the component: it decides
        assert api["check_rate_limit"] == ["ok", True]
    else:
        assert api["check_rate_limit"][:2] == ["raised", "RuntimeError"]
        assert "needs the component" in api["check_rate_limit"][2]
