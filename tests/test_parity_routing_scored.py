"""Routing parity for latency-, cost- and usage-based-v2 routing: histories against litellm.

Hypothesis generates routers (deployments with tpm/rpm limits in each place litellm reads
them, prices, orders, routing arguments) and histories: selections sync and async
(streaming or not, with metadata or without), successes and timeouts logged through the
strategy's own litellm callbacks, cooldowns, now and then an odd value in the strategy's
cached map. Every selection runs twice from the same state: litellm's original method
first, then the installed one with the strategy's cached map put back as it was. They
must pick the same deployment object (or raise the same exception), leave `random` and
the request kwargs alike, and leave the cached map alike (stock inserts the candidates
it lacks into the cached object itself).
"""

from __future__ import annotations

import asyncio
import copy
import datetime
import random
from collections import Counter

import litellm
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from litellm import ModelResponse, Router

import fast_litellm
from fast_litellm import _router, _router_scores
from routing_checks import (  # noqa: F401 - routing_on, model_cost_kept: autouse
    LATENCY_KEY, _clear_of_minute_end, _deployment, _handed, _id, _route_stats, callbacks_kept, model_cost_kept, pick,
    pick_raises, routing_on)

pytestmark = pytest.mark.routing  # skipped on a litellm release routing is not verified on (conftest)

# priced by litellm's cost map under these names (the provider-prefixed one is not)
_MODELS = ["gpt-4o-mini", "gpt-4o", "openai/gpt-3.5-turbo", "openai/no-such-model-xyz"]
_limit = st.one_of(*[st.none()] * 8, st.integers(0, 3), st.integers(1_000, 50_000), st.just(2.5))
_deployment_spec = st.fixed_dictionaries({
    "model": st.integers(0, len(_MODELS) - 1),
    "tpm": st.tuples(st.integers(0, 2), _limit),  # where: top level, litellm_params, model_info
    "rpm": st.tuples(st.integers(0, 2), _limit),
    "price": st.one_of(st.none(), st.none(), st.sampled_from([1e-6, 3e-6, 0.0])),
    "order": st.one_of(st.none(), st.none(), st.none(), st.integers(1, 2)),
    "api_base": st.integers(0, 5),  # some deployments share one; 5: none set
})
_router_config = st.lists(st.lists(_deployment_spec, min_size=1, max_size=5), min_size=1, max_size=2)
# model_group_alias: none, a plain alias, an alias named like a group (it wins over the group)
_aliases = st.sampled_from([{}, {"alias": "group-0"}, {"alias": "group-1", "group-0": "group-1"}])
_routing_args = st.fixed_dictionaries({}, optional={
    "lowest_latency_buffer": st.sampled_from([0.0, 0.5, 1.0, -0.5]),  # < 0: none within it
    "ttft_percentile": st.sampled_from([0.5, 0.9, 1.0]),
    "max_latency_list_size": st.sampled_from([1, 3]),
})

_select = st.tuples(st.just("select"), st.integers(0, 19), st.integers(0, 5), st.booleans(), st.booleans())
_step = st.one_of(
    _select, _select, _select, _select, _select, _select,
    # a success logged by the strategy's own callback: deployment, seconds, completion tokens, stream
    st.tuples(st.just("success"), st.integers(0, 11), st.sampled_from([0.05, 0.1, 0.2, 0.2, 0.4, 1.0, 3.0, -0.2]),  # < 0: a clock stepped back
              st.sampled_from([0, 1, 1, 10]), st.booleans(), st.booleans()),
    # a success recorded under the name "alias" (requests naming a model_group_alias key)
    st.tuples(st.just("alias_success"), st.integers(0, 11), st.sampled_from([0.05, 0.2, 1.0])),
    st.tuples(st.just("timeout"), st.integers(0, 11)),
    st.tuples(st.just("cooldown"), st.integers(0, 11)),
    st.tuples(st.just("odd"), st.integers(0, 11), st.integers(0, 12)),
)


