"""Routers built with `enable_pre_call_checks=True`, checked with acceleration on.

litellm runs `Router._pre_call_checks` after the cooldown filter and before the order filter,
only when the request carries `messages` or `input` (router.py: get_available_deployment and
async_get_healthy_deployments). It drops a deployment when:

- context window: its max_input_tokens (from `model_info`, else litellm's cost map) is below
  the request's token count (messages, Responses `input`, `tools` in request_kwargs); all
  dropped -> `litellm.ContextWindowExceededError`;
- rpm (1.106 only): its int `litellm_params.rpm` is <= the count the Router cache holds under
  its model id (`Router._update_usage` writes it), except under usage-based-routing-v2; all
  dropped (one by rpm at least) -> `RouterRateLimitErrorBasic`;
- response_format: `litellm.drop_params` is False, request_kwargs carry `response_format`, and
  its provider does not list that param; all dropped -> the usual no-deployment error (1.109:
  only a non-str one, and when no candidate lists it litellm weighs each deployment's
  `drop_params` / `allowed_openai_params` and raises `UnsupportedParamsError`, handed to it);
- region: `allowed_model_region` in request_kwargs and a `litellm_params.region_name` not equal
  to it; all dropped -> the usual no-deployment error.

Every selection runs twice from the same state: once through litellm's original method
(`fast_litellm._router.ORIGINALS`) and once through the installed one; both must give the same
deployment object (or raise the same error type and message) and leave `random` and the
request kwargs alike. Each test also asserts, through the `route` counters, which selections
the component served and which it handed to litellm (and why).

Router() writes each deployment's model_info into `litellm.model_cost`, under its id and under
the shared backend name ("gpt-4o-mini"): a declared max_input_tokens becomes every
gpt-4o-mini deployment's window, in every Router of the process. An autouse fixture puts the
cost map back after each test (and the generated test after each example).
"""

from __future__ import annotations

import asyncio
import copy
import random
from collections import Counter
from datetime import datetime, timedelta, timezone

import litellm
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from litellm import Router
from litellm.types.router import RouterRateLimitError, RouterRateLimitErrorBasic

from fast_litellm import _pre_call, _router, _router_release

from routing_checks import (  # noqa: F401 - routing_on: the autouse fixture
    _clear_of_minute_end, _cool, _deployment, _handed, _id, _route_stats, _served, apick, apick_raises,
    async_ids, both, callbacks_kept, pick, pick_raises, routing_on,
)

pytestmark = pytest.mark.routing  # skipped on a litellm release routing is not verified on (conftest)

# litellm 1.109 dropped the rpm check (and the per-id counts it read) and raises
# UnsupportedParamsError when no candidate takes a non-str response_format
RPM_CHECKED = not _router_release.FACADE
rpm_checked_only = pytest.mark.skipif(not RPM_CHECKED, reason="litellm 1.109 has no rpm pre-call check")
SHUFFLE, LATENCY, USAGE_V2 = "simple-shuffle", "latency-based-routing", "usage-based-routing-v2"
SHORT = [{"role": "user", "content": "hi"}]  # 8 tokens as litellm counts them
LONG = [{"role": "user", "content": "hello there " * 20}]  # 48 tokens
UNCOUNTABLE = [{"role": "user", "content": [{"type": "no-such-part"}]}]  # token_counter raises
JSON_MODE = {"response_format": {"type": "json_object"}}
NO_RESPONSE_FORMAT = "openai/gpt-3.5-turbo-16k"  # litellm lists no response_format param for it
BIG = "openai/gpt-4o"  # 128000 input tokens in litellm's cost map, and no deployment here declares less


# -- helpers ----------------------------------------------------------------------------------


def _snapshot_cost_map() -> dict:
    return {key: copy.deepcopy(value) for key, value in litellm.model_cost.items()}


def _restore_cost_map(saved: dict) -> None:
    """In place (the dict stays the one litellm and fast_litellm hold), then litellm's
    model-info caches cleared as register_model clears them."""
    for key in [key for key in litellm.model_cost if key not in saved]:
        del litellm.model_cost[key]
    for key, value in saved.items():
        if litellm.model_cost.get(key) != value:
            litellm.model_cost[key] = copy.deepcopy(value)
    litellm.utils._invalidate_model_cost_lowercase_map()


@pytest.fixture(autouse=True)
def cost_map_kept():
    saved = _snapshot_cost_map()
    yield
    _restore_cost_map(saved)


def _router_of(*deployments: dict, strategy: str = SHUFFLE, **settings) -> Router:
    return Router(model_list=list(deployments), routing_strategy=strategy, num_retries=0,
                  enable_pre_call_checks=True, **settings)


def _window(dep_id: str, tokens: int, model: str = "openai/gpt-4o-mini", **params) -> dict:
    """A deployment whose model_info declares a context window of `tokens` input tokens."""
    return _deployment(dep_id, model=model, info={"max_input_tokens": tokens}, **params)


def _requests_this_minute(router: Router, dep_id: str, count) -> None:
    """The per-deployment count the rpm check reads (where Router._update_usage keeps it)."""
    router.cache.set_cache(key=dep_id, value=count, local_only=True, ttl=60)


def _picked(router: Router, n: int, **kwargs) -> Counter:
    """Ids of `n` sync and `n` async picks (each checked against stock)."""
    sync = Counter(_id(pick(router, **kwargs)) for _ in range(n))
    return sync + Counter(async_ids(router, n, **kwargs))


