"""usage-based-routing-v2 across processes through a real Redis, with fast-litellm loaded.

A Router whose cache has Redis shares its usage counters with other instances; the
component does not model those (litellm syncs them in batches), so such routers are
handed to litellm (`redis_router_cache`). This shows that hand-off keeps litellm's
multi-instance behaviour: one process records usage (tokens through the strategy's own
success callback, requests through its own pre-call check), another process's selections
see it and keep to the limits, the same as stock's.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from redis_server import RedisServer

pytestmark = pytest.mark.routing  # skipped on a litellm release routing is not verified on (conftest)

ROUTER = """
import asyncio, json, os, sys
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
import fast_litellm
from fast_litellm import _router
from litellm import Router

port = int(sys.argv[1])
deployments = [
    {"model_name": "g", "litellm_params": {"model": "openai/a", "api_key": "k", "tpm": 500}, "model_info": {"id": "a"}},
    {"model_name": "g", "litellm_params": {"model": "openai/b", "api_key": "k", "rpm": 2}, "model_info": {"id": "b"}},
    {"model_name": "g", "litellm_params": {"model": "openai/c", "api_key": "k"}, "model_info": {"id": "c"}},
]
router = Router(model_list=deployments, routing_strategy="usage-based-routing-v2",
                redis_host="127.0.0.1", redis_port=port)
selector = router.lowesttpm_logger_v2
"""

RECORD = ROUTER + """
async def main():
    payload = {"model_group": "g", "model_id": "a", "total_tokens": 1000,
               "hidden_params": {"litellm_model_name": "openai/a"}}
    await selector.async_log_success_event({"standard_logging_object": payload}, None, None, None)
    await selector.async_pre_call_check(deployments[1], None)
    await asyncio.sleep(1.0)  # litellm's batched Redis writes
    await selector._push_in_memory_increments_to_redis()
asyncio.run(main())
print(json.dumps("recorded"))
"""

SELECT = ROUTER + """
async def main():
    stock = _router.ORIGINALS["async_get_available_deployment"]
    picks = {"fast": [], "stock": [], "sync": []}
    for _ in range(20):
        picks["fast"].append((await router.async_get_available_deployment("g", request_kwargs={}))["model_info"]["id"])
        picks["stock"].append((await stock(router, "g", {}))["model_info"]["id"])
        picks["sync"].append(router.get_available_deployment("g")["model_info"]["id"])
    return picks
picks = asyncio.run(main())
route = fast_litellm.get_performance_stats()["operations"]["route"]
print(json.dumps({"picks": picks, "handed": route["handed_to_litellm"], "component": route.get("component", 0)}))
"""


@pytest.fixture(scope="module")
def redis_port():
    server = RedisServer().start()
    yield server.port
    server.stop()


def _run(script: str, port: int):
    done = subprocess.run([sys.executable, "-c", script, str(port)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_usage_recorded_in_one_process_steers_selections_in_another(redis_port):
    before = _run(SELECT, redis_port)
    assert set(before["picks"]["fast"]) == {"a", "b", "c"} or len(set(before["picks"]["fast"])) > 1
    # usage is counted per UTC minute: record and select within one (each process takes seconds)
    left = 60 - time.time() % 60
    if left < 30:
        time.sleep(left + 0.5)
    assert _run(RECORD, redis_port) == "recorded"
    after = _run(SELECT, redis_port)
    # a is past its tpm limit and b at its rpm limit, by the other process's usage
    assert after["picks"]["fast"] == after["picks"]["stock"] == after["picks"]["sync"] == ["c"] * 20
    assert after["component"] == 0
    assert after["handed"] == {"redis_router_cache": 40}
