"""litellm's own latency-based and cost-based routing behaviours, checked with acceleration on.

Each test restates, from scratch, a behaviour that one of litellm's tests for these two
strategies checks (named in its docstring; paths are in the BerriAI/litellm repository):

- latency: tests/local_testing/test_lowest_latency_routing.py, tests/test_litellm/
  router_strategy/test_lowest_latency.py, test_lowest_latency_division_by_zero.py,
  test_lowest_latency_zero_limits.py, and the `ttft_percentile` option of PR #40352;
- cost: tests/local_testing/test_lowest_cost_routing.py, tests/test_litellm/
  router_strategy/test_lowest_cost.py, test_lowest_cost_logging.py,
  test_lowest_cost_provider_prefix.py;

for a Router with `routing_strategy="latency-based-routing"` or `"cost-based-routing"` as
the installed litellm implements them (router_strategy/lowest_latency.py and
lowest_cost.py: per model group a cached map of deployment id -> latency samples, time to
first token and per-minute tpm/rpm, written by the selector's own success and failure
callbacks; cost-based selection is async only).

Usage is logged the way litellm logs it: through the selector's own callbacks with kwargs
shaped as litellm passes them, or through real `Router.acompletion` calls with a mock
response. Every selection runs twice from the same state: once through litellm's original
method (`fast_litellm._router.ORIGINALS`) and once through the installed one; both must
give the same deployment object (or raise the same error type and message) and leave
`random` and the request kwargs alike. Each test also asserts, through the `route`
counters, which selections the component served and which it handed to litellm.
"""

from __future__ import annotations

import asyncio
import copy
import random
import time
from collections import Counter
from datetime import datetime, timedelta

import litellm
import pytest
from litellm import Router
from litellm.types.router import RouterRateLimitError

from fast_litellm import _router, _router_scores

from routing_checks import (  # noqa: F401 - routing_on: the autouse fixture
    LATENCY_KEY, _clear_of_minute_end, _cool, _deployment, _handed, _id, _route_stats, _served, _with_limit, apick,
    apick_raises, async_ids, both, cooldown_comes_before_the_pick, pick, pick_raises, routing_on,
)

pytestmark = pytest.mark.routing  # skipped on a litellm release routing is not verified on (conftest)

LATENCY, COST = "latency-based-routing", "cost-based-routing"
MESSAGES = [{"role": "user", "content": "Hey, how's it going?"}]
SHORT = [{"role": "user", "content": "hi"}]  # 8 tokens as litellm counts them
LONG = [{"role": "user", "content": "hello there " * 20}]  # 48 tokens


# -- helpers ----------------------------------------------------------------------------------


def _router_of(strategy: str, *deployments: dict, **routing_args) -> Router:
    router = Router(model_list=list(deployments), routing_strategy=strategy, num_retries=0,
                    routing_strategy_args=routing_args)
    assert _router.router_report(router)["accelerated_groups"], _router.router_report(router)
    return router


def _selector(router: Router):
    return getattr(router, router._DEFAULT_SELECTOR_ATTR_BY_STRATEGY[router.routing_strategy])


def _usage_key(router: Router, group: str = "g") -> str:
    return f"{group}_map" if router.routing_strategy == LATENCY else f"cost_map:{group}"


def _stored(router: Router, group: str = "g"):
    return router.cache.in_memory_cache.cache_dict.get(_usage_key(router, group))


def _call_kwargs(dep_id, group: str = "g", **extra) -> dict:
    """The kwargs litellm's logging passes to the selector's callbacks for a call to `dep_id`."""
    return {"litellm_params": {"metadata": {"model_group": group}, "model_info": {"id": dep_id}}, **extra}


def _response(completion_tokens: int, prompt_tokens: int = 10) -> litellm.ModelResponse:
    return litellm.ModelResponse(usage=litellm.Usage(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
                                                     total_tokens=prompt_tokens + completion_tokens))


def _success(router: Router, dep_id, seconds: float, response=None, *, ttft: float | None = None,
             use_async: bool = False, group: str = "g") -> None:
    """A call to `dep_id` that took `seconds` (a first token after `ttft` seconds: a
    streaming call), logged through the selector's own success callback."""
    start = datetime.now()
    extra = {"stream": ttft is not None}
    if ttft is not None:
        extra["completion_start_time"] = start + timedelta(seconds=ttft)
    kwargs = _call_kwargs(dep_id, group, **extra)
    response = {"usage": {"total_tokens": 50}} if response is None else response
    selector, end = _selector(router), start + timedelta(seconds=seconds)
    if use_async:
        asyncio.run(selector.async_log_success_event(kwargs, response, start, end))
    else:
        selector.log_success_event(kwargs, response, start, end)


def _failure(router: Router, dep_id, exception: Exception) -> None:
    """A failed call, logged through the selector's own async failure callback."""
    now = datetime.now()
    asyncio.run(_selector(router).async_log_failure_event(_call_kwargs(dep_id, exception=exception), None, now,
                                                          now + timedelta(seconds=30)))


def _timeout() -> Exception:
    return litellm.Timeout(message="Request timed out", model="gpt-4o-mini", llm_provider="openai")






# == latency-based-routing ====================================================================


