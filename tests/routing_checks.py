"""Checks the routing test files share: every selection through litellm's original method
and through the installed one from the same state, compared; route counters; an autouse
fixture (`routing_on`) that the importing test module gets by importing it.
"""

from __future__ import annotations

import asyncio
import copy
import random
import time
from contextlib import contextmanager

import litellm
import pytest
from litellm import Router
from litellm.types.router import RouterRateLimitError

import fast_litellm
from fast_litellm import _router

FEATURE = "rust_routing"
# where latency-based routing keeps a deployment's latency samples in its map: 1.109 renamed
# the key when it began dropping samples that cannot be an elapsed time
_LATENCY_MODULE = __import__("litellm.router_strategy.lowest_latency", fromlist=["_"])
LATENCY_KEY = "latency_normalized" if hasattr(_LATENCY_MODULE, "_usable_latency_samples") else "latency"


@contextmanager
def callbacks_kept():
    """Each Router registers litellm callbacks (capped at 100): restore the lists after."""
    saved = {name: list(value) for name, value in vars(litellm).items()
             if "callback" in name and isinstance(value, list)}
    try:
        yield
    finally:
        for name, value in saved.items():
            getattr(litellm, name)[:] = value


@pytest.fixture(autouse=True)
def routing_on():
    """Routing enabled with a closed breaker, counters from zero, a fixed seed (so the
    distribution bounds cannot flake), litellm's callback lists empty during the test and
    restored after, and no component error recorded by the test."""
    status = fast_litellm.get_feature_status()[FEATURE]
    assert status["state"] == "enabled" and status["breaker"] == "closed", status
    errors_before = status["errors"]
    state = random.getstate()
    random.seed(20261122)
    fast_litellm.reset_performance_stats()
    with callbacks_kept():
        # from empty lists: litellm refuses callbacks past its cap, and earlier tests' Routers
        # leave theirs (a selector that never gets registered logs nothing)
        for name in [n for n, v in vars(litellm).items() if "callback" in n and isinstance(v, list)]:
            getattr(litellm, name).clear()
        yield
    random.setstate(state)
    assert fast_litellm.get_feature_status()[FEATURE]["errors"] == errors_before


def _deployment(dep_id: str, group: str = "g", *, info: dict | None = None, top: dict | None = None,
                model: str = "openai/gpt-4o-mini", **params) -> dict:
    """A model_list entry; `params` go into litellm_params, `info` into model_info, `top`
    beside them (litellm also accepts rpm/tpm there)."""
    return {
        "model_name": group,
        "litellm_params": {"model": model, "api_key": "sk-test", "api_base": "http://127.0.0.1:9/1", **params},
        "model_info": {"id": dep_id, **(info or {})},
        **(top or {}),
    }


def _with_limit(dep_id, where: str, metric: str, value, **params) -> dict:
    """A deployment with a tpm or rpm limit beside litellm_params, in them, or in model_info."""
    if where == "deployment":
        return _deployment(dep_id, top={metric: value}, **params)
    if where == "model_info":
        return _deployment(dep_id, info={metric: value}, **params)
    return _deployment(dep_id, **{metric: value}, **params)


def _clear_of_minute_end() -> None:
    """Usage is counted per clock minute (local or UTC: their seconds agree), and stock, the
    accelerated path and litellm's callbacks each read the clock: keep a test that counts
    out of the last seconds of a minute."""
    second = int(time.time()) % 60
    if second >= 54:
        time.sleep(60.2 - second)


def _cool(router: Router, *dep_ids: str, seconds: float = 60) -> None:
    for dep_id in dep_ids:
        router.cooldown_cache.add_deployment_to_cooldown(
            model_id=dep_id, original_exception=Exception("x"), exception_status=429, cooldown_time=seconds)


def _route_stats() -> dict:
    ops = fast_litellm.get_performance_stats()["operations"].get("route", {})
    return {"component": ops.get("component", 0), "litellm": ops.get("litellm", 0),
            "handed_to_litellm": dict(ops.get("handed_to_litellm", {}))}


def _served(n: int) -> dict:
    return {"component": n, "litellm": 0, "handed_to_litellm": {}}


def _handed(reason: str, n: int, served: int = 0) -> dict:
    return {"component": served, "litellm": n, "handed_to_litellm": {reason: n}}


def _id(deployment: dict) -> str:
    return deployment["model_info"]["id"]


def pick(router: Router, model: str = "g", *, request_kwargs: dict | None = None, same_object: bool = True,
         **kwargs) -> dict:
    """The accelerated sync pick, after checking it against stock's from the same state."""
    stock = _router.ORIGINALS["get_available_deployment"]
    state = random.getstate()
    stock_kwargs = copy.deepcopy(request_kwargs)
    expected = stock(router, model, request_kwargs=stock_kwargs, **kwargs)
    state_after_stock = random.getstate()
    random.setstate(state)
    our_kwargs = copy.deepcopy(request_kwargs)
    got = router.get_available_deployment(model, request_kwargs=our_kwargs, **kwargs)
    if same_object:
        assert got is expected, (_id(got), _id(expected))
    else:  # stock builds a fresh dict (a deployment asked for by id)
        assert got == expected
    assert random.getstate() == state_after_stock
    assert our_kwargs == stock_kwargs
    return got


