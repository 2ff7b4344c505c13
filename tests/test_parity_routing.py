"""Routing parity: the accelerated selection against litellm's own, step by step.

Hypothesis generates routers (groups of deployments with or without weight, rpm, tpm,
order; now and then a field a stock filter reads) and histories (selections sync and
async with assorted request options, cooldowns, the clock moving on). Every selection
runs twice from the same `random` state: through litellm's original method and through
the installed one. They must pick the same deployment object, or raise the same
exception, leave `random` in the same state and the request kwargs alike.
"""

from __future__ import annotations

import asyncio
import copy
import math
import random
from collections import Counter
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from litellm import Router

import fast_litellm
from fast_litellm import _router, _router_release
from routing_checks import _route_stats, callbacks_kept, model_cost_kept  # noqa: F401 - autouse

pytestmark = pytest.mark.routing  # skipped on a litellm release routing is not verified on (conftest)


def _deployment(i: int, group: int, spec: dict) -> dict:
    params = {"model": "openai/gpt-4o-mini", "api_key": "sk-test", "api_base": f"http://127.0.0.1:9/{i}"}
    info = {"id": f"dep-{i}"}
    for metric in ("weight", "rpm", "tpm"):
        if spec.get(metric) is not None:
            params[metric] = spec[metric]
    if spec.get("order") is not None:
        (params if spec.get("order_in_params") else info)["order"] = spec["order"]
    info.update(spec.get("extra") or {})
    return {"model_name": f"group-{group}", "litellm_params": params, "model_info": info}


_FILTERED = [{"team_id": "t1"}, {"access_groups": ["ag"]}, {"blocked": True}, {"supports_web_search": False},
             {"enable_tag_filtering": True},
             # read by 1.109's filters only (team PTU shares, endpoint enforcement, embedding
             # batch limits, batch deployments, text-only deployments)
             {"ptu_shares": {"team-a": 1}, "ptu_count": 1, "cost_per_ptu_per_hour": 1.0,
              "ptu_effective_from": "2026-01-01T00:00:00Z"},
             {"enforce_supported_endpoints": True, "supported_endpoints": ["/v1/embeddings"]},
             {"max_embedding_batch_size": 2}, {"mode": "batch"}, {"supports_vision": False}]
# model_group_alias maps: a plain alias, one named like a group or like a deployment id,
# the item form, a malformed entry, an alias of no group
_ALIASES = [{"alias": "group-0"}, {"alias": "group-1", "group-0": "group-1", "dep-0": "group-0"},
            {"alias": {"model": "group-0", "hidden": True}, "group-1": ""}, {"alias": "missing-group"}]
_weights = st.one_of(st.none(), st.integers(0, 5), st.sampled_from([0.0, 0.5, 2.25, 1e-3]))
_deployment_spec = st.fixed_dictionaries({
    "weight": st.one_of(st.none(), st.none(), _weights),
    "rpm": st.one_of(st.none(), st.integers(0, 100)),
    "tpm": st.one_of(st.none(), st.integers(0, 10_000)),
    "order": st.one_of(st.none(), st.none(), st.integers(1, 3)),
    "order_in_params": st.booleans(),
    # now and then a field a stock filter reads (the group then goes to litellm)
    "extra": st.integers(0, 150).map(lambda i: _FILTERED[i] if i < len(_FILTERED) else None),
})
_router_config = st.lists(st.lists(_deployment_spec, min_size=1, max_size=6), min_size=1, max_size=3)
_router_options = st.one_of(*[st.just({})] * 6, *[st.just({"routing_strategy": "least-busy"})] * 4,
                            st.sampled_from([{"enable_pre_call_checks": True},
                                             {"routing_strategy": "latency-based-routing"}]),
                            st.sampled_from(_ALIASES).map(lambda aliases: {"model_group_alias": aliases}),
                            st.sampled_from(_ALIASES).map(lambda aliases: {"model_group_alias": aliases,
                                                                          "routing_strategy": "least-busy"}),
                            st.just({"model_group_alias": {"alias": "group-1"}, "enable_pre_call_checks": True}))


def _request(kind: int) -> dict | None:
    first_id = "dep-0"
    return [
        None, {}, {}, {"metadata": {}}, {"metadata": {"user_api_key_team_id": "t1"}},
        {"_target_order": 1}, {"_router_weights": {"group-0": {first_id: 2.0}}},
        {"_excluded_deployment_ids": [first_id]}, {"litellm_metadata": {"routing_decision": {"x": 1}}},
        {"metadata": {"tags": ["a"]}}, {"litellm_call_id": "abc", "metadata": {"model_group": "group-0"}},
    ][kind]