def _log_latency(router: Router, dep_id: str, seconds: float) -> None:
    """A call to `dep_id` that took `seconds`, logged through the latency selector's callback."""
    selector = getattr(router, router._DEFAULT_SELECTOR_ATTR_BY_STRATEGY[LATENCY])
    start = datetime.now()
    kwargs = {"litellm_params": {"metadata": {"model_group": "g"}, "model_info": {"id": dep_id}}, "stream": False}
    selector.log_success_event(kwargs, {"usage": {"total_tokens": 50}}, start, start + timedelta(seconds=seconds))


def _accelerated(router: Router) -> bool:
    return "g" in _router.router_report(router).get("accelerated_groups", [])


# -- the router is accelerated ----------------------------------------------------------------


@pytest.mark.parametrize("strategy", [SHUFFLE, LATENCY, USAGE_V2])
def test_a_pre_call_checks_router_is_accelerated(strategy):
    """enable_pre_call_checks no longer hands the whole Router to litellm."""
    router = _router_of(_window("small", 20), _deployment("big", model=BIG), strategy=strategy)

    report = _router.router_report(router)

    assert report.get("reason") is None and report["accelerated_groups"] == ["g"], report
    assert report["handed_to_litellm"] == {}, report


# -- context window ---------------------------------------------------------------------------


@pytest.mark.parametrize("strategy", [SHUFFLE, LATENCY, USAGE_V2])
def test_a_deployment_whose_window_the_messages_exceed_is_skipped(strategy):
    """48 tokens exceed the 20-token window: only `big` is picked; 8 tokens fit both."""
    router = _router_of(_window("small", 20), _deployment("big", model=BIG), strategy=strategy)

    assert _picked(router, 40, messages=LONG) == {"big": 80}
    short = _picked(router, 60, messages=SHORT)

    assert set(short) == {"small", "big"}
    assert _route_stats() == _served(200)


def test_the_window_from_litellms_cost_map_applies_without_model_info():
    """No model_info: gpt-3.5-turbo-16k's 16385 input tokens come from litellm's cost map; a
    17000-token prompt goes to gpt-4o only, a short one to either. (An async selection
    whose prompt may be this large is left to stock, which counts it off the event loop.)"""
    router = _router_of(_deployment("16k", model="openai/gpt-3.5-turbo-16k"), _deployment("4o", model=BIG))
    huge = [{"role": "user", "content": "hello " * 17000}]

    assert _picked(router, 3, messages=huge) == {"4o": 6}
    assert set(_picked(router, 40, messages=SHORT)) == {"16k", "4o"}
    assert _route_stats() == _handed("pre_call_large_prompt", 3, served=83)


def test_an_async_prompt_too_large_to_count_on_the_loop_is_handed_to_litellm():
    """Stock counts an async selection's tokens in a worker thread; the component counts on
    the loop only prompts it can bound (str contents, the bound under 200000 tokens): a
    60000-character prompt is counted on the loop sync, handed to litellm async."""
    router = _router_of(_window("small", 20), _deployment("big", model=BIG))
    large = [{"role": "user", "content": "x" * 60000}]
    bounded = [{"role": "user", "content": "x" * 40000}]

    assert _picked(router, 5, messages=large) == {"big": 10}
    assert _picked(router, 5, messages=bounded) == {"big": 10}
    # what litellm counts from the request besides the messages is bounded too
    huge_tools = [{"type": "function", "function": {"name": "lookup", "description": "x" * 60000}}]
    assert _picked(router, 5, messages=SHORT, request_kwargs={"tools": huge_tools}) == {"big": 10}
    assert _route_stats() == _handed("pre_call_large_prompt", 10, served=20)


def test_a_window_declared_on_one_deployment_is_every_same_model_deployments_window():
    """Surprising but stock: Router() registers model_info's max_input_tokens under the shared
    "gpt-4o-mini" cost-map entry, so `sibling` (gpt-4o-mini, nothing declared) also gets 20."""
    router = _router_of(_window("declared", 20), _deployment("sibling"), _deployment("big", model=BIG))

    assert _picked(router, 30, messages=LONG) == {"big": 60}
    assert set(_picked(router, 60, messages=SHORT)) == {"declared", "sibling", "big"}
    assert _route_stats() == _served(180)


def test_a_window_declared_by_a_later_router_applies_to_an_earlier_one():
    """The shared cost-map entry is process-wide: once another Router declares a 20-token
    window for gpt-4o-mini, this Router's gpt-4o-mini deployment stops taking long prompts."""
    router = _router_of(_deployment("mini"), _deployment("big", model=BIG))
    assert set(_picked(router, 40, messages=LONG)) == {"mini", "big"}

    _router_of(_deployment("elsewhere", group="other", info={"max_input_tokens": 20}))

    assert _picked(router, 30, messages=LONG) == {"big": 60}
    assert _route_stats() == _served(140)


def test_a_window_registered_with_litellm_after_picks_applies():
    """litellm.register_model changing gpt-4o-mini's window between selections: the next
    selection sees it, as stock's model-info lookup does."""
    router = _router_of(_deployment("mini"), _deployment("big", model=BIG))
    assert set(_picked(router, 40, messages=LONG)) == {"mini", "big"}

    litellm.register_model({"gpt-4o-mini": {"max_input_tokens": 20, "litellm_provider": "openai", "mode": "chat"}},
                           persist_across_reloads=False)

    assert _picked(router, 30, messages=LONG) == {"big": 60}
    assert _route_stats() == _served(140)