def _deployments(config: list) -> list[dict]:
    out = []
    for group, specs in enumerate(config):
        for spec in specs:
            i = len(out)
            params = {"model": _MODELS[spec["model"]], "api_key": "sk-test"}
            if spec["api_base"] < 5:
                params["api_base"] = f"http://127.0.0.1:9/{spec['api_base']}"
            info = {"id": f"dep-{i}"}
            deployment = {"model_name": f"group-{group}", "litellm_params": params, "model_info": info}
            for metric in ("tpm", "rpm"):
                where, value = spec[metric]
                if value is not None:  # litellm_params takes ints only
                    (deployment, params if type(value) is int else info, info)[where][metric] = value
            if spec["price"] is not None:
                params["input_cost_per_token"] = spec["price"]
                params["output_cost_per_token"] = spec["price"] * 2
            if spec["order"] is not None:
                params["order"] = spec["order"]
            out.append(deployment)
    return out


def _request(kind: int, stream: bool) -> dict:
    request = [{}, {"metadata": {}}, {"litellm_metadata": {"x": 1}}, {"metadata": {"a": 1}, "stream": True},
               {"metadata": None}, {"stream": stream, "metadata": {}}][kind]
    return copy.deepcopy(request)


def _usage_key(strategy: str, group: str) -> str:
    return f"{group}_map" if strategy == "latency-based-routing" else f"cost_map:{group}"


def _v1_keys(group: str) -> list[str]:
    """usage-based-routing (v1)'s tokens and requests maps of this (local) minute."""
    minute = datetime.datetime.now().strftime("%H-%M")
    return [f"{group}:tpm:{minute}", f"{group}:rpm:{minute}"]


def _state_keys(strategy: str, group: str) -> list[str]:
    return _v1_keys(group) if strategy == "usage-based-routing" else [_usage_key(strategy, group)]


def _usage_counters(router: Router, deployment: dict) -> tuple[str, str]:
    """usage-based-routing-v2's tokens and requests counter keys of this UTC minute."""
    minute = datetime.datetime.now(datetime.timezone.utc).strftime("%H-%M")
    prefix = f"{deployment['model_info']['id']}:{deployment['litellm_params']['model']}"
    return f"{prefix}:tpm:{minute}", f"{prefix}:rpm:{minute}"


async def _log_usage(router: Router, selector, step: tuple, deployment: dict) -> None:
    """usage-based-routing-v2: a success through its own callback (tokens), or its own
    pre-call check (requests; raises past the rpm limit, as in a real call)."""
    _, _, seconds, tokens, stream, is_async = step
    if stream:
        try:
            if is_async:
                await selector.async_pre_call_check(deployment, None)
            else:
                selector.pre_call_check(deployment)
        except litellm.RateLimitError:
            pass
        return
    payload = {"model_group": deployment["model_name"], "model_id": deployment["model_info"]["id"],
               "hidden_params": {"litellm_model_name": deployment["litellm_params"]["model"]},
               "total_tokens": tokens * 40}
    kwargs = {"standard_logging_object": payload, "litellm_params": {"metadata": {}}}
    if is_async:
        await selector.async_log_success_event(kwargs, None, None, None)
    else:
        selector.log_success_event(kwargs, None, None, None)


def _log_kwargs(deployment: dict, stream: bool, started: datetime.datetime, ttft: float,
                group: str | None = None) -> dict:
    return {"litellm_params": {"metadata": {"model_group": group or deployment["model_name"]},
                               "model_info": {"id": deployment["model_info"]["id"]}},
            "stream": stream, "completion_start_time": started + datetime.timedelta(seconds=ttft)}


