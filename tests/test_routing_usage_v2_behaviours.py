"""litellm's own usage-based-routing-v2 behaviours, checked with acceleration on.

Each test restates, from scratch, a behaviour that one of litellm's tests for this
strategy checks (named in its docstring; paths are in the BerriAI/litellm repository):
tests/local_testing/test_tpm_rpm_routing_v2.py, tests/test_litellm/router_strategy/
test_lowest_tpm_rpm_v2.py and test_lowest_tpm_rpm_v2_multi_instance.py; for a Router with
`routing_strategy="usage-based-routing-v2"` and its in-memory cache, as the installed
litellm implements it (router_strategy/lowest_tpm_rpm_v2.py: per deployment a tokens
counter `{id}:{model}:tpm:{HH-MM}` and a requests counter `{id}:{model}:rpm:{HH-MM}` of
the current UTC minute; the selector drops a deployment whose tokens plus the request's
would pass its tpm limit, or whose requests + 1 reach its rpm limit, and picks at random
among the rest with the fewest tokens).

Usage is recorded the way litellm records it: tokens through the selector's own success
callbacks (`log_success_event` / `async_log_success_event`, with the standard logging
object litellm passes them), requests through its own pre-call checks (`pre_call_check` /
`async_pre_call_check`, which raise past the rpm limit), or through real `Router.completion`
/ `acompletion` calls with a mock response. Every selection runs twice from the same
state: once through litellm's original method (`fast_litellm._router.ORIGINALS`) and once
through the installed one; both must give the same deployment object (or raise the same
error type and message) and leave `random` and the request kwargs alike. Each test also
asserts, through the `route` counters, which selections the component served and which it
handed to litellm.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import timedelta

import litellm
import pytest
from litellm import Router
from litellm.utils import get_utc_datetime

from fast_litellm import _router

from routing_checks import (  # noqa: F401 - routing_on: the autouse fixture
    _clear_of_minute_end, _cool, _deployment, _handed, _id, _route_stats, _served, _with_limit,
    async_ids, both, both_raise, cooldown_comes_before_the_pick, pick, routing_on,
)

pytestmark = pytest.mark.routing  # skipped on a litellm release routing is not verified on (conftest)

V2 = "usage-based-routing-v2"
MESSAGES = [{"role": "user", "content": "Hey, how's it going?"}]  # 14 tokens as litellm counts them
SHORT = [{"role": "user", "content": "hi"}]  # 8 tokens
LONG = [{"role": "user", "content": "hello there " * 20}]  # 48 tokens
SHORT_TEXT, LONG_TEXT = "Hello world", "hello there " * 20  # `input=`: 2 and 41 tokens


# -- helpers ----------------------------------------------------------------------------------


def _router_of(*deployments: dict, **routing_args) -> Router:
    router = Router(model_list=list(deployments), routing_strategy=V2, num_retries=0,
                    routing_strategy_args=routing_args)
    assert _router.router_report(router)["accelerated_groups"], _router.router_report(router)
    return router


def _deployment_of(router: Router, dep_id: str) -> dict:
    """The deployment as the Router holds it (ids read back as str)."""
    return next(d for d in router.model_list if _id(d) == dep_id)


def _minute(minutes_ago: int = 0) -> str:
    return (get_utc_datetime() - timedelta(minutes=minutes_ago)).strftime("%H-%M")


def _counter_key(router: Router, dep_id: str, metric: str, minute: str | None = None) -> str:
    model = _deployment_of(router, dep_id)["litellm_params"]["model"]
    return f"{dep_id}:{model}:{metric}:{_minute() if minute is None else minute}"


def _counter(router: Router, dep_id: str, metric: str):
    """This minute's tokens ("tpm") or requests ("rpm") counter of a deployment, unexpired."""
    return router.cache.in_memory_cache.get_cache(_counter_key(router, dep_id, metric))