# selections (target: a group mostly, else a missing group, a deployment id, an alias;
# request: mostly plain), cooldowns, the clock moving on
_select = st.tuples(st.just("select"), st.integers(0, 9), st.integers(0, 16), st.booleans(), st.booleans())
_step = st.one_of(
    _select, _select, _select,
    st.tuples(st.just("cooldown"), st.integers(0, 17), st.sampled_from([5, 60])),
    st.tuples(st.just("advance"), st.sampled_from([1, 6, 61])),
    # least-busy's in-flight counts, as its callbacks keep them (now and then an odd value),
    # under the deployment's group or, as for requests naming an alias, under "alias"
    st.tuples(st.just("busy"), st.integers(0, 17), st.sampled_from([1, 1, 2, -1, 0.5, "3"]), st.booleans()),
)


class Clock:
    """time.time for litellm's cooldown store and for us: moves only when told."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def _outcome(call):
    try:
        return ("picked", call()), None
    except Exception as exc:  # noqa: BLE001 - parity compares what stock raises
        return None, (type(exc), str(exc))


async def _outcome_async(call):
    try:
        return ("picked", await call()), None
    except Exception as exc:  # noqa: BLE001
        return None, (type(exc), str(exc))


def _same(got, expected, model_list: list) -> None:
    (value, error), (expected_value, expected_error) = got, expected
    assert error == expected_error
    if expected_value is not None:
        assert value is not None and value[1] == expected_value[1]
        if any(expected_value[1] is d for d in model_list):  # not a copy (called by id): the same object
            assert value[1] is expected_value[1]


async def _run_history(router: Router, deployments: list[dict], steps: list[tuple], clock: Clock) -> None:
    sync_stock = _router.ORIGINALS["get_available_deployment"]
    async_stock = _router.ORIGINALS["async_get_available_deployment"]
    groups = sorted({d["model_name"] for d in deployments})
    for step in steps:
        if step[0] == "advance":
            clock.now += step[1]
            continue
        if step[0] == "busy":
            deployment = deployments[step[1] % len(deployments)]
            key = f"{'alias' if step[3] else deployment['model_name']}_request_count:{deployment['model_info']['id']}"
            if isinstance(step[2], str):
                router.cache.set_cache(key, step[2], local_only=True, ttl=60)
            else:
                router.cache.increment_cache(key, step[2], local_only=True, ttl=60)
            continue
        if step[0] == "cooldown":
            deployment = deployments[step[1] % len(deployments)]
            router.cooldown_cache.add_deployment_to_cooldown(
                model_id=deployment["model_info"]["id"], original_exception=Exception("boom"),
                exception_status=429, cooldown_time=step[2])
            continue
        _, target, kind, is_async, with_messages = step
        model = groups[target % len(groups)] if target < 7 else ["missing-group", "dep-0", "alias"][target - 7]
        messages = [{"role": "user", "content": "hello"}] if with_messages else None
        request = _request(kind) if kind <= 10 else {}
        if is_async and request is None:
            request = {}
        stock_kwargs, our_kwargs = copy.deepcopy(request), copy.deepcopy(request)
        state = random.getstate()
        if is_async:
            expected = await _outcome_async(lambda: async_stock(router, model, stock_kwargs, messages))
        else:
            expected = _outcome(lambda: sync_stock(router, model, messages, None, False, stock_kwargs))
        state_after = random.getstate()
        random.setstate(state)
        if is_async:
            got = await _outcome_async(lambda: router.async_get_available_deployment(
                model, request_kwargs=our_kwargs, messages=messages))
        else:
            got = _outcome(lambda: router.get_available_deployment(model, messages=messages,
                                                                   request_kwargs=our_kwargs))
        _same(got, expected, router.model_list)
        assert random.getstate() == state_after
        assert our_kwargs == stock_kwargs


def test_selections_match_litellm_on_generated_routers_and_histories():
    served_before = _route_stats()["component"]
    reasons: Counter = Counter()

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(config=_router_config, options=_router_options, steps=st.lists(_step, min_size=10, max_size=60),
           seed=st.integers(0, 2**32 - 1))
    def check(config, options, steps, seed):
        deployments = [_deployment(i, g, spec) for i, (g, spec) in
                       enumerate((g, spec) for g, group in enumerate(config) for spec in group)]
        clock = Clock()
        with mock.patch("time.time", clock), callbacks_kept():
            router = Router(model_list=copy.deepcopy(deployments), **options)
            random.seed(seed)
            asyncio.run(_run_history(router, router.model_list, steps, clock))
            report = _router.router_report(router)
            reasons.update([report.get("reason", "served")])

    check()
    # the suite proves nothing if the component never selected
    handed = fast_litellm.get_performance_stats()["operations"]["route"]["handed_to_litellm"]
    assert _route_stats()["component"] - served_before > 100, (reasons, handed)


def test_shadow_mode_serves_stock_and_records_no_mismatch():
    deployments = [_deployment(i, 0, {"rpm": 10 * (i + 1)}) for i in range(4)]
    router = Router(model_list=deployments)
    mismatches = fast_litellm.get_shadow_mismatches()["count"]
    fast_litellm.set_feature_state("rust_routing", "shadow")
    try:
        random.seed(7)
        shadowed = [router.get_available_deployment("group-0")["model_info"]["id"] for _ in range(200)]
    finally:
        fast_litellm.set_feature_state("rust_routing", "enabled")
    random.seed(7)
    stock = [_router.ORIGINALS["get_available_deployment"](router, "group-0")["model_info"]["id"]
             for _ in range(200)]
    assert shadowed == stock
    assert fast_litellm.get_shadow_mismatches()["count"] == mismatches


def _chi_square_p(observed: list[int], expected: list[float]) -> float:
    """Upper tail of the chi-square distribution (regularised gamma Q, by series)."""
    statistic = sum((o - e) ** 2 / e for o, e in zip(observed, expected))
    k = (len(observed) - 1) / 2
    x = statistic / 2
    term = total = 1.0 / k
    n = k
    while term > 1e-15 * total:
        n += 1
        term *= x / n
        total += term
    lower = math.exp(-x + k * math.log(x) - math.lgamma(k)) * total if x > 0 else 0.0
    return max(0.0, 1.0 - lower)


@pytest.mark.parametrize("metric", ["weight", "rpm", "tpm"])
def test_weighted_pick_distribution_matches_the_weights(metric):
    weights = [1, 2, 3, 10, 0]
    router = Router(model_list=[_deployment(i, 0, {metric: w}) for i, w in enumerate(weights)])
    served_before = _route_stats()["component"]
    random.seed()
    picks = Counter(router.get_available_deployment("group-0")["model_info"]["id"] for _ in range(12_000))
    assert _route_stats()["component"] - served_before == 12_000
    assert picks["dep-4"] == 0  # weight 0: never
    observed = [picks[f"dep-{i}"] for i in range(4)]
    expected = [12_000 * w / sum(weights) for w in weights[:4]]
    assert _chi_square_p(observed, expected) > 0.001, observed


def test_uniform_pick_distribution_is_uniform():
    router = Router(model_list=[_deployment(i, 0, {}) for i in range(6)])
    random.seed()
    picks = Counter(router.get_available_deployment("group-0")["model_info"]["id"] for _ in range(12_000))
    assert _chi_square_p([picks[f"dep-{i}"] for i in range(6)], [2_000.0] * 6) > 0.001


def test_chi_square_helper_rejects_a_skewed_sample():
    assert _chi_square_p([1000, 1000, 1000], [1000.0, 1000.0, 1000.0]) > 0.99
    assert _chi_square_p([1300, 1000, 700], [1000.0, 1000.0, 1000.0]) < 1e-6


def test_model_list_changes_rebuild_the_plan():
    router = Router(model_list=[_deployment(0, 0, {}), _deployment(1, 0, {})])
    assert _router.router_report(router)["deployments_in_component"] == 2
    router.add_deployment(Router(model_list=[_deployment(2, 0, {})]).get_deployment("dep-2"))
    assert _router.router_report(router)["deployments_in_component"] == 3
    router.delete_deployment("dep-0")
    random.seed(3)
    ids = {router.get_available_deployment("group-0")["model_info"]["id"] for _ in range(100)}
    assert ids == {"dep-1", "dep-2"}
    router.set_model_list([_deployment(5, 1, {})])
    assert router.get_available_deployment("group-1")["model_info"]["id"] == "dep-5"


def test_routers_we_do_not_model_are_reported_and_served_by_litellm():
    router = Router(model_list=[_deployment(0, 0, {})], routing_strategy="lar1")
    assert _router.router_report(router) == {"accelerated_groups": [], "reason": "strategy_lar1"}
    mixed = Router(model_list=[_deployment(0, 0, {}), _deployment(1, 1, {"extra": {"team_id": "t"}})])
    report = _router.router_report(mixed)
    assert report["accelerated_groups"] == ["group-0"]
    assert report["handed_to_litellm"] == {"group-1": "filtered_deployment"}


def test_a_component_failure_is_served_by_litellm(monkeypatch):
    from fast_litellm._component import COMPONENT

    router = Router(model_list=[_deployment(i, 0, {}) for i in range(3)])

    def broken(request, generation):
        raise RuntimeError("trap")

    monkeypatch.setattr(COMPONENT, "router_packed", broken)
    before = fast_litellm.get_performance_stats()["operations"]["route"]["handed_to_litellm"].get(
        "component_error", 0)
    # litellm picks (from the draw after the one the failed call took)
    assert router.get_available_deployment("group-0") in router.model_list
    after = fast_litellm.get_performance_stats()["operations"]["route"]["handed_to_litellm"]["component_error"]
    assert after == before + 1


# -- fast_litellm's own selection API ---------------------------------------------------------


def test_get_available_deployment_picks_what_litellm_picks():
    deployments = [_deployment(i, i % 2, {"rpm": 10 * (i + 1), "order": 1 + (i == 0)}) for i in range(6)]
    router_of_list = fast_litellm._advanced_router._router_for(deployments, {})
    served_before = _route_stats()["component"]
    picks = {}
    for blocked in (None, [], ["dep-2"], ["dep-2", "dep-4"], ["dep-0", "dep-2", "dep-4"], ["nope"]):
        random.seed(5)
        ours = [fast_litellm.get_available_deployment(deployments, "group-0", blocked) for _ in range(50)]
        random.seed(5)
        kwargs = {"_excluded_deployment_ids": blocked} if blocked else None
        expected = []
        for _ in range(50):
            try:
                expected.append(_router.ORIGINALS["get_available_deployment"](
                    router_of_list, "group-0", None, None, False, dict(kwargs) if kwargs else None))
            except Exception as exc:  # noqa: BLE001
                assert type(exc).__name__ == "RouterRateLimitError"
                expected.append(None)
        assert all(a is b for a, b in zip(ours, expected)), blocked
        picks[str(blocked)] = {None if d is None else d["model_info"]["id"] for d in ours}
    assert picks["['dep-2', 'dep-4']"] == {None}  # the order-1 ones left out: none (order 2 does not step in)
    assert picks["['dep-0', 'dep-2', 'dep-4']"] == {None}
    assert picks["['dep-2']"] == {"dep-4"}
    assert _route_stats()["component"] - served_before == 200  # the two cases with none left: litellm raises


def test_advanced_router_seed_api():
    from fast_litellm._rust import AdvancedRouter

    deployments = [_deployment(i, 0, {}) for i in range(3)]
    router = AdvancedRouter(strategy="simple-shuffle")
    picked = router.get_available_deployment(deployments, "group-0", blocked_models=["dep-0"])
    assert picked["model_info"]["id"] in {"dep-1", "dep-2"}
    assert router.get_available_deployment(deployments, "group-0", ["dep-0", "dep-1", "dep-2"]) is None
    latency = AdvancedRouter(strategy="latency-based-routing")
    assert latency.get_available_deployment(deployments, "group-0", ["dep-1"])["model_info"]["id"] != "dep-1"
    # litellm's cost-based selector is async only: its sync selection raises, blocked or not
    cost = AdvancedRouter(strategy="cost-based-routing")
    assert cost.get_available_deployment(deployments, "group-0") is None
    assert cost.get_available_deployment(deployments, "group-0", ["dep-0"]) is None
    with pytest.raises(ValueError, match="unknown strategy"):
        AdvancedRouter(strategy="fastest")
    with pytest.raises(ValueError, match="blocked_models"):
        router.get_available_deployment(deployments, "group-0", blocked_models="dep-0")
    with pytest.raises(ValueError, match="model must be"):
        router.get_available_deployment(deployments, None)
    with pytest.raises(ValueError, match="model_list"):
        router.get_available_deployment("not a list", "group-0")


def test_collected_routers_leave_the_component_without_deadlock():
    import gc

    from fast_litellm._component import COMPONENT

    for _ in range(30):  # plans of dropped Routers are collected at any point
        router = Router(model_list=[_deployment(i, 0, {}) for i in range(3)])
        router.get_available_deployment("group-0")
        del router
        gc.collect()
    _router._remove_forgotten()
    live = Router(model_list=[_deployment(0, 0, {})])
    live.get_available_deployment("group-0")
    assert not _router._forgotten
    handle = _router_release.holder(live).__dict__[_router._PLAN].handle  # 1.109: on the core
    assert COMPONENT.router("deployments", handle) == 1


def test_router_changed_reads_in_place_edits():
    deployments = [_deployment(0, 0, {"weight": 1}), _deployment(1, 0, {"weight": 1})]
    router = Router(model_list=deployments)
    router.get_available_deployment("group-0")
    router.model_list[0]["litellm_params"]["weight"] = 0
    fast_litellm.router_changed(router)
    random.seed(0)
    assert {router.get_available_deployment("group-0")["model_info"]["id"] for _ in range(50)} == {"dep-1"}


def test_a_router_with_other_internals_is_left_stock_and_reported(monkeypatch):
    from litellm.router import Router as LitellmRouter

    assert _router.uninstall() is True
    try:
        def get_available_deployment(self, model, messages=None):  # a changed signature
            raise AssertionError("not called")

        monkeypatch.setattr(LitellmRouter, "get_available_deployment", get_available_deployment)
        assert _router.install() is False
        status = fast_litellm.health_check()["routing"]
        assert status["patched"] is False
        assert "get_available_deployment signature" in status["problems"][0]
        assert LitellmRouter.async_get_available_deployment is not _router.async_get_available_deployment
    finally:
        monkeypatch.undo()
        assert _router.install() is True
    strategies = ["cost-based-routing", "latency-based-routing", "least-busy", "simple-shuffle",
                  "usage-based-routing", "usage-based-routing-v2"]
    status = fast_litellm.health_check()["routing"]
    assert (status["patched"], status["strategies"]) == (True, strategies)
    assert set(status) == {"patched", "strategies", "routers"}


def test_health_check_counts_the_routers_served_and_why_litellm_serves_others():
    import gc

    from litellm.types.router import RouterRateLimitError

    def routers() -> dict:
        gc.collect()
        return fast_litellm.health_check()["routing"]["routers"]

    before = routers()
    with callbacks_kept():  # the Routers' callbacks leave litellm's lists after: they can be collected
        served = Router(model_list=[_deployment(i, i % 2, {}) for i in range(4)])
        filtered = Router(model_list=[_deployment(0, 0, {}), _deployment(1, 1, {"extra": {"access_groups": ["a"]}})])
        tags = Router(model_list=[_deployment(0, 0, {})], enable_tag_filtering=True)
        budgets = Router(model_list=[_deployment(0, 0, {})], routing_strategy="usage-based-routing-v2")
        for router in (served, filtered, tags, budgets):
            router.get_available_deployment("group-0")
        budgets.routing_strategy = "provider-budget-routing"  # what the next selection reads
        with pytest.raises(RouterRateLimitError):  # litellm's own answer there (no budgets configured)
            budgets.get_available_deployment("group-0")
        after = routers()
        assert after["served"] == before["served"] + 2
        left, groups_left = Counter(after["left_to_litellm"]), Counter(after["groups_left_to_litellm"])
        left.subtract(before["left_to_litellm"])
        groups_left.subtract(before["groups_left_to_litellm"])
        assert +left == {"tag_filtering": 1, "strategy_provider-budget-routing": 1}
        assert +groups_left == {"filtered_deployment": 1}
        del served, filtered, tags, budgets, router
    assert routers() == before  # the Routers collected: gone from the summary


def test_health_check_counts_a_router_once_as_its_last_selection_found_it():
    import gc

    from litellm.types.router import RouterRateLimitError

    def routers() -> dict:
        gc.collect()
        return fast_litellm.health_check()["routing"]["routers"]

    before = routers()
    with callbacks_kept():
        router = Router(model_list=[_deployment(0, 0, {})], routing_strategy="provider-budget-routing")
        with pytest.raises(RouterRateLimitError):  # litellm's own answer (no budgets configured)
            router.get_available_deployment("group-0")
        router.routing_strategy = "simple-shuffle"
        router.get_available_deployment("group-0")  # a plan, served
        assert routers()["served"] == before["served"] + 1
        router.routing_strategy = "provider-budget-routing"  # no selection since: its plan is stale
        after = routers()
        assert after["served"] == before["served"]
        assert after["left_to_litellm"].get("strategy_provider-budget-routing", 0) == \
            before["left_to_litellm"].get("strategy_provider-budget-routing", 0) + 1
        del router
    assert routers() == before



# -- cases found in review: each served wrongly once ------------------------------------------


@settings(max_examples=60, deadline=None)
@given(weights=st.lists(st.floats(0.0, 1e6, allow_nan=False, allow_infinity=False), min_size=2, max_size=6))
def test_weighted_pick_matches_python_at_every_boundary(weights):
    """The component's arithmetic (weights through JSON, normalisation, accumulation, bisect)
    against random.choices' for draws a few ULPs either side of each boundary."""
    import bisect
    import itertools
    import json

    from fast_litellm._component import COMPONENT

    largest = max(weights)
    if largest <= 0:
        return
    cumulative = list(itertools.accumulate(w / largest for w in weights))
    total = cumulative[-1] + 0.0
    COMPONENT.load()
    handle = COMPONENT.router("create", json.dumps([[[i, w, 0.0, 0.0, None] for i, w in enumerate(weights)]]))
    try:
        for boundary in cumulative[:-1]:
            draw = boundary / total
            for _ in range(3):
                draw = math.nextafter(draw, 0.0)
            for _ in range(6):
                if 0.0 <= draw < 1.0:
                    expected = bisect.bisect_right(cumulative, draw * total, 0, len(weights) - 1)
                    got = COMPONENT.router_packed(f"{handle},0,w,{draw!r},", COMPONENT.instantiations)
                    assert got == expected, (weights, draw)
                draw = math.nextafter(draw, 1.0)
    finally:
        COMPONENT.router("remove", handle)


