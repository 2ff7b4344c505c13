"""Feature flags, configuration precedence, shadow mode and the circuit breaker.

Whatever the flags and the breaker do, litellm's answers must stay exactly stock's.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time

import litellm
import pytest
import wasmtime

import fast_litellm
from fast_litellm import _flags
from fast_litellm._component import COMPONENT
from conftest import environment_without_our_settings

FEATURE = "rust_token_counting"
MESSAGES = [{"role": "user", "content": "flags and breakers"}]


def _ops():
    return fast_litellm.get_performance_stats()["operations"].get("token_counter", {})


@pytest.fixture(autouse=True)
def restore_flags():
    fast_litellm.reset_performance_stats()
    yield
    _flags.FLAGS._runtime.clear()
    fast_litellm.configure_breaker()
    _flags.FLAGS.load()
    fast_litellm.reset_errors()


def test_states_route_token_counting(stock):
    expected = stock.token_counter(model="gpt-4o", messages=MESSAGES)

    fast_litellm.set_feature_state(FEATURE, "disabled")
    assert litellm.token_counter(model="gpt-4o", messages=MESSAGES) == expected
    assert _ops()["handed_to_litellm"] == {"feature_disabled": 1}
    assert fast_litellm.is_enabled(FEATURE) is False

    fast_litellm.set_feature_state(FEATURE, "enabled")
    assert litellm.token_counter(model="gpt-4o", messages=MESSAGES) == expected
    assert _ops()["component"] == 1
    assert fast_litellm.is_enabled(FEATURE) is True

    fast_litellm.set_feature_state(FEATURE, "rollout:0")
    assert litellm.token_counter(model="gpt-4o", messages=MESSAGES) == expected
    assert _ops()["handed_to_litellm"]["rollout_not_selected"] == 1

    fast_litellm.reset_performance_stats()
    fast_litellm.set_feature_state(FEATURE, "canary:30")
    for _ in range(1000):
        assert litellm.token_counter(model="gpt-4o", messages=MESSAGES) == expected
    served = _ops()["component"]
    assert 200 < served < 400, served  # about 30% of calls, numbered in turn

    fast_litellm.set_feature_state(FEATURE, "shadow")
    assert fast_litellm.is_enabled(FEATURE) is False  # shadow serves litellm's answer
    assert litellm.token_counter(model="gpt-4o", messages=MESSAGES) == expected
    assert fast_litellm.get_shadow_mismatches()["count"] == 0
    status = fast_litellm.get_feature_status()[FEATURE]
    assert status["state"] == "shadow" and status["source"] == "runtime"


def test_bad_runtime_values_raise_clearly():
    with pytest.raises(ValueError, match="rollout:150"):
        fast_litellm.set_feature_state(FEATURE, "rollout:150")
    with pytest.raises(ValueError, match="unknown feature"):
        fast_litellm.set_feature_state("rust_teleport", "enabled")
    with pytest.raises(ValueError, match="error_threshold"):
        fast_litellm.configure_breaker(error_threshold=0)
    # what the component's u32/u64 fields cannot hold (wasmtime-py would wrap it)
    with pytest.raises(ValueError, match="error_threshold"):
        fast_litellm.configure_breaker(error_threshold=2**32 + 1)
    with pytest.raises(ValueError, match="probes_to_close"):
        fast_litellm.configure_breaker(probes_to_close=2**32)
    for seconds in (float("inf"), float("nan"), 1e300, True, -1):
        with pytest.raises(ValueError, match="window_s"):
            fast_litellm.configure_breaker(window_s=seconds)
        with pytest.raises(ValueError, match="cool_off_s"):
            fast_litellm.configure_breaker(cool_off_s=seconds)
    # features with nothing to accelerate stay disabled
    with pytest.raises(ValueError, match="patches nothing"):
        fast_litellm.set_feature_state("rust_rate_limiting", "enabled")
    fast_litellm.set_feature_state("rust_rate_limiting", "disabled")
    with pytest.raises(ValueError, match="unknown feature"):
        fast_litellm.is_enabled(5)
    with pytest.raises(ValueError, match="request_id"):
        fast_litellm.is_enabled(FEATURE, 5)
    assert fast_litellm.get_feature_status()[FEATURE]["state"] == "enabled"
    assert _flags.FLAGS.breaker_settings["error_threshold"] == 10


def test_rollout_bucket_matches_the_component():
    ids = [f"req-{i}" for i in range(500)] + ["", "é", "漢字-🙂", "x" * 1000]
    for rid in ids:
        assert _flags.bucket(rid) == COMPONENT.control("bucket", rid), rid
    fast_litellm.set_feature_state(FEATURE, "rollout:25")
    decisions = [fast_litellm.is_enabled(FEATURE, rid) for rid in ids]
    assert decisions == [COMPONENT.control("bucket", rid) < 25 for rid in ids]
    assert 0.15 < sum(decisions) / len(decisions) < 0.35


_PROBE = """
import json, os
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
import fast_litellm
print(json.dumps({"decisions": [fast_litellm.is_enabled("rust_token_counting", f"req-{i}") for i in range(300)],
                  "status": fast_litellm.get_feature_status(),
                  "warnings": fast_litellm.health_check()["configuration_warnings"]}))