def _tokens(router: Router, dep_id: str, total_tokens: int, *, use_async: bool = False) -> None:
    """A successful call to `dep_id` of `total_tokens`, logged through the selector's own
    success callback with the standard logging object litellm builds for it."""
    deployment = _deployment_of(router, dep_id)
    kwargs = {"standard_logging_object": {
        "model_group": deployment["model_name"], "model_id": dep_id,
        "hidden_params": {"litellm_model_name": deployment["litellm_params"]["model"]},
        "total_tokens": total_tokens}, "litellm_params": {"metadata": {}}}
    if use_async:
        asyncio.run(router.lowesttpm_logger_v2.async_log_success_event(kwargs, None, None, None))
    else:
        router.lowesttpm_logger_v2.log_success_event(kwargs, None, None, None)


def _requests(router: Router, dep_id: str, n: int = 1, *, use_async: bool = False) -> None:
    """`n` calls to `dep_id` counted by the selector's own pre-call check (as the Router
    runs it before each call)."""
    deployment = _deployment_of(router, dep_id)
    for _ in range(n):
        if use_async:
            asyncio.run(router.lowesttpm_logger_v2.async_pre_call_check(deployment, None))
        else:
            router.lowesttpm_logger_v2.pre_call_check(deployment)


WHERE = pytest.mark.parametrize("where", ["deployment", "litellm_params", "model_info"])


# == the pick =================================================================================


@pytest.mark.parametrize("log_async", [False, True], ids=["sync-log", "async-log"])
def test_fewest_tokens_this_minute_is_picked(log_async):
    """Mirrors test_tpm_rpm_routing_v2.py::test_tpm_rpm_updated, ::test_get_available_deployments
    and ::test_router_get_available_deployments: a call of 50 tokens to deployment 1 and one
    of 20 to deployment 2 (integer ids, read back as str) are counted under this minute's
    `{id}:{model}:tpm` and `:rpm` keys; "2" is picked, sync and async, until it has used
    more than "1"."""
    _clear_of_minute_end()
    router = _router_of(_deployment(1, model="azure/gpt-turbo", rpm=1440),
                        _deployment(2, model="azure/gpt-35-turbo", rpm=6))
    for dep_id, total_tokens in (("1", 50), ("2", 20)):
        _requests(router, dep_id, use_async=log_async)
        _tokens(router, dep_id, total_tokens, use_async=log_async)
    assert router.cache.in_memory_cache.get_cache(f"1:azure/gpt-turbo:tpm:{_minute()}") == 50
    assert [_counter(router, "2", "tpm"), _counter(router, "2", "rpm")] == [20, 1]

    assert {both(router) for _ in range(10)} == {("2", "2")}
    _tokens(router, "2", 31, use_async=log_async)  # 51 against 50
    assert {both(router, messages=MESSAGES) for _ in range(5)} == {("1", "1")}
    assert _route_stats() == _served(30)


def test_ties_are_broken_at_random():
    """Mirrors test_tpm_rpm_routing_v2.py::test_multiple_potential_deployments (sync and
    async): deployments with the same token count (none used yet, or 30 each) are picked at
    random among them, each of them many times; one that used more is never picked."""
    _clear_of_minute_end()
    router = _router_of(*(_deployment(d, tpm=1440) for d in ("a", "b", "c", "d")))

    unused = Counter(_id(pick(router, messages=MESSAGES)) for _ in range(150))
    unused += Counter(async_ids(router, 150, messages=MESSAGES))
    assert set(unused) == {"a", "b", "c", "d"} and min(unused.values()) > 45

    for dep_id in ("a", "b", "c"):
        _tokens(router, dep_id, 30)
    _tokens(router, "d", 31, use_async=True)
    used = Counter(_id(pick(router)) for _ in range(150)) + Counter(async_ids(router, 150))
    assert set(used) == {"a", "b", "c"} and min(used.values()) > 65
    assert _route_stats() == _served(600)


# == limits ===================================================================================