def _compare_one(router, model, request_kwargs=None, is_async=False, messages=None):
    """Stock and ours from the same random state: same pick or same exception."""
    stock = _router.ORIGINALS["async_get_available_deployment" if is_async else "get_available_deployment"]
    mine, theirs = copy.deepcopy(request_kwargs), copy.deepcopy(request_kwargs)
    state = random.getstate()
    if is_async:
        expected = asyncio.run(_outcome_async(lambda: stock(router, model, theirs, messages)))
    else:
        expected = _outcome(lambda: stock(router, model, messages, None, False, theirs))
    after = random.getstate()
    random.setstate(state)
    if is_async:
        got = asyncio.run(_outcome_async(lambda: router.async_get_available_deployment(
            model, request_kwargs=mine, messages=messages)))
    else:
        got = _outcome(lambda: router.get_available_deployment(model, messages=messages, request_kwargs=mine))
    _same(got, expected, router.model_list)
    assert random.getstate() == after
    return got


def test_one_id_on_several_deployments_goes_to_litellm():
    deployments = [_deployment(0, 0, {}), _deployment(1, 0, {})]
    deployments[1]["model_info"]["id"] = "dep-0"  # litellm expands organization lists like this
    deployments.append(_deployment(2, 0, {}))
    router = Router(model_list=deployments)
    assert _router.router_report(router)["handed_to_litellm"] == {"group-0": "duplicate_deployment_ids"}
    router.cooldown_cache.add_deployment_to_cooldown("dep-0", Exception("x"), 429, 60)
    for seed in range(6):
        random.seed(seed)
        assert _compare_one(router, "group-0")[0][1]["model_info"]["id"] == "dep-2"


