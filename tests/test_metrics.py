"""Metrics: samples batched into the component, reports, exports, Prometheus."""

from __future__ import annotations

import csv
import io
import json

import litellm
import pytest

import fast_litellm
from fast_litellm._metrics import METRICS


@pytest.fixture(autouse=True)
def fresh_metrics():
    fast_litellm.reset_performance_stats()
    yield
    fast_litellm.reset_performance_stats()


def _series(component=None, operation="token_counter", path="accelerated"):
    for s in fast_litellm.get_performance_stats(component)["metrics"]:
        if s["operation"] == operation and s["path"] == path:
            return s
    return None


def test_accelerated_and_handed_off_calls_are_timed():
    for i in range(40):
        litellm.token_counter(model="gpt-4o", messages=[{"role": "user", "content": f"metrics {i} " * (i + 1)}])
    for i in range(24):
        litellm.token_counter(model="claude-sonnet-4-5", text=f"handed off {i}")
    fast = _series("token_counting")
    slow = _series("token_counting", path="litellm")
    # calls are timed 1 in 8 per path (calls 1, 9, 17, ...), each sample standing for 8
    assert fast["count"] == 40 and fast["errors"] == 0
    assert slow["count"] == 24
    operations = fast_litellm.get_performance_stats()["operations"]["token_counter"]
    assert operations["component"] == 40 and operations["litellm"] == 24  # exact counts
    for s in (fast, slow):
        assert 0 < s["p50_us"] <= s["p95_us"] <= s["p99_us"]
        assert sum(b["count"] for b in s["by_size"]) == s["count"]
    assert {b["size"] for b in fast["by_size"]} <= {"<100", "<1k", "<10k"}
    compared = fast_litellm.compare_implementations()
    assert compared["token_counter"]["accelerated"]["count"] == 40
    assert compared["token_counter"]["speedup_p50"] > 0


def test_record_performance_exports_and_filters():
    for i in range(30):
        fast_litellm.record_performance("my_router", "select", 0.5 + i / 100, success=i != 7, path="accelerated",
                                        input_size=50)
        fast_litellm.record_performance("my_router", "select", 2.0, path="litellm", input_size=50)
    mine = fast_litellm.get_performance_stats("my_router")["metrics"]
    assert {(s["operation"], s["path"]) for s in mine} == {("select", "accelerated"), ("select", "litellm")}
    acc = next(s for s in mine if s["path"] == "accelerated")
    assert acc["count"] == 30 and acc["errors"] == 1
    assert 450 <= acc["p50_us"] <= 850  # 0.5-0.8 ms, histogram resolution 12.5%
    assert fast_litellm.get_performance_stats("nobody")["metrics"] == []

    rows = list(csv.DictReader(io.StringIO(fast_litellm.export_performance_data("my_router", format="csv"))))
    assert {r["path"] for r in rows} == {"accelerated", "litellm"} and rows[0]["component"] == "my_router"
    assert json.loads(fast_litellm.export_performance_data(format="json"))["metrics"]
    with pytest.raises(ValueError, match="format"):
        fast_litellm.export_performance_data(format="xml")
    advice = fast_litellm.get_recommendations()
    assert any("my_router.select" in a and "faster" in a for a in advice), advice
    # 1 failure in 30 calls is over the 1% that gets reported
    assert any("my_router.select (accelerated)" in a and "failed" in a for a in advice), advice


def test_bad_records_raise_valueerror():
    with pytest.raises(ValueError, match="duration_ms"):
        fast_litellm.record_performance("c", "op", -1)
    with pytest.raises(ValueError, match="input_size"):
        fast_litellm.record_performance("c", "op", 1.0, input_size=-5)
    with pytest.raises(ValueError, match="component"):
        fast_litellm.record_performance("", "op", 1.0)
    # beyond the component's u64 samples: refused, so a batch of real samples is not lost
    fast_litellm.record_performance("kept", "op", 1.0)
    for bad in ({"input_size": 2**64}, {"duration_ms": 1e300}, {"duration_ms": float("nan")},
                {"duration_ms": True}):
        with pytest.raises(ValueError, match="duration_ms|input_size"):
            fast_litellm.record_performance("c", "op", **{"duration_ms": 1.0, **bad})
    assert [s["count"] for s in fast_litellm.get_performance_stats("kept")["metrics"]] == [1]


def test_the_csv_header_without_the_component_is_the_components():
    assert fast_litellm.export_performance_data("nobody", format="csv") == METRICS.CSV_HEADER


def test_prometheus_text_and_collector():
    for i in range(16):
        litellm.token_counter(model="gpt-4", text=f"prometheus {i}")
    text = fast_litellm.prometheus_metrics()
    # served calls are timed 1 in 8, each sample standing for 8 calls
    assert 'fast_litellm_calls_total{component="token_counting",operation="token_counter",path="accelerated"} 16' in text
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry()
    fast_litellm.register_prometheus_collector(registry)
    exposed = generate_latest(registry).decode()
    assert "fast_litellm_calls_total" in exposed and "fast_litellm_call_seconds" in exposed


def test_samples_are_batched_not_sent_per_call(monkeypatch):
    sent = []
    real = fast_litellm._component.COMPONENT.record_packed

    def spy(samples):
        sent.append("record-packed")
        return real(samples)

    monkeypatch.setattr(fast_litellm._component.COMPONENT, "record_packed", spy)
    for i in range(200):
        litellm.token_counter(model="gpt-4", text=f"batch {i}")
    assert "record-packed" not in sent  # 200 samples stay in the host buffer
    METRICS.flush()
    assert sent.count("record-packed") == 1
    assert _series()["count"] == 200


def test_each_operation_is_sampled_when_calls_interleave():
    for i in range(80):  # token_counter and encode alternate: a shared countdown would time only one
        litellm.token_counter(model="gpt-4o", text=f"interleaved {i}")
        litellm.encode(model="gpt-4o", text=f"interleaved {i}")
    assert _series("token_counting", "token_counter")["count"] == 80
    assert _series("token_counting", "encode")["count"] == 80
