"""Cooldowns, retries and fallbacks through real litellm Routers, stock and accelerated.

A local OpenAI-compatible server (test_proxy's mock, with chosen deployments answering
429 or 500) serves litellm's HTTP calls and records which deployment each one reached.
Every scenario runs twice, on a fresh Router from the same `random.seed`: with
rust_routing disabled (litellm's own selection) and enabled (the component's fast lane).
What a user can observe must be identical: the deployments called, in order and per
request; each request's answering deployment or exception (type and message); the
deployments cooling down; the number of selections; and the `random` state afterwards.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
from http.server import ThreadingHTTPServer

import pytest
from litellm import Router

import fast_litellm
from fast_litellm import _flags
from test_proxy import _MockOpenAI

pytestmark = pytest.mark.routing  # skipped on a litellm release routing is not verified on (conftest)

FEATURE = "rust_routing"
SEED = 1234
MESSAGES = [{"role": "user", "content": "Which deployment answers?"}]
COOLDOWN_S = 2.0  # scenario 1 waits this out; the others use 60 s, never reached


class _Upstream(_MockOpenAI):
    """test_proxy's mock OpenAI server. api_base is http://127.0.0.1:PORT/<deployment>/v1;
    a deployment listed in `server.failing` answers with that status and an OpenAI error."""

    def do_POST(self):  # noqa: N802 - http.server's naming
        deployment, _, route = self.path.lstrip("/").partition("/")
        self.server.calls.append(deployment)
        status = self.server.failing.get(deployment)
        if route != "v1/chat/completions":
            status = 404
        if status is None:
            return super().do_POST()
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        kind = "rate_limit_exceeded" if status == 429 else "server_error"
        data = json.dumps({"error": {"message": f"{deployment} answers {status}", "type": kind,
                                     "param": None, "code": kind}}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _deployment(upstream, group: str, name: str, **params) -> dict:
    port = upstream.server_address[1]
    return {"model_name": group, "model_info": {"id": name},
            "litellm_params": {"model": "openai/gpt-4o-mini", "api_key": "sk-test",
                               "api_base": f"http://127.0.0.1:{port}/{name}/v1", **params}}


@pytest.fixture(scope="module")
def upstream():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    server.requests, server.calls, server.failing = [], [], {}
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    # one request first, so litellm's lazy imports and client set-up are not timed in a scenario
    router = Router(model_list=[_deployment(server, "warm-up", "w1")])
    assert router.completion(model="warm-up", messages=MESSAGES)._hidden_params["model_id"] == "w1"
    router.discard()
    server.calls.clear()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def restore_flags():
    yield
    _flags.FLAGS._runtime.clear()
    _flags.FLAGS.load()


def _cooling(router) -> list[str]:
    active = router.cooldown_cache.get_active_cooldowns(model_ids=router.get_model_ids(), parent_otel_span=None)
    return [model_id for model_id, _ in active]


class _Client:
    """Sends requests to one Router, sync (`completion`) or async (`acompletion`, all on
    one event loop), and records for each the deployments called and how it ended."""

    def __init__(self, router, upstream, model: str, use_async: bool) -> None:
        self.router, self.upstream, self.model = router, upstream, model
        self.runner = asyncio.Runner() if use_async else None

    def _send(self):
        if self.runner is None:
            return self.router.completion(model=self.model, messages=MESSAGES)
        return self.runner.run(self.router.acompletion(model=self.model, messages=MESSAGES))

    def ask(self, n: int) -> list[tuple[tuple[str, ...], tuple]]:
        results = []
        for _ in range(n):
            start = len(self.upstream.calls)
            try:
                response = self._send()
                outcome = ("answered by", response._hidden_params["model_id"])
            except Exception as exc:  # noqa: BLE001 - the exception is what we compare
                outcome = (type(exc).__name__, str(exc))
            results.append((tuple(self.upstream.calls[start:]), outcome))
        return results

    def close(self) -> None:
        if self.runner is not None:
            self.runner.close()


def _observe(upstream, mode: str, model_list: list, settings: dict, model: str, failing: dict,
             script, use_async: bool) -> tuple[dict, dict]:
    """One run on a fresh Router: what a user sees, and fast_litellm's route counters."""
    fast_litellm.set_feature_state(FEATURE, mode)
    fast_litellm.reset_performance_stats()
    upstream.calls.clear()
    upstream.failing = dict(failing)
    router = Router(model_list=model_list, retry_after=0, timeout=10, **settings)
    client = _Client(router, upstream, model, use_async)
    try:
        random.seed(SEED)
        seen = script(client, router, upstream)
        route = fast_litellm.get_performance_stats()["operations"].get("route", {})
        seen["selections"] = route.get("component", 0) + route.get("litellm", 0)
        seen["random_state"] = random.getstate()
        return seen, route
    finally:
        client.close()
        router.discard()