def test_settings_edited_in_place_are_seen():
    router = Router(model_list=[_deployment(0, 0, {}), _deployment(1, 1, {})])
    router.get_available_deployment("group-0")
    router.model_group_alias["group-0"] = "group-1"  # an alias named like a group: it wins
    served = _route_stats()["component"]
    for is_async in (False, True):
        assert _compare_one(router, "group-0", {}, is_async)[0][1]["model_info"]["id"] == "dep-1"
    assert _route_stats()["component"] == served + 2
    router.enable_tag_filtering = True
    for is_async in (False, True):
        assert _compare_one(router, "group-0", {}, is_async)[0][1]["model_info"]["id"] == "dep-1"
    assert _router.router_report(router)["reason"] == "tag_filtering"


@pytest.mark.parametrize("request_kwargs,is_async", [
    ({"metadata": "not-a-dict"}, False), ({"litellm_metadata": ["x"]}, True),
    ({"tools": ["web_search"]}, True), ({"tools": 5}, True), ({"tools": {"type": "web_search"}}, True),
])
def test_request_shapes_stock_raises_on_are_left_to_it(request_kwargs, is_async):
    router = Router(model_list=[_deployment(i, 0, {}) for i in range(3)])
    _value, error = _compare_one(router, "group-0", request_kwargs, is_async)
    # stock raises on 1.106 (so must we); 1.109 reads these shapes without raising, and so
    # do we (the pick is compared above)
    assert (error is not None) is not _router_release.FACADE


