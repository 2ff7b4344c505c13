"""litellm's own usage-based-routing (v1) behaviours, checked with acceleration on.

Each test restates, from scratch, a behaviour of litellm's v1 selector
(router_strategy/lowest_tpm_rpm.py; litellm's tests: tests/local_testing/
test_tpm_rpm_routing.py): per model group a tokens map `{group}:tpm:{HH-MM}` and a
requests map `{group}:rpm:{HH-MM}` of the current local minute, id -> count, written by
the selector's own success callbacks. The selector adds the candidates the tokens map
lacks (0 tokens) into the cached map itself, drops a deployment whose tokens plus the
request's would pass its tpm limit or whose requests + 1 reach its rpm limit, and picks
the first, in the map's order, with the fewest tokens. v1 has no async selector: litellm's
async path runs the sync selection.

Every selection runs twice from the same state (`routing_checks.pick`: litellm's original
method, then the installed one) and must give the same deployment object; the route
counters say which were served.
"""

from __future__ import annotations

import asyncio
import datetime
import random
from unittest import mock

import litellm
import pytest
from litellm import Router

from fast_litellm import _router_release
from routing_checks import (  # noqa: F401 - routing_on: the autouse fixture
    _clear_of_minute_end, _deployment, _handed, _id, _route_stats, _served, pick, pick_raises, routing_on,
)

pytestmark = pytest.mark.routing  # skipped on a litellm release routing is not verified on (conftest)

V1 = "usage-based-routing"
SHORT = [{"role": "user", "content": "hi"}]  # 8 tokens as litellm counts them


def _router_of(*deployments: dict) -> Router:
    return Router(model_list=list(deployments), routing_strategy=V1, num_retries=0)


def _maps(router: Router, group: str = "g") -> tuple:
    minute = datetime.datetime.now().strftime("%H-%M")
    cache = router.cache.in_memory_cache.cache_dict
    return cache.get(f"{group}:tpm:{minute}"), cache.get(f"{group}:rpm:{minute}")


def _success(router: Router, dep_id: str, total_tokens: int, group: str = "g", use_async: bool = False) -> None:
    """A call to `dep_id` logged through the v1 selector's own success callback."""
    kwargs = {"litellm_params": {"metadata": {"model_group": group}, "model_info": {"id": dep_id}}}
    response = litellm.ModelResponse(usage={"prompt_tokens": 1, "completion_tokens": total_tokens - 1,
                                            "total_tokens": total_tokens})
    now = datetime.datetime.now()
    if use_async:
        asyncio.run(router.lowesttpm_logger.async_log_success_event(kwargs, response, now, now))
    else:
        router.lowesttpm_logger.log_success_event(kwargs, response, now, now)


@pytest.fixture(autouse=True)
def same_minute():
    _clear_of_minute_end()  # the maps are per minute: no test straddles one


def test_the_deployment_with_the_fewest_tokens_this_minute_is_picked():
    """Mirrors test_tpm_rpm_routing.py::test_get_available_deployments: usage logged by
    the callbacks (sync and async) decides; equal usage goes to the first in map order."""
    router = _router_of(_deployment("a"), _deployment("b"), _deployment("c"))
    _success(router, "a", 50)
    _success(router, "b", 20, use_async=True)
    assert _id(pick(router, messages=SHORT)) == "c"  # c: none yet (inserted with 0)
    _success(router, "c", 30)
    assert _id(pick(router, messages=SHORT)) == "b"
    _success(router, "b", 40)
    assert _id(pick(router, messages=SHORT)) == "c"
    assert _route_stats() == _served(3)


def test_missing_candidates_are_inserted_into_the_cached_map():
    """Stock writes 0 for each candidate the cached tokens map lacks, into the map itself
    (an empty cached map too); with no map cached nothing is written."""
    router = _router_of(_deployment("a"), _deployment("b"))
    assert _id(pick(router, messages=SHORT)) == "a"
    assert _maps(router) == (None, None)
    _success(router, "b", 5)
    pick(router, messages=SHORT)
    assert _maps(router)[0] == {"b": 5, "a": 0}
    assert _route_stats() == _served(2)


@pytest.mark.parametrize("where", ["top", "litellm_params", "model_info"])
def test_a_deployment_one_request_short_of_its_rpm_is_skipped(where):
    """requests + 1 >= rpm drops it: at rpm 2, one request this minute is enough."""
    limited = {"top": _deployment("a", top={"rpm": 2}), "litellm_params": _deployment("a", rpm=2),
               "model_info": _deployment("a", info={"rpm": 2})}[where]
    router = _router_of(limited, _deployment("b"))
    _success(router, "b", 10)
    assert _id(pick(router, messages=SHORT)) == "a"  # fewer tokens, no requests yet
    _, requests = _maps(router)
    requests["a"] = 1  # one request reported without tokens
    assert _id(pick(router, messages=SHORT)) == "b"
    requests["a"] = 0
    assert _id(pick(router, messages=SHORT)) == "a"
    assert _route_stats() == _served(3)


