"""latency-based and cost-based selection: litellm's own scoring of litellm's own state.

Both strategies keep their inputs in the Router's cache, written by litellm's success and
failure callbacks: per model group a map of deployment id -> latency samples, time to
first token and per-minute requests and tokens. Stock's selector reads that map, adds the
candidates it lacks (into the cached object itself: later samples append to them),
shuffles it (latency), drops deployments over their tpm/rpm limits and takes the lowest
latency (a random one within the buffer) or the lowest cost.

What stock spends before its selector runs (the filter pipeline) is what the plan saves;
the candidates come from the component. The scoring stays here, as stock's expressions on
the same Python objects in the same order: its inputs are Python objects litellm's
callbacks keep changing, copying them across the boundary costs more than scoring a group,
and litellm averages with `sum()`, whose float result depends on the Python version.
Every check that can send a selection to stock runs before the first side effect (the
insertion, the draw), so stock then starts from the state it would have started from.
"""

from __future__ import annotations

import random
from typing import Any

SCORED_STRATEGIES = frozenset({"latency-based-routing", "cost-based-routing"})
_INF = float("inf")
_random = random._inst  # the generator random.sample/random.choice use


class _Litellm:
    """litellm's strategy modules, resolved by resolve() (install time)."""

    latency: Any = None
    cost: Any = None
    selector_types: dict = {}

    @classmethod
    def resolve(cls) -> None:
        from litellm.router_strategy import lowest_cost, lowest_latency

        cls.latency, cls.cost = lowest_latency, lowest_cost
        cls.selector_types = {"latency-based-routing": lowest_latency.LowestLatencyLoggingHandler,
                              "cost-based-routing": lowest_cost.LowestCostLoggingHandler}


# litellm.register_model calls (it updates cost-map rows in place): plans costed before
# one are costed again
cost_edits = 0


def counting_edits(register_model: Any) -> Any:
    """litellm.register_model, counted."""
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        global cost_edits
        try:
            return register_model(*args, **kwargs)
        finally:
            cost_edits += 1

    wrapper.__wrapped__ = register_model  # type: ignore[attr-defined]
    wrapper._fast_litellm = True  # type: ignore[attr-defined]
    return wrapper


def problems() -> list[str]:
    """What in litellm's latency/cost strategies differs from the tested shape."""
    try:
        from litellm.router_strategy import lowest_cost, lowest_latency

        needed = [(lowest_latency, "_average_latency"), (lowest_latency, "_percentile_latency"),
                  (lowest_latency, "token_counter"), (lowest_latency, "datetime"),
                  (lowest_cost, "_deployment_cost_map_rates"), (lowest_cost, "token_counter"),
                  (lowest_cost, "datetime"), (lowest_latency, "LowestLatencyLoggingHandler"),
                  (lowest_cost, "LowestCostLoggingHandler")]
        return [f"{module.__name__}.{name} not found" for module, name in needed if not hasattr(module, name)]
    except Exception as exc:
        return [f"{type(exc).__name__}: {exc}"]


def selector(router: Any, strategy: str) -> Any:
    """litellm's own selector of this strategy on this Router, or None if it was replaced."""
    found = getattr(router, router._DEFAULT_SELECTOR_ATTR_BY_STRATEGY[strategy], None)
    expected = _Litellm.selector_types[strategy]
    if type(found) is not expected or found.router_cache.in_memory_cache is None:
        return None
    return found


def limits(deployment: dict) -> tuple[Any, Any]:
    """A deployment's tpm and rpm limits, as both selectors read them."""
    tpm = (deployment.get("tpm", None) or deployment.get("litellm_params", {}).get("tpm", None)
           or deployment.get("model_info", {}).get("tpm", None) or _INF)
    rpm = (deployment.get("rpm", None) or deployment.get("litellm_params", {}).get("rpm", None)
           or deployment.get("model_info", {}).get("rpm", None) or _INF)
    return tpm, rpm


def cost(deployment: dict) -> Any:
    """A deployment's cost as the cost-based selector computes it (litellm's cost map and
    the deployment's own prices); it raises where the selector would."""
    map_input, map_output = _Litellm.cost._deployment_cost_map_rates(deployment)
    params = deployment.get("litellm_params", {})
    item_input = params.get("input_cost_per_token") if params.get("input_cost_per_token", None) else None
    item_output = params.get("output_cost_per_token") if params.get("output_cost_per_token", None) else None
    if item_input is None:
        item_input = map_input if map_input is not None else 5.0
    if item_output is None:
        item_output = map_output if map_output is not None else 5.0
    return item_input + item_output


def _minute(module: Any) -> str:
    """The per-minute key, built as the selectors build it (three clock reads)."""
    now = module.datetime.now
    return f"{now().strftime('%Y-%m-%d')}-{now().strftime('%H')}-{now().strftime('%M')}"


def _stored_map(cache: Any, key: str, read: Any) -> Any:
    """The group's map as `get_cache(key) or {}` gives it: the cached object itself, or
    None when stock would start from a fresh dict; a str when stock would read something
    else (a value it JSON-decodes, or not a dict)."""
    value = read(cache, key, cache._clock())
    if not value:
        return None
    return value if type(value) is dict else "unusual_usage_entry"


class _Tokens:
    """The request's token count, counted once and only if a limit needs it (stock counts
    it first, catches any error as 0, and uses it only against tpm limits)."""

    __slots__ = ("module", "messages", "input", "value")

    def __init__(self, module: Any, messages: Any, input: Any) -> None:
        self.module, self.messages, self.input, self.value = module, messages, input, None

    def get(self) -> Any:
        if self.value is None:
            try:
                self.value = self.module.token_counter(messages=self.messages, text=self.input)
            except Exception:
                self.value = 0
        return self.value