@pytest.mark.parametrize("strategy", [SHUFFLE, LATENCY])
def test_every_window_exceeded_raises_context_window_exceeded(strategy):
    """No deployment takes 48 tokens: ContextWindowExceededError naming each window, sync and
    async; handed to litellm to raise."""
    router = _router_of(_window("a", 20), _window("b", 10, model=BIG), strategy=strategy)

    error = pick_raises(router, messages=LONG)
    assert isinstance(error, litellm.ContextWindowExceededError)
    assert "Max Input Tokens=20, Got=48" in str(error) and "Max Input Tokens=10, Got=48" in str(error)
    async_error = asyncio.run(apick_raises(router, messages=LONG))
    assert isinstance(async_error, litellm.ContextWindowExceededError)
    assert _route_stats() == _handed("no_deployment_available", 2)


def test_the_window_is_checked_with_the_tokenizer_litellm_counts_with():
    """A prompt of 72 tokens in o200k (gpt-4o's encoding) and 97 in cl100k, against an
    80-token window. 1.109 counts with the group's one OpenAI model when all it serves share
    an encoding (o200k here: `small` fits), else with the default (cl100k: it does not);
    1.106 always with the default."""
    text = [{"role": "user", "content": "Bonjour, ça va? 今日は良い天気ですね。" * 5}]
    o200k = _router_of(_window("small", 80), _deployment("big", model=BIG))
    mixed = _router_of(_window("small", 80), _deployment("big", model=BIG), _deployment("old", model="openai/gpt-3.5-turbo"))

    assert set(_picked(o200k, 30, messages=text)) == ({"big"} if RPM_CHECKED else {"small", "big"})
    assert set(_picked(mixed, 30, messages=text)) == {"big", "old"}
    assert _route_stats() == _served(120)


def test_responses_api_input_is_counted_against_the_window():
    """`input` (Responses API, a string or input items) counts as messages do: a long input
    only fits `big`."""
    router = _router_of(_window("small", 20), _deployment("big", model=BIG))

    assert _picked(router, 30, input="hello there " * 20) == {"big": 60}
    assert _picked(router, 30, input=[{"role": "user", "content": "hello there " * 20}]) == {"big": 60}
    assert set(_picked(router, 60, input="hi")) == {"small", "big"}
    # the Responses `instructions` count with the input
    assert _picked(router, 30, input="hi", request_kwargs={"instructions": "be brief " * 20}) == {"big": 60}
    # async: stock counts `input` off the event loop, and the component leaves it to stock
    assert _route_stats() == _handed("pre_call_large_prompt", 150, served=150)


def test_tools_and_system_in_request_kwargs_count_towards_the_window():
    """A short message with a long tool definition (or system block) exceeds 20 tokens."""
    tools = [{"type": "function", "function": {"name": "lookup", "description": "find it " * 30, "parameters": {}}}]
    router = _router_of(_window("small", 20), _deployment("big", model=BIG))

    assert _picked(router, 30, messages=SHORT, request_kwargs={"tools": tools}) == {"big": 60}
    # so does an Anthropic Messages top-level `system`
    assert _picked(router, 30, messages=SHORT, request_kwargs={"system": "be brief " * 20}) == {"big": 60}
    assert _route_stats() == _served(120)


def test_without_messages_or_input_no_check_runs():
    """No messages and no input: stock skips the checks, so an exceeded window or an
    exhausted rpm does not matter."""
    router = _router_of(_window("small", 1), _deployment("limited", model=BIG, rpm=1), _deployment("big", model=BIG))
    _requests_this_minute(router, "limited", 5)

    # simple-shuffle weighs by rpm when one deployment has it: only `limited` carries rpm
    assert _picked(router, 40) == {"limited": 80}
    assert _route_stats() == _served(80)


def test_messages_that_cannot_be_counted_leave_every_deployment_to_litellm():
    """token_counter raises: stock logs it and keeps every deployment, even those the rpm
    check had already dropped; handed to litellm ("pre_call_count_failed"; async, content
    that is not a string is not bounded: "pre_call_large_prompt")."""
    router = _router_of(_deployment("limited", rpm=1), _window("small", 1, rpm=5, model=BIG))
    _requests_this_minute(router, "limited", 3)

    picked = _picked(router, 50, messages=UNCOUNTABLE)

    assert set(picked) == {"limited", "small"}
    assert _route_stats() == {"component": 0, "litellm": 100,
                              "handed_to_litellm": {"pre_call_count_failed": 50, "pre_call_large_prompt": 50}}


# -- rpm --------------------------------------------------------------------------------------


@rpm_checked_only
@pytest.mark.parametrize("strategy", [SHUFFLE, LATENCY])
def test_a_deployment_at_its_rpm_is_skipped(strategy):
    """`a` has had 2 requests this minute against rpm 2: skipped; at 1 it is back."""
    router = _router_of(_deployment("a", rpm=2), _deployment("b", rpm=5), strategy=strategy)
    _requests_this_minute(router, "a", 2)

    assert _picked(router, 40, messages=SHORT) == {"b": 80}

    _requests_this_minute(router, "a", 1)
    assert set(_picked(router, 60, messages=SHORT)) == {"a", "b"}
    assert _route_stats() == _served(200)


@rpm_checked_only
def test_the_count_litellms_update_usage_writes_is_the_one_read():
    """Router._update_usage (litellm's writer of the per-id count) twice: rpm 2 reached."""
    router = _router_of(_deployment("a", rpm=2), _deployment("b", rpm=5))
    router._update_usage("a", None)
    assert set(_picked(router, 40, messages=SHORT)) == {"a", "b"}

    router._update_usage("a", None)
    assert _picked(router, 40, messages=SHORT) == {"b": 80}
    assert _route_stats() == _served(160)