"""


def _probe(tmp_path, **env) -> dict:
    full = environment_without_our_settings()
    full.update(env)
    out = subprocess.run([sys.executable, "-c", _PROBE], env=full, capture_output=True, text=True, check=True,
                         cwd=tmp_path)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_rollout_is_stable_across_processes(tmp_path):
    a = _probe(tmp_path, FAST_LITELLM_RUST_TOKEN_COUNTING="rollout:40")
    b = _probe(tmp_path, FAST_LITELLM_RUST_TOKEN_COUNTING="rollout:40")
    assert a["decisions"] == b["decisions"]
    assert a["decisions"] == [_flags.bucket(f"req-{i}") < 40 for i in range(300)]


def test_configuration_precedence(tmp_path):
    config = tmp_path / "flags.json"
    config.write_text(json.dumps({"rust_token_counting": "rollout:10", "rust_routing": "shadow"}))
    file_only = _probe(tmp_path, FAST_LITELLM_FEATURE_CONFIG=str(config))["status"]
    assert file_only["rust_token_counting"]["state"] == "rollout:10"
    assert file_only["rust_token_counting"]["source"].startswith("file")
    assert file_only["rust_routing"]["state"] == "shadow"
    assert file_only["rust_rate_limiting"] == {**file_only["rust_rate_limiting"], "state": "disabled",
                                               "source": "default"}

    env_wins = _probe(tmp_path, FAST_LITELLM_FEATURE_CONFIG=str(config),
                      FAST_LITELLM_RUST_TOKEN_COUNTING="canary:5")["status"]
    assert env_wins["rust_token_counting"]["state"] == "canary:5"
    assert env_wins["rust_routing"]["state"] == "shadow"  # the file still applies elsewhere

    # DISABLE_ALL: nothing is patched at import; flags say disabled everywhere once applied
    script = _PROBE.replace("import fast_litellm\n", "import fast_litellm\nfast_litellm.apply_acceleration()\n")
    full = environment_without_our_settings()
    full.update(FAST_LITELLM_FEATURE_CONFIG=str(config), FAST_LITELLM_RUST_TOKEN_COUNTING="enabled",
                FAST_LITELLM_DISABLE_ALL="1")
    out = json.loads(subprocess.run([sys.executable, "-c", script], env=full, capture_output=True, text=True,
                                    check=True).stdout.strip().splitlines()[-1])
    assert {f: s["state"] for f, s in out["status"].items()} == dict.fromkeys(_flags.DEFAULTS, "disabled")
    assert not any(out["decisions"])

    # runtime calls beat everything (checked in-process)
    fast_litellm.set_feature_state(FEATURE, "rollout:50")
    assert fast_litellm.get_feature_status()[FEATURE]["source"] == "runtime"


def test_bad_configuration_warns_and_keeps_defaults(tmp_path):
    bad_json = tmp_path / "broken.json"
    bad_json.write_text("{not json")
    r = _probe(tmp_path, FAST_LITELLM_FEATURE_CONFIG=str(bad_json))
    assert r["status"][FEATURE]["state"] == "enabled"
    assert len(r["warnings"]) == 1 and "broken.json" in r["warnings"][0]

    mixed = tmp_path / "mixed.json"
    mixed.write_text(json.dumps({"rust_token_counting": "sometimes", "rust_teleport": "enabled"}))
    r = _probe(tmp_path, FAST_LITELLM_FEATURE_CONFIG=str(mixed), FAST_LITELLM_RUST_ROUTING="rollout:x")
    assert r["status"][FEATURE]["state"] == "enabled"
    assert r["status"]["rust_routing"]["state"] == "enabled"  # its default
    text = "\n".join(r["warnings"])
    assert len(r["warnings"]) == 3
    assert "rust_token_counting" in text and "sometimes" in text
    assert "rust_teleport" in text
    assert "FAST_LITELLM_RUST_ROUTING" in text and "rollout:x" in text


def test_shadow_records_mismatches_and_serves_litellm(stock, monkeypatch):
    fast_litellm.set_feature_state(FEATURE, "shadow")
    expected = stock.token_counter(model="gpt-4", messages=MESSAGES)
    monkeypatch.setattr(COMPONENT._instance, "count_request", lambda request: 999_999)  # a wrong component
    before = fast_litellm.get_shadow_mismatches()["count"]
    assert litellm.token_counter(model="gpt-4", messages=MESSAGES) == expected
    mismatches = fast_litellm.get_shadow_mismatches()
    assert mismatches["count"] == before + 1
    sample = mismatches["samples"][-1]
    assert sample["feature"] == FEATURE and "flags and breakers" in sample["input"]
    assert sample["accelerated"] == "999999" and sample["stock"] == str(expected)


def test_breaker_opens_half_opens_and_closes(stock, monkeypatch):
    fast_litellm.configure_breaker(error_threshold=3, window_s=60, cool_off_s=0.3, probes_to_close=2)
    expected = stock.token_counter(model="gpt-4o", messages=MESSAGES)
    calls = []

    def trap_on_marked_inputs(request: str):
        calls.append(request)
        raise wasmtime.WasmtimeError("injected trap")

    def install_fault():
        monkeypatch.setattr(COMPONENT._instance, "count_request", trap_on_marked_inputs)

    for _ in range(3):
        install_fault()  # each trap replaces the instance; fault the new one too
        assert litellm.token_counter(model="gpt-4o", messages=MESSAGES) == expected
    assert len(calls) == 3
    assert fast_litellm.get_feature_status()[FEATURE]["breaker"] == "open"
    install_fault()
    for _ in range(20):  # open: litellm serves, the component is not called
        assert litellm.token_counter(model="gpt-4o", messages=MESSAGES) == expected
    assert len(calls) == 3
    assert _ops()["handed_to_litellm"]["breaker_open"] == 20
    assert fast_litellm.is_enabled(FEATURE) is False

    time.sleep(0.35)  # cool-off over: half-open probes; a failing probe opens it again
    assert litellm.token_counter(model="gpt-4o", messages=MESSAGES) == expected
    assert len(calls) == 4
    assert fast_litellm.get_feature_status()[FEATURE]["breaker"] == "open"

    time.sleep(0.35)
    monkeypatch.undo()  # the fault is gone: two good probes close the breaker
    for _ in range(2):
        assert litellm.token_counter(model="gpt-4o", messages=MESSAGES) == expected
    status = fast_litellm.get_feature_status()[FEATURE]
    assert status["breaker"] == "closed" and status["times_opened"] >= 1
    served = _ops()["component"]
    assert litellm.token_counter(model="gpt-4o", messages=MESSAGES) == expected
    assert _ops()["component"] == served + 1
    fast_litellm.reset_errors(FEATURE)
    assert fast_litellm.get_feature_status()[FEATURE]["errors"] == 0


def test_component_that_traps_on_chosen_inputs_keeps_answers_exact(stock, monkeypatch):
    """Fault injection on some inputs only: every answer is still stock's."""
    fast_litellm.configure_breaker(error_threshold=1000)
    real = COMPONENT._instance.count_request

    def faulty(request: str):
        if "TRAP" in request:
            raise wasmtime.WasmtimeError("injected trap")
        return real(request)

    for i in range(60):
        content = f"message {i} " + ("TRAP" if i % 3 == 0 else "fine")
        msgs = [{"role": "user", "content": content}]
        if COMPONENT._instance is not None and COMPONENT._instance.count_request is not faulty:
            real = COMPONENT._instance.count_request
            monkeypatch.setattr(COMPONENT._instance, "count_request", faulty)
        assert litellm.token_counter(model="gpt-4", messages=msgs) == stock.token_counter(model="gpt-4", messages=msgs)
    ops = _ops()
    assert ops["handed_to_litellm"]["component_error"] == 20
    assert ops["component"] == 40