def test_well_formed_tools_and_metadata_are_served():
    router = Router(model_list=[_deployment(i, 0, {}) for i in range(3)])
    served = _route_stats()["component"]
    request = {"tools": [{"type": "function", "function": {"name": "f"}}], "metadata": {"a": 1}}
    for is_async in (False, True):
        _compare_one(router, "group-0", request, is_async)
    assert _route_stats()["component"] == served + 2


def test_overridden_selection_steps_go_to_litellm():
    import litellm
    from litellm.integrations.custom_logger import CustomLogger

    class Custom(Router):
        def _filter_cooldown_deployments(self, healthy_deployments, cooldown_deployments):
            return healthy_deployments[1:]

    router = Custom(model_list=[_deployment(i, 0, {}) for i in range(3)])
    assert _router.router_report(router)["reason"] == "selection_overridden"
    for seed in range(4):
        random.seed(seed)
        assert _compare_one(router, "group-0")[0][1]["model_info"]["id"] != "dep-0"

    plain = Router(model_list=[_deployment(i, 0, {}) for i in range(3)])
    callback = CustomLogger()

    async def only_the_last(model, healthy_deployments, messages, request_kwargs=None, parent_otel_span=None):
        return healthy_deployments[-1:]

    callback.async_filter_deployments = only_the_last  # on the instance, not the class
    with callbacks_kept():
        litellm.callbacks.append(callback)
        assert _compare_one(plain, "group-0", {}, is_async=True)[0][1]["model_info"]["id"] == "dep-2"


