"""A selection method replaced after a Router's plan was built (by a subclass, on the
instance or on the class, as `mock.patch.object` does) goes to litellm, which runs the
replacement; once the patch is undone the component serves again.

Each pick is checked against stock's from the same state (routing_checks.pick/apick), and
the route counters say who served it.
"""

from __future__ import annotations

import asyncio
from unittest import mock

import pytest
from litellm import Router
from litellm.router_strategy.least_busy import LeastBusyLoggingHandler
from litellm.router_strategy.lowest_cost import LowestCostLoggingHandler
from litellm.router_strategy.lowest_latency import LowestLatencyLoggingHandler
from litellm.router_strategy.lowest_tpm_rpm import LowestTPMLoggingHandler
from litellm.router_strategy.lowest_tpm_rpm_v2 import LowestTPMLoggingHandler_v2

from fast_litellm import _overrides, _router
from routing_checks import (  # noqa: F401 - routing_on: the autouse fixture
    _deployment, _handed, _id, _route_stats, _served, apick, pick, routing_on,
)

pytestmark = pytest.mark.routing  # skipped on a litellm release routing is not verified on (conftest)

MESSAGES = [{"role": "user", "content": "hi"}]

# strategy -> (its selector's class, the Router attribute holding it, whether stock has a sync selection)
SELECTORS = {
    "least-busy": (LeastBusyLoggingHandler, "leastbusy_logger", True),
    "latency-based-routing": (LowestLatencyLoggingHandler, "lowestlatency_logger", True),
    "cost-based-routing": (LowestCostLoggingHandler, "lowestcost_logger", False),
    "usage-based-routing-v2": (LowestTPMLoggingHandler_v2, "lowesttpm_logger_v2", True),
    "usage-based-routing": (LowestTPMLoggingHandler, "lowesttpm_logger", True),
}


def _router_of(strategy: str) -> Router:
    return Router(model_list=[_deployment(f"d{i}", model="openai/gpt-4o") for i in range(4)],
                  routing_strategy=strategy)


def _last_candidate(_self, model_group, healthy_deployments, *args, **kwargs):
    return healthy_deployments[-1]


async def _alast_candidate(_self, model_group, healthy_deployments, *args, **kwargs):
    return healthy_deployments[-1]


def _picks(router: Router, sync: bool) -> list[str]:
    """One async pick, and one sync pick where stock has one; each checked against stock."""
    ids = [_id(asyncio.run(apick(router, "g", {}, messages=MESSAGES)))]
    if sync:
        ids.append(_id(pick(router, "g", messages=MESSAGES)))
    return ids


def _served_since(before: dict) -> bool:
    """Every selection since `before` was served by the component."""
    now = _route_stats()
    return now["component"] > before["component"] and now["litellm"] == before["litellm"]


def _handed_since(before: dict, reason: str) -> bool:
    now = _route_stats()
    return (now["component"] == before["component"] and now["litellm"] > before["litellm"]
            and now["handed_to_litellm"].get(reason, 0) == now["litellm"])


@pytest.mark.parametrize("strategy", sorted(SELECTORS))
@pytest.mark.parametrize("on", ["class", "instance"])
def test_a_selector_method_patched_after_the_plan_was_built_goes_to_litellm(strategy, on):
    cls, attribute, sync = SELECTORS[strategy]
    router = _router_of(strategy)
    before = _route_stats()
    n = len(_picks(router, sync))
    assert _served_since(before)
    target = cls if on == "class" else getattr(router, attribute)
    patches = [mock.patch.object(target, name, replacement if on == "class" else replacement.__get__(target))
               for name, replacement in (("async_get_available_deployments", _alast_candidate),
                                         ("get_available_deployments", _last_candidate))
               if hasattr(cls, name)]
    before = _route_stats()
    for patch in patches:
        patch.start()
    try:
        assert _picks(router, sync) == ["d3"] * n  # the replacement's answer, stock's too
        assert _router.router_report(router)["reason"] == "selector_replaced"
    finally:
        for patch in patches:
            patch.stop()
    assert _handed_since(before, "selector_replaced")
    before = _route_stats()
    _picks(router, sync)  # undone: the component serves again
    assert _served_since(before)
    assert "reason" not in _router.router_report(router)


@pytest.mark.parametrize("strategy, method", [
    ("latency-based-routing", "_get_available_deployments"),
    ("usage-based-routing-v2", "_common_checks_available_deployment"),
])
def test_a_selector_helper_patched_on_the_class_goes_to_litellm(strategy, method):
    cls, _attribute, sync = SELECTORS[strategy]
    router = _router_of(strategy)
    _picks(router, sync)
    with mock.patch.object(cls, method, _last_candidate):
        assert _picks(router, sync) == ["d3", "d3"]
        assert _router.router_report(router)["reason"] == "selector_replaced"
    assert _route_stats() == _handed("selector_replaced", 2, served=2)


@pytest.mark.parametrize("strategy", ["simple-shuffle", "least-busy", "latency-based-routing"])
def test_a_router_pipeline_method_patched_on_the_instance_after_the_plan_was_built_goes_to_litellm(strategy):
    router = _router_of(strategy)
    _picks(router, True)
    assert _route_stats() == _served(2)
    with mock.patch.object(router, "_filter_cooldown_deployments",
                           side_effect=lambda healthy_deployments, cooldown_deployments: healthy_deployments[-1:]):
        assert _picks(router, True) == ["d3", "d3"]
        assert _router.router_report(router)["reason"] == "selection_overridden"
    assert _route_stats() == _handed("selection_overridden", 2, served=2)
    _picks(router, True)
    assert _route_stats() == _handed("selection_overridden", 2, served=4)


def test_a_router_pipeline_method_patched_on_the_class_before_the_plan_goes_to_litellm():
    router = _router_of("simple-shuffle")
    with mock.patch.object(Router, "_filter_cooldown_deployments",
                           lambda self, healthy_deployments, cooldown_deployments: healthy_deployments[:1]):
        assert _picks(router, True) == ["d0", "d0"]
        assert _router.router_report(router)["reason"] == "selection_overridden"
    assert _route_stats() == _handed("selection_overridden", 2)
    _router.invalidate(router)  # (a class-level patch is seen when a plan is built)
    _picks(router, True)
    assert _route_stats() == _handed("selection_overridden", 2, served=2)


def test_only_litellm_functions_are_recorded_as_litellm_own():
    assert _overrides.litellm_own(_last_candidate) is _overrides._NOT_OWN
    assert _overrides.litellm_own(mock.MagicMock()) is _overrides._NOT_OWN
    assert _overrides.litellm_own(LowestLatencyLoggingHandler.get_available_deployments) is not _overrides._NOT_OWN
    recorded = _overrides._Recorded.router_methods
    assert recorded and _overrides._NOT_OWN not in recorded.values()
    for methods in _overrides._Recorded.selector_methods.values():
        assert {"get_available_deployments", "async_get_available_deployments"} & dict(methods).keys()
        assert _overrides._NOT_OWN not in dict(methods).values()