def _odd(router: Router, strategy: str, deployment: dict, kind: int) -> None:
    """An entry litellm's callbacks would not write (stock raises or reads it oddly)."""
    cache = router.cache.in_memory_cache
    if strategy == "usage-based-routing-v2":
        if kind < 3:
            cache.set_cache(_usage_counters(router, deployment)[kind % 2], ["7", 7.5, "x"][kind], ttl=60)
        return
    if strategy == "usage-based-routing":  # a map or a count litellm's callbacks would not write
        key = _v1_keys(deployment["model_name"])[kind % 2]
        stored, dep_id = cache.cache_dict.get(key), deployment["model_info"]["id"]
        if kind < 2:
            cache.set_cache(key, ["not a map", "{}"][kind], ttl=60)
        elif kind < 4:
            cache.set_cache(key, {}, ttl=60)  # an empty map: stock inserts into it
        elif kind < 9 and isinstance(stored, dict):
            stored[dep_id] = [float("nan"), "7", True, 2.5, 10**6][kind - 4]
        elif kind >= 9:  # requests without tokens (responses reporting none): only rpm limits them
            requests_key = _v1_keys(deployment["model_name"])[1]
            requests = cache.cache_dict.get(requests_key)
            if not isinstance(requests, dict):
                requests = {}
                cache.set_cache(requests_key, requests, ttl=60)
            requests[dep_id] = kind - 8
        return
    key = _usage_key(strategy, deployment["model_name"])
    stored = cache.cache_dict.get(key)
    dep_id = deployment["model_info"]["id"]
    if kind == 0:
        cache.set_cache(key, "not a map")
    elif kind == 1 and isinstance(stored, dict):
        stored[dep_id] = ["not", "a", "dict"]
    elif kind == 2 and isinstance(stored, dict) and isinstance(stored.get(dep_id, {}), dict):
        stored.setdefault(dep_id, {})[LATENCY_KEY] = [1.0, "x"]
    elif kind == 3 and isinstance(stored, dict) and isinstance(stored.get(dep_id, {}), dict):
        stored.setdefault(dep_id, {})[LATENCY_KEY] = [float("nan")]
    elif kind == 4 and isinstance(stored, dict):
        stored["someone-else"] = {LATENCY_KEY: [0.01]}  # an id of no deployment of the group
    elif 5 <= kind <= 10 and isinstance(stored, dict) and isinstance(stored.get(dep_id, {}), dict):
        # samples no elapsed time gives (1.109 drops them, latencies and time to first token
        # alike; kept, each would change the pick)
        inf, nan = float("inf"), float("nan")
        field, samples = [(LATENCY_KEY, [-1.0, 0.5]), (LATENCY_KEY, [-inf, 0.2]), (LATENCY_KEY, [inf]),
                          ("time_to_first_token_seconds", [-0.5]), ("time_to_first_token_seconds", [inf, 0.3]),
                          ("time_to_first_token_seconds", [nan, -0.1])][kind - 5]
        stored.setdefault(dep_id, {})[field] = samples


async def _selection(router, strategy, model, request, messages, is_async):
    # both runs must read the same minute: the maps key usage (and stock's insertions) by it
    _clear_of_minute_end()
    sync_stock = _router.ORIGINALS["get_available_deployment"]
    async_stock = _router.ORIGINALS["async_get_available_deployment"]
    cache = router.cache.in_memory_cache
    # the maps of every name a selection can read or write (an alias's, its target's)
    keys = [key for name in ("group-0", "group-1", "alias", "missing-group") for key in _state_keys(strategy, name)]
    stored = {key: cache.cache_dict[key] for key in keys if key in cache.cache_dict}
    snapshot = copy.deepcopy(stored)
    stock_kwargs, our_kwargs = copy.deepcopy(request), copy.deepcopy(request)
    state = random.getstate()
    expected = await _outcome(lambda: async_stock(router, model, stock_kwargs, messages) if is_async
                              else sync_stock(router, model, messages, None, False, stock_kwargs))
    maps_after_stock = [copy.deepcopy(cache.cache_dict.get(key)) for key in keys]
    state_after = random.getstate()
    random.setstate(state)
    for key in keys:  # the state stock started from, fresh objects
        if key in snapshot:
            cache.cache_dict[key] = snapshot[key]
        else:
            cache.cache_dict.pop(key, None)
            cache.ttl_dict.pop(key, None)
    got = await _outcome(lambda: router.async_get_available_deployment(model, request_kwargs=our_kwargs,
                                                                       messages=messages) if is_async
                         else router.get_available_deployment(model, messages=messages, request_kwargs=our_kwargs))
    assert got[1] == expected[1]
    if expected[0] is not None:
        assert got[0] is expected[0], (got[0]["model_info"]["id"], expected[0]["model_info"]["id"])
    assert random.getstate() == state_after
    assert _alike(our_kwargs, stock_kwargs)  # latencies can be nan (!= itself): compared as written
    assert _alike([cache.cache_dict.get(key) for key in keys], maps_after_stock)


def _alike(a, b) -> bool:
    return a == b or repr(a) == repr(b)


async def _outcome(call):
    try:
        value = call()
        if asyncio.iscoroutine(value):
            value = await value
        return value, None
    except Exception as exc:  # noqa: BLE001 - parity compares what stock raises
        return None, (type(exc), str(exc))