@WHERE
def test_tpm_limit_counts_the_request_tokens(where):
    """Mirrors test_lowest_tpm_rpm_v2.py::test_async_over_limit_deployments_still_excluded
    and the tpm check of test_tpm_rpm_routing_v2.py::test_router_skip_rate_limited_deployments:
    a deployment is left out when its tokens this minute plus the request's (its messages,
    or its `input=` text) would pass its tpm limit: "low" has used 50 of 60, "high" 55 of no
    limit. An 8-token request or 2 tokens of text still fit "low"; 14 or 48 tokens, or 41 of
    text, go to "high"; a request with neither counts 0 tokens."""
    _clear_of_minute_end()
    router = _router_of(_with_limit("low", where, "tpm", 60), _deployment("high"))
    _tokens(router, "low", 50)
    _tokens(router, "high", 55, use_async=True)

    assert both(router, messages=SHORT) == ("low", "low")
    assert both(router, input=SHORT_TEXT) == ("low", "low")
    assert both(router) == ("low", "low")
    assert both(router, messages=MESSAGES) == ("high", "high")
    assert both(router, messages=LONG) == ("high", "high")
    assert both(router, input=LONG_TEXT) == ("high", "high")
    assert _route_stats() == _served(12)


@WHERE
def test_rpm_limit_excludes_at_limit_minus_one(where):
    """Mirrors test_tpm_rpm_routing_v2.py::test_return_potential_deployments: v2 leaves a
    deployment out once its requests this minute + 1 reach its rpm limit (`>=`, one request
    before the limit; a deployment without a requests counter is kept). "limited" (rpm 3,
    the fewer tokens) is picked after 0 and 1 requests, not after 2. Its own pre-call check
    still lets a third request through and raises at the fourth."""
    _clear_of_minute_end()
    router = _router_of(_with_limit("limited", where, "rpm", 3), _deployment("free"))
    _tokens(router, "limited", 10)
    _tokens(router, "free", 20)

    assert both(router) == ("limited", "limited")
    _requests(router, "limited")
    assert both(router) == ("limited", "limited")
    _requests(router, "limited", use_async=True)
    assert _counter(router, "limited", "rpm") == 2
    assert {both(router, messages=MESSAGES) for _ in range(5)} == {("free", "free")}

    _requests(router, "limited")
    with pytest.raises(litellm.RateLimitError, match="over defined rpm limit=3"):
        _requests(router, "limited", use_async=True)
    assert both(router) == ("free", "free")
    assert _route_stats() == _served(16)


@WHERE
@pytest.mark.parametrize("metric", ["tpm", "rpm"])
def test_zero_limit_is_a_limit(where, metric):
    """Mirrors test_tpm_rpm_routing_v2.py::test_single_deployment_tpm_zero: v2 reads a limit
    as unset only when it is None, so 0 is a limit (unlike latency- and cost-based routing).
    tpm 0: any request with tokens passes it (one with none still fits); rpm 0: once a
    request is counted (its pre-call check raises, after counting it). Alone in its group,
    the zero-limit deployment gives stock's no-deployments error."""
    _clear_of_minute_end()
    router = _router_of(_with_limit("zero", where, metric, 0), _deployment("other"))
    _tokens(router, "other", 30)

    if metric == "tpm":
        assert both(router) == ("zero", "zero")
        assert both(router, messages=MESSAGES) == ("other", "other")
    else:
        assert both(router, messages=MESSAGES) == ("zero", "zero")
        with pytest.raises(litellm.RateLimitError):
            _requests(router, "zero")
        assert _counter(router, "zero", "rpm") == 1
        assert both(router, messages=MESSAGES) == ("other", "other")

    alone = _router_of(_with_limit("zero", where, metric, 0))
    if metric == "rpm":
        with pytest.raises(litellm.RateLimitError):
            _requests(alone, "zero", use_async=True)
    error, async_error = both_raise(alone, messages=MESSAGES)
    assert type(error) is ValueError and str(error).startswith("No deployments available")
    assert type(async_error) is litellm.RateLimitError
    assert _route_stats() == _handed("no_deployment_available", 2, served=4)


