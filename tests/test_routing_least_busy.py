"""litellm's own least-busy routing behaviours, checked with acceleration on.

Each test restates, from scratch, a behaviour that one of litellm's least-busy tests
checks (named in its docstring; paths are in the BerriAI/litellm repository:
tests/local_testing/test_least_busy_routing.py, tests/test_litellm/router_strategy/
test_least_busy.py, test_least_busy_logging.py, test_least_busy_clamp.py), for a Router
with `routing_strategy="least-busy"` as the installed litellm implements it
(router_strategy/least_busy.py: one counter per deployment under
`{model_group}_request_count:{deployment_id}`, kept by `LeastBusyLoggingHandler`'s
callbacks; the first candidate with the fewest in flight is picked).

In-flight counts are set the way litellm sets them: through the handler's real callbacks
(with kwargs shaped as litellm passes them) or through real `Router.completion` /
`Router.acompletion` calls with a mock response. Every selection runs twice from the same
state: once through litellm's original method (`fast_litellm._router.ORIGINALS`) and once
through the installed one; both must give the same deployment object (or raise the same
error type and message) and leave `random` and the request kwargs alike. Each test also
asserts, through the `route` counters, which selections the component served and which it
handed to litellm.
"""

from __future__ import annotations

import asyncio
import threading
import time
from http.server import ThreadingHTTPServer

import litellm
import pytest
from litellm import Router
from litellm.types.router import RouterRateLimitError

from fast_litellm import _router
from test_proxy import _MockOpenAI

from routing_checks import (  # noqa: F401 - routing_on: the autouse fixture
    _cool, _deployment, _handed, _id, _route_stats, _served, apick, apick_raises, both, pick, pick_raises,
    routing_on,
)

pytestmark = pytest.mark.routing  # skipped on a litellm release routing is not verified on (conftest)

MESSAGES = [{"role": "user", "content": "Hey, how's it going?"}]


# -- helpers ----------------------------------------------------------------------------------


def _router_of(*deployments: dict, **settings) -> Router:
    router = Router(model_list=list(deployments), routing_strategy="least-busy", num_retries=0, **settings)
    assert _router.router_report(router)["accelerated_groups"], _router.router_report(router)
    return router


def _call_kwargs(dep_id, group: str = "g") -> dict:
    """The kwargs litellm's logging passes to the handler for a call to `dep_id`."""
    return {
        "model": "gpt-4o-mini",
        "call_type": "completion",
        "litellm_call_id": "call-1",
        "litellm_params": {
            "metadata": {"model_group": group, "deployment": "openai/gpt-4o-mini", "model_info": {"id": dep_id}},
            "model_info": {"id": dep_id},
        },
    }


def _start(router: Router, dep_id, n: int = 1, group: str = "g") -> None:
    for _ in range(n):
        router.leastbusy_logger.log_pre_api_call("gpt-4o-mini", MESSAGES, _call_kwargs(dep_id, group))


def _finish(router: Router, dep_id, n: int = 1, *, failed: bool = False, group: str = "g") -> None:
    handler = router.leastbusy_logger
    log = handler.log_failure_event if failed else handler.log_success_event
    for _ in range(n):
        log(_call_kwargs(dep_id, group), None, time.time(), time.time())


async def _afinish(router: Router, dep_id, n: int = 1, *, failed: bool = False) -> None:
    handler = router.leastbusy_logger
    log = handler.async_log_failure_event if failed else handler.async_log_success_event
    for _ in range(n):
        await log(_call_kwargs(dep_id), None, time.time(), time.time())


def _key(dep_id, group: str = "g") -> str:
    return f"{group}_request_count:{dep_id}"


def _in_flight(router: Router, *dep_ids, group: str = "g") -> dict:
    return {str(d): router.cache.get_cache(_key(d, group), local_only=True) for d in dep_ids}