@rpm_checked_only
def test_a_float_count_is_compared_with_rpm_as_stock_compares_it():
    """1.5 requests are under rpm 2; 2.0 are not."""
    router = _router_of(_deployment("a", rpm=2), _deployment("b", rpm=2))
    _requests_this_minute(router, "a", 1.5)
    assert set(_picked(router, 40, messages=SHORT)) == {"a", "b"}

    _requests_this_minute(router, "a", 2.0)
    assert _picked(router, 40, messages=SHORT) == {"b": 80}
    assert _route_stats() == _served(160)


@rpm_checked_only
def test_a_deployment_without_rpm_is_kept_whatever_its_count():
    """Only rpm limits: `plain` (no rpm) is kept at 100 requests; `written-as-float` (rpm
    1.0, which Router() stores as the int 1) and `limited` (rpm 1) are not."""
    router = _router_of(_deployment("plain"), _deployment("written-as-float", rpm=1.0), _deployment("limited", rpm=1))
    for dep_id in ("plain", "written-as-float", "limited"):
        _requests_this_minute(router, dep_id, 100)

    assert _picked(router, 40, messages=SHORT) == {"plain": 80}
    _requests_this_minute(router, "written-as-float", 0)
    # simple-shuffle weighs by rpm when one deployment left carries it: `plain` carries none
    assert _picked(router, 40, messages=SHORT) == {"written-as-float": 80}
    assert _route_stats() == _served(160)


@rpm_checked_only
def test_every_deployment_at_its_rpm_raises_router_rate_limit_error_basic():
    """Sync and async: RouterRateLimitErrorBasic (litellm's fallbacks take over from it)."""
    router = _router_of(_deployment("a", rpm=1), _deployment("b", rpm=3))
    _requests_this_minute(router, "a", 1)
    _requests_this_minute(router, "b", 3)

    assert isinstance(pick_raises(router, messages=SHORT), RouterRateLimitErrorBasic)
    assert isinstance(asyncio.run(apick_raises(router, messages=SHORT)), RouterRateLimitErrorBasic)
    assert _route_stats() == _handed("no_deployment_available", 2)


@rpm_checked_only
def test_rpm_takes_precedence_over_the_window_in_the_error():
    """One deployment too small, the other at its rpm: the error is the rate-limit one."""
    router = _router_of(_window("small", 20), _deployment("limited", model=BIG, rpm=1))
    _requests_this_minute(router, "limited", 1)

    assert isinstance(pick_raises(router, messages=LONG), RouterRateLimitErrorBasic)
    assert isinstance(asyncio.run(apick_raises(router, messages=LONG)), RouterRateLimitErrorBasic)
    assert _route_stats() == _handed("no_deployment_available", 2)


def test_usage_based_routing_v2_skips_the_rpm_check():
    """Stock leaves rpm to the v2 selector's own counts: the Router cache's per-id count
    (over rpm for both) drops nothing."""
    router = _router_of(_deployment("a", rpm=2), _deployment("b", rpm=2), strategy=USAGE_V2)
    _requests_this_minute(router, "a", 9)
    _requests_this_minute(router, "b", 9)

    assert set(_picked(router, 40, messages=SHORT)) == {"a", "b"}
    assert _route_stats() == _served(80)


def test_usage_based_routing_v2_still_checks_the_window():
    router = _router_of(_window("small", 20), _deployment("big", model=BIG), strategy=USAGE_V2)

    assert _picked(router, 30, messages=LONG) == {"big": 60}
    assert _route_stats() == _served(60)


@pytest.mark.skipif(RPM_CHECKED, reason="litellm 1.106 checks rpm before the call")
@pytest.mark.parametrize("strategy", [SHUFFLE, LATENCY])
def test_on_1109_a_deployment_at_its_rpm_is_still_picked(strategy):
    """1.109 dropped the rpm pre-call check: neither the per-id count nor the group's
    `{group}:rpm:{minute}` map (of any type) removes a deployment; served."""
    _clear_of_minute_end()
    router = _router_of(_deployment("a", rpm=1), _deployment("b", rpm=1), strategy=strategy)
    _requests_this_minute(router, "a", 5)
    _requests_this_minute(router, "b", "lots")
    minute = datetime.now(timezone.utc).strftime("%H-%M")
    router.cache.set_cache(key=f"g:rpm:{minute}", value={"a": 2}, local_only=True, ttl=60)

    assert set(_picked(router, 40, messages=SHORT)) == {"a", "b"}
    assert _route_stats() == _served(80)


@rpm_checked_only
@pytest.mark.parametrize("count", [[5], "3", "lots", True, {"n": 1}], ids=repr)
def test_a_count_of_another_type_is_handed_to_litellm(count):
    """A count that is neither int nor float: stock reads it through get_cache (a JSON
    string decoded) and compares it as it is, raising or not; the component hands the
    selection over ("unusual_request_count")."""
    router = _router_of(_deployment("a", rpm=2), _deployment("b", rpm=2))
    _requests_this_minute(router, "a", count)

    stock = _router.ORIGINALS["get_available_deployment"]
    state = random.getstate()
    try:
        stock(router, "g", messages=SHORT)
        raises = False
    except Exception:  # noqa: BLE001 - only which way stock goes is read here
        raises = True
    random.setstate(state)
    for _ in range(5):
        if raises:
            pick_raises(router, messages=SHORT)
            asyncio.run(apick_raises(router, messages=SHORT))
        else:
            both(router, messages=SHORT)
    assert _route_stats() == _handed("unusual_request_count", 10)