@pytest.mark.parametrize("log_async", [False, True], ids=["sync-log", "async-log"])
def test_latency_fastest_deployment_is_picked(log_async):
    """Mirrors test_lowest_latency_routing.py::test_router_get_available_deployments and
    ::test_get_available_deployments: deployment 1 answered in 3s, deployment 2 in 2s (a
    response litellm cannot read tokens from, so plain seconds): "2" is picked, sync and
    async (integer ids read back as str)."""
    router = _router_of(LATENCY, _deployment(1, model="azure/gpt-turbo", rpm=1440),
                        _deployment(2, model="azure/gpt-35-turbo", rpm=6))
    _success(router, 1, 3.0, use_async=log_async)
    _success(router, 2, 2.0, use_async=log_async)
    assert _stored(router)["2"][LATENCY_KEY] == [2.0]

    assert {both(router) for _ in range(10)} == {("2", "2")}
    _success(router, 1, 0.5, use_async=log_async)  # 1: (3 + 0.5) / 2 = 1.75
    assert both(router) == ("1", "1")
    assert _route_stats() == _served(22)


def test_latency_is_normalised_by_completion_tokens():
    """Mirrors test_lowest_latency.py::test_async_chat_latency_normalized_per_token and
    ::test_*_zero_completion_tokens_falls_back_to_seconds (litellm issue #1393): a chat
    response's latency is seconds per completion token, so a 4s answer of 100 tokens beats
    a 1s answer of 5; with no completion tokens the plain seconds count."""
    router = _router_of(LATENCY, _deployment("long"), _deployment("short"), _deployment("empty"))
    _success(router, "long", 4.0, _response(100), use_async=True)  # 0.04 s/token
    _success(router, "short", 1.0, _response(5))  # 0.2 s/token
    _success(router, "empty", 0.5, _response(0))  # 0.5 s
    stored = _stored(router)
    assert [stored[d][LATENCY_KEY] for d in ("long", "short", "empty")] == [[0.04], [0.2], [0.5]]

    assert both(router) == ("long", "long")
    _cool(router, "long")
    assert both(router) == ("short", "short")
    assert _route_stats() == _served(4)


def test_latency_timeouts_penalise_a_deployment():
    """Mirrors test_lowest_latency_routing.py::test_lowest_latency_routing_with_timeouts:
    a timeout logged by the async failure callback counts as a 1000s sample, so the
    deployment that timed out stops being picked; other failures are not latency."""
    router = _router_of(LATENCY, _deployment("slow-endpoint"), _deployment("fast-endpoint"))
    _success(router, "slow-endpoint", 0.2)
    _success(router, "fast-endpoint", 0.5)
    assert both(router) == ("slow-endpoint", "slow-endpoint")

    _failure(router, "fast-endpoint", litellm.RateLimitError("busy", "openai", "gpt-4o-mini"))
    assert _stored(router)["fast-endpoint"][LATENCY_KEY] == [0.5]
    _failure(router, "slow-endpoint", _timeout())
    assert _stored(router)["slow-endpoint"][LATENCY_KEY] == [0.2, 1000.0]
    assert {both(router) for _ in range(10)} == {("fast-endpoint", "fast-endpoint")}
    assert _route_stats() == _served(22)


@pytest.mark.parametrize("buffer, expected", [(0, {"2"}), (0.4, {"2"}), (1, {"1", "2"})])
def test_latency_buffer_spreads_picks_among_the_near_lowest(buffer, expected):
    """Mirrors test_lowest_latency_routing.py::test_lowest_latency_routing_buffer: with
    `lowest_latency_buffer` b, any deployment within lowest * (1 + b) may be picked: 3s and
    2s give only the 2s one for b = 0 or 0.4, both for b = 1; a 10s one never."""
    router = _router_of(LATENCY, _deployment(1, rpm=1440), _deployment(2, rpm=1440), _deployment(3),
                        lowest_latency_buffer=buffer)
    _success(router, 1, 3.0)
    _success(router, 2, 2.0)
    _success(router, 3, 10.0)

    picked = Counter(_id(pick(router)) for _ in range(60)) + Counter(async_ids(router, 60))

    assert set(picked) == expected
    if len(expected) > 1:
        assert min(picked.values()) > 25
    assert _route_stats() == _served(120)


def test_latency_without_samples_picks_at_random():
    """Mirrors test_lowest_latency_routing.py::test_lowest_latency_routing_first_pick: with
    no latency known every deployment counts 0 and the pick is random among them (not
    always the first), sync and async."""
    router = _router_of(LATENCY, *(_deployment(f"fast-endpoint-{i}") for i in range(1, 5)))

    picked = Counter(_id(pick(router)) for _ in range(100)) + Counter(async_ids(router, 100))

    assert set(picked) == {f"fast-endpoint-{i}" for i in range(1, 5)}
    assert min(picked.values()) > 25
    assert _route_stats() == _served(200)


def test_latency_map_past_its_ttl_is_forgotten():
    """Mirrors test_lowest_latency_routing.py::test_latency_updated_custom_ttl (and the ttl
    of ::test_lowest_latency_routing_first_pick): the map is cached for `ttl` seconds; once
    expired, the latencies it held no longer steer the pick."""
    router = _router_of(LATENCY, _deployment("a"), _deployment("b"), ttl=0.3)
    _success(router, "a", 0.1)
    _success(router, "b", 5.0)
    assert {both(router) for _ in range(10)} == {("a", "a")}

    time.sleep(0.35)
    picked = Counter(_id(pick(router)) for _ in range(50)) + Counter(async_ids(router, 50))

    assert set(picked) == {"a", "b"} and min(picked.values()) > 20
    assert _route_stats() == _served(120)


