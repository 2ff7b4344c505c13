"""litellm's own simple-shuffle routing behaviours, checked with acceleration on.

Each test restates, from scratch, a behaviour that one of litellm's unit tests checks
(named in its docstring; paths are in the BerriAI/litellm repository) for
`Router.get_available_deployment` / `Router.async_get_available_deployment` with the
default `simple-shuffle` strategy. Every selection here runs twice from the same `random`
state: once through litellm's original method (`fast_litellm._router.ORIGINALS`) and once
through the installed one. Both must give the same deployment object (or raise the same
error), leave `random` in the same state and the request kwargs alike; the behaviour is
then asserted on what the accelerated path returned. Each test also asserts, through the
`route` counters, which selections the component served and which it handed to litellm,
so a test cannot pass merely because everything went to litellm.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections import Counter

import litellm
import pytest
from litellm import Router
from litellm.types.router import Deployment, RouterRateLimitError

from fast_litellm import _router

from routing_checks import (  # noqa: F401 - routing_on: the autouse fixture
    _cool, _deployment, _handed, _id, _route_stats, _served, apick, apick_raises, pick, pick_raises,
    routing_on,
)

pytestmark = pytest.mark.routing  # skipped on a litellm release routing is not verified on (conftest)


# -- helpers ----------------------------------------------------------------------------------


def _router_of(*deployments: dict, **settings) -> Router:
    return Router(model_list=list(deployments), num_retries=0, **settings)


def _counts(router: Router, model: str, n: int, **kwargs) -> Counter:
    return Counter(_id(pick(router, model, **kwargs)) for _ in range(n))


def _async_counts(router: Router, model: str, n: int, request_kwargs: dict | None = None) -> Counter:
    async def run() -> Counter:
        return Counter([_id(await apick(router, model, request_kwargs)) for _ in range(n)])

    return asyncio.run(run())


# -- weighted picks ---------------------------------------------------------------------------


def test_weight_distribution_follows_weights_and_zero_weight_never_picked():
    """Mirrors tests/test_litellm/router_strategy/test_simple_shuffle_routing.py (weighted
    routing across a group) and the `weight` docs: picks follow `weight`, and a deployment
    with weight 0 beside weighted ones is never picked."""
    router = _router_of(_deployment("light", weight=1), _deployment("heavy", weight=3),
                        _deployment("standby", weight=0))
    assert _router.router_report(router)["accelerated_groups"] == ["g"]

    counts = _counts(router, "g", 4000)

    assert counts["standby"] == 0
    assert 0.72 < counts["heavy"] / 4000 < 0.78
    assert _route_stats() == _served(4000)


@pytest.mark.parametrize("reverse", [False, True])
def test_weight_on_a_later_deployment_only_still_weights(reverse):
    """Mirrors tests/test_litellm/router_strategy/test_simple_shuffle.py
    ::test_weights_respected_when_first_deployment_has_no_weight and
    tests/router_unit_tests/test_simple_shuffle.py (issue #33329, either list order): a
    weight on any deployment makes the pick weighted, so an unweighted one is never picked."""
    deployments = [_deployment("A"), _deployment("B", weight=1), _deployment("C", weight=99)]
    router = _router_of(*(reversed(deployments) if reverse else deployments))

    counts = _counts(router, "g", 2000)

    assert counts["A"] == 0
    assert counts["C"] > 2 * counts["B"] > 0
    assert _route_stats() == _served(2000)


@pytest.mark.parametrize("metric", ["weight", "rpm", "tpm"])
def test_only_the_deployment_carrying_the_metric_is_picked(metric):
    """Mirrors ::test_weighted_pick_when_only_a_later_deployment_carries_the_metric (litellm's
    router weights tests): one deployment with weight/rpm/tpm 5, one without: every pick is
    the one carrying the metric (sync and async)."""
    router = _router_of(_deployment("unweighted"), _deployment("weighted", **{metric: 5}))

    assert _counts(router, "g", 200) == {"weighted": 200}
    assert _async_counts(router, "g", 200) == {"weighted": 200}
    assert _route_stats() == _served(400)


def test_all_configured_weights_zero_is_uniform():
    """Mirrors ::test_uniform_pick_when_every_configured_weight_is_zero: an unweighted
    deployment and a weight-0 one are both picked (no weight counts, so the pick is uniform)."""
    router = _router_of(_deployment("unweighted"), _deployment("standby", weight=0))

    counts = _counts(router, "g", 1000)

    assert 400 < counts["unweighted"] < 600 and counts["standby"] == 1000 - counts["unweighted"]
    assert _route_stats() == _served(1000)


def test_weight_takes_precedence_over_rpm_and_tpm():
    """simple_shuffle tries `weight`, then `rpm`, then `tpm` (litellm/router_strategy/
    simple_shuffle.py, exercised by litellm's weighted-selection tests): with weights set,
    rpm and tpm pointing the other way are ignored."""
    router = _router_of(_deployment("a", weight=1, rpm=1000, tpm=100_000),
                        _deployment("b", weight=9, rpm=1, tpm=1))

    counts = _counts(router, "g", 2000)

    assert 0.87 < counts["b"] / 2000 < 0.93
    assert _route_stats() == _served(2000)


@pytest.mark.parametrize("where", ["litellm_params", "deployment"])
def test_rpm_weights_the_pick_when_no_weight(where):
    """Mirrors tests/local_testing/test_router_get_deployments.py::test_weighted_selection_router
    and ::test_weighted_selection_router_rpm_as_router_param: rpm 6 vs 1440 (in litellm_params,
    or beside them on the deployment) sends over 89% of picks to the 1440 one."""
    def dep(dep_id, rpm, tpm):
        if where == "litellm_params":
            return _deployment(dep_id, rpm=rpm)
        return _deployment(dep_id, top={"rpm": rpm, "tpm": tpm})

    router = _router_of(dep("small", 6, 1440), dep("large", 1440, 6))

    counts = _counts(router, "g", 1000)

    assert counts["large"] / 1000 > 0.89
    assert _route_stats() == _served(1000)


@pytest.mark.parametrize("where", ["litellm_params", "deployment"])
def test_tpm_weights_the_pick_when_neither_weight_nor_rpm(where):
    """Mirrors ::test_weighted_selection_router_tpm and
    ::test_weighted_selection_router_tpm_as_router_param: tpm 5 vs 90 sends over 89% of picks
    to the 90 one."""
    def dep(dep_id, tpm):
        return _deployment(dep_id, tpm=tpm) if where == "litellm_params" else _deployment(dep_id, top={"tpm": tpm})

    router = _router_of(dep("small", 5), dep("large", 90))

    counts = _counts(router, "g", 1000)

    assert counts["large"] / 1000 > 0.89
    assert _route_stats() == _served(1000)


def test_uniform_when_no_metric_and_only_within_the_group():
    """Mirrors ::test_weighted_selection_router_no_rpm_set and the uniform case of
    ::test_weighted_selection_router_async: a one-deployment group always gives that
    deployment (never one of another group); a group with no weight, rpm or tpm is picked
    uniformly."""
    router = _router_of(_deployment("gpt-a", rpm=6), _deployment("gpt-b", rpm=1440),
                        _deployment("claude", group="claude-1", model="bedrock/claude1.2", rpm=1440),
                        _deployment("u1", group="plain"), _deployment("u2", group="plain"),
                        _deployment("u3", group="plain"))

    assert _counts(router, "claude-1", 300) == {"claude": 300}
    counts = _counts(router, "plain", 3000)

    assert set(counts) == {"u1", "u2", "u3"}
    assert all(900 < n < 1100 for n in counts.values()), counts
    assert _route_stats() == _served(3300)


@pytest.mark.parametrize("rpm", [(None, None), (6, 1440)], ids=["no-rpm", "rpm"])
@pytest.mark.parametrize("tpm", [(None, None), (6, 1440)], ids=["no-tpm", "tpm"])
def test_async_weighted_selection(rpm, tpm):
    """Mirrors ::test_weighted_selection_router_async (all four rpm/tpm combinations, through
    `async_get_available_deployment(model, request_kwargs={})`): with rpm or tpm 6 vs 1440,
    over 89% of picks go to the 1440 one; with neither, both are used."""
    router = _router_of(_deployment("small", rpm=rpm[0], tpm=tpm[0]),
                        _deployment("large", model="azure/gpt-4.1-mini", rpm=rpm[1], tpm=tpm[1]))

    counts = _async_counts(router, "g", 1000)

    if rpm[0] is not None or tpm[0] is not None:
        assert counts["large"] / 1000 > 0.89
    else:
        assert counts["large"] > 0 and counts["small"] > 0
    assert _route_stats() == _served(1000)


# -- order ------------------------------------------------------------------------------------


@pytest.mark.parametrize("order_in", ["litellm_params", "model_info"])
def test_order_picks_only_the_lowest_order_group(order_in):
    """Mirrors litellm's order-fallback tests (::test_router_order_without_pre_call_checks,
    ::test_router_order_no_fallback_when_healthy, TestGetOrderFilteredDeployments
    ::test_returns_min_order_group; order read from litellm_params, else model_info): only
    the lowest-order deployments are picked, each of them."""
    def dep(dep_id, order, **params):
        if order_in == "litellm_params":
            return _deployment(dep_id, order=order, **params)
        return _deployment(dep_id, info={"order": order}, **params)

    router = _router_of(dep("a", 1), dep("b", 2, weight=100), dep("c", 1))

    counts = _counts(router, "g", 1000)

    assert set(counts) == {"a", "c"} and 400 < counts["a"] < 600
    assert _route_stats() == _served(1000)


def test_weights_apply_within_the_lowest_order_group():
    """Order filtering comes before the weighted pick (get_order_filtered_deployments, then
    simple_shuffle): a weight-0 order-1 deployment beside a weighted one is never picked, and
    the order-2 deployment's larger weight plays no part."""
    router = _router_of(_deployment("zero", order=1, weight=0), _deployment("one", order=1, weight=1),
                        _deployment("backup", order=2, weight=100))

    assert _counts(router, "g", 500) == {"one": 500}
    assert _route_stats() == _served(500)


def test_order_falls_to_the_next_order_when_the_lower_is_cooling_down():
    """Mirrors ::test_router_order_fallback_on_failure / ::test_router_order_fallback_three_levels
    at the selection step: cooldown filtering runs before order filtering, so with every
    order-1 deployment cooling down the order-2 ones are picked, then order 3; sync and async."""
    router = _router_of(_deployment("first-a", order=1), _deployment("first-b", order=1),
                        _deployment("second-a", order=2, rpm=1), _deployment("second-b", order=2, rpm=3),
                        _deployment("third", order=3))
    _cool(router, "first-a", "first-b")

    counts = _counts(router, "g", 1000)
    assert set(counts) == {"second-a", "second-b"} and counts["second-b"] > 2 * counts["second-a"]

    _cool(router, "second-a", "second-b")

    assert _counts(router, "g", 100) == {"third": 100}
    assert _async_counts(router, "g", 100) == {"third": 100}
    assert _route_stats() == _served(1200)


# -- cooldowns --------------------------------------------------------------------------------


def test_a_deployment_in_cooldown_is_never_picked():
    """Mirrors litellm's cooldown tests (tests/local_testing/test_router_cooldowns.py,
    tests/router_unit_tests/test_router_cooldown_utils.py): a deployment in cooldown is
    filtered out before the pick, whatever its weight; the rest keep their weights."""
    router = _router_of(_deployment("a", weight=1), _deployment("b", weight=2), _deployment("c", weight=50))
    _cool(router, "c")

    counts = _counts(router, "g", 1500)

    assert counts["c"] == 0
    assert set(counts) == {"a", "b"} and 0.6 < counts["b"] / 1500 < 0.73
    assert _route_stats() == _served(1500)


def test_cooling_down_every_weighted_deployment_falls_back_to_the_next_metric():
    """simple_shuffle chooses its metric among the deployments left after cooldowns: with the
    only weighted deployment cooling down, the rpm of the others decides; with those cooling
    down too, the last deployment (no metric) is picked uniformly alone."""
    router = _router_of(_deployment("weighted", weight=5), _deployment("rpm-low", rpm=1),
                        _deployment("rpm-high", rpm=9), _deployment("plain"))
    _cool(router, "weighted")

    counts = _counts(router, "g", 1000)
    assert counts["weighted"] == counts["plain"] == 0 and counts["rpm-high"] > 5 * counts["rpm-low"]

    _cool(router, "rpm-low", "rpm-high")
    assert _counts(router, "g", 100) == {"plain": 100}
    assert _route_stats() == _served(1100)


def test_a_deployment_is_picked_again_once_its_cooldown_ends():
    """Mirrors litellm's cooldown-expiry tests: after `cooldown_time` seconds the deployment is
    back among the candidates."""
    router = _router_of(_deployment("a"), _deployment("b"))
    _cool(router, "a", seconds=0.3)

    assert _counts(router, "g", 50) == {"b": 50}
    time.sleep(0.35)
    counts = _counts(router, "g", 200)

    assert counts["a"] > 50 and counts["b"] > 50
    assert _route_stats() == _served(250)


def test_all_deployments_in_cooldown_raise_router_rate_limit_error():
    """Mirrors litellm's all-deployments-in-cooldown tests: selection raises RouterRateLimitError
    (type all_deployments_in_cooldown, the cooldown list, the min cooldown time), the same
    as stock, sync and async; that case is handed to litellm to raise."""
    router = _router_of(_deployment("a", weight=1), _deployment("b", weight=2))
    _cool(router, "a", "b")

    error = pick_raises(router, "g")
    assert isinstance(error, RouterRateLimitError)
    assert error.type == "all_deployments_in_cooldown" and error.all_deployments_in_cooldown
    assert sorted(error.cooldown_list) == ["a", "b"] and error.cooldown_time == 60

    async_error = asyncio.run(apick_raises(router, "g"))
    assert isinstance(async_error, RouterRateLimitError) and async_error.type == "all_deployments_in_cooldown"
    assert _route_stats() == _handed("no_deployment_available", 2)


# -- what litellm resolves before the group ---------------------------------------------------


def test_specific_deployment_is_stock_selection():
    """Mirrors litellm's specific-deployment tests (`specific_deployment=True` names a
    deployment by its litellm model): the answer is stock's, handed to litellm."""
    router = _router_of(_deployment("a", model="openai/gpt-4o-mini"), _deployment("b", model="openai/gpt-4o"))

    for _ in range(20):
        assert _id(pick(router, "openai/gpt-4o", specific_deployment=True)) == "b"
    assert _route_stats() == _handed("specific_deployment", 20)


def test_calling_by_deployment_id_returns_that_deployment():
    """Mirrors tests/test_litellm/router_strategy/test_simple_shuffle_routing.py
    ::test_specific_deployment_by_id_still_works: a model_info.id that is not a group name
    gives that deployment (a fresh dict from stock, equal to ours)."""
    router = _router_of(_deployment("deployment-1", weight=2), _deployment("deployment-2", weight=1))

    for _ in range(20):
        assert _id(pick(router, "deployment-1", same_object=False)) == "deployment-1"
    assert _route_stats() == _handed("not_a_model_group", 20)


def test_id_equal_to_the_group_name_still_routes_across_the_group():
    """Mirrors ::test_weighted_routing_with_model_info_id_matching_model_name (LIT-1795): when
    one deployment's id equals the group name, asking for that name still routes weighted
    across the whole group, and the component serves it."""
    router = _router_of(_deployment("test-model", group="test-model", weight=2),
                        _deployment("deployment-2", group="test-model", weight=1))

    counts = _counts(router, "test-model", 1500)

    assert set(counts) == {"test-model", "deployment-2"} and 0.61 < counts["test-model"] / 1500 < 0.72
    assert _route_stats() == _served(1500)


def test_unknown_model_raises_as_stock():
    """An unknown model name (no group, no deployment id) raises litellm's BadRequestError
    ("no healthy deployments"), and with `default_fallbacks` resolves to the fallback group,
    both exactly as stock."""
    router = _router_of(_deployment("a"), _deployment("b"))
    error = pick_raises(router, "no-such-model")
    assert isinstance(error, litellm.BadRequestError) and "no-such-model" in str(error)

    with_fallback = _router_of(_deployment("a"), _deployment("b"), default_fallbacks=["g"])
    assert {_id(pick(with_fallback, "no-such-model")) for _ in range(50)} == {"a", "b"}
    assert _route_stats() == _handed("not_a_model_group", 51)


def test_model_group_alias_resolves_as_stock():
    """Mirrors tests/local_testing/test_router_get_deployments.py::test_model_group_aliases:
    requests for the alias get deployments of the aliased group (weighted by tpm), served by
    the component on a simple-shuffle router. On least-busy too: the async selector reads
    the counts of requests in flight under the requested name (the alias), the sync one
    under the group's."""
    router = _router_of(_deployment("small", tpm=1), _deployment("large", tpm=99),
                        _deployment("claude", group="claude-1", tpm=1), model_group_alias={"gpt-4": "g"})

    assert {pick(router, "gpt-4")["model_name"] for _ in range(20)} == {"g"}
    assert _counts(router, "gpt-4", 500)["large"] / 500 > 0.89
    assert _counts(router, "g", 500)["large"] / 500 > 0.89
    assert _route_stats() == _served(1020)

    busy = _router_of(_deployment("small"), _deployment("large"), model_group_alias={"gpt-4": "g"},
                      routing_strategy="least-busy")
    small, large = (d["model_info"]["id"] for d in busy.model_list)
    busy.cache.set_cache(f"gpt-4_request_count:{small}", 2, local_only=True)
    busy.cache.set_cache(f"g_request_count:{large}", 2, local_only=True)
    assert {_id(pick(busy, "gpt-4")) for _ in range(10)} == {"small"}  # g's counts: large is busy
    assert {_id(pick(busy, "g")) for _ in range(10)} == {"small"}
    assert _async_counts(busy, "gpt-4", 10) == {"large": 10}  # gpt-4's counts: small is busy
    assert _async_counts(busy, "g", 10) == {"small": 10}
    assert _route_stats() == _served(1060)


# -- request options --------------------------------------------------------------------------


def test_request_router_weights_are_request_local():
    """Mirrors ::test_scoped_weights_approximate_the_configured_split and
    ::test_scoped_weights_are_request_local_and_respect_eligibility: `_router_weights` in the
    request (80/20) splits about 80/20; requests without it keep the deployment weights. The
    option is handed to litellm; the plain requests are served by the component."""
    router = _router_of(_deployment("primary", weight=0), _deployment("secondary", weight=1))
    scoped = {"_router_weights": {"g": {"primary": 80, "secondary": 20}}}

    counts = _counts(router, "g", 1000, request_kwargs=scoped)
    assert 700 < counts["primary"] < 900

    assert _counts(router, "g", 300) == {"secondary": 300}
    assert _route_stats() == _handed("request_routing_options", 1000, served=300)


def test_request_target_order_picks_that_order():
    """Mirrors TestGetOrderFilteredDeployments::test_target_order_filters_to_exact_level and
    ::test_target_order_no_match_returns_empty at the router: `_target_order` (set by litellm's
    order fallback) picks within that order; an order no deployment has raises
    RouterRateLimitError. Stock pops the option from the request; ours does the same."""
    router = _router_of(_deployment("a", order=1), _deployment("b", order=2), _deployment("c", order=3))

    assert _counts(router, "g", 50, request_kwargs={"_target_order": 2}) == {"b": 50}
    error = pick_raises(router, "g", request_kwargs={"_target_order": 9})
    assert isinstance(error, RouterRateLimitError)

    assert _async_counts(router, "g", 20, {"_target_order": 3}) == {"c": 20}
    assert _route_stats() == _handed("request_routing_options", 71)


def test_async_request_kwargs_with_metadata_are_left_as_stock_leaves_them():
    """The async selection of ::test_weighted_selection_router_async with the request kwargs a
    Router call carries (metadata, litellm_metadata, a call id): same pick, and the kwargs
    afterwards equal stock's (the pre-routing hook's writes included)."""
    router = _router_of(_deployment("a", rpm=10), _deployment("b", rpm=30))
    requests = [
        {"metadata": {"user_api_key_team_id": "t1", "tags": []}, "litellm_call_id": "abc"},
        {"litellm_metadata": {"model_group": "g"}},
        {"metadata": {"routing_decision": {"x": 1}}},  # a key stock's pre-routing hook clears
    ]

    async def run():
        return Counter([_id(await apick(router, "g", copy.deepcopy(requests[i % 3]))) for i in range(300)])

    counts = asyncio.run(run())
    assert counts["b"] > 2 * counts["a"] > 0
    assert _route_stats() == _served(300)


# -- deployments added and removed ------------------------------------------------------------


def test_deployments_added_upserted_and_deleted_are_routed_as_stock():
    """Mirrors tests/router_unit_tests/test_router_adding_deployments.py and litellm's
    upsert/delete tests: a deployment added to the group is routed to at once, an upserted
    weight applies, a deleted deployment is never picked again; the component serves all."""
    router = _router_of(_deployment("a", weight=1), _deployment("b", weight=1))
    assert set(_counts(router, "g", 100)) == {"a", "b"}

    router.add_deployment(Deployment(**_deployment("new", weight=1000)))
    assert _counts(router, "g", 300)["new"] > 280

    router.upsert_deployment(Deployment(**_deployment("new", weight=0)))
    assert set(_counts(router, "g", 200)) == {"a", "b"}

    router.upsert_deployment(Deployment(**_deployment("new", weight=1000)))
    router.delete_deployment("new")
    assert set(_counts(router, "g", 200)) == {"a", "b"}
    assert _route_stats() == _served(800)