@pytest.mark.parametrize("name,args", [("get_connection_stats", ())])
def test_unbuilt_api_raises_clearly(name, args):
    with pytest.raises(NotImplementedError, match="not implemented yet"):
        getattr(fast_litellm, name)(*args)


def test_cli_status_and_doctor(tmp_path):
    env = environment_without_our_settings()
    run = lambda *a, **e: subprocess.run([sys.executable, "-m", "fast_litellm.cli", *a],  # noqa: E731
                                         env={**env, **e}, capture_output=True, text=True)
    status = run("status")
    assert status.returncode == 0, status.stderr
    assert "accelerated" in status.stdout and "rust_token_counting" in status.stdout
    assert re.search(r"litellm\._lazy_imports\._token_counter_new_func\s+yes", status.stdout)
    as_json = json.loads(run("status", "--json").stdout)
    assert as_json["health"]["status"] == "accelerated"
    doctor = run("doctor")
    assert doctor.returncode == 0 and "all good" in doctor.stdout, doctor.stdout
    broken = run("doctor", FAST_LITELLM_COMPONENT=str(tmp_path / "missing.wasm"))
    assert broken.returncode == 1
    assert "component file missing" in broken.stdout and "not accelerated" in broken.stdout


@pytest.mark.parametrize("argument", [["--rounds", "0"], ["--samples", "-3"], ["--rounds", "x"]])
def test_cli_bench_refuses_rounds_and_samples_below_one(argument):
    run = subprocess.run([sys.executable, "-m", "fast_litellm.cli", "bench", *argument], capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 2 and argument[0] in run.stderr and "Traceback" not in run.stderr


def test_cli_bench_writes_json_and_chart(tmp_path):
    env = environment_without_our_settings()
    out, png = tmp_path / "bench.json", tmp_path / "bench.png"
    run = subprocess.run([sys.executable, "-m", "fast_litellm.cli", "bench", "--rounds", "1", "--samples", "5",
                          "--output", str(out), "--chart", str(png)], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    report = json.loads(out.read_text())
    assert {r["key"] for r in report["rows"]} >= {"short_chat", "system_10kb", "encode_10kb"}
    assert all(r["stock_us"] > 0 and r["accelerated_us"] > 0 for r in report["rows"])
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "[" in run.stderr and "/" in run.stderr  # the progress bar


def test_batch_counting_follows_the_flag(stock):
    from fast_litellm._rust import SimpleTokenCounter

    texts = [f"batch text {i}" for i in range(10)]
    expected = [stock.token_counter(model="gpt-4", text=t) for t in texts]
    counter = SimpleTokenCounter()
    fast_litellm.set_feature_state(FEATURE, "disabled")
    assert counter.count_tokens_batch(texts, model="gpt-4") == expected
    ops = fast_litellm.get_performance_stats()["operations"]
    assert "count_tokens_batch" not in ops
    assert ops["token_counter"]["handed_to_litellm"] == {"feature_disabled": 10}
    fast_litellm.set_feature_state(FEATURE, "enabled")
    assert counter.count_tokens_batch(texts, model="gpt-4") == expected
    assert fast_litellm.get_performance_stats()["operations"]["count_tokens_batch"]["component"] == 1