@pytest.mark.parametrize("log_async", [False, True], ids=["sync-log", "async-log"])
def test_latency_streaming_uses_time_to_first_token(log_async):
    """Mirrors test_lowest_latency_routing.py::test_lowest_latency_routing_time_to_first_token
    (and litellm PR #40202, raw seconds to the first token): deployment 1 streams its first
    token after 1s and ends at 4s, deployment 2 after 3s and ends at 3s (50 completion
    tokens each): a streaming request goes to 1, a non-streaming one to 2."""
    router = _router_of(LATENCY, _deployment(1), _deployment(2))
    _success(router, 1, 4.0, _response(50, 0), ttft=1.0, use_async=log_async)
    _success(router, 2, 3.0, _response(50, 0), ttft=3.0, use_async=log_async)
    assert _stored(router)["1"]["time_to_first_token_seconds"] == [1.0]

    assert {both(router) for _ in range(10)} == {("2", "2")}
    assert {both(router, request_kwargs={"stream": True}) for _ in range(20)} == {("1", "1")}
    assert both(router, request_kwargs={"stream": False}) == ("2", "2")
    assert _route_stats() == _served(62)


def test_latency_streaming_falls_back_to_latency_without_ttft_samples():
    """Mirrors test_lowest_latency_division_by_zero.py::test_streaming_empty_ttft_latency: a
    deployment that only served non-streaming calls is ranked for a streaming request by its
    latency (1.5s against the other's first token at 1s, which ended at 3s)."""
    router = _router_of(LATENCY, _deployment("plain"), _deployment("streamed"))
    _success(router, "plain", 1.5, _response(1))
    _success(router, "streamed", 3.0, _response(1), ttft=1.0)

    assert both(router) == ("plain", "plain")
    assert both(router, request_kwargs={"stream": True}) == ("streamed", "streamed")
    _success(router, "plain", 0.4, _response(1))  # plain: (1.5 + 0.4) / 2 = 0.95
    assert both(router, request_kwargs={"stream": True}) == ("plain", "plain")
    assert _route_stats() == _served(6)


@pytest.mark.parametrize("percentile, expected", [(None, "spiky"), (0.5, "spiky"), (0.9, "steady")])
def test_latency_ttft_percentile_ranks_streaming_by_the_tail(percentile, expected):
    """Mirrors litellm PR #40352 (`ttft_percentile` in routing_strategy_args): "spiky" starts
    7 streams in 0.1s and one in 1.5s (mean 0.275s, p50 0.1s, p90 1.5s), "steady" every
    stream in 0.3s: by mean or p50 spiky is picked, by p90 steady; a non-streaming request
    still goes by latency (spiky's is lower)."""
    args = {} if percentile is None else {"ttft_percentile": percentile}
    router = _router_of(LATENCY, _deployment("steady"), _deployment("spiky"), **args)
    for ttft in [0.1] * 7 + [1.5]:
        _success(router, "spiky", 2.0, _response(20), ttft=ttft)
    for _ in range(8):
        _success(router, "steady", 6.0, _response(20), ttft=0.3)

    assert {both(router, request_kwargs={"stream": True}) for _ in range(10)} == {(expected, expected)}
    assert both(router) == ("spiky", "spiky")
    assert _route_stats() == _served(22)


def test_latency_max_list_size_keeps_only_the_latest_samples():
    """Mirrors test_lowest_latency_routing.py::test_latency_list_trimming_discards_oldest_entry,
    ::test_list_order_preserved_after_multiple_trims and
    ::test_timeout_penalty_discards_oldest_entry: with `max_latency_list_size` 3 the oldest
    sample (a timeout penalty too) drops out, so the average is of the latest 3 only."""
    router = _router_of(LATENCY, _deployment("a"), _deployment("b"), max_latency_list_size=3)
    _success(router, "b", 1.0)
    for seconds in (5.0, 6.0, 7.0):
        _success(router, "a", seconds)
    assert both(router) == ("b", "b")

    for _ in range(3):
        _success(router, "a", 0.1)  # (5 + 6 + 7 + 0.3) / 6 without the window
    assert _stored(router)["a"][LATENCY_KEY] == [0.1, 0.1, 0.1]
    assert both(router) == ("a", "a")

    _failure(router, "a", _timeout())
    assert _stored(router)["a"][LATENCY_KEY] == [0.1, 0.1, 1000.0]
    assert both(router) == ("b", "b")
    for _ in range(3):
        _success(router, "a", 0.2, use_async=True)
    assert both(router) == ("a", "a")
    assert _route_stats() == _served(8)


def test_latency_max_list_size_windows_time_to_first_token():
    """Mirrors test_lowest_latency_routing.py::test_ttft_list_trimming_discards_oldest_entry
    (sync and async): the time-to-first-token list is windowed like the latency list, so a
    streaming request follows the latest first tokens only."""
    router = _router_of(LATENCY, _deployment("a"), _deployment("b"), max_latency_list_size=3)
    _success(router, "b", 2.0, _response(1), ttft=0.5)
    for ttft in (2.0, 2.0, 2.0):
        _success(router, "a", 3.0, _response(1), ttft=ttft)
    assert both(router, request_kwargs={"stream": True}) == ("b", "b")

    for ttft in (0.1, 0.2):
        _success(router, "a", 3.0, _response(1), ttft=ttft)
    _success(router, "a", 3.0, _response(1), ttft=0.3, use_async=True)
    assert _stored(router)["a"]["time_to_first_token_seconds"] == [0.1, 0.2, 0.3]
    assert both(router, request_kwargs={"stream": True}) == ("a", "a")
    assert _route_stats() == _served(4)