def pick_raises(router: Router, model: str = "g", *, request_kwargs: dict | None = None, **kwargs) -> Exception:
    """The accelerated sync error, after checking it is stock's (type, message, `random`)."""
    stock = _router.ORIGINALS["get_available_deployment"]
    state = random.getstate()
    stock_kwargs = copy.deepcopy(request_kwargs)
    with pytest.raises(Exception) as expected:
        stock(router, model, request_kwargs=stock_kwargs, **kwargs)
    state_after_stock = random.getstate()
    random.setstate(state)
    our_kwargs = copy.deepcopy(request_kwargs)
    with pytest.raises(Exception) as got:
        router.get_available_deployment(model, request_kwargs=our_kwargs, **kwargs)
    assert type(got.value) is type(expected.value)
    assert str(got.value) == str(expected.value)
    assert random.getstate() == state_after_stock
    assert our_kwargs == stock_kwargs
    return got.value


async def apick(router: Router, model: str = "g", request_kwargs: dict | None = None, **kwargs) -> dict:
    """The accelerated async pick, after checking it against stock's from the same state."""
    stock = _router.ORIGINALS["async_get_available_deployment"]
    request_kwargs = {} if request_kwargs is None else request_kwargs
    state = random.getstate()
    stock_kwargs = copy.deepcopy(request_kwargs)
    expected = await stock(router, model, stock_kwargs, **kwargs)
    state_after_stock = random.getstate()
    random.setstate(state)
    our_kwargs = copy.deepcopy(request_kwargs)
    got = await router.async_get_available_deployment(model, request_kwargs=our_kwargs, **kwargs)
    assert got is expected, (_id(got), _id(expected))
    assert random.getstate() == state_after_stock
    assert our_kwargs == stock_kwargs
    return got


async def apick_raises(router: Router, model: str = "g", request_kwargs: dict | None = None, **kwargs) -> Exception:
    """The accelerated async error, after checking it is stock's (type, message, `random`);
    `kwargs` (messages, input) go to both selections."""
    stock = _router.ORIGINALS["async_get_available_deployment"]
    state = random.getstate()
    with pytest.raises(Exception) as expected:
        await stock(router, model, {} if request_kwargs is None else copy.deepcopy(request_kwargs), **kwargs)
    state_after_stock = random.getstate()
    random.setstate(state)
    with pytest.raises(Exception) as got:
        await router.async_get_available_deployment(
            model, request_kwargs={} if request_kwargs is None else copy.deepcopy(request_kwargs), **kwargs)
    assert type(got.value) is type(expected.value)
    assert str(got.value) == str(expected.value)
    assert random.getstate() == state_after_stock
    return got.value


def both(router: Router, model: str = "g", **kwargs) -> tuple[str, str]:
    """The sync and the async pick's ids (each checked against stock)."""
    request_kwargs = kwargs.pop("request_kwargs", None)
    return (_id(pick(router, model, request_kwargs=request_kwargs, **kwargs)),
            _id(asyncio.run(apick(router, model, request_kwargs, **kwargs))))


def both_raise(router: Router, model: str = "g", **kwargs) -> tuple[Exception, Exception]:
    """The sync and the async error (each checked against stock's)."""
    return pick_raises(router, model, **kwargs), asyncio.run(apick_raises(router, model, **kwargs))


def cooldown_comes_before_the_pick(router: Router, best: str, next_best: str, worst: str) -> None:
    """With `best` cooling down `next_best` is picked, once the cooldown ends `best` again,
    and with every deployment cooling down stock's RouterRateLimitError, sync and async."""
    assert both(router) == (best, best)
    _cool(router, best, seconds=0.3)
    assert both(router) == (next_best, next_best)
    time.sleep(0.35)
    assert both(router) == (best, best)

    _cool(router, best, next_best, worst)
    error, async_error = both_raise(router)
    assert isinstance(error, RouterRateLimitError) and sorted(error.cooldown_list) == sorted([best, next_best, worst])
    assert isinstance(async_error, RouterRateLimitError)


def async_ids(router: Router, n: int = 1, model: str = "g", **kwargs) -> list[str]:
    """The ids of `n` async picks in a row (each checked against stock)."""
    async def run() -> list[str]:
        return [_id(await apick(router, model, **kwargs)) for _ in range(n)]

    return asyncio.run(run())


@pytest.fixture(autouse=True)
def model_cost_kept():
    """Routers register their deployments' model info and prices in litellm's global cost
    map (a deployment declaring `supports_vision: False` rewrites gpt-4o-mini's row for the
    whole process): put it back as it was (the same object: litellm modules hold it)."""
    original = litellm.model_cost
    rows = copy.deepcopy(original)
    yield
    litellm.model_cost = original
    original.clear()
    original.update(rows)