@pytest.mark.parametrize("metric", ["tpm", "rpm"])
def test_every_deployment_over_its_limit_is_stocks_error(metric):
    """Mirrors test_lowest_tpm_rpm_v2.py::test_async_all_over_limit_still_raises and
    test_tpm_rpm_routing_v2.py::test_router_skip_rate_limited_deployments (1439 of 1440
    tokens used, a 14-token request): with no deployment within its limits the selection
    is handed to litellm, which raises its own error, the same message sync (ValueError)
    and async (RateLimitError "No deployments available"), listing each deployment's
    usage and limits."""
    _clear_of_minute_end()
    if metric == "tpm":
        router = _router_of(_deployment("a", tpm=1440), _deployment("b", tpm=100))
        _tokens(router, "a", 1439)
        _tokens(router, "b", 90, use_async=True)
        request = {"messages": MESSAGES}
    else:
        router = _router_of(_deployment("a", rpm=2), _deployment("b", rpm=5))
        _requests(router, "a")
        _requests(router, "b", 4, use_async=True)
        request = {}

    error, async_error = both_raise(router, **request)
    assert type(error) is ValueError
    assert type(async_error) is litellm.RateLimitError
    assert str(error).startswith("No deployments available for selected model. Passed model=g. Deployments=")
    assert str(error) in str(async_error)
    assert f"'{metric}_limit': {1440 if metric == 'tpm' else 2}" in str(error)
    assert _route_stats() == _handed("no_deployment_available", 2)


# == the minute ===============================================================================


def test_counters_of_another_minute_are_ignored():
    """The selector reads only this UTC minute's counters (the keys litellm's test builds
    with `get_utc_datetime().strftime("%H-%M")`): tokens and requests counted under the
    previous minute, far over the limits, change nothing; this minute's do."""
    _clear_of_minute_end()
    router = _router_of(_deployment("a", tpm=100, rpm=5), _deployment("b"))
    cache = router.cache
    cache.set_cache(_counter_key(router, "a", "tpm", _minute(1)), 10_000, ttl=60)
    cache.set_cache(_counter_key(router, "a", "rpm", _minute(1)), 99, ttl=60)
    _tokens(router, "a", 10)
    _tokens(router, "b", 20)

    assert {both(router, messages=MESSAGES) for _ in range(5)} == {("a", "a")}
    cache.set_cache(_counter_key(router, "a", "rpm", _minute()), 4, ttl=60)
    assert both(router) == ("b", "b")
    assert _route_stats() == _served(12)


def test_counters_expire_with_their_ttl():
    """Mirrors test_tpm_rpm_routing_v2.py::test_router_caching_ttl and ::test_router_caching_ttl_sync
    (litellm issue #5609: the counters are written with the routing ttl, 60s by default).
    With `ttl` 1 the tokens and requests counted expire after a second: a deployment left
    out for them is picked again, and the pick is again random between equals."""
    _clear_of_minute_end()
    default = _router_of(_deployment("a"))
    _tokens(default, "a", 5)
    expiry = default.cache.in_memory_cache.ttl_dict[_counter_key(default, "a", "tpm")]
    assert 59 < expiry - time.time() <= 60

    router = _router_of(_deployment("a", rpm=3), _deployment("b"), ttl=1)
    _tokens(router, "a", 10)
    _tokens(router, "b", 20)
    _requests(router, "a")
    _requests(router, "a", use_async=True)
    assert {both(router) for _ in range(5)} == {("b", "b")}

    time.sleep(1.1)
    stored = router.cache.in_memory_cache
    for metric in ("tpm", "rpm"):  # still stored, past their expiry
        key = _counter_key(router, "a", metric)
        assert key in stored.cache_dict and stored.ttl_dict[key] < time.time()
    picked = Counter(_id(pick(router)) for _ in range(40)) + Counter(async_ids(router, 40))
    assert set(picked) == {"a", "b"} and min(picked.values()) > 20
    assert _route_stats() == _served(90)


# == the filters before the pick ===============================================================


def test_cooldown_comes_before_the_usage_pick():
    """Cooldown filtering runs before the strategy: with the least used cooling down the
    next least used is picked; once the cooldown ends, the least used again; with every
    deployment cooling down, stock's RouterRateLimitError (handed to litellm), sync and
    async."""
    _clear_of_minute_end()
    router = _router_of(_deployment("low"), _deployment("mid"), _deployment("high"))
    for dep_id, total_tokens in (("low", 10), ("mid", 20), ("high", 30)):
        _tokens(router, dep_id, total_tokens)
    cooldown_comes_before_the_pick(router, "low", "mid", "high")
    assert _route_stats() == _handed("no_deployment_available", 2, served=6)