@pytest.mark.parametrize("where", ["deployment", "litellm_params", "model_info"])
@pytest.mark.parametrize("ans_rpm", [1, 5])
def test_latency_rpm_limit_excludes_a_deployment_used_up_this_minute(where, ans_rpm):
    """Mirrors test_lowest_latency_routing.py::test_get_available_endpoints_tpm_rpm_check
    (and its _async twin; rpm beside litellm_params, in them, or in model_info): 3 calls
    logged this minute to each deployment; "5678" (rpm 3) is at its limit; "1234", the
    faster, is picked with rpm 5 and excluded with rpm 1, and then nothing is left: stock's
    error (handed to litellm to raise, sync and async)."""
    _clear_of_minute_end()
    router = _router_of(LATENCY, _with_limit("1234", where, "rpm", ans_rpm), _with_limit("5678", where, "rpm", 3))
    for _ in range(3):
        _success(router, "1234", 0.01)
        _success(router, "5678", 0.5, use_async=True)

    if ans_rpm == 5:
        assert both(router) == ("1234", "1234")
        assert _route_stats() == _served(2)
    else:
        error = pick_raises(router)
        assert isinstance(error, RouterRateLimitError) and error.cooldown_list == []
        assert "No deployments available" in str(error)
        assert isinstance(asyncio.run(apick_raises(router)), RouterRateLimitError)
        assert _route_stats() == _handed("no_deployment_available", 2)


def test_latency_rpm_limit_moves_the_pick_to_the_next_fastest():
    """A deployment's rpm counts only this minute's calls: once the fastest has used its
    rpm, the next fastest is picked (the faster one is not picked while over)."""
    _clear_of_minute_end()
    router = _router_of(LATENCY, _deployment("fast", rpm=2), _deployment("slow"))
    _success(router, "slow", 1.0)
    _success(router, "fast", 0.1)
    assert both(router) == ("fast", "fast")
    _success(router, "fast", 0.1, use_async=True)
    assert _stored(router)["fast"][datetime.now().strftime("%Y-%m-%d-%H-%M")]["rpm"] == 2
    assert {both(router) for _ in range(5)} == {("slow", "slow")}
    assert _route_stats() == _served(12)


@pytest.mark.parametrize("where", ["deployment", "litellm_params", "model_info"])
def test_latency_tpm_limit_counts_the_request_tokens(where):
    """The tpm test of ::test_get_available_endpoints_tpm_rpm_check: this minute's tokens
    (the responses' total_tokens) plus the request's own tokens must stay within tpm: with
    50 used of 60, an 8-token request still fits, a 48-token one goes to the slower
    deployment; a request with no messages counts 0 tokens."""
    _clear_of_minute_end()
    router = _router_of(LATENCY, _with_limit("fast", where, "tpm", 60), _deployment("slow"))
    _success(router, "fast", 0.1, _response(40, 10))
    _success(router, "slow", 2.0, _response(40, 10))

    assert both(router, messages=SHORT) == ("fast", "fast")
    assert both(router, messages=LONG) == ("slow", "slow")
    assert both(router) == ("fast", "fast")
    assert _route_stats() == _served(6)


@pytest.mark.parametrize("where", ["deployment", "litellm_params", "model_info"])
@pytest.mark.parametrize("metric", ["tpm", "rpm"])
def test_latency_zero_limit_reads_as_the_installed_litellm_reads_it(where, metric):
    """test_lowest_latency_zero_limits.py (litellm issue #39744) checks that a configured
    tpm/rpm of 0 blocks a deployment; the installed litellm reads the limit through an
    `or` chain, where 0 reads as no limit. Whichever stock does, the accelerated pick is
    the same: here the zero-limit deployment, the fastest, is still picked."""
    router = _router_of(LATENCY, _with_limit("zero", where, metric, 0), _deployment("other"))
    _success(router, "zero", 0.1)
    _success(router, "other", 1.0)

    assert both(router, messages=MESSAGES) == ("zero", "zero")
    assert _route_stats() == _served(2)


@pytest.mark.parametrize("field", ["metadata", "litellm_metadata"])
@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_latency_per_deployment_is_written_into_the_request_metadata(field, use_async):
    """litellm's selector records each candidate's latency by api_base in the request's
    metadata (`litellm_metadata` when the request has it), under `_latency_per_deployment`;
    a deployment without an api_base (the Router drops a None one) is recorded under "".
    pick/apick check ours equals stock's;
    the content is read off stock's, run from the same state."""
    router = _router_of(LATENCY, _deployment("a", api_base="http://a.example/v1"),
                        _deployment("b", api_base="http://b.example/v1"), _deployment("c", api_base=None))
    _success(router, "a", 0.5)
    _success(router, "b", 2.0)
    _success(router, "c", 0.1)
    request = {field: {"user": "u-1"}}

    state = random.getstate()
    written = copy.deepcopy(request)
    if use_async:
        asyncio.run(_router.ORIGINALS["async_get_available_deployment"](router, "g", written))
    else:
        _router.ORIGINALS["get_available_deployment"](router, "g", request_kwargs=written)
    random.setstate(state)
    picked = asyncio.run(apick(router, "g", request)) if use_async else pick(router, request_kwargs=request)

    assert _id(picked) == "c"
    assert written[field]["_latency_per_deployment"] == {"http://a.example/v1": 0.5, "http://b.example/v1": 2.0,
                                                         "": 0.1}
    assert written[field]["user"] == "u-1"
    assert _route_stats() == _served(1)