@rpm_checked_only
def test_a_group_rpm_map_in_the_router_cache_is_handed_to_litellm():
    """A `{group}:rpm:{HH-MM}` map in the Router cache also counts (stock takes the larger of
    it and the per-id count, and writes a 0 into it for each id it checks): handed to
    litellm ("pre_call_group_usage"); the picks still match stock's."""
    _clear_of_minute_end()
    router = _router_of(_deployment("a", rpm=2), _deployment("b", rpm=3))
    minute = datetime.now(timezone.utc).strftime("%H-%M")
    router.cache.set_cache(key=f"g:rpm:{minute}", value={"a": 2}, local_only=True, ttl=60)

    assert _picked(router, 10, messages=SHORT) == {"b": 20}
    assert _route_stats() == _handed("pre_call_group_usage", 20)


# -- response_format --------------------------------------------------------------------------


@pytest.mark.parametrize("strategy", [SHUFFLE, LATENCY, USAGE_V2])
def test_response_format_skips_deployments_whose_provider_lacks_it(strategy, monkeypatch):
    monkeypatch.setattr(litellm, "drop_params", False)
    router = _router_of(_deployment("old", model=NO_RESPONSE_FORMAT), _deployment("new"), strategy=strategy)

    assert _picked(router, 40, messages=SHORT, request_kwargs=copy.deepcopy(JSON_MODE)) == {"new": 80}
    assert set(_picked(router, 60, messages=SHORT, request_kwargs={})) == {"old", "new"}
    assert _route_stats() == _served(200)


def test_response_format_with_drop_params_keeps_every_deployment(monkeypatch):
    """litellm.drop_params is read at each selection: set, nothing is dropped; unset again,
    `old` is."""
    monkeypatch.setattr(litellm, "drop_params", True)
    router = _router_of(_deployment("old", model=NO_RESPONSE_FORMAT), _deployment("new"))

    assert set(_picked(router, 60, messages=SHORT, request_kwargs=copy.deepcopy(JSON_MODE))) == {"old", "new"}
    litellm.drop_params = False
    assert _picked(router, 20, messages=SHORT, request_kwargs=copy.deepcopy(JSON_MODE)) == {"new": 40}
    assert _route_stats() == _served(160)


def test_a_response_format_of_none_is_not_set(monkeypatch):
    """`response_format: None` in request_kwargs is a default, not a request for JSON mode."""
    monkeypatch.setattr(litellm, "drop_params", False)
    router = _router_of(_deployment("old", model=NO_RESPONSE_FORMAT), _deployment("new"))

    assert set(_picked(router, 60, messages=SHORT, request_kwargs={"response_format": None})) == {"old", "new"}
    assert _route_stats() == _served(120)


def test_response_format_supported_nowhere_raises_the_no_deployment_error(monkeypatch):
    """No deployment takes response_format. 1.106: _pre_call_checks raises nothing itself
    (neither its window nor its rpm flag is set); the empty list then gives
    RouterRateLimitError. 1.109 weighs each deployment's drop settings and raises
    UnsupportedParamsError: handed to it."""
    monkeypatch.setattr(litellm, "drop_params", False)
    router = _router_of(_deployment("old", model=NO_RESPONSE_FORMAT), _deployment("cohere", model="cohere/command-r"))

    expected = RouterRateLimitError if RPM_CHECKED else litellm.UnsupportedParamsError
    error = pick_raises(router, messages=SHORT, request_kwargs=copy.deepcopy(JSON_MODE))
    assert type(error) is expected and (not RPM_CHECKED or "pre-call-checks=True" in str(error))
    async_error = asyncio.run(apick_raises(router, messages=SHORT, request_kwargs=copy.deepcopy(JSON_MODE)))
    assert type(async_error) is expected
    reason = "no_deployment_available" if RPM_CHECKED else "pre_call_params_unsupported"
    assert _route_stats() == _handed(reason, 2)


@pytest.mark.skipif(RPM_CHECKED, reason="litellm 1.109's rules")
def test_on_1109_allowed_openai_params_and_drop_params_are_litellms_to_weigh(monkeypatch):
    """No candidate lists response_format, but one deployment allows it through
    (`allowed_openai_params`) and one drops it (`drop_params`): 1.109 keeps those, which
    litellm decides (handed to it); a str response_format is not checked at all (served)."""
    monkeypatch.setattr(litellm, "drop_params", False)
    router = _router_of(_deployment("old", model=NO_RESPONSE_FORMAT),
                        _deployment("allowed", model=NO_RESPONSE_FORMAT, allowed_openai_params=["response_format"]),
                        _deployment("dropping", model=NO_RESPONSE_FORMAT, drop_params=True))

    assert set(_picked(router, 30, messages=SHORT, request_kwargs=copy.deepcopy(JSON_MODE))) == {"allowed",
                                                                                                 "dropping"}
    assert _route_stats() == _handed("pre_call_params_unsupported", 60)
    assert len(_picked(router, 20, messages=SHORT, request_kwargs={"response_format": "json_object"})) == 3
    assert _route_stats() == _handed("pre_call_params_unsupported", 60, served=40)


def test_response_format_and_the_window_together(monkeypatch):
    """`old` cannot do JSON mode, `small` cannot take 48 tokens: only `big` is left."""
    monkeypatch.setattr(litellm, "drop_params", False)
    router = _router_of(_deployment("old", model=NO_RESPONSE_FORMAT), _window("small", 20),
                        _deployment("big", model=BIG))

    assert _picked(router, 30, messages=LONG, request_kwargs=copy.deepcopy(JSON_MODE)) == {"big": 60}
    assert set(_picked(router, 60, messages=SHORT, request_kwargs=copy.deepcopy(JSON_MODE))) == {"small", "big"}
    assert _route_stats() == _served(180)