def _stock_and_accelerated(upstream, *args) -> dict:
    stock, stock_route = _observe(upstream, "disabled", *args)
    fast, fast_route = _observe(upstream, "enabled", *args)
    assert stock_route.get("component", 0) == 0
    assert fast_route.get("component", 0) > 0, fast_route
    # litellm kept only the selections with nothing to select (it raises its no-deployments error)
    assert set(fast_route.get("handed_to_litellm", {})) <= {"no_deployment_available"}, fast_route
    for key in stock:
        assert fast[key] == stock[key], f"{key} differs: accelerated {fast[key]!r}, stock {stock[key]!r}"
    return stock


def _called(requests) -> list[str]:
    return [name for calls, _ in requests for name in calls]


# -- 1. a 429 cools a deployment down; it gets no traffic until the cooldown ends ----------

_WEIGHTS = {
    "uniform": {},
    "weighted": {"d1": {"weight": 4}, "d2": {"weight": 1}, "d3": {"weight": 2}},
    # the only weighted deployment cooling down leaves a uniform pick among the others
    "weighted_d1_only": {"d1": {"rpm": 100}},
}


def _cooldown_script(client, router, upstream) -> dict:
    start = time.monotonic()
    during = client.ask(6)
    cooling_during = _cooling(router)
    assert time.monotonic() - start < COOLDOWN_S, "the requests outlasted the cooldown (a very slow machine?)"
    deadline = time.monotonic() + COOLDOWN_S + 2
    while _cooling(router) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.05)
    upstream.failing.clear()  # d1 has recovered
    after = client.ask(8)
    return {"during": during, "cooling_during": cooling_during, "after": after, "cooling_after": _cooling(router)}


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("weights", sorted(_WEIGHTS))
def test_rate_limited_deployment_cools_down_alike(upstream, weights, use_async):
    model_list = [_deployment(upstream, "g", name, **_WEIGHTS[weights].get(name, {})) for name in ("d1", "d2", "d3")]
    settings = {"num_retries": 0, "cooldown_time": COOLDOWN_S}
    seen = _stock_and_accelerated(upstream, model_list, settings, "g", {"d1": 429}, _cooldown_script, use_async)

    # the scenario is the one intended: one 429 from d1, then no d1 until the cooldown ends
    during = _called(seen["during"])
    assert during.count("d1") == 1 and during.index("d1") < 3, seen["during"]
    failed = [outcome for calls, outcome in seen["during"] if calls == ("d1",)]
    assert failed[0][0] == "RateLimitError", failed
    assert seen["cooling_during"] == ["d1"]
    assert "d1" in _called(seen["after"]) and seen["cooling_after"] == []
    assert all(outcome[0] == "answered by" for _, outcome in seen["after"])


# -- 2. retries: the same deployments retried in the same order ----------------------------

_FAILING = {"server_errors": {"d1": 500, "d2": 500}, "rate_limit_and_server_error": {"d1": 500, "d2": 429}}


def _retry_script(client, router, upstream) -> dict:
    return {"requests": client.ask(6), "cooling": _cooling(router)}


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("failing", sorted(_FAILING))
def test_retries_alike(upstream, failing, use_async):
    model_list = [_deployment(upstream, "g", name) for name in ("d1", "d2", "d3")]
    settings = {"num_retries": 2, "cooldown_time": 60}
    seen = _stock_and_accelerated(upstream, model_list, settings, "g", _FAILING[failing], _retry_script, use_async)

    assert any(len(calls) > 1 for calls, _ in seen["requests"]), seen["requests"]  # something was retried
    assert all(len(calls) <= 3 for calls, _ in seen["requests"])  # one call and at most 2 retries


# -- 3. fallbacks: group-a failing falls back to group-b, in the same order ------------------

_GROUP_B_FAILING = {"one_failing": {"b1": 500}, "all_failing": {"b1": 500, "b2": 500, "b3": 429}}


def _fallback_script(client, router, upstream) -> dict:
    return {"requests": client.ask(5), "cooling": _cooling(router)}


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("group_b", sorted(_GROUP_B_FAILING))
def test_fallbacks_alike(upstream, group_b, use_async):
    model_list = ([_deployment(upstream, "group-a", name) for name in ("a1", "a2")]
                  + [_deployment(upstream, "group-b", name) for name in ("b1", "b2", "b3")])
    settings = {"num_retries": 1, "cooldown_time": 60, "fallbacks": [{"group-a": ["group-b"]}]}
    failing = {"a1": 429, "a2": 500, **_GROUP_B_FAILING[group_b]}
    seen = _stock_and_accelerated(upstream, model_list, settings, "group-a", failing, _fallback_script, use_async)

    # the scenario is the one intended: group-a is tried (until all of it cools down), then group-b
    requests = seen["requests"]
    assert requests[0][0][0].startswith("a"), requests
    for calls, _ in requests:
        groups = [name[0] for name in calls]
        assert "b" in groups and groups == sorted(groups), requests  # group-a's calls, then group-b's
    assert any(calls[0].startswith("b") for calls, _ in requests), requests  # group-a all cooling down
    assert {"a1", "a2"} <= set(seen["cooling"])
    answered = {outcome[1] for _, outcome in requests if outcome[0] == "answered by"}
    assert answered == (set() if group_b == "all_failing" else {"b2", "b3"}), requests