def test_latency_empty_sample_lists_count_as_zero():
    """Mirrors test_lowest_latency_division_by_zero.py (::test_empty_latency_list_handled_gracefully,
    ::test_mixed_deployments_with_empty_latency, ::test_streaming_empty_ttft_latency): a map
    entry with an empty latency list averages 0.0, so it beats recorded latencies; an empty
    time-to-first-token list falls back to the latency list; an entry of an id that is no
    candidate plays no part."""
    router = _router_of(LATENCY, _deployment("1234"), _deployment("5678"))
    router.cache.set_cache("g_map", {
        "1234": {LATENCY_KEY: [2.5, 3.0], "time_to_first_token_seconds": [], "2024-01-15-10-30": {"tpm": 50, "rpm": 1}},
        "5678": {LATENCY_KEY: [], "2024-01-15-10-30": {"tpm": 0, "rpm": 0}},
        "someone-else": {LATENCY_KEY: [0.0001]},
    })
    assert {both(router) for _ in range(10)} == {("5678", "5678")}
    _stored(router)["5678"][LATENCY_KEY] = [4.0]
    assert both(router, request_kwargs={"stream": True}) == ("1234", "1234")  # 2.75 against 4.0
    assert _route_stats() == _served(22)


def test_latency_cooldown_comes_before_the_latency_pick():
    """Cooldown filtering runs before the strategy: with the fastest cooling down the next
    fastest is picked; once the cooldown ends, the fastest again; with every deployment
    cooling down, stock's RouterRateLimitError (handed to litellm), sync and async."""
    router = _router_of(LATENCY, _deployment("fast"), _deployment("mid"), _deployment("slow"))
    for dep_id, seconds in (("fast", 0.1), ("mid", 0.5), ("slow", 2.0)):
        _success(router, dep_id, seconds)
    cooldown_comes_before_the_pick(router, "fast", "mid", "slow")
    assert _route_stats() == _handed("no_deployment_available", 2, served=6)


@pytest.mark.parametrize("order_in", ["litellm_params", "model_info"])
def test_latency_order_filter_comes_before_the_latency_pick(order_in):
    """The order filter runs before the strategy: a slow order-1 deployment is picked over
    a fast order-2 one; among order 1 the faster; with order 1 cooling down, order 2."""
    def dep(dep_id, order):
        if order_in == "litellm_params":
            return _deployment(dep_id, order=order)
        return _deployment(dep_id, info={"order": order})

    router = _router_of(LATENCY, dep("backup-fast", 2), dep("first-slow", 1), dep("first-slower", 1))
    for dep_id, seconds in (("backup-fast", 0.1), ("first-slow", 1.0), ("first-slower", 3.0)):
        _success(router, dep_id, seconds)
    assert {both(router) for _ in range(5)} == {("first-slow", "first-slow")}
    _cool(router, "first-slow")
    assert both(router) == ("first-slower", "first-slower")
    _cool(router, "first-slower")
    assert both(router) == ("backup-fast", "backup-fast")
    assert _route_stats() == _served(14)


def test_latency_logging_without_a_deployment_id_changes_nothing():
    """Mirrors litellm's model_info None/missing logging tests (test_lowest_cost_logging.py
    and its latency twin): a success or timeout with no deployment id records nothing."""
    router = _router_of(LATENCY, _deployment("a"), _deployment("b"))
    _success(router, "a", 1.0)
    _success(router, "b", 0.1)
    before = copy.deepcopy(_stored(router))
    selector, now = router.lowestlatency_logger, datetime.now()
    for no_id in ({"litellm_params": {"metadata": {"model_group": "g"}, "model_info": None}},
                  {"litellm_params": {"metadata": {"model_group": "g"}}}):
        selector.log_success_event(no_id, _response(1), now, now + timedelta(seconds=9))
        asyncio.run(selector.async_log_success_event(no_id, _response(1), now, now + timedelta(seconds=9)))
        asyncio.run(selector.async_log_failure_event({**no_id, "exception": _timeout()}, None, now, now))
    assert _stored(router) == before
    assert {both(router) for _ in range(5)} == {("b", "b")}
    assert _route_stats() == _served(10)


def test_latency_real_acompletions_are_logged_and_steer_the_pick():
    """Mirrors test_lowest_latency_routing.py::test_router_completion_streaming: real
    `router.acompletion` calls (mock responses) are selected by the component and logged by
    litellm's own callback into the map (one rpm each); the next selection is again stock's
    and ours alike. A deployment with a recorded 5s latency is then avoided."""
    router = _router_of(LATENCY, _deployment(1, mock_response="Hello world"),
                        _deployment(2, mock_response="Hello world"))

    async def run() -> list[str]:
        answered = []
        for _ in range(4):
            response = await router.acompletion(model="g", messages=MESSAGES)
            answered.append(response._hidden_params["model_id"])
        for _ in range(300):
            stored = _stored(router) or {}
            if sum(v.get("rpm", 0) for e in stored.values() for v in e.values() if isinstance(v, dict)) == 4:
                break
            await asyncio.sleep(0.01)
        return answered

    answered = asyncio.run(run())
    minute = datetime.now().strftime("%Y-%m-%d-%H-%M")
    assert {d: e[minute]["rpm"] for d, e in _stored(router).items() if minute in e} == dict(Counter(answered))
    _stored(router).setdefault("1", {})[LATENCY_KEY] = [5.0]
    _stored(router).setdefault("2", {})[LATENCY_KEY] = [0.01]
    assert both(router) == ("2", "2")
    assert _route_stats() == _served(6)


# == cost-based-routing =======================================================================


def test_cost_cheapest_deployment_by_the_cost_map_is_picked():
    """Mirrors test_lowest_cost_routing.py::test_get_available_deployments and
    ::test_lowest_cost_routing: prices come from litellm's cost map (input + output per
    token): gpt-4o-mini before gpt-3.5-turbo before gpt-4o before gpt-4, whatever the
    list order."""
    router = _router_of(COST, _deployment("openai-gpt-4", model="gpt-4"), _deployment("gpt-4o", model="gpt-4o"),
                        _deployment("gpt-3.5-turbo", model="gpt-3.5-turbo"),
                        _deployment("gpt-4o-mini", model="gpt-4o-mini"))

    assert set(async_ids(router, 10)) == {"gpt-4o-mini"}
    _cool(router, "gpt-4o-mini")
    assert async_ids(router) == ["gpt-3.5-turbo"]
    _cool(router, "gpt-3.5-turbo")
    assert async_ids(router) == ["gpt-4o"]
    assert _route_stats() == _served(12)