def test_pause_flag_false_and_huge_unused_weights_are_served():
    deployments = [_deployment(i, 0, {"rpm": 10}) for i in range(3)]
    for d in deployments:
        d["model_info"]["blocked"] = False  # the proxy writes this on every database model
    deployments[0]["litellm_params"]["tpm"] = 10**400  # stock never reads tpm when rpm weighs
    router = Router(model_list=deployments)
    report = _router.router_report(router)
    assert report.get("handed_to_litellm", {}).get("group-0") in (None, "unusual_weight")
    _compare_one(router, "group-0")


def test_least_busy_async_reports_the_service_event_when_someone_listens():
    """Stock reports a ROUTER service event after each async least-busy selection; with a
    listener (here litellm's own mock counter) ours must too, and the pick is the same."""
    router = Router(model_list=[_deployment(i, 0, {}) for i in range(3)], routing_strategy="least-busy")
    router.cache.increment_cache("group-0_request_count:dep-0", 2, local_only=True, ttl=60)
    router.service_logger_obj.mock_testing = True
    served = _route_stats()["component"]

    async def run(select):
        picked = await select()
        await asyncio.sleep(0)  # let the reporting task run
        await asyncio.sleep(0)
        return picked

    before = router.service_logger_obj.mock_testing_async_success_hook
    stock = asyncio.run(run(lambda: _router.ORIGINALS["async_get_available_deployment"](router, "group-0", {})))
    after_stock = router.service_logger_obj.mock_testing_async_success_hook
    ours = asyncio.run(run(lambda: router.async_get_available_deployment("group-0", request_kwargs={})))
    assert ours is stock and ours["model_info"]["id"] == "dep-1"
    assert after_stock - before == 1
    assert router.service_logger_obj.mock_testing_async_success_hook - after_stock == 1
    assert _route_stats()["component"] == served + 1