async def _run_history(router: Router, strategy: str, steps: list[tuple]) -> None:
    deployments = router.model_list
    groups = sorted({d["model_name"] for d in deployments})
    selector = getattr(router, router._DEFAULT_SELECTOR_ATTR_BY_STRATEGY[strategy])
    for step in steps:
        deployment = deployments[step[1] % len(deployments)] if step[0] != "select" else None
        if step[0] == "success" and strategy == "usage-based-routing-v2":
            await _log_usage(router, selector, step, deployment)
        elif step[0] == "success":
            _, _, seconds, tokens, stream, is_async = step
            started = datetime.datetime.now()
            response = ModelResponse(usage={"prompt_tokens": 3, "completion_tokens": tokens,
                                            "total_tokens": 3 + tokens})
            kwargs = _log_kwargs(deployment, stream, started, seconds / 3)
            ended = started + datetime.timedelta(seconds=seconds)
            if is_async:
                await selector.async_log_success_event(kwargs, response, started, ended)
            else:
                selector.log_success_event(kwargs, response, started, ended)
        elif step[0] == "alias_success":
            if strategy == "usage-based-routing-v2":
                continue  # v2 keeps usage by deployment, not by group
            started = datetime.datetime.now()
            response = ModelResponse(usage={"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4})
            kwargs = _log_kwargs(deployment, False, started, step[2] / 3, group="alias")
            await selector.async_log_success_event(kwargs, response, started,
                                                   started + datetime.timedelta(seconds=step[2]))
        elif step[0] == "timeout":
            kwargs = _log_kwargs(deployment, False, datetime.datetime.now(), 0)
            kwargs["exception"] = litellm.Timeout(message="slow", model="m", llm_provider="openai")
            await selector.async_log_failure_event(kwargs, None, datetime.datetime.now(), datetime.datetime.now())
        elif step[0] == "cooldown":
            router.cooldown_cache.add_deployment_to_cooldown(
                model_id=deployment["model_info"]["id"], original_exception=Exception("boom"),
                exception_status=429, cooldown_time=60)
        elif step[0] == "odd":
            _odd(router, strategy, deployment, step[2])
        else:
            _, target, kind, stream, is_async = step
            model = groups[target % len(groups)] if target < 17 else ["missing-group", "alias", "alias"][target - 17]
            messages = [{"role": "user", "content": "hello there " * (target + 1)}]
            if strategy == "cost-based-routing":
                is_async = True  # stock's sync cost-based path only raises (handed to it; checked below)
            await _selection(router, strategy, model, _request(kind, stream), messages, is_async)


def _check_histories(strategy: str) -> None:
    served_before = _route_stats()["component"]
    reasons: Counter = Counter()

    @settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
    @given(config=_router_config, args=_routing_args, steps=st.lists(_step, min_size=10, max_size=50),
           seed=st.integers(0, 2**32 - 1), aliases=_aliases)
    def check(config, args, steps, seed, aliases):
        with callbacks_kept():
            router = Router(model_list=_deployments(config), routing_strategy=strategy,
                            routing_strategy_args=args, model_group_alias=dict(aliases))
            random.seed(seed)
            asyncio.run(_run_history(router, strategy, steps))
            reasons.update(_router.router_report(router).get("handed_to_litellm", {}).values())

    check()
    handed = fast_litellm.get_performance_stats()["operations"]["route"]["handed_to_litellm"]
    # not vacuous: 255-455 of 200 generated histories' selections were served across runs
    # (the rest go to litellm by design: generated oddities, groups with none left)
    assert _route_stats()["component"] - served_before > 150, (reasons, handed)


def test_latency_based_selections_match_litellm_on_generated_histories():
    _check_histories("latency-based-routing")


def test_cost_based_selections_match_litellm_on_generated_histories():
    _check_histories("cost-based-routing")


def test_usage_based_v2_selections_match_litellm_on_generated_histories():
    _check_histories("usage-based-routing-v2")


def test_usage_based_v1_selections_match_litellm_on_generated_histories():
    _check_histories("usage-based-routing")


def test_cost_based_sync_is_stocks_own_error():
    """litellm's cost-based selector is async only: a sync selection raises in stock, and
    is handed to it."""
    router = Router(model_list=_deployments([[{"model": 0, "tpm": (0, None), "rpm": (0, None), "price": None,
                                                "order": None, "api_base": 0}]]),
                    routing_strategy="cost-based-routing")
    fast_litellm.reset_performance_stats()
    state = random.getstate()
    try:
        _router.ORIGINALS["get_available_deployment"](router, "group-0")
    except Exception as exc:  # noqa: BLE001
        expected = (type(exc), str(exc))
    random.setstate(state)
    try:
        router.get_available_deployment("group-0")
    except Exception as exc:  # noqa: BLE001
        got = (type(exc), str(exc))
    assert got == expected
    stats = fast_litellm.get_performance_stats()["operations"]["route"]
    assert stats["handed_to_litellm"] == {"cost_based_sync": 1}


def test_cost_map_changes_recost_the_plan(model_cost_kept):
    """Prices come from litellm.model_cost when the plan is built; a cost map replaced,
    grown, or changed by register_model (which updates rows in place) builds it again."""
    deployments = [{"model_name": "g", "litellm_params": {"model": "openai/my-cheap-model", "api_key": "k"},
                    "model_info": {"id": "a", "base_model": "my-cheap-model"}},
                   {"model_name": "g", "litellm_params": {"model": "gpt-4o-mini", "api_key": "k"},
                    "model_info": {"id": "b"}}]
    original = litellm.model_cost
    router = Router(model_list=deployments, routing_strategy="cost-based-routing")
    stock = _router.ORIGINALS["async_get_available_deployment"]
    assert asyncio.run(router.async_get_available_deployment("g", request_kwargs={}))["model_info"]["id"] == "b"
    try:
        litellm.register_model({"my-cheap-model": {"input_cost_per_token": 0.0, "output_cost_per_token": 0.0,
                                                          "litellm_provider": "openai", "mode": "chat"}})
        expected = asyncio.run(stock(router, "g", {}))
        got = asyncio.run(router.async_get_available_deployment("g", request_kwargs={}))
        assert got is expected and got["model_info"]["id"] == "a"
        litellm.register_model({"gpt-4o-mini": {"input_cost_per_token": 0.0, "output_cost_per_token": 0.0}})
        litellm.register_model({"my-cheap-model": {"input_cost_per_token": 1.0}})  # in place: same size
        expected = asyncio.run(stock(router, "g", {}))
        got = asyncio.run(router.async_get_available_deployment("g", request_kwargs={}))
        assert got is expected and got["model_info"]["id"] == "b"
        litellm.model_cost = dict(litellm.model_cost)  # replaced (a cost map reload does this)
        litellm.model_cost["gpt-4o-mini"] = {**litellm.model_cost["gpt-4o-mini"], "input_cost_per_token": 9.0}
        expected = asyncio.run(stock(router, "g", {}))
        got = asyncio.run(router.async_get_available_deployment("g", request_kwargs={}))
        assert got is expected and got["model_info"]["id"] == "a"
    finally:
        litellm.model_cost = original


_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=300)
_message = st.dictionaries(st.sampled_from(["role", "content", "name", "tool_call_id"]),
                           st.one_of(_text, st.none()), min_size=1)


@settings(max_examples=300, deadline=None)
@given(messages=st.lists(_message, max_size=6))
def test_the_token_bound_is_never_below_litellms_count(messages):
    """A tpm limit is checked without counting where usage plus an upper bound of the
    count fits: the bound must hold for every message list it is given for."""
    from fast_litellm import _router_scores, tokens

    bound = _router_scores.upper_bound(messages)
    assert bound is not None
    assert tokens.ORIGINALS["token_counter"](messages=messages) <= bound
    assert litellm.token_counter(messages=messages) <= bound


def test_the_token_bound_gives_up_on_anything_but_str_values():
    from fast_litellm._router_scores import upper_bound

    assert upper_bound([{"role": "user", "content": [{"type": "text", "text": "hi"}]}]) is None
    assert upper_bound([{"role": "assistant", "tool_calls": [{"function": {"arguments": "{}"}}]}]) is None
    assert upper_bound(({"role": "user", "content": "hi"},)) is None
    assert upper_bound(None) is None


# -- review regressions ----------------------------------------------------------------------


def _latency_router(**args) -> Router:
    deployments = [{"model_name": "g", "litellm_params": {"model": "openai/gpt-4o-mini", "api_key": "k",
                                                          "api_base": f"http://127.0.0.1:9/{i}"},
                    "model_info": {"id": dep_id}} for i, dep_id in enumerate("abc")]
    router = Router(model_list=deployments, routing_strategy="latency-based-routing", routing_strategy_args=args)
    router.cache.set_cache("g_map", {"a": {LATENCY_KEY: [0.2]}, "b": {LATENCY_KEY: [0.1]}, "c": {LATENCY_KEY: [0.15]}})
    return router


def _same_as_stock(router: Router, model: str = "g", is_async: bool = False, request: dict | None = None):
    asyncio.run(_selection(router, router.routing_strategy, model, request if request is not None else {},
                           [{"role": "user", "content": "hi"}], is_async))


def test_a_selector_replaced_by_routing_strategy_init_or_by_hand_is_read_again():
    router = _latency_router()
    for seed in range(3):
        random.seed(seed)
        _same_as_stock(router)
    router.routing_strategy_init("latency-based-routing", {"lowest_latency_buffer": 1.0})
    for seed in range(6):
        random.seed(seed)
        _same_as_stock(router)
    from litellm.caching.caching import DualCache
    from litellm.router_strategy.lowest_latency import LowestLatencyLoggingHandler

    other = DualCache()
    other.set_cache("g_map", {"a": {LATENCY_KEY: [0.01]}})
    router.lowestlatency_logger = LowestLatencyLoggingHandler(router_cache=other)
    for seed in range(3):
        random.seed(seed)
        _same_as_stock(router)


def test_register_model_under_either_name_recosts(model_cost_kept):
    import litellm.utils

    deployments = [{"model_name": "g", "litellm_params": {"model": m, "api_key": "k"}, "model_info": {"id": m}}
                   for m in ("gpt-4o", "gpt-4o-mini")]
    router = Router(model_list=deployments, routing_strategy="cost-based-routing")
    _same_as_stock(router, is_async=True)
    litellm.utils.register_model({"gpt-4o-mini": {"input_cost_per_token": 1.0, "output_cost_per_token": 1.0}})
    stock = asyncio.run(_router.ORIGINALS["async_get_available_deployment"](router, "g", {}))
    assert stock["model_info"]["id"] == "gpt-4o"
    _same_as_stock(router, is_async=True)


def test_the_seed_api_leaves_none_left_to_litellm_for_scoring_strategies():
    """All candidates over their limits: stock's latency selector shuffles before finding
    none, so fast_litellm's own API hands that case to litellm (same `random` state)."""
    from fast_litellm import get_available_deployment
    from fast_litellm._advanced_router import _router_for

    deployments = [{"model_name": "g", "litellm_params": {"model": "openai/x", "api_key": "k", "rpm": 1},
                    "model_info": {"id": dep_id}} for dep_id in "ab"]
    deployments.append({"model_name": "g", "litellm_params": {"model": "openai/x", "api_key": "k"},
                        "model_info": {"id": "x"}})
    settings = {"routing_strategy": "latency-based-routing"}
    router = _router_for(deployments, dict(settings))  # the Router the API keeps for this list
    minute = datetime.datetime.now().strftime("%Y-%m-%d-%H-%M")

    def used_up():
        router.cache.set_cache("g_map", {d: {minute: {"rpm": 1, "tpm": 0}, LATENCY_KEY: [0.1]} for d in "ab"})

    used_up()
    random.seed(3)
    assert get_available_deployment(deployments, "g", ["x"], settings=settings) is None
    after_ours = random.getstate()
    used_up()
    random.seed(3)
    with pytest.raises(Exception):  # stock's no-deployments error
        _router.ORIGINALS["get_available_deployment"](router, "g", request_kwargs={"_excluded_deployment_ids": ["x"]})
    assert random.getstate() == after_ours


def test_a_deployment_stock_cannot_format_is_left_to_stock():
    router = _latency_router()
    router.model_list[0]["litellm_params"]["api_base"] = {"unhashable": True}  # edited in place
    fast_litellm.router_changed(router)
    assert _router.router_report(router)["handed_to_litellm"] == {"g": "unusual_deployment"}
    for seed in range(3):
        random.seed(seed)
        _same_as_stock(router, request={"metadata": {}})


def test_shadow_mode_leaves_litellm_answering_and_its_state_alike():
    """In shadow mode the scoring strategies run ours first (random restored), then stock
    answers: the picks, the cached map and the request metadata end as stock alone leaves them."""
    picks, maps, metadata = {}, {}, {}
    mismatches = fast_litellm.get_shadow_mismatches()["count"]
    for mode in ("shadow", "stock"):
        router = _latency_router(lowest_latency_buffer=1.0)
        del router.cache.in_memory_cache.cache_dict["g_map"]["c"]  # c missing: inserted on selection
        fast_litellm.set_feature_state("rust_routing", mode if mode == "shadow" else "disabled")
        try:
            random.seed(11)
            requests = [{"metadata": {}} for _ in range(20)]
            picks[mode] = [router.get_available_deployment("g", request_kwargs=r)["model_info"]["id"]
                           for r in requests]
        finally:
            fast_litellm.set_feature_state("rust_routing", "enabled")
        maps[mode] = router.cache.in_memory_cache.cache_dict["g_map"]
        metadata[mode] = [r["metadata"] for r in requests]
    assert picks["shadow"] == picks["stock"]  # c: its inserted [0] latency is the lowest
    assert maps["shadow"] == maps["stock"] and maps["stock"]["c"][LATENCY_KEY] == [0]
    assert metadata["shadow"] == metadata["stock"] and "_latency_per_deployment" in metadata["stock"][0]
    assert fast_litellm.get_shadow_mismatches()["count"] == mismatches


def _latency_router_of(*deployments: dict, **routing_args) -> Router:
    return Router(model_list=list(deployments), routing_strategy="latency-based-routing", num_retries=0,
                  routing_strategy_args=routing_args)


def test_equal_latencies_of_other_types_with_a_buffer_that_is_not_a_float():
    """Stock's buffer cutoff is `lowest + buffer * lowest` of the first lowest latency in
    shuffled order. An int 1 (a ttft percentile returns a sample as is) and a float 1.0 (an
    average) tie, and with a buffer assigned after construction (routing_args is not
    validated on assignment) they give other cutoffs: Fraction(1, 10) * 1 is exactly 11/10,
    Fraction(1, 10) * 1.0 the float 1.1, and a deployment at 1.1 is within one and not the
    other. Such a selection goes to litellm."""
    from fractions import Fraction

    router = _latency_router_of(_deployment("a"), _deployment("b"), _deployment("c"), ttft_percentile=0.5)
    router.lowestlatency_logger.routing_args.lowest_latency_buffer = Fraction(1, 10)
    router.cache.set_cache("g_map", {
        "a": {LATENCY_KEY: [5.0], "time_to_first_token_seconds": [1]},  # percentile: int 1
        "b": {LATENCY_KEY: [1]},  # no ttft: the average, float 1.0
        "c": {LATENCY_KEY: [5.0], "time_to_first_token_seconds": [1.1]},
    })
    for _ in range(40):
        pick(router, request_kwargs={"stream": True})


_INF, _NAN = float("inf"), float("nan")


@pytest.mark.parametrize("field, samples", [
    (LATENCY_KEY, [-1.0, 0.5]), (LATENCY_KEY, [-_INF, 0.2]), (LATENCY_KEY, [_INF]), (LATENCY_KEY, [_NAN, 0.05]),
    ("time_to_first_token_seconds", [-0.5]), ("time_to_first_token_seconds", [_INF, 0.3]),
    ("time_to_first_token_seconds", [_NAN, -0.1]),
], ids=["negative", "minus-inf", "inf", "nan", "ttft-negative", "ttft-inf", "ttft-nan"])
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("args", [{}, {"lowest_latency_buffer": 0.5}, {"ttft_percentile": 0.5}],
                         ids=["default", "buffer", "percentile"])
def test_samples_no_elapsed_time_gives_score_as_stock_scores_them(field, samples, stream, args):
    """1.109 drops NaN, infinite and negative samples (latencies and time to first token)
    before scoring; 1.106 scores them as they are. Picks equal stock's on either, and the
    1.109 cases are served (on 1.106 a NaN kept, or a cutoff that is not a number, goes to
    litellm)."""
    router = _latency_router(**args)
    router.cache.in_memory_cache.cache_dict["g_map"]["c"][field] = samples
    before = _route_stats()["component"]
    for seed in range(4):
        random.seed(seed)
        _same_as_stock(router, request={"stream": stream, "metadata": {}})
    if _router_scores._Litellm.latency_key == "latency_normalized":  # 1.109: what is left scores plainly
        assert _route_stats()["component"] - before == 4


def test_a_sample_filter_replaced_in_lowest_latency_is_used_as_stock_uses_it(monkeypatch):
    """1.109 looks its sample filter up on every call: one put there after install (here,
    capping samples at 0.2) changes stock's scores, and ours follow it."""
    from litellm.router_strategy import lowest_latency

    if not hasattr(lowest_latency, "_usable_latency_samples"):
        pytest.skip("litellm 1.106 scores every sample")
    router = _latency_router(lowest_latency_buffer=0.5)
    router.cache.set_cache("g_map", {"a": {LATENCY_KEY: [0.3]}, "b": {LATENCY_KEY: [0.9]}, "c": {LATENCY_KEY: [0.8]}})
    monkeypatch.setattr(lowest_latency, "_usable_latency_samples", lambda s: tuple(min(x, 0.2) for x in s))
    for seed in range(6):
        random.seed(seed)
        _same_as_stock(router)


def test_a_time_to_first_token_stock_cannot_filter_is_left_to_it_streaming_or_not():
    """1.109 filters the ttft samples on every read (a sample that is not a number raises
    there, streaming or not); 1.106 reads them only for a stream."""
    router = _latency_router()
    router.cache.in_memory_cache.cache_dict["g_map"]["c"]["time_to_first_token_seconds"] = ["x"]
    for stream in (False, True):
        random.seed(1)
        _same_as_stock(router, request={"stream": stream})


def test_none_within_a_negative_buffer_is_left_to_stock():
    """With a buffer below 0 no latency is within it: 1.106 raises, 1.109 picks among all."""
    router = _latency_router(lowest_latency_buffer=-0.5)
    fast_litellm.reset_performance_stats()
    for seed in range(3):
        random.seed(seed)
        _same_as_stock(router)
    assert _route_stats()["handed_to_litellm"] == {"unusual_latency": 3}


def test_a_sum_set_in_lowest_latency_is_used_as_stock_uses_it(monkeypatch):
    """litellm's average is inlined only while lowest_latency's globals do not shadow the
    builtins it calls (checked per selection: stock looks `sum` up on every call)."""
    from litellm.router_strategy import lowest_latency

    router = _latency_router_of(_deployment("a"), _deployment("b"))
    router.cache.set_cache("g_map", {"a": {LATENCY_KEY: [1.0, 3.0]}, "b": {LATENCY_KEY: [2.5]}})
    assert _id(pick(router)) == "a"  # averages 2.0 and 2.5
    monkeypatch.setattr(lowest_latency, "sum", lambda samples: max(samples) * len(samples), raising=False)
    assert _id(pick(router)) == "b"  # "averages" 3.0 and 2.5


def test_an_average_returning_another_zero_is_not_inlined(monkeypatch):
    """The check that litellm's _average_latency is the expression inlined compares its
    constants by type and repr: 0.0 == 0 == -0.0 == False == 0j, and a litellm returning
    0j for no samples makes stock's sort raise where an inlined 0.0 would pick."""
    from litellm.router_strategy import lowest_latency

    def average(samples):
        if not samples:
            return 0j
        return sum(samples) / len(samples)

    monkeypatch.setattr(lowest_latency, "_average_latency", average)
    _router_scores._Litellm.resolve()  # as at install against such a litellm
    try:
        assert _router_scores._Litellm.plain_average is None
        router = _latency_router_of(_deployment("a"), _deployment("b"))
        router.cache.set_cache("g_map", {"a": {LATENCY_KEY: []}, "b": {LATENCY_KEY: [2.5]}})
        pick_raises(router)
    finally:
        monkeypatch.undo()
        _router_scores._Litellm.resolve()
    assert _router_scores._Litellm.plain_average is lowest_latency._average_latency


def test_a_generator_set_as_a_strategy_modules_random_leaves_the_pick_to_stock(monkeypatch):
    """Stock draws through the name `random` in its strategy modules' globals: a generator
    put there (a test's seeded Random) is drawn from by stock, so those selections go to
    litellm."""
    from litellm.router_strategy import lowest_latency

    router = _latency_router_of(_deployment("a"), _deployment("b"), _deployment("c"))
    generator = random.Random(7)
    monkeypatch.setattr(lowest_latency, "random", generator)
    stock = _router.ORIGINALS["get_available_deployment"]
    for _ in range(5):
        state = generator.getstate()
        expected = stock(router, "g")
        generator.setstate(state)
        assert router.get_available_deployment("g") is expected
    assert _route_stats() == _handed("random_patched", 5)