def test_cost_custom_prices_in_litellm_params():
    """Mirrors test_lowest_cost_routing.py::test_get_available_deployments_custom_price and
    test_lowest_cost_provider_prefix.py::test_lowest_cost_routing_explicit_params_override:
    input_cost_per_token/output_cost_per_token in litellm_params set the price (over the
    cost map's); one of them alone is added to the map's other price."""
    router = _router_of(COST,
                        _deployment("chatgpt-v-experimental", model="openai/chatgpt-v-2",
                                    input_cost_per_token=0.00003, output_cost_per_token=0.00003),
                        _deployment("chatgpt-v-1", model="openai/chatgpt-v-1",
                                    input_cost_per_token=0.000000001, output_cost_per_token=0.00000001),
                        _deployment("chatgpt-v-5", model="openai/chatgpt-v-5",
                                    input_cost_per_token=10, output_cost_per_token=12))
    assert async_ids(router, 5) == ["chatgpt-v-1"] * 5

    discounted = _router_of(COST, _deployment("mini", model="gpt-4o-mini"),
                            _deployment("discounted-gpt-4", model="gpt-4", input_cost_per_token=1e-08,
                                        output_cost_per_token=1e-08),
                            _deployment("half-custom", model="gpt-4o-mini", input_cost_per_token=1e-09))
    assert async_ids(discounted) == ["discounted-gpt-4"]  # 2e-08 < mini's 1e-09 + 6e-07
    _cool(discounted, "discounted-gpt-4")
    assert async_ids(discounted) == ["half-custom"]  # 1e-09 + 6e-07 < 1.5e-07 + 6e-07
    assert _route_stats() == _served(7)


def test_cost_unknown_models_cost_five_plus_five():
    """Mirrors test_lowest_cost_provider_prefix.py::test_lowest_cost_routing_fallback_for_unmapped_model
    and test_lowest_cost.py::test_unknown_models_do_not_query_dynamic_metadata: a model not
    in the cost map costs 5.0 + 5.0 (a provider-prefixed name the map only holds bare is
    unmapped in the installed litellm; a price of 0 reads as unset): so it beats a custom
    6 + 6, loses to 4 + 5, and a priced model beats it."""
    router = _router_of(COST, _deployment("custom-12", model="openai/x-12", input_cost_per_token=6.0,
                                          output_cost_per_token=6.0),
                        _deployment("unknown", model="openai/no-such-model-xyz"),
                        _deployment("zero-priced", model="openai/zero-xyz", input_cost_per_token=0,
                                    output_cost_per_token=0),
                        _deployment("prefixed", model="openai/gpt-4o-mini"),
                        _deployment("custom-9", model="openai/x-9", input_cost_per_token=4.0,
                                    output_cost_per_token=5.0))
    assert async_ids(router) == ["custom-9"]
    _cool(router, "custom-9")
    assert async_ids(router) == ["unknown"]  # a tie at 10 with zero-priced and prefixed: the first
    _cool(router, "unknown", "zero-priced", "prefixed")
    assert async_ids(router) == ["custom-12"]

    priced = _router_of(COST, _deployment("unknown", model="openai/no-such-model-xyz"),
                        _deployment("mini", model="gpt-4o-mini"))
    assert async_ids(priced) == ["mini"]
    assert _route_stats() == _served(4)


def test_cost_base_model_and_cost_map_entries(monkeypatch):
    """Mirrors test_lowest_cost.py::test_exact_custom_cost_entry_remains_authoritative and
    ::test_invalid_static_cost_entry_is_ignored, and test_lowest_cost_provider_prefix.py
    ::test_lowest_cost_routing_direct_match_no_fallback: a deployment is priced by its
    model_info base_model first, then its model's own cost-map entry (one registered by the
    user included); an entry whose price is not a number is ignored (5.0 + 5.0)."""
    monkeypatch.setitem(litellm.model_cost, "openai/provider-entry",
                        {"input_cost_per_token": 1e-9, "output_cost_per_token": 1e-9})
    monkeypatch.setitem(litellm.model_cost, "openai/corrupt-cost", {"input_cost_per_token": "invalid"})
    router = _router_of(COST, _deployment("corrupt", model="openai/corrupt-cost"),
                        _deployment("gpt-4", model="gpt-4"),
                        _deployment("based-on-mini", model="openai/my-deployment", info={"base_model": "gpt-4o-mini"}),
                        _deployment("custom", model="openai/provider-entry"))

    assert async_ids(router) == ["custom"]
    _cool(router, "custom")
    assert async_ids(router) == ["based-on-mini"]
    _cool(router, "based-on-mini")
    assert async_ids(router) == ["gpt-4"]  # 9e-05 against the corrupt entry's 10
    assert _route_stats() == _served(3)


def test_cost_ties_go_to_the_first_in_the_map_order():
    """Equal prices keep the map's order (a stable sort): with no usage logged, the first
    deployment of the list; once a call to "c" is logged, the map holds "c" first (the
    others are added after it) and the tie goes to "c"."""
    router = _router_of(COST, *(_deployment(d, model="gpt-4o-mini") for d in "abc"))
    assert async_ids(router, 5) == ["a"] * 5

    _success(router, "c", 1.0, use_async=True)
    assert async_ids(router, 5) == ["c"] * 5
    assert list(_stored(router)) == ["c", "a", "b"]
    assert _route_stats() == _served(10)