@pytest.mark.parametrize("order_in", ["litellm_params", "model_info"])
def test_order_filter_comes_before_the_usage_pick(order_in):
    """The order filter runs before the strategy: a busier order-1 deployment is picked over
    an unused order-2 one; among order 1 the least used, unless the request's tokens would
    pass its tpm limit (then the other order-1 one); with order 1 cooling down, order 2.
    A limit does not reach past the order filter: with one order-1 deployment cooling down
    and the other over its limit, stock raises its no-deployments error (order 2 is never
    tried); the installed method hands that selection to litellm, which raises it."""
    _clear_of_minute_end()

    def dep(dep_id, order, **params):
        if order_in == "litellm_params":
            return _deployment(dep_id, order=order, **params)
        return _deployment(dep_id, info={"order": order}, **params)

    router = _router_of(dep("backup", 2), dep("first-low", 1, tpm=60), dep("first-high", 1))
    _tokens(router, "first-low", 20)
    _tokens(router, "first-high", 40)
    assert {both(router, messages=SHORT) for _ in range(5)} == {("first-low", "first-low")}  # 20 + 8 <= 60
    assert both(router, messages=LONG) == ("first-high", "first-high")  # 20 + 48 > 60

    _cool(router, "first-high")
    assert both(router) == ("first-low", "first-low")
    error, _ = both_raise(router, messages=LONG)
    assert type(error) is ValueError and "'first-low': {'current_tpm': 20, 'tpm_limit': 60" in str(error)
    _cool(router, "first-low")
    assert both(router, messages=LONG) == ("backup", "backup")
    assert _route_stats() == _handed("no_deployment_available", 2, served=16)


# == real calls ===============================================================================


def test_real_calls_record_usage_and_steer_the_next_pick():
    """Mirrors test_tpm_rpm_routing_v2.py::test_router_completion_streaming and
    ::test_tpm_rpm_routing_model_name_checks: `router.acompletion` and `router.completion`
    (mock responses, 30 tokens each) are selected by the component; litellm's own
    callbacks count each call (the pre-call check: 1 request; the success callback, from
    the standard logging object, whose model name is the deployment's: 30 tokens) under
    the deployment's own keys, and the next selection goes to the deployment with fewer
    tokens."""
    _clear_of_minute_end()
    router = _router_of(_deployment("mini", model="openai/gpt-4o-mini", mock_response="Hello world"),
                        _deployment("full", model="openai/gpt-4o", mock_response="Hello world"))

    def counted(dep_id: str, total_tokens: int) -> bool:
        return _counter(router, dep_id, "tpm") == total_tokens

    async def acall(already_used: int = 0) -> str:
        """A call, and the wait for litellm's callback to count it (in this event loop)."""
        response = await router.acompletion(model="g", messages=MESSAGES)
        dep_id = response._hidden_params["model_id"]
        for _ in range(300):
            if counted(dep_id, already_used + 30):
                break
            await asyncio.sleep(0.01)
        return dep_id

    first = asyncio.run(acall())
    other = ({"mini", "full"} - {first}).pop()
    assert [_counter(router, first, "tpm"), _counter(router, first, "rpm")] == [30, 1]
    assert _counter(router, other, "tpm") is None
    assert both(router, messages=MESSAGES) == (other, other)

    second = router.completion(model="g", messages=MESSAGES)._hidden_params["model_id"]
    for _ in range(300):
        if counted(other, 30):
            break
        time.sleep(0.01)
    assert second == other
    assert [_counter(router, other, "tpm"), _counter(router, other, "rpm")] == [30, 1]

    third = asyncio.run(acall(already_used=30))  # a tie at 30: either
    assert _counter(router, third, "tpm") == 60
    fewer = ({"mini", "full"} - {third}).pop()
    assert {both(router) for _ in range(5)} == {(fewer, fewer)}
    assert _route_stats() == _served(15)