def test_a_request_param_whose_comparison_raises_raises_as_in_stock():
    """Stock compares every known param of the request with its default while drop_params is
    off (whatever it sets): a value whose `!=` raises makes it raise, and ours too."""
    class Unequal:
        def __eq__(self, other):  # equal to any copy (the helpers compare the kwargs after)
            return isinstance(other, Unequal)

        def __ne__(self, other):
            raise RuntimeError("cannot compare")

        __hash__ = object.__hash__

    router = _router_of(_deployment("a"), _deployment("b"))
    error = pick_raises(router, messages=SHORT, request_kwargs={"temperature": Unequal()})
    assert type(error) is RuntimeError


def test_a_router_overriding_its_pre_call_checks_is_left_to_litellm():
    """A subclass's `_pre_call_checks` (here: dropping `a`) is what stock calls: such a
    Router is not accelerated, and its picks are the override's."""
    class Dropping(Router):
        def _pre_call_checks(self, *args, **kwargs):
            return [d for d in super()._pre_call_checks(*args, **kwargs) if d["model_info"]["id"] != "a"]

    router = Dropping(model_list=[_deployment("a"), _deployment("b")], enable_pre_call_checks=True, num_retries=0)
    assert _router.router_report(router)["reason"] == "selection_overridden"
    assert _picked(router, 5, messages=SHORT) == {"b": 10}


# -- region -----------------------------------------------------------------------------------


def test_allowed_model_region_keeps_the_deployments_of_that_region():
    router = _router_of(_deployment("eu", region_name="eu"), _deployment("eu-2", region_name="eu"),
                        _deployment("us", region_name="us"), _deployment("any"))

    assert set(_picked(router, 20, messages=SHORT, request_kwargs={"allowed_model_region": "eu"})) == {"eu", "eu-2"}
    assert _picked(router, 10, messages=SHORT, request_kwargs={"allowed_model_region": "us"}) == {"us": 20}
    assert _route_stats() == _served(60)
    # no deployment in the region: stock's error, raised by stock
    pick_raises(router, messages=SHORT, request_kwargs={"allowed_model_region": "apac"})
    assert _route_stats() == _handed("no_deployment_available", 1, served=60)


def test_region_checks_follow_the_context_window_and_rpm_checks():
    """A deployment the context window already removed is not region-checked (stock
    `continue`s): the region only narrows what the earlier checks leave."""
    router = _router_of(_window("eu-small", 20, region_name="eu"), _deployment("eu-big", model=BIG, region_name="eu"),
                        _deployment("us", model=BIG, region_name="us", rpm=1))
    _requests_this_minute(router, "us", 1)

    assert _picked(router, 10, messages=LONG, request_kwargs={"allowed_model_region": "eu"}) == {"eu-big": 20}
    assert _picked(router, 10, messages=SHORT, request_kwargs={"allowed_model_region": "eu"})["eu-small"] > 0
    if not RPM_CHECKED:  # 1.109: us is not rpm-checked
        assert _picked(router, 5, messages=SHORT, request_kwargs={"allowed_model_region": "us"}) == {"us": 10}
        return
    pick_raises(router, messages=SHORT, request_kwargs={"allowed_model_region": "us"})  # us is over its rpm
    assert _route_stats() == _handed("no_deployment_available", 1, served=40)


def test_a_replaced_region_check_is_left_to_litellm(monkeypatch):
    router = _router_of(_deployment("eu", region_name="eu"), _deployment("us", region_name="us"))
    monkeypatch.setattr(_pre_call._Litellm.router_module, "is_region_allowed", lambda litellm_params, allowed_model_region: True)

    assert set(_picked(router, 20, messages=SHORT, request_kwargs={"allowed_model_region": "eu"})) == {"eu", "us"}
    assert _route_stats() == _handed("pre_call_region", 40)


def test_a_region_check_replaced_before_install_is_left_to_litellm(monkeypatch):
    """Replaced in litellm before fast_litellm read it: told apart by its code, not by
    its identity then."""
    def allow_prefix(litellm_params, allowed_model_region):  # "eu" allows "eu-west-1"
        return (litellm_params.region_name or "").startswith(allowed_model_region)

    router = _router_of(_deployment("eu", region_name="eu"), _deployment("eu-west", region_name="eu-west-1"),
                        _deployment("us", region_name="us-east-1"))
    monkeypatch.setattr(_pre_call._Litellm.router_module, "is_region_allowed", allow_prefix)
    monkeypatch.setattr(_pre_call._Litellm, "region_allowed", None)
    _pre_call._Litellm.resolve()
    assert _pre_call._Litellm.region_allowed is None

    assert set(_picked(router, 20, messages=SHORT, request_kwargs={"allowed_model_region": "eu"})) == {"eu", "eu-west"}
    assert _route_stats() == _handed("pre_call_region", 40)


# -- order and cooldowns ----------------------------------------------------------------------


@pytest.mark.parametrize("strategy", [SHUFFLE, LATENCY])
def test_order_applies_to_what_the_checks_leave(strategy):
    """The checks run before the order filter: with the order-1 deployment too small (or at
    its rpm) the order-2 ones are picked; otherwise only order 1."""
    router = _router_of(_window("first", 20, order=1, rpm=4), _deployment("second-a", model=BIG, order=2),
                        _deployment("second-b", model=BIG, order=2), strategy=strategy)

    assert _picked(router, 30, messages=SHORT) == {"first": 60}
    long = _picked(router, 60, messages=LONG)
    assert set(long) == {"second-a", "second-b"}

    _requests_this_minute(router, "first", 4)
    at_rpm = _picked(router, 60, messages=SHORT)
    assert set(at_rpm) == ({"second-a", "second-b"} if RPM_CHECKED else {"first"})  # 1.109 checks no rpm
    assert _route_stats() == _served(300)