def _fits(item_map: dict, minute: str, limit: tuple[Any, Any], tokens: _Tokens) -> bool:
    """Whether the deployment is within its tpm and rpm limits this minute (stock's test)."""
    tpm_limit, rpm_limit = limit
    item_rpm = item_map.get(minute, {}).get("rpm", 0)
    item_tpm = item_map.get(minute, {}).get("tpm", 0)
    input_tokens = tokens.get() if tpm_limit != _INF else 0  # x + n > inf: False for any int n
    return not (item_tpm + input_tokens > tpm_limit or item_rpm + 1 > rpm_limit)


def _entries(stored: Any, candidates: dict, new_entry: Any) -> tuple[list, dict]:
    """The map's entries as stock iterates them once it has added the missing candidates
    (added in candidate order), and those additions."""
    missing = {dep_id: new_entry() for dep_id in candidates if stored is None or dep_id not in stored}
    return (list(stored.items()) if stored is not None else []) + list(missing.items()), missing


def pick_latency(router: Any, plan: Any, group: Any, positions: list[int], request_kwargs: Any, messages: Any,
                 input: Any, read: Any) -> Any:
    """latency-based-routing's pick among the candidates at `positions`, or why stock
    must pick. `read`: the cache read rule (_router._unexpired)."""
    module, args = _Litellm.latency, plan.selector.routing_args
    stored = _stored_map(plan.cache, group.usage_key, read)
    if type(stored) is str:
        return stored
    model_list, ids, limit_of = router.model_list, group.ids, group.limits
    candidates = {ids[p]: p for p in positions}
    minute = _minute(module)
    entries, missing = _entries(stored, candidates, lambda: {"latency": [0], minute: {"tpm": 0, "rpm": 0}})
    stream = request_kwargs is not None and request_kwargs.get("stream", None) is True
    percentile = args.ttft_percentile
    tokens = _Tokens(module, messages, input)
    scores: dict = {}  # id -> (selected latency, within limits)
    field = plan.selector._select_metadata_field(request_kwargs)
    if request_kwargs is not None and field in request_kwargs and type(request_kwargs[field]) is not dict:
        return "unusual_request_kwargs"  # stock writes into it
    try:
        for dep_id, item_map in entries:
            position = candidates.get(dep_id)
            if position is None:
                continue
            if type(item_map) is not dict:
                return "unusual_usage_entry"
            samples = item_map.get("latency", [])
            ttft = item_map.get("time_to_first_token_seconds", [])
            use_ttft = stream and len(ttft) > 0
            if use_ttft and percentile is not None:
                latency = module._percentile_latency(ttft, percentile)
            else:
                latency = module._average_latency(ttft if use_ttft else samples)
            scores[dep_id] = (latency, _fits(item_map, minute, limit_of[position], tokens))
    except Exception:
        return "unusual_usage_entry"  # stock raises it, from its own state
    if not any(fits for _, fits in scores.values()):
        return "no_deployment_available"  # stock raises its no-deployments error
    # the side effects, in stock's order: the additions, the shuffle, the pick
    if stored is not None:
        stored.update(missing)
    shuffled = _random.sample(entries, len(entries))
    per_api_base, potential = {}, []
    for dep_id, _ in shuffled:
        score = scores.get(dep_id)
        if score is None:
            continue
        deployment = model_list[group.indices[candidates[dep_id]]]
        api_base = deployment.get("litellm_params", {}).get("api_base", "")
        if api_base is not None:
            per_api_base[api_base] = score[0]
        if score[1]:
            potential.append((deployment, score[0]))
    ranked = sorted(potential, key=lambda x: x[1])
    lowest = ranked[0][1]
    buffer = args.lowest_latency_buffer * lowest
    deployment = _random.choice([x for x in ranked if x[1] <= lowest + buffer])[0]
    if request_kwargs is not None and field in request_kwargs:
        request_kwargs[field]["_latency_per_deployment"] = per_api_base
    return deployment


def pick_cost(router: Any, plan: Any, group: Any, positions: list[int], messages: Any, input: Any,
              read: Any) -> Any:
    """cost-based-routing's pick among the candidates at `positions` (the cheapest within
    its limits, the first in the map's order among equals), or why stock must pick."""
    module = _Litellm.cost
    stored = _stored_map(plan.cache, group.usage_key, read)
    if type(stored) is str:
        return stored
    ids, limit_of, costs = group.ids, group.limits, group.costs
    candidates = {ids[p]: p for p in positions}
    minute = _minute(module)
    entries, missing = _entries(stored, candidates, lambda: {minute: {"tpm": 0, "rpm": 0}})
    tokens = _Tokens(module, messages, input)
    potential = []
    try:
        for dep_id, item_map in entries:
            position = candidates.get(dep_id)
            if position is None:
                continue
            if type(item_map) is not dict:
                return "unusual_usage_entry"
            if _fits(item_map, minute, limit_of[position], tokens):
                potential.append((position, costs[position]))
        ranked = sorted(potential, key=lambda x: x[1])
    except Exception:
        return "unusual_usage_entry"  # stock raises it, from its own state
    if not ranked:
        return "no_deployment_available"  # stock raises its no-deployments error
    if stored is not None:
        stored.update(missing)
    return router.model_list[group.indices[ranked[0][0]]]