def _wait_for(condition, timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


# -- the least busy is picked -----------------------------------------------------------------


def _litellm_model_list() -> list[dict]:
    """The model list of litellm's test_router_get_available_deployments (integer ids)."""
    return [_deployment(1, model="azure/gpt-turbo", rpm=1440), _deployment(2, model="azure/gpt-35-turbo", rpm=6),
            _deployment(3, model="azure/gpt-35-turbo", rpm=6)]


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_picks_the_deployment_with_fewest_in_flight(use_async):
    """Mirrors tests/local_testing/test_least_busy_routing.py::test_router_get_available_deployments
    (in flight 10/54/100 -> id "1", sync and async; integer ids read back as str) and
    test_least_busy.py::test_should_pick_unique_minimum / ::test_should_use_cache_for_selection
    (10/1/50 -> the 1): counts set through the handler's log_pre_api_call."""
    router = _router_of(*_litellm_model_list())
    _start(router, 1, 10)
    _start(router, 2, 54)
    _start(router, 3, 100)
    assert _in_flight(router, 1, 2, 3) == {"1": 10, "2": 54, "3": 100}

    def one() -> str:
        return _id(asyncio.run(apick(router))) if use_async else _id(pick(router))

    assert one() == "1"
    _start(router, 1, 50)  # 60 / 54 / 100
    assert one() == "2"
    _finish(router, 3, 99)  # 60 / 54 / 1
    assert one() == "3"
    assert _route_stats() == _served(3)


def test_success_and_failure_callbacks_release_in_flight_sync():
    """Mirrors the release half of ::test_router_get_available_deployments: a call's success
    or failure callback takes it out of flight, so the pick follows the counts down."""
    router = _router_of(_deployment("a"), _deployment("b"), _deployment("c"))
    _start(router, "a", 2)
    _start(router, "b", 1)
    _start(router, "c", 3)
    assert both(router) == ("b", "b")
    _finish(router, "a")  # a 1, b 1: the first
    assert both(router) == ("a", "a")
    _start(router, "a")
    _finish(router, "c", 2, failed=True)  # a 2, b 1, c 1
    assert both(router) == ("b", "b")
    _start(router, "b")  # b 2: c alone at 1
    assert both(router) == ("c", "c")
    assert _in_flight(router, "a", "b", "c") == {"a": 2, "b": 2, "c": 1}
    assert _route_stats() == _served(8)


def test_async_callbacks_release_in_flight():
    """The async success and failure callbacks litellm calls after an acompletion release
    the count as the sync ones do; the async pick follows."""
    router = _router_of(_deployment("a"), _deployment("b"))
    _start(router, "a", 3)
    _start(router, "b", 2)

    async def run() -> list[str]:
        seen = [_id(await apick(router))]
        await _afinish(router, "a", 2)  # a 1, b 2
        seen.append(_id(await apick(router)))
        _start(router, "a", 2)  # a 3
        await _afinish(router, "b", 2, failed=True)  # b 0
        seen.append(_id(await apick(router)))
        return seen

    assert asyncio.run(run()) == ["b", "a", "b"]
    assert _in_flight(router, "a", "b") == {"a": 3, "b": 0}
    assert _route_stats() == _served(3)


def test_release_never_goes_below_zero():
    """Mirrors test_least_busy_clamp.py: a release with nothing in flight leaves the count at
    0 (sync and async), so it does not make that deployment look less than idle."""
    router = _router_of(_deployment("a"), _deployment("b"))
    _finish(router, "b", 3)
    asyncio.run(_afinish(router, "b", 2, failed=True))
    assert _in_flight(router, "a", "b") == {"a": None, "b": 0}
    assert both(router) == ("a", "a")  # both at 0: the first
    _start(router, "a")
    assert both(router) == ("b", "b")
    assert _route_stats() == _served(4)


def test_callbacks_without_a_deployment_id_count_nothing():
    """Mirrors test_least_busy_logging.py (model_info None does not crash, sync and async, pre
    call, success, failure): such calls, and batch-retrieve calls, change no count, so the
    pick is unchanged."""
    router = _router_of(_deployment("a"), _deployment("b"))
    _start(router, "b")
    no_id = {"litellm_params": {"metadata": {"model_group": "g"}, "model_info": None}}
    handler = router.leastbusy_logger
    for _ in range(3):
        handler.log_pre_api_call("gpt-4o-mini", [], no_id)
        handler.log_pre_api_call("gpt-4o-mini", [], {**_call_kwargs("a"), "call_type": "aretrieve_batch"})
    handler.log_success_event(no_id, {}, time.time(), time.time())
    handler.log_failure_event(no_id, {}, time.time(), time.time())
    asyncio.run(handler.async_log_success_event(no_id, {}, time.time(), time.time()))
    asyncio.run(handler.async_log_failure_event(no_id, {}, time.time(), time.time()))

    assert _in_flight(router, "a", "b") == {"a": None, "b": 1}
    assert both(router) == ("a", "a")
    assert _route_stats() == _served(2)


# -- ties -------------------------------------------------------------------------------------


def test_ties_go_to_the_first_candidate():
    """test_least_busy.py::TestLeastBusyTieBreaking checks ties; in the installed litellm the
    least-busy pick is `min` over the candidates, so a tie (all idle, or all equal) is the
    first in model-list order, every time, sync and async."""
    router = _router_of(_deployment("x"), _deployment("y"), _deployment("z"))
    assert {both(router) for _ in range(50)} == {("x", "x")}
    for dep_id in ("x", "y", "z"):
        _start(router, dep_id, 5)
    assert {both(router) for _ in range(50)} == {("x", "x")}
    _start(router, "x")  # y and z tie at 5: the first of them
    assert {both(router) for _ in range(20)} == {("y", "y")}
    assert _route_stats() == _served(240)


def test_counters_of_other_deployments_and_groups_are_ignored():
    """Mirrors test_least_busy.py::test_should_skip_unhealthy_deployments_in_cache: a count for
    a deployment that is not a candidate (another group's, or a stale id) plays no part, and a
    group's counts do not leak into another group with the same deployment ids."""
    router = _router_of(_deployment("1"), _deployment("2"), _deployment("1x", group="other"))
    _start(router, "1", 5)
    _start(router, "2", 10)
    _start(router, "0", 0)
    router.cache.set_cache(_key("0"), 0, local_only=True)  # a stale, idle, non-candidate id
    _start(router, "2", 7, group="other")
    assert both(router) == ("1", "1")
    assert both(router, "other") == ("1x", "1x")
    assert _route_stats() == _served(4)


# -- cooldowns and order ----------------------------------------------------------------------


def test_cooldown_removes_the_least_busy_and_the_busiest():
    """Cooldown filtering comes before the least-busy pick: with the least busy cooling down
    the next least busy is picked; cooling down the busiest changes nothing; once the cooldown
    ends the least busy is picked again (sync and async)."""
    router = _router_of(_deployment("idle"), _deployment("some"), _deployment("busy"))
    _start(router, "some", 2)
    _start(router, "busy", 9)
    assert both(router) == ("idle", "idle")

    _cool(router, "busy")
    assert both(router) == ("idle", "idle")
    _cool(router, "idle", seconds=0.3)
    assert both(router) == ("some", "some")
    time.sleep(0.35)
    assert both(router) == ("idle", "idle")
    assert _route_stats() == _served(8)


def test_only_the_busiest_left_after_cooldowns_is_picked():
    router = _router_of(_deployment("a"), _deployment("b"), _deployment("c"))
    _start(router, "c", 100)
    _cool(router, "a", "b")
    assert {both(router) for _ in range(10)} == {("c", "c")}
    assert _route_stats() == _served(20)


def test_all_deployments_in_cooldown_raise_as_stock():
    """Every deployment cooling down: RouterRateLimitError (all_deployments_in_cooldown), the
    same type and message as stock, sync and async."""
    router = _router_of(_deployment("a"), _deployment("b"))
    _start(router, "a", 3)
    _cool(router, "a", "b")

    error = pick_raises(router)
    assert isinstance(error, RouterRateLimitError) and error.type == "all_deployments_in_cooldown"
    assert sorted(error.cooldown_list) == ["a", "b"]
    async_error = asyncio.run(apick_raises(router))
    assert isinstance(async_error, RouterRateLimitError)
    assert _route_stats() == _handed("no_deployment_available", 2)


@pytest.mark.parametrize("order_in", ["litellm_params", "model_info"])
def test_order_filter_comes_before_least_busy(order_in):
    """The order filter runs before the strategy: a busy order-1 deployment is picked over an
    idle order-2 one; among order 1 the least busy; with order 1 cooling down, the least busy
    of order 2."""
    def dep(dep_id, order):
        if order_in == "litellm_params":
            return _deployment(dep_id, order=order)
        return _deployment(dep_id, info={"order": order})

    router = _router_of(dep("backup-idle", 2), dep("first-a", 1), dep("backup-busy", 2), dep("first-b", 1))
    _start(router, "first-a", 4)
    _start(router, "first-b", 6)
    _start(router, "backup-busy", 1)
    assert both(router) == ("first-a", "first-a")
    _start(router, "first-a", 3)
    assert both(router) == ("first-b", "first-b")
    _cool(router, "first-a", "first-b")
    assert both(router) == ("backup-idle", "backup-idle")
    _start(router, "backup-idle", 2)
    assert both(router) == ("backup-busy", "backup-busy")
    assert _route_stats() == _served(8)


# -- how counts are read ----------------------------------------------------------------------


def test_expired_counters_count_as_zero():
    """A counter past its TTL (litellm keeps them an hour) is no count: the deployment counts
    as idle again, as stock reads it."""
    router = _router_of(_deployment("a"), _deployment("b"))
    router.cache.set_cache(_key("a"), 5, local_only=True, ttl=0.3)
    _start(router, "b", 2)
    assert both(router) == ("b", "b")
    time.sleep(0.35)
    assert both(router) == ("a", "a")
    assert _route_stats() == _served(4)


def test_float_counts_are_truncated_as_stock():
    """A float count is read as its integer part (stock's `int(value)`): 1.9 ties with 1."""
    router = _router_of(_deployment("a"), _deployment("b"), _deployment("c"))
    router.cache.set_cache(_key("a"), 1.9, local_only=True)
    router.cache.set_cache(_key("b"), 1, local_only=True)
    router.cache.set_cache(_key("c"), 1.2, local_only=True)
    assert both(router) == ("a", "a")
    router.cache.set_cache(_key("a"), 2.0, local_only=True)
    assert both(router) == ("b", "b")
    router.cache.set_cache(_key("c"), 0.99, local_only=True)
    assert both(router) == ("c", "c")
    assert _route_stats() == _served(6)


def test_non_numeric_counter_raises_as_stock():
    """A count litellm cannot read as a number ("x") makes stock's selection raise; the
    accelerated path hands it to litellm (reason `unusual_in_flight_count`), so the same error
    comes out, sync and async."""
    router = _router_of(_deployment("a"), _deployment("b"))
    router.cache.set_cache(_key("b"), "x", local_only=True)

    error = pick_raises(router)
    async_error = asyncio.run(apick_raises(router))
    assert type(error) is type(async_error)
    assert _route_stats() == _handed("unusual_in_flight_count", 2)


@pytest.mark.parametrize("value", ["3", True, [1]], ids=["numeric-str", "bool", "list"])
def test_other_unusual_counters_go_to_litellm(value):
    """Other values that are not plain int/float ("3", True, a list) are left to litellm's own
    reading: whatever stock answers (a pick or an error), the accelerated path gives the same."""
    router = _router_of(_deployment("a"), _deployment("b"))
    router.cache.set_cache(_key("a"), value, local_only=True)
    _start(router, "b", 2)
    stock = _router.ORIGINALS["get_available_deployment"]
    try:
        stock(router, "g", None, None, False, None)
    except Exception:
        pick_raises(router)
        asyncio.run(apick_raises(router))
    else:
        pick(router)
        asyncio.run(apick(router))
    assert _route_stats() == _handed("unusual_in_flight_count", 2)


def test_none_counter_counts_as_zero_and_is_served():
    router = _router_of(_deployment("a"), _deployment("b"))
    _start(router, "a", 1)
    router.cache.set_cache(_key("b"), None, local_only=True)
    assert both(router) == ("b", "b")
    assert _route_stats() == _served(2)


# -- real calls -------------------------------------------------------------------------------


def test_real_completion_counts_in_and_out():
    """Mirrors the completion half of ::test_router_get_available_deployments: a
    `router.completion` (mock response) is counted in flight by litellm's pre-call callback
    and out again by its success callback (logged_success with `test_flag`), leaving the
    counts as before; each selection, the call's own included, is the component's and stock's."""
    router = _router_of(*_litellm_model_list())
    router.leastbusy_logger.test_flag = True
    router.leastbusy_logger.logged_success = 0
    _start(router, 1, 10)
    _start(router, 2, 54)
    _start(router, 3, 100)

    response = router.completion(model="g", messages=MESSAGES, mock_response="hi")
    assert response._hidden_params["model_id"] == "1"
    _wait_for(lambda: router.leastbusy_logger.logged_success == 1)
    _wait_for(lambda: _in_flight(router, 1, 2, 3) == {"1": 10, "2": 54, "3": 100})
    assert _id(pick(router)) == "1"
    assert _route_stats() == _served(2)


class _SlowUpstream(_MockOpenAI):
    """test_proxy's mock OpenAI server, answering after `server.delay` seconds (so calls stay
    in flight), recording which deployment each call reached."""

    def do_POST(self):  # noqa: N802 - http.server's naming
        self.server.calls.append(self.path.lstrip("/").partition("/")[0])
        time.sleep(self.server.delay)
        return super().do_POST()


@pytest.fixture(scope="module")
def slow_upstream():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowUpstream)
    server.requests, server.calls, server.delay = [], [], 0.0
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_concurrent_acompletions_spread_across_idle_deployments(slow_upstream):
    """Mirrors ::test_router_atext_completion_streaming / ::test_router_completion_streaming:
    real calls (to a local server that answers slowly) started one after another while the
    earlier ones are still in flight go each to a different deployment (1 in flight each);
    while they are in flight the pick is the first (a tie), and once they finish the counts
    are back to 0 (logged_success 3)."""
    port = slow_upstream.server_address[1]
    router = _router_of(*(_deployment(name, api_base=f"http://127.0.0.1:{port}/{name}/v1")
                          for name in ("a", "b", "c")))
    router.leastbusy_logger.test_flag = True
    router.leastbusy_logger.logged_success = 0
    slow_upstream.calls.clear()

    async def run():
        slow_upstream.delay = 0.0  # a first call, so client set-up is not inside the scenario
        await router.acompletion(model="g", messages=MESSAGES)
        for _ in range(300):
            await asyncio.sleep(0.01)
            if router.leastbusy_logger.logged_success == 1:
                break
        slow_upstream.calls.clear()
        slow_upstream.delay = 1.0
        tasks = []
        for _ in range(3):
            tasks.append(asyncio.create_task(router.acompletion(model="g", messages=MESSAGES)))
            for _ in range(300):  # until litellm's pre-call callback has counted it
                await asyncio.sleep(0.005)
                if sum(v or 0 for v in _in_flight(router, "a", "b", "c").values()) == len(tasks):
                    break
        in_flight = _in_flight(router, "a", "b", "c")
        during = _id(await apick(router))
        responses = await asyncio.gather(*tasks)
        for _ in range(300):
            await asyncio.sleep(0.01)
            if router.leastbusy_logger.logged_success == 4:
                break
        return in_flight, during, [r._hidden_params["model_id"] for r in responses]

    in_flight, during, answered = asyncio.run(run())
    assert in_flight == {"a": 1, "b": 1, "c": 1}
    assert answered == ["a", "b", "c"] and sorted(slow_upstream.calls) == ["a", "b", "c"]
    assert during == "a"
    assert router.leastbusy_logger.logged_success == 4
    assert _in_flight(router, "a", "b", "c") == {"a": 0, "b": 0, "c": 0}
    assert _id(pick(router)) == "a"
    assert _route_stats() == _served(6)


def test_failed_calls_are_released_too():
    """A call that fails (mock_response an exception) is released by the failure callback:
    the deployment does not stay counted busy, and the next pick is again the first."""
    router = _router_of(_deployment("a"), _deployment("b"))
    router.leastbusy_logger.test_flag = True
    router.leastbusy_logger.logged_failure = 0

    async def run():
        with pytest.raises(litellm.RateLimitError):
            await router.acompletion(model="g", messages=MESSAGES,
                                     mock_response=litellm.RateLimitError("busy", "openai", "gpt-4o-mini"))
        for _ in range(200):
            await asyncio.sleep(0.01)
            if router.leastbusy_logger.logged_failure >= 1:
                break

    asyncio.run(run())
    assert router.leastbusy_logger.logged_failure >= 1
    assert _in_flight(router, "a")["a"] == 0
    assert _id(pick(router)) == _id(asyncio.run(apick(router)))
    assert _route_stats()["component"] >= 3 and _route_stats()["litellm"] == 0