def test_a_deployment_the_request_would_take_past_its_tpm_is_skipped():
    """tokens + the request's tokens > tpm drops it (8 tokens here)."""
    router = _router_of(_deployment("a", tpm=20), _deployment("b"))
    _success(router, "a", 12)
    _success(router, "b", 13)
    assert _id(pick(router, messages=SHORT)) == "a"  # 12 + 8 = 20: within
    _success(router, "a", 1)
    assert _id(pick(router, messages=SHORT)) == "b"  # 13 + 8 > 20
    assert _route_stats() == _served(2)


def test_every_deployment_over_its_limits_raises_stocks_error():
    router = _router_of(_deployment("a", tpm=5), _deployment("b", tpm=5))
    pick_raises(router, messages=SHORT)
    assert _route_stats() == _handed("no_deployment_available", 1)


@pytest.mark.parametrize("value", ["12", [1], None, float("nan")], ids=repr)
def test_a_count_litellm_would_not_write_is_left_to_litellm(value):
    router = _router_of(_deployment("a"), _deployment("b"))
    _success(router, "a", 5)
    _maps(router)[0]["a"] = value
    try:
        pick(router, messages=SHORT)
    except Exception:  # noqa: BLE001 - stock raises on some: then ours must too
        pick_raises(router, messages=SHORT)
    assert _route_stats() == _handed("unusual_usage_entry", 1)


def test_async_selections_are_the_sync_selection():
    """litellm's async path runs the sync v1 selection (no async selector): the same picks,
    served."""
    router = _router_of(_deployment("a"), _deployment("b"))
    _success(router, "a", 5)

    async def picks():
        return [_id(await router.async_get_available_deployment("g", request_kwargs={}, messages=SHORT))
                for _ in range(3)]

    assert asyncio.run(picks()) == ["b", "b", "b"]
    assert _route_stats() == _served(3)


def test_an_async_path_a_subclass_overrides_is_called():
    """litellm's async entry calls the Router's own `_async_get_available_deployment` (which
    runs the sync v1 selection): a subclass's override of it is called as in stock."""
    calls = []

    class Recording(Router):
        async def _async_get_available_deployment(self, *args, **kwargs):
            calls.append(args[0] if args else kwargs.get("model"))
            return await super()._async_get_available_deployment(*args, **kwargs)

    router = Recording(model_list=[_deployment("a"), _deployment("b")], routing_strategy=V1, num_retries=0)
    picked = asyncio.run(router.async_get_available_deployment("g", request_kwargs={}, messages=SHORT))
    assert _id(picked) == "a" and calls == ["g"]


def test_an_async_selection_handed_to_litellm_is_counted_once(monkeypatch):
    router = _router_of(_deployment("a"), _deployment("b"))
    monkeypatch.setattr(random, "choice", lambda seq: seq[0])  # a patched `random`: litellm's to draw from
    picked = asyncio.run(router.async_get_available_deployment("g", request_kwargs={}, messages=SHORT))
    assert _id(picked) == "a"
    assert _route_stats() == _handed("random_patched", 1)


ON_1106 = not _router_release.FACADE  # 1.109's async v1 path runs its sync pipeline itself


def _async_pick(router: Router) -> str:
    return _id(asyncio.run(router.async_get_available_deployment("g", request_kwargs={}, messages=SHORT)))


@pytest.mark.skipif(not ON_1106, reason="litellm 1.106's async v1 path calls self.get_available_deployment")
def test_an_async_selection_calls_a_get_available_deployment_put_on_the_router_or_its_subclass():
    """Stock's async v1 path ends in `self.get_available_deployment`: a subclass's or an
    instance's replacement of it is what answers, as in stock."""
    class Last(Router):
        def get_available_deployment(self, model, messages=None, input=None, specific_deployment=False,
                                     request_kwargs=None):
            return self.model_list[-1]

    router = Last(model_list=[_deployment("a"), _deployment("b")], routing_strategy=V1)
    assert _async_pick(router) == "b"
    router = _router_of(_deployment("a"), _deployment("b"))
    assert _async_pick(router) == "a"
    with mock.patch.object(router, "get_available_deployment", return_value=router.model_list[1]) as patched:
        assert _async_pick(router) == "b"
    assert patched.call_count == 1
    assert _async_pick(router) == "a"


@pytest.mark.skipif(not ON_1106, reason="litellm 1.106's async v1 path runs _async_get_available_deployment")
def test_an_async_selection_runs_a_patched_async_step_or_span_after_the_first_selection():
    router = _router_of(_deployment("a"), _deployment("b"))
    assert _async_pick(router) == "a"
    served = _route_stats()["component"]

    async def last(self, model, request_kwargs, messages, input, specific_deployment):
        return self.model_list[-1]

    with mock.patch.object(Router, "_async_get_available_deployment", last):
        assert _async_pick(router) == "b"
    entered = []
    original = litellm.router.phase_span

    def span(name):
        entered.append(name)
        return original(name)

    with mock.patch.object(litellm.router, "phase_span", span):
        assert _async_pick(router) == "a"
    assert entered == ["route g"]
    assert _route_stats()["component"] == served + 1  # our selection, called inside the span