def test_order_within_what_the_response_format_check_leaves(monkeypatch):
    monkeypatch.setattr(litellm, "drop_params", False)
    router = _router_of(_deployment("old", model=NO_RESPONSE_FORMAT, order=1), _deployment("new", order=2))

    assert _picked(router, 20, messages=SHORT, request_kwargs=copy.deepcopy(JSON_MODE)) == {"new": 40}
    assert _picked(router, 20, messages=SHORT, request_kwargs={}) == {"old": 40}
    assert _route_stats() == _served(80)


def test_cooldown_comes_before_the_checks_and_order_after():
    """first-a (order 1) cools down, first-b (order 1) is too small for 48 tokens: `second`
    (order 2) takes long prompts, first-b short ones."""
    router = _router_of(_deployment("first-a", model=BIG, order=1), _window("first-b", 20, order=1),
                        _deployment("second", model=BIG, order=2))
    _cool(router, "first-a")

    assert _picked(router, 30, messages=LONG) == {"second": 60}
    assert _picked(router, 30, messages=SHORT) == {"first-b": 60}
    assert _route_stats() == _served(120)


def test_a_cooling_down_deployment_does_not_count_for_the_window_check():
    """The only deployment big enough is cooling down: the checks see only `small`, and the
    error is the context-window one (not the cooldown one)."""
    router = _router_of(_window("small", 20), _deployment("big", model=BIG))
    _cool(router, "big")

    assert isinstance(pick_raises(router, messages=LONG), litellm.ContextWindowExceededError)
    assert isinstance(asyncio.run(apick_raises(router, messages=LONG)), litellm.ContextWindowExceededError)
    assert _picked(router, 10, messages=SHORT) == {"small": 20}
    assert _route_stats() == _handed("no_deployment_available", 2, served=20)


def test_all_cooling_down_raises_the_cooldown_error_before_any_check():
    router = _router_of(_window("small", 20), _deployment("big", model=BIG))
    _cool(router, "small", "big")

    error = pick_raises(router, messages=LONG)
    assert isinstance(error, RouterRateLimitError) and sorted(error.cooldown_list) == ["big", "small"]
    assert isinstance(asyncio.run(apick_raises(router, messages=LONG)), RouterRateLimitError)
    assert _route_stats() == _handed("no_deployment_available", 2)


# -- a scored strategy picks among what is left -----------------------------------------------


def test_latency_picks_the_fastest_deployment_the_checks_leave():
    """`fast` answers fastest but has a 20-token window: long prompts go to the faster of the
    two left; short ones to `fast`; with `fast` at its rpm, to `medium`."""
    router = _router_of(_window("fast", 20, rpm=3), _deployment("medium", model=BIG),
                        _deployment("slow", model=BIG), strategy=LATENCY)
    _log_latency(router, "fast", 0.5)
    _log_latency(router, "medium", 1.0)
    _log_latency(router, "slow", 4.0)

    assert _picked(router, 20, messages=LONG) == {"medium": 40}
    assert _picked(router, 20, messages=SHORT) == {"fast": 40}
    _requests_this_minute(router, "fast", 3)
    assert _picked(router, 20, messages=SHORT) == ({"medium": 40} if RPM_CHECKED else {"fast": 40})
    assert _route_stats() == _served(120)


# -- generated routers ------------------------------------------------------------------------


_MODELS = ["openai/gpt-4o-mini", BIG, NO_RESPONSE_FORMAT]

_deployment_spec = st.fixed_dictionaries({
    "model": st.sampled_from(_MODELS),
    "window": st.sampled_from([None, None, 10, 20, 40, 100]),
    "rpm": st.sampled_from([None, None, 1, 2, 5]),
    "count": st.sampled_from([None, 0, 1, 2, 5, 1.5]),
    "order": st.sampled_from([None, None, 1, 2]),
    "cooled": st.sampled_from([False, False, False, True]),
    "latency": st.sampled_from([None, 0.5, 1.0, 3.0]),
    "region": st.sampled_from([None, None, "eu", "us"]),
    # how a deployment lets a param it lacks through (1.109 weighs them when none takes it)
    "passes": st.sampled_from([None, None, None, "allowed", "drop", "additional"]),
})

_request = st.fixed_dictionaries({
    "shape": st.sampled_from(["messages", "messages", "input", "input-items", "none"]),
    "words": st.integers(0, 40),
    "response_format": st.sampled_from(["json", "json", "absent", "none", "str"]),
    "no_request_kwargs": st.booleans(),  # sync only: request_kwargs=None skips the params check
    "is_async": st.booleans(),
    "region": st.sampled_from([None, None, None, "eu", "us"]),
})


def _build(strategy: str, specs: list[dict]) -> Router:
    deployments = []
    for i, spec in enumerate(specs):
        info = {} if spec["window"] is None else {"max_input_tokens": spec["window"]}
        params = {key: spec[key] for key in ("rpm", "order") if spec[key] is not None}
        if spec["region"] is not None:
            params["region_name"] = spec["region"]
        params.update({None: {}, "allowed": {"allowed_openai_params": ["response_format"]}, "drop": {"drop_params": True},
                       "additional": {"additional_drop_params": ["response_format"]}}[spec["passes"]])
        deployments.append(_deployment(f"d{i}", model=spec["model"], info=info, **params))
    router = _router_of(*deployments, strategy=strategy)
    for i, spec in enumerate(specs):
        if spec["count"] is not None:
            _requests_this_minute(router, f"d{i}", spec["count"])
        if spec["cooled"]:
            _cool(router, f"d{i}")
        if strategy == LATENCY and spec["latency"] is not None:
            _log_latency(router, f"d{i}", spec["latency"])
    return router