@pytest.mark.parametrize("where", ["deployment", "litellm_params", "model_info"])
@pytest.mark.parametrize("ans_rpm", [1, 5])
def test_cost_rpm_limit_excludes_a_deployment_used_up_this_minute(where, ans_rpm):
    """Mirrors test_lowest_cost_routing.py::test_get_available_endpoints_tpm_rpm_check_async
    (and test_lowest_cost.py::test_async_get_available_deployments_applies_rpm_limit_from_the_cost_entry):
    3 calls logged this minute to each; "5678" (rpm 3) is at its limit; "1234", the
    cheaper, is picked with rpm 5, and with rpm 1 nothing is left: stock's error (handed to
    litellm to raise)."""
    _clear_of_minute_end()
    router = _router_of(COST, _with_limit("1234", where, "rpm", ans_rpm, model="gpt-4o-mini"),
                        _with_limit("5678", where, "rpm", 3, model="gpt-4"))
    for _ in range(3):
        _success(router, "1234", 0.01, use_async=True)
        _success(router, "5678", 0.01, use_async=True)
    minute = datetime.now().strftime("%Y-%m-%d-%H-%M")
    assert _stored(router) == {"1234": {minute: {"tpm": 0, "rpm": 3}}, "5678": {minute: {"tpm": 0, "rpm": 3}}}

    if ans_rpm == 5:
        assert async_ids(router) == ["1234"]
        assert _route_stats() == _served(1)
    else:
        error = asyncio.run(apick_raises(router))
        assert isinstance(error, RouterRateLimitError) and error.cooldown_list == []
        assert _route_stats() == _handed("no_deployment_available", 1)


def test_cost_cheapest_is_skipped_once_its_rpm_is_used_up():
    """Calls logged through the selector's own success callbacks (sync and async) count
    against rpm this minute: the cheapest (rpm 2) is picked twice, then the next cheapest."""
    _clear_of_minute_end()
    router = _router_of(COST, _deployment("expensive", model="gpt-4"), _deployment("cheap", model="gpt-4o-mini", rpm=2))
    assert async_ids(router) == ["cheap"]
    _success(router, "cheap", 0.1)
    assert async_ids(router) == ["cheap"]
    _success(router, "cheap", 0.1, use_async=True)
    assert async_ids(router, 3) == ["expensive"] * 3
    assert _route_stats() == _served(5)


@pytest.mark.parametrize("where", ["deployment", "litellm_params", "model_info"])
def test_cost_tpm_limit_counts_the_request_tokens(where):
    """test_lowest_cost.py::test_log_success_event_counts_a_response_with_no_completion_tokens
    counts a response's total_tokens (12 with no completion tokens) into this minute's tpm;
    the selector adds the request's own tokens: with 50 of 60 used, an 8-token request
    still fits the cheapest, a 48-token one goes to the next."""
    _clear_of_minute_end()
    router = _router_of(COST, _with_limit("cheap", where, "tpm", 60, model="gpt-4o-mini"),
                        _deployment("expensive", model="gpt-4"))
    _success(router, "cheap", 0.1, _response(0, 12))
    _success(router, "cheap", 0.1, _response(30, 8), use_async=True)
    minute = datetime.now().strftime("%Y-%m-%d-%H-%M")
    assert _stored(router)["cheap"] == {minute: {"tpm": 50, "rpm": 2}}

    assert async_ids(router, messages=SHORT) == ["cheap"]
    assert async_ids(router, messages=LONG) == ["expensive"]
    assert async_ids(router, request_kwargs={}) == ["cheap"]
    assert _route_stats() == _served(3)


def test_cost_cooldown_and_order_come_before_the_cost_pick():
    """Cooldown and order filtering run before the strategy: the cheapest order-1
    deployment is picked over a cheaper order-2 one; with order 1 cooling down, order 2;
    with everything cooling down, stock's RouterRateLimitError (handed to litellm)."""
    router = _router_of(COST, _deployment("backup-cheap", model="gpt-4o-mini", order=2),
                        _deployment("first-pricey", model="gpt-4", order=1),
                        _deployment("first-mid", model="gpt-4o", order=1))
    assert async_ids(router, 3) == ["first-mid"] * 3
    _cool(router, "first-mid")
    assert async_ids(router) == ["first-pricey"]
    _cool(router, "first-pricey")
    assert async_ids(router) == ["backup-cheap"]
    _cool(router, "backup-cheap")
    error = asyncio.run(apick_raises(router))
    assert isinstance(error, RouterRateLimitError) and error.type == "all_deployments_in_cooldown"
    assert _route_stats() == _handed("no_deployment_available", 1, served=5)


def test_cost_logging_without_a_deployment_id_changes_nothing():
    """Mirrors test_lowest_cost_logging.py (model_info None or missing: the success and
    failure callbacks, sync and async, do not crash): nothing is counted, the pick is
    unchanged."""
    _clear_of_minute_end()
    router = _router_of(COST, _deployment("cheap", model="gpt-4o-mini", rpm=1), _deployment("pricey", model="gpt-4"))
    selector, now = router.lowestcost_logger, time.time()
    for no_id in ({"litellm_params": {"metadata": {"model_group": "g"}, "model_info": None}},
                  {"litellm_params": {"metadata": {"model_group": "g"}}}):
        selector.log_success_event(no_id, {}, now, now)
        selector.log_failure_event(no_id, {}, now, now)
        asyncio.run(selector.async_log_success_event(no_id, {}, now, now))
    assert _stored(router) is None
    assert async_ids(router, 3) == ["cheap"] * 3
    assert _route_stats() == _served(3)