def test_callbacks_whose_filter_passes_everything_through_are_served():
    """The proxy registers its model max-budget limiter, whose async_filter_deployments
    returns what it is given: selections stay served (and equal to stock's). A filter that
    filters, or one wrapped in anything but litellm's service-target decorator, is not."""
    import litellm
    from litellm.integrations.custom_logger import CustomLogger
    from litellm.proxy.hooks.model_max_budget_limiter import PROXY_VirtualKeyModelMaxBudgetLimiter
    from litellm.router_utils.pre_call_checks.prompt_caching_deployment_check import PromptCachingDeploymentCheck

    limiter_class = PROXY_VirtualKeyModelMaxBudgetLimiter
    assert _router._passes_deployments_through(limiter_class)
    assert not _router._passes_deployments_through(PromptCachingDeploymentCheck)

    def logged(fn):
        async def wrapper(*args, **kwargs):
            print("filtering")
            return await fn(*args, **kwargs)
        wrapper.__wrapped__ = fn
        return wrapper

    class Wrapped(CustomLogger):
        async_filter_deployments = logged(limiter_class.async_filter_deployments)

    class Narrow(CustomLogger):  # stock's keyword call raises TypeError on it
        async def async_filter_deployments(self, model, healthy_deployments):
            return healthy_deployments

    class Static(CustomLogger):
        @staticmethod
        async def async_filter_deployments(self, model, healthy_deployments, messages, request_kwargs=None,
                                           parent_otel_span=None):
            return healthy_deployments

    for filtering in (Wrapped, Narrow, Static):
        assert not _router._passes_deployments_through(filtering)

    router = Router(model_list=[_deployment(i, 0, {"rpm": 10 * (i + 1)}) for i in range(3)])
    with callbacks_kept():
        litellm.callbacks.append(PROXY_VirtualKeyModelMaxBudgetLimiter.__new__(PROXY_VirtualKeyModelMaxBudgetLimiter))
        before = fast_litellm.get_performance_stats()["operations"].get("route", {}).get("component", 0)
        for seed in range(5):
            random.seed(seed)
            _compare_one(router, "group-0", {}, is_async=True)
        assert fast_litellm.get_performance_stats()["operations"]["route"]["component"] == before + 5


_alias_target = st.one_of(st.sampled_from(["group-0", "group-1", "group-2", "missing-group", "", "dep-1"]),
                          st.sampled_from(["group-0", "group-1"]).map(lambda g: {"model": g, "hidden": True}))


def test_alias_requests_match_litellm_on_generated_alias_maps():
    """Requests naming a model_group_alias key (a plain name, a group's own name, a
    deployment id's, through item-form, malformed and dangling entries): stock's pick or
    exception, sync and async, on simple-shuffle, with pre-call checks, and on least-busy
    with requests in flight counted under aliases' and groups' names (stock's async
    least-busy reads an alias request's counts under the alias, its sync one under the
    target)."""
    served_before = _route_stats()["component"]
    resolved = Counter()  # requests the component selected for in an alias's target group
    aliased = _router._aliased

    def counting(router, model):
        group = aliased(router, model)
        resolved[group is not None and group != model] += 1
        return group

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(aliases=st.dictionaries(st.sampled_from(["alias", "group-0", "group-1", "dep-0"]), _alias_target,
                                   min_size=1, max_size=4),
           options=st.sampled_from([{}, {}, {"enable_pre_call_checks": True}, {"routing_strategy": "least-busy"}]),
           cooled=st.lists(st.integers(0, 5), max_size=3), seed=st.integers(0, 2**32 - 1),
           busy=st.lists(st.tuples(st.sampled_from(["alias", "group-0", "group-1", "dep-0"]), st.integers(0, 5),
                                   st.integers(1, 3)), max_size=8))
    def check(aliases, options, cooled, seed, busy):
        deployments = [_deployment(i, i % 2, {"rpm": 10 + i} if i % 3 else {}) for i in range(6)]
        with callbacks_kept():
            router = Router(model_list=deployments, model_group_alias=copy.deepcopy(aliases), **options)
            for name, i, count in busy:
                router.cache.increment_cache(f"{name}_request_count:dep-{i}", count, local_only=True, ttl=60)
            for i in cooled:
                router.cooldown_cache.add_deployment_to_cooldown(
                    model_id=f"dep-{i}", original_exception=Exception("boom"), exception_status=429,
                    cooldown_time=60)
            random.seed(seed)
            for model in [*aliases, "group-0", "group-1"]:
                for is_async in (False, True):
                    _compare_one(router, model, {}, is_async, [{"role": "user", "content": "hi"}])

    with mock.patch.object(_router, "_aliased", counting):
        check()
    assert _route_stats()["component"] - served_before > 200
    assert resolved[True] > 50, resolved