def _selection_args(request: dict) -> tuple[dict | None, dict]:
    """(request_kwargs, messages/input kwargs) of one generated request."""
    request_kwargs = {"json": copy.deepcopy(JSON_MODE), "absent": {}, "none": {"response_format": None},
                      "str": {"response_format": "json_object"}}[request["response_format"]]
    if request["region"] is not None:
        request_kwargs = {**request_kwargs, "allowed_model_region": request["region"]}
    if request["no_request_kwargs"] and not request["is_async"]:
        request_kwargs = None
    text = ("hello " * request["words"]).strip() or "hi"
    if request["shape"] == "messages":
        return request_kwargs, {"messages": [{"role": "user", "content": text}]}
    if request["shape"] == "input":
        return request_kwargs, {"input": text}
    if request["shape"] == "input-items":
        return request_kwargs, {"input": [{"role": "user", "content": text}]}
    return request_kwargs, {}


def _same_outcome(router: Router, request_kwargs: dict | None, is_async: bool, **kwargs) -> str | None:
    """Stock first; then the accelerated pick (or error) must match it. None if it picked,
    else the error's type name."""
    stock = _router.ORIGINALS["async_get_available_deployment" if is_async else "get_available_deployment"]
    state = random.getstate()
    try:
        if is_async:
            asyncio.run(stock(router, "g", copy.deepcopy(request_kwargs), **kwargs))
        else:
            stock(router, "g", request_kwargs=copy.deepcopy(request_kwargs), **kwargs)
    except Exception as error:  # noqa: BLE001 - pick_raises compares type and message
        random.setstate(state)
        if is_async:
            asyncio.run(apick_raises(router, "g", request_kwargs, **kwargs))
        else:
            pick_raises(router, "g", request_kwargs=request_kwargs, **kwargs)
        return type(error).__name__
    random.setstate(state)
    if is_async:
        asyncio.run(apick(router, "g", request_kwargs, **kwargs))
    else:
        pick(router, "g", request_kwargs=request_kwargs, **kwargs)
    return None


def _expected_route(picked: bool, request: dict) -> set:
    """What the route counters may record for one selection on an accelerated group: a pick
    served (an async Responses `input` may be left to stock, which counts it off the loop);
    stock's error handed over ("no_deployment_available", or that same hand-off first)."""
    large = {"pre_call_large_prompt"} if request["is_async"] and request["shape"].startswith("input") else set()
    # 1.109: litellm weighs the drop settings when no candidate takes response_format
    params = {"pre_call_params_unsupported"} if not RPM_CHECKED and request["response_format"] == "json" else set()
    return ({"component"} if picked else {"no_deployment_available"}) | large | params


def _route_taken(before: dict, after: dict) -> str:
    """The one route a single selection took, from the counters before and after it."""
    if after["component"] - before["component"] == 1 and after["litellm"] == before["litellm"]:
        return "component"
    reasons = Counter(after["handed_to_litellm"]) - Counter(before["handed_to_litellm"])
    assert after["component"] == before["component"] and after["litellm"] - before["litellm"] == 1, (before, after)
    assert sum(reasons.values()) == 1, reasons
    return next(iter(reasons))


def test_generated_routers_select_as_stock_does(monkeypatch):
    """Small routers (2-6 deployments: windows, rpm and counts, orders, cooldowns, latency
    samples, models without response_format) and requests of varying length, with and
    without response_format, as messages, Responses input or neither: every selection the
    same as stock's; and on an accelerated group each selection stock picked on is served
    (messages) and each it raised on is handed over as "no_deployment_available"."""
    monkeypatch.setattr(litellm, "drop_params", False)
    totals = Counter()

    @settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
    @given(strategy=st.sampled_from([SHUFFLE, LATENCY, USAGE_V2]),
           specs=st.lists(_deployment_spec, min_size=2, max_size=6),
           requests=st.lists(_request, min_size=3, max_size=8))
    def check(strategy, specs, requests):
        saved = _snapshot_cost_map()
        try:
            with callbacks_kept():
                router = _build(strategy, specs)
                accelerated = _accelerated(router)
                for request in requests:
                    request_kwargs, kwargs = _selection_args(request)
                    before = _route_stats()
                    error = _same_outcome(router, request_kwargs, request["is_async"], **kwargs)
                    route = _route_taken(before, _route_stats())
                    totals.update(["selections", route, error or "picked"])
                    if accelerated:
                        totals["accelerated_selections"] += 1
                        assert route in _expected_route(error is None, request), (route, error, specs, request)
        finally:
            _restore_cost_map(saved)

    check()
    # not vacuous: most generated groups are accelerated, the component served picks, and the
    # checks bound (each kind of error stock raises when they leave nothing was reached)
    assert totals["selections"] >= 300, totals
    assert totals["accelerated_selections"] >= 0.8 * totals["selections"], totals
    assert totals["component"] >= 0.3 * totals["selections"], totals
    assert totals["ContextWindowExceededError"], totals
    assert totals["RouterRateLimitErrorBasic" if RPM_CHECKED else "pre_call_params_unsupported"], totals