def test_cost_sync_selection_is_stocks_own_error():
    """litellm's cost-based selector is async only: a sync selection raises in stock; the
    installed method hands it to litellm, which raises the same error (in the installed
    litellm: no deployment available, as the sync selector finds none)."""
    router = _router_of(COST, _deployment("a", model="gpt-4o-mini"), _deployment("b", model="gpt-4"))
    error = pick_raises(router)
    assert isinstance(error, RouterRateLimitError) and "No deployments available" in str(error)
    assert _route_stats() == _handed("cost_based_sync", 1)


def test_cost_real_acompletion_goes_to_the_cheapest():
    """Mirrors test_lowest_cost_routing.py::test_lowest_cost_routing: `router.acompletion`
    (mock response) is answered by the cheapest deployment, selected by the component, and
    litellm's own callback counts the call into the cost map."""
    _clear_of_minute_end()
    router = _router_of(COST, _deployment("openai-gpt-4", model="gpt-4", mock_response="hi"),
                        _deployment("gpt-3.5-turbo", model="gpt-3.5-turbo", mock_response="hi"))

    async def run() -> list[str]:
        answered = [(await router.acompletion(model="g", messages=MESSAGES))._hidden_params["model_id"]
                    for _ in range(3)]
        for _ in range(300):
            if sum(m.get("rpm", 0) for e in (_stored(router) or {}).values() for m in e.values()) == 3:
                break
            await asyncio.sleep(0.01)
        return answered

    assert asyncio.run(run()) == ["gpt-3.5-turbo"] * 3
    minute = datetime.now().strftime("%Y-%m-%d-%H-%M")
    assert _stored(router)["gpt-3.5-turbo"][minute]["rpm"] == 3
    assert async_ids(router) == ["gpt-3.5-turbo"]
    assert _route_stats() == _served(4)


# == the cached map: stock's insertions ========================================================


@pytest.mark.parametrize("strategy, use_async", [(LATENCY, False), (LATENCY, True), (COST, True)],
                         ids=["latency-sync", "latency-async", "cost-async"])
def test_missing_candidates_are_inserted_into_the_cached_map_as_stock_inserts_them(strategy, use_async):
    """Stock's selector adds the candidates the cached map lacks into the cached object
    itself (later samples append to those entries). From a snapshot of the map, stock runs;
    the snapshot is put back in its place; the installed method runs: the map must then be
    stock's, key order included (latency shuffles the map's items), the pick the same
    object and `random` alike. Cooling-down deployments are not candidates (not added), an
    entry of no deployment stays; with no map cached none is created."""
    _clear_of_minute_end()
    router = _router_of(strategy, *(_deployment(d, model="gpt-4o-mini") for d in ("a", "b", "c", "d")))
    cache = router.cache.in_memory_cache.cache_dict
    key = _usage_key(router)
    stock_method = _router.ORIGINALS["async_get_available_deployment" if use_async else "get_available_deployment"]

    def run_both() -> tuple[dict, dict]:
        snapshot = copy.deepcopy(cache.get(key))
        state = random.getstate()
        if use_async:
            expected = asyncio.run(stock_method(router, "g", {}))
        else:
            expected = stock_method(router, "g")
        map_after_stock, state_after_stock = copy.deepcopy(cache.get(key)), random.getstate()
        if snapshot is not None:
            cache[key] = snapshot
        random.setstate(state)
        if use_async:
            got = asyncio.run(router.async_get_available_deployment("g", request_kwargs={}))
        else:
            got = router.get_available_deployment("g")
        assert got is expected, (_id(got), _id(expected))
        assert random.getstate() == state_after_stock
        assert cache.get(key) == map_after_stock
        if map_after_stock is not None:
            assert list(cache[key]) == list(map_after_stock)
        return got, map_after_stock

    assert run_both()[1] is None and key not in cache

    _success(router, "c", 0.2, use_async=use_async)
    cache[key]["someone-else"] = {LATENCY_KEY: [0.001]} if strategy == LATENCY else {}
    _cool(router, "b", seconds=0.5)
    picked, stored = run_both()
    assert list(stored) == ["c", "someone-else", "a", "d"]
    assert LATENCY_KEY in stored["a"] if strategy == LATENCY else LATENCY_KEY not in stored["a"]
    if strategy == COST:
        assert _id(picked) == "c"  # the tie goes to the first in the map's order

    time.sleep(0.55)
    _, stored = run_both()  # b's cooldown over: added last
    assert list(stored) == ["c", "someone-else", "a", "d", "b"]
    assert _route_stats() == _served(3)


def test_latency_averages_with_the_installed_litellms_function(monkeypatch):
    """litellm's averaging is inlined only while lowest_latency._average_latency is the
    function it was checked to be: a replaced one (here: the worst sample) is called, as
    stock calls it."""
    from litellm.router_strategy import lowest_latency

    assert _router_scores._Litellm.plain_average is lowest_latency._average_latency
    router = _router_of(LATENCY, _deployment(1), _deployment(2))
    for seconds in (1.0, 5.0):
        _success(router, 1, seconds)  # average 3, worst 5
    for seconds in (4.0, 4.0):
        _success(router, 2, seconds)  # average 4, worst 4
    assert both(router) == ("1", "1")
    monkeypatch.setattr(lowest_latency, "_average_latency", lambda samples: max(samples, default=0.0))
    assert both(router) == ("2", "2")
    assert _route_stats() == _served(4)