# -- litellm 1.109: what it filters by that 1.106 did not ------------------------------------

only_1109 = pytest.mark.skipif(not _router_release.FACADE, reason="litellm 1.109's Router only")
_IMAGE = {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}
_message = st.one_of(
    st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant"]), "content": st.text(max_size=8)}),
    st.fixed_dictionaries({"role": st.just("user"), "content": st.lists(st.one_of(
        st.just({"type": "text", "text": "hi"}), st.just(_IMAGE), st.just({"type": "input_image", "image_url": "x"}),
        st.just("not-a-part")), max_size=3)}),
    st.fixed_dictionaries({"type": st.sampled_from(["function_call_output", "tool_result", "message"]),
                           "output": st.one_of(st.just([_IMAGE]), st.just("text"), st.just([]))}),
    st.just({"role": "user", "content": [_IMAGE], 1: "a key that is not a str"}),
    st.just("not-a-message"),
)


@only_1109
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages=st.one_of(st.none(), st.lists(_message, max_size=4)), in_kwargs=st.booleans(),
       text_only=st.lists(st.booleans(), min_size=1, max_size=3), is_async=st.booleans(), seed=st.integers(0, 9))
def test_requests_with_images_are_routed_as_1109_routes_them(messages, in_kwargs, text_only, is_async, seed):
    """1.109 drops deployments declaring no vision from a request carrying an image (in
    `messages`, or the request's own messages/input): such a group is left to litellm for
    those requests, and served for the others; stock's pick and exceptions either way."""
    router = Router(model_list=[_deployment(i, 0, {"extra": {"supports_vision": not flag}})
                                for i, flag in enumerate(text_only)])
    request = {"messages": messages} if in_kwargs else {}
    random.seed(seed)
    try:
        _compare_one(router, "group-0", request, is_async, messages=None if in_kwargs else messages)
    finally:
        # its callbacks out of litellm's lists: with 150 Routers alive, 1.109 cools nothing
        # down for later Routers (stock alike; seen in test_routing_end_to_end)
        router.discard()


@only_1109
def test_calls_1109_narrows_by_context_are_left_to_litellm():
    """Embedding batch limits, batch creation, a video's deployment and the decisions or
    capability routes narrow the candidates inside those calls only (context variables)."""
    from litellm import router_python_core
    from litellm.litellm_core_utils.batch_utils import _batch_create_routing
    from litellm.router_utils.embedding_batch_size_check import _SELECTING_FOR_EMBEDDING

    router = Router(model_list=[_deployment(i, 0, {}) for i in range(3)])
    handler = next(iter(router_python_core._ROUTE_CAPABILITY_RESOLVERS))
    for variable, value, reason in ((_SELECTING_FOR_EMBEDDING, True, "embedding_selection"),
                                    (_batch_create_routing, True, "batch_create_routing"),
                                    (router_python_core._video_call_deployment_id, "dep-1", "video_call"),
                                    (router_python_core._routed_call_type, handler, "routed_call_type")):
        before = _route_stats()["handed_to_litellm"].get(reason, 0)
        token = variable.set(value)
        try:
            random.seed(2)
            _compare_one(router, "group-0", {})
        finally:
            variable.reset(token)
        assert _route_stats()["handed_to_litellm"][reason] == before + 1
    served = _route_stats()["component"]
    _compare_one(router, "group-0", {})
    assert _route_stats()["component"] == served + 1


@only_1109
def test_kubernetes_pod_discovery_stays_litellms():
    """1.109 wraps both selection entry points in its kubernetes pod resolution, which
    rewrites a picked deployment's api_base when it asks for pod discovery. Ours are not
    wrapped (it returns every other deployment unchanged): such groups, and a Router whose
    discovery object is not litellm's own, are left to litellm."""
    deployments = [_deployment(i, 0, {}) for i in range(2)] + [_deployment(2, 1, {})]
    deployments[1]["litellm_params"]["kubernetes_pod_discovery"] = True
    router = Router(model_list=deployments)
    report = _router.router_report(router)
    assert report["handed_to_litellm"] == {"group-0": "kubernetes_pod_discovery"}
    assert report["accelerated_groups"] == ["group-1"]
    for seed in range(4):
        random.seed(seed)
        _compare_one(router, "group-0", {})

    class Discovery(type(router._core._core_kubernetes_pod_discovery)):
        pass

    router._core._core_kubernetes_pod_discovery = Discovery()
    assert _router.router_report(router)["reason"] == "kubernetes_pod_discovery_replaced"
    _compare_one(router, "group-1", {})
