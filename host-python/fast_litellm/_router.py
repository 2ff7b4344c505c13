"""litellm's Router deployment selection without litellm's filter pipeline, exact.

simple-shuffle and least-busy are picked by the component; latency-, cost- and
usage-based-v2 by litellm's own scoring of litellm's own state (_router_scores), among
candidates the plan gives.

Stock selection runs a pipeline of filters over the model group on every request (alias
and team lookup, health, cooldown, blocked, access groups, reserved windows, pre-call
checks, tags, order, exclusions) and then picks. For a router and a model group where
none of those filters can remove anything but cooldowns and order, the answer depends
only on the group's deployments, which of them are cooling down, and Python's random
draw: the component holds the first (a plan, built once per router), the host reads the
second from litellm's own cooldown store (empty in the common case), and draws the third
from the same `random` stock would use. One crossing per selection, or two when a
cooldown empties a weighted pick into a uniform one. least-busy has no draw: the counts
of requests in flight are read from litellm's cache the way its selector reads them.

A model_group_alias key is resolved as stock resolves it (the target group's deployments;
the state stock's async selectors read stays under the alias's name).
Everything else is handed to litellm's own selection, with the reason counted: a router
setting or a deployment field that a filter reads (decided per router, again whenever
its model list changes), a request option (`_router_weights`, `_target_order`, ...), a
patched `random`, router logging at INFO, OpenTelemetry, a callback filtering
deployments. See docs/design.md "Routing".
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import math
import operator
import random
import threading
import time
import traceback
import weakref
from collections import Counter
from typing import Any, Callable

from . import _overrides, _pre_call, _router_release, _router_scores
from ._router_release import Names as N
from ._component import COMPONENT, ComponentUnavailable, InstanceChanged
from ._flags import FLAGS, SHADOW
from ._stats import STATS

log = logging.getLogger("fast_litellm")

FEATURE = "rust_routing"
OPERATION = "route"
ORIGINALS: dict[str, Callable[..., Any]] = {}  # litellm's Router methods we replaced
_REGISTER_MODEL: list = []  # (module, its register_model) while ours counts the calls
_PLAN = "_fast_litellm_route_plan"  # the Router attribute our plan lives in

# Request options that change the candidates or the pick: stock handles them.
_REQUEST_OPTIONS = frozenset({
    "_router_weights", "_target_order", "_excluded_deployment_ids", "_retry_skipped_deployment_ids",
    "routing_strategy", "enable_tag_filtering", "_encrypted_content_affinity_pinned",
})
# Deployment fields a stock filter acts on, each as stock tests it (team, access group,
# reserved window, pause, web search, tag routing): a group with any is left to stock.
_FILTERED_MODEL_INFO = (
    ("team_id", lambda info: info.get("team_id") is not None),
    ("team_public_model_name", lambda info: info.get("team_public_model_name") is not None),
    ("access_groups", lambda info: bool(info.get("access_groups"))),
    ("access_windows", lambda info: info.get("access_windows") is not None),
    ("blocked", lambda info: info.get("blocked") is True),
    ("supports_web_search", lambda info: "supports_web_search" in info),
    ("enable_tag_filtering", lambda info: info.get("enable_tag_filtering") is not None),
)
# The Router methods that change its deployments: the plan is rebuilt after them.
_MUTATORS = ("set_model_list", "_add_model_to_list_and_index_map", "upsert_deployment", "delete_deployment",
             "update_settings")
_EXPECTED_PARAMS = {
    "get_available_deployment": ["self", "model", "messages", "input", "specific_deployment", "request_kwargs"],
    "async_get_available_deployment": ["self", "model", "request_kwargs", "messages", "input",
                                       "specific_deployment"],
}

# Strategies served: simple-shuffle (weights, random draw) and least-busy (the first
# candidate with the fewest requests in flight, read from litellm's own counters: they live
# in the Router's cache, which evicts and expires) are picked by the component;
# latency-, cost- and usage-based-v2 score the component's candidates with litellm's own
# arithmetic on its cache (_router_scores).
SERVED_STRATEGIES = frozenset({"simple-shuffle", "least-busy"}) | _router_scores.SCORED_STRATEGIES
_random = random._inst  # the generator random.choices/random.choice/random.sample use
_CHOICES, _CHOICE, _SAMPLE = random.choices, random.choice, random.sample
_lock = threading.Lock()
_logged: set[str] = set()


class _Group:
    __slots__ = ("index", "cooldown_keys", "uniform_n", "ids", "count_keys", "usage_key", "indices", "candidates",
                 "limits", "reads", "checks", "text_only")

    def __init__(self, index: int, cooldown_keys: dict[str, int], uniform_n: int, ids: list[str]) -> None:
        self.index = index
        self.cooldown_keys = cooldown_keys  # litellm's cooldown key -> position in the group
        self.uniform_n = uniform_n  # with nothing cooling down: 0 if weighted, else n
        self.ids = ids  # deployment id per position
        # where the strategy's selector keeps the group's state in litellm's cache (_keyed):
        # least-busy's in-flight count key per position, latency's or cost's map
        self.count_keys: list[str] = []
        self.usage_key = ""
        # latency-, cost- and usage-based (_router_scores), per position: model-list index,
        # tpm/rpm limits; the candidates with nothing cooling down (candidates_by_id)
        self.indices: list[int] = []
        self.candidates: dict = {}
        self.limits: list[tuple] = []
        self.reads: list[Any] = []  # per position: its cost, or its usage counters' key prefix
        self.checks: Any = None  # _pre_call.GroupChecks, on a Router with pre-call checks
        self.text_only = False  # 1.109: a deployment declares no vision (dropped for image requests)

    def positions(self, deployment_ids: Any) -> list[str]:
        """Positions of these deployment ids in the group (ids of other groups: none)."""
        keys = self.cooldown_keys
        return [str(keys[key]) for key in ("deployment:" + str(i) + ":cooldown" for i in deployment_ids)
                if key in keys]

    def keyed(self, name: str, strategy: str) -> "_Group":
        """This group with the strategy's state read under `name`, as stock's async
        selectors read it for a request naming an alias of the group."""
        group = copy.copy(self)
        _keyed(group, name, strategy)
        return group


def _keyed(group: _Group, name: str, strategy: str) -> None:
    """The keys litellm's selector of `strategy` keeps its state for selections in the
    group named `name` under."""
    if strategy == "least-busy":
        group.count_keys = [f"{name}_request_count:{dep_id}" for dep_id in group.ids]
    elif strategy == "latency-based-routing":
        group.usage_key = f"{name}_map"
    elif strategy == "cost-based-routing":
        group.usage_key = f"cost_map:{name}"
    elif strategy == "usage-based-routing":
        group.usage_key = name  # its maps: f"{name}:tpm:{minute}" and f"{name}:rpm:{minute}"


class _Plan:
    """What the component knows of one Router, and what it was built from."""

    __slots__ = ("handle", "generation", "model_list", "size", "settings", "groups", "reason", "handed", "strategy",
                 "selector", "selector_attr", "selector_unchanged", "attributes", "model_cost", "aliased",
                 "__weakref__")

    def __init__(self, router: Any) -> None:
        self.model_list = getattr(router, N.model_list)
        self.size = len(self.model_list)
        self.settings = _settings(router)
        self.handle: int | None = None
        self.generation = -1
        self.groups: dict[str, _Group] = {}
        self.handed: dict[str, str] = {}  # group -> why stock serves it
        self.reason: str | None = None  # why stock serves the whole router
        self.strategy = getattr(router, N.routing_strategy)
        self.selector: Any = None  # the selector of a strategy other than simple-shuffle, litellm's when served
        self.selector_attr = ""  # the Router attribute holding it (routing_strategy_init replaces it)
        self.selector_unchanged: Any = None  # _overrides.selector_watch() of it
        self.attributes = -1  # the Router's attribute count (an instance-level patch adds one)
        self.model_cost: Any = None  # cost-based, pre-call checks: the cost map read (_model_cost)
        self.aliased: dict[tuple[str, str], _Group] = {}  # (alias, group) -> the group keyed by the alias

    def current(self, router: Any) -> bool:
        model_list = getattr(router, N.model_list)
        return (self.model_list is model_list and self.size == len(model_list)
                and self.generation == COMPONENT.instantiations and _settings(router) == self.settings
                and len(router.__dict__) == self.attributes
                and (self.selector_unchanged is None
                     or self.selector_unchanged(getattr(router, self.selector_attr, None)))
                and (self.model_cost is None or _same_model_cost(self.model_cost)))


def _model_cost() -> tuple:
    """What costs (cost-based) and context windows (pre-call checks) were read from:
    litellm's cost map, its size and the register_model calls so far (any change: they are
    read again)."""
    costs = _Litellm.module.model_cost
    return costs, len(costs), _router_scores.cost_edits


def _same_model_cost(read_from: tuple) -> bool:
    costs = _Litellm.module.model_cost
    return read_from[0] is costs and read_from[1] == len(costs) and read_from[2] == _router_scores.cost_edits


def _settings(router: Any) -> tuple:
    """Router settings a selection depends on, compared per call (users set them directly,
    and edit the containers in place). A plan serves only while all are off or empty, so
    their truth is what is compared."""
    (strategy, plugins, groups, pre_call_checks, health_check_routing, tag_filtering, auto, complexity, adaptive,
     quality, cache) = _setting_values(router)
    return (strategy, not plugins, not groups, not pre_call_checks, not health_check_routing, not tag_filtering,
            not auto, not complexity, not adaptive, not quality, cache.redis_cache is None,
            *_router_release.settings(router))


def _setting_values_of_release() -> Callable[[Any], tuple]:
    """The Router attributes _settings reads, fetched in one call (the names are the
    installed release's)."""
    return operator.attrgetter(
        N.routing_strategy, N.routing_plugins, N.routing_groups, N.enable_pre_call_checks,
        N.enable_health_check_routing, N.enable_tag_filtering, N.auto_routers, N.complexity_routers,
        N.adaptive_routers, N.quality_routers, N.cache)


_setting_values = _setting_values_of_release()  # again at install, with the release's names


def _router_reason(router: Any) -> str | None:
    from litellm.types.router import RoutingStrategy

    strategy = getattr(router, N.routing_strategy)
    if isinstance(strategy, RoutingStrategy):
        strategy = strategy.value
    if strategy not in SERVED_STRATEGIES:
        return f"strategy_{strategy}"
    if strategy != "simple-shuffle":
        selector = _router_scores.selector(router, strategy)
        if selector is None:
            return "selector_replaced"
        if selector.router_cache.redis_cache is not None:
            return "redis_router_cache"
    checks = (
        (getattr(router, N.routing_plugins), "routing_plugins"), (getattr(router, N.routing_groups), "routing_groups"),
        (getattr(router, N.enable_health_check_routing), "health_check_routing"),
        (getattr(router, N.enable_tag_filtering), "tag_filtering"),
        (any(getattr(router, name) for name in (N.auto_routers, N.complexity_routers, N.adaptive_routers,
                                                N.quality_routers)),
         "pre_routing_strategies"),
        (getattr(router, N.team_model_to_deployment_indices), "team_models"),
        (getattr(router, N.cache).redis_cache is not None, "redis_cooldowns"),
        (getattr(router, "_model_to_group", None), "routing_groups"),
    )
    for value, reason in checks:
        if value:
            return reason
    reason = _router_release.router_reason(router)
    if reason is not None:
        return reason
    if _overrides.router_overridden(router):
        return "selection_overridden"
    return None


def _number(value: Any) -> float | None:
    """litellm's `float(value)` of a weight, when it is one we serve (finite, >= 0)."""
    if value is None:
        return 0.0
    if type(value) not in (int, float):
        return None
    try:
        weight = float(value)
    except OverflowError:  # an int beyond float: stock reads it only if no other metric weighs
        return None
    return weight if weight >= 0.0 and weight != float("inf") else None


def _classify_marker() -> Callable[[str], Any]:
    """litellm's classify_strategy_router_model (1.109 moved it)."""
    try:
        from litellm.router_strategy.auto_router.auto_router_model_naming import classify_strategy_router_model
    except ImportError:
        from litellm.router_utils.auto_router_model_naming import classify_strategy_router_model
    return classify_strategy_router_model


def _group_rows(router: Any, name: str, indices: list[int], index: int, strategy: str) -> tuple[list, _Group] | str:
    """A group's deployments for the component and the host's view of them (`index`: the
    group's place in the component), or why stock serves the group."""
    classify_strategy_router_model = _classify_marker()
    model_list = getattr(router, N.model_list)
    deployments = [model_list[i] for i in indices]
    rows, keys, ids, seen_ids = [], {}, [], set()
    for position, (deployment_index, deployment) in enumerate(zip(indices, deployments)):
        params, info = deployment.get("litellm_params"), deployment.get("model_info")
        if type(params) is not dict or type(info) is not dict or type(info.get("id")) is not str:
            return "unusual_deployment"
        reason = _router_release.deployment_reason(params)
        if reason is not None:
            return reason
        if any(acts(info) for _, acts in _filtered_model_info):
            return "filtered_deployment"
        if info["id"] in seen_ids:  # e.g. one deployment per organization: stock filters by id
            return "duplicate_deployment_ids"
        seen_ids.add(info["id"])
        ids.append(info["id"])
        model = params.get("model")
        if isinstance(model, str) and classify_strategy_router_model(model) is not None:
            return "strategy_marker"
        if strategy != "simple-shuffle":
            try:  # stock formats the picked deployment (a deep copy) on these selections,
                router.print_deployment(deployment)  # and latency/cost key a dict by api_base
                hash(params.get("api_base", ""))
            except Exception:
                return "unusual_deployment"
        weights = [_number(params.get(metric)) for metric in ("weight", "rpm", "tpm")]
        if None in weights:
            return "unusual_weight"
        order = params.get("order")
        if order is None:
            order = info.get("order")
        if order is not None and type(order) is not int:
            return "unusual_order"
        rows.append([deployment_index, *weights, order])
        keys["deployment:" + info["id"] + ":cooldown"] = position
    orders = [row[4] for row in rows if row[4] is not None]
    first = [position for position, row in enumerate(rows) if not orders or row[4] == min(orders)]
    weighted = any(any(rows[p][m] > 0 for p in first) for m in (1, 2, 3))
    group = _Group(index, keys, 0 if weighted else len(first), ids)
    _keyed(group, name, strategy)
    if strategy in _router_scores.SCORED_STRATEGIES:
        reason = _score_group(router, deployments, indices, group, first, strategy)
        if reason is not None:
            return reason
    group.text_only = _router_release.declares_no_vision(deployments, name)
    if getattr(router, N.enable_pre_call_checks):
        checks = _pre_call.read_group(router, name, deployments)
        if isinstance(checks, str):
            return checks
        group.checks = checks
    return rows, group


def _score_group(router: Any, deployments: list[dict], indices: list[int], group: _Group, candidates: list[int],
                 strategy: str) -> str | None:
    """What latency-, cost- and usage-based scoring reads of the group's deployments (those
    at `indices` of the model list), or why stock serves the group."""
    group.indices = list(indices)
    if strategy in ("usage-based-routing-v2", "usage-based-routing"):  # both read unset as None
        group.limits = [_router_scores.usage_limits(deployment) for deployment in deployments]
    else:
        group.limits = [_router_scores.limits(deployment) for deployment in deployments]
    if strategy == "usage-based-routing-v2":
        group.reads = [_router_scores.usage_key_prefix(deployment) for deployment in deployments]
        if None in group.reads:
            return "unusual_deployment_id"
    if strategy == "cost-based-routing":
        try:
            group.reads = [_router_scores.cost(deployment) for deployment in deployments]
        except Exception:  # stock raises it on every selection in the group
            return "unusual_cost"
    group.candidates = _router_scores.candidates_by_id(getattr(router, N.model_list), group, candidates)
    return None


def _build(router: Any) -> _Plan:
    _remove_forgotten()
    plan = _Plan(router)
    plan.reason = _router_reason(router)
    if plan.reason is None:
        rows = []
        for name, indices in getattr(router, N.model_name_to_deployment_indices).items():
            if name not in getattr(router, N.model_names):
                plan.handed[name] = "unindexed_group"
                continue
            built = _group_rows(router, name, list(indices), len(rows), plan.strategy)
            if isinstance(built, str):
                plan.handed[name] = built
                continue
            rows.append(built[0])
            plan.groups[name] = built[1]
        if (plan.strategy == "cost-based-routing" or getattr(router, N.enable_pre_call_checks)
                or _router_release.FACADE):  # 1.109 reads vision support from the cost map
            plan.model_cost = _model_cost()  # costs, context windows: read from it
        plan.generation = COMPONENT.instantiations
        plan.handle = COMPONENT.router("create", json.dumps(rows))
        plan.generation = COMPONENT.instantiations  # a trap in create re-instantiated it
        weakref.finalize(plan, _forgotten.append, (plan.handle, plan.generation))
    if plan.strategy in SERVED_STRATEGIES and plan.strategy != "simple-shuffle":  # watched when handed too
        plan.selector_attr = router._DEFAULT_SELECTOR_ATTR_BY_STRATEGY[plan.strategy]
        plan.selector = getattr(router, plan.selector_attr, None)
        plan.selector_unchanged = _overrides.selector_watch(plan.selector)
    router.__dict__[_PLAN] = plan
    plan.attributes = len(router.__dict__)
    with _seen_lock:
        _plans.add(plan)
    return plan


# For health_check(): every Router's current plan (a rebuilt or collected one drops out),
# and the Routers that selected with a strategy we do not serve; added to and read under
# the lock (a WeakSet changed by another thread while it is read raises)
_plans: Any = weakref.WeakSet()
_unserved: Any = weakref.WeakSet()
_seen_lock = threading.Lock()


# Plans collected by the garbage collector: their component routers are removed at the
# next plan build. Not in the finalizer itself: it can run at any allocation, also while
# this thread holds the component's lock (which is not reentrant).
_forgotten: list[tuple[int, int]] = []


def _remove_forgotten() -> None:
    while _forgotten:
        handle, generation = _forgotten.pop()
        if COMPONENT.instantiations == generation:
            try:
                COMPONENT.router("remove", handle)
            except Exception:
                pass


def _plan(router: Any) -> _Plan:
    router = _router_release.holder(router)
    plan = router.__dict__.get(_PLAN)
    if plan is None or not plan.current(router):
        plan = _build(router)
    return plan


def invalidate(router: Any) -> None:
    """Forget a Router's plan: the next selection reads its deployments again. Router
    methods that change deployments do this; code that edits `router.model_list` entries
    in place must call `fast_litellm.router_changed(router)`."""
    _router_release.holder(router).__dict__.pop(_PLAN, None)


def _unexpired(cache: Any, key: str, now: float) -> Any:
    """The value of `key` in a litellm InMemoryCache by its get_cache rule (past its ttl by
    the cache's clock: none), without get_cache's eviction and JSON decoding."""
    value = cache.cache_dict.get(key)
    if value is not None:
        expiry = cache.ttl_dict.get(key)
        if expiry is not None and now > expiry:
            return None
    return value


def _cooled_positions(router: Any, group: _Group) -> str | None:
    """Positions of the group's deployments cooling down, by litellm's own rule (an entry
    in the cooldown store, unexpired, timestamp + cooldown_time still ahead), joined for
    the component; None for an entry we do not recognise."""
    store = getattr(router, N.cooldown_cache).in_memory_cache
    if not store.cache_dict:
        return ""
    cooled = []
    try:
        clock_now = store._clock()
        now = time.time()
        for key, position in group.cooldown_keys.items():
            value = _unexpired(store, key, clock_now)
            if value is None:
                continue
            if type(value) is not dict:
                return None
            if value["timestamp"] + value["cooldown_time"] - now > 0:
                cooled.append(str(position))
    except Exception:
        return None
    return ";".join(cooled)


def _in_flight(cache: Any, group: _Group) -> str | None:
    """least-busy's count per position, as its read of litellm's cache gives them (an
    expired entry is none, none is 0, a float is truncated), joined for the component;
    None for a value whose reading we do not model."""
    now = cache._clock()
    counts = []
    for key in group.count_keys:
        value = _unexpired(cache, key, now)
        if value is None:
            counts.append("0")
        elif type(value) is int or (type(value) is float and math.isfinite(value)):
            counts.append(str(int(value)))
        else:
            return None
    return ";".join(counts)


def _request_reason(request_kwargs: Any) -> str | None:
    if request_kwargs is None:
        return None
    if type(request_kwargs) is not dict:
        return "unusual_request_kwargs"
    if not _request_options.isdisjoint(request_kwargs):
        return "request_routing_options"
    try:
        "".join(request_kwargs)  # stock validates the keys as str (pydantic) and raises otherwise
    except TypeError:
        return "unusual_request_kwargs"
    # stock reads these in filters that are no-ops for the groups served, but it reads them
    # (`(metadata or {}).get(...)`, `tool.get("type")`, `set(auth.models)`) and can raise
    for bucket_name in ("metadata", "litellm_metadata"):
        bucket = request_kwargs.get(bucket_name)
        if bucket and type(bucket) is not dict:
            return "unusual_request_kwargs"
        auth = bucket.get("user_api_key_auth") if bucket else None
        if auth is not None:
            try:
                set(getattr(auth, "models", []) or []) | set(getattr(auth, "team_models", []) or [])
            except Exception:
                return "unusual_request_kwargs"
    tools = request_kwargs.get("tools")
    if tools and (type(tools) is not list or any(type(tool) is not dict for tool in tools)):
        return "unusual_request_kwargs"
    return None


def _target(router: Any, model: Any, request_kwargs: Any, asynchronous: bool = False) -> tuple[_Plan, _Group] | str:
    """The plan and the group a selection is made in, or why stock must select."""
    reason = _request_reason(request_kwargs)
    if reason is not None:
        return reason
    if random.choices is not _CHOICES or random.choice is not _CHOICE or random.sample is not _SAMPLE:
        return "random_patched"
    try:
        plan = _plan(router)
    except ComponentUnavailable:
        return "component_unavailable"
    if plan.reason is not None:
        return plan.reason
    drawing = _Litellm.drawing_modules.get(plan.strategy)
    if drawing is not None and drawing.random is not random:
        return "random_patched"  # the strategy's module draws from a generator put there
    if type(model) is not str:
        return "not_a_model_group"
    requested = model
    if getattr(router, N.model_group_alias):
        model = _aliased(router, model)
        if model is None:
            return "model_group_alias"
    group = plan.groups.get(model)
    if group is None:
        return plan.handed.get(model, "not_a_model_group")
    if model != requested and asynchronous and (group.count_keys or group.usage_key):
        # stock's async path hands its selector the requested name: state under the alias
        aliased = plan.aliased.get((requested, model))
        if aliased is None:
            aliased = plan.aliased[(requested, model)] = group.keyed(requested, plan.strategy)
        group = aliased
    return plan, group


def _aliased(router: Any, model: str) -> str | None:
    """The group stock selects in for `model` on a Router with model_group_alias: `model`
    itself where the map does not rewrite it (litellm's own resolve, which skips malformed
    entries), else the alias's target; None where stock must select (a deployment id,
    which stock looks up before aliases). From there stock uses the target's deployments,
    pre-call checks and weights; only its async selectors read their state (least-busy's
    counts, latency's and cost's maps) under the requested name (_target)."""
    target = _Litellm.resolve_alias(getattr(router, N.model_group_alias), model)
    if target is None:
        return model
    if model not in getattr(router, N.model_names) and getattr(router, N.has_model_id)(model):
        return None
    return target


def _pick(router: Any, plan: _Plan, group: _Group, excluded: Any = None, request_kwargs: Any = None,
          messages: Any = None, input: Any = None) -> Any:
    """The deployment stock would select in `group`, or a str: why stock must select it.
    `excluded` (deployment ids, for fast_litellm's own API) are left out as litellm leaves
    out its `_excluded_deployment_ids`: after the order filter."""
    if _router_release.FACADE:  # 1.109 drops deployments declaring no vision for image requests
        image = _router_release.carries_image(messages, request_kwargs)
        if image is None:
            return "unusual_messages"
        if image and group.text_only:
            return "image_request_text_only_deployment"
    cooled = _cooled_positions(router, group)
    if cooled is None:
        return "unrecognised_cooldown_entry"
    if group.checks is not None and (messages is not None or input is not None):
        removed = _pre_call.removed(router, group.checks, cooled, messages, input, request_kwargs, _unexpired)
        if type(removed) is str:
            return removed
        if removed:  # stock's pre-call checks remove them before its order filter, as cooldowns
            cooled = ";".join([cooled, *map(str, removed)] if cooled else map(str, removed))
    if excluded:
        cooled = f"{cooled},{';'.join(group.positions(excluded))}"
    if plan.selector is not None:
        router_cache = plan.selector.router_cache  # read per call: it can be replaced
        if router_cache.redis_cache is not None:
            return "redis_router_cache"
        cache = router_cache.in_memory_cache
    if plan.strategy in _router_scores.SCORED_STRATEGIES:
        if not cooled:
            candidates = group.candidates
        else:
            request = f"{plan.handle},{group.index},{cooled}"
            packed = COMPONENT.router_candidates(request, plan.generation)
            if packed is None:
                raise RuntimeError(f"component refused {request}")
            positions = [int(p) for p in packed.split(";")] if packed else []
            candidates = _router_scores.candidates_by_id(getattr(router, N.model_list), group, positions)
        if not candidates:
            return "no_deployment_available"  # stock raises its no-deployments error
        if plan.strategy == "latency-based-routing":
            return _router_scores.pick_latency(plan.selector, cache, group, candidates, request_kwargs, messages,
                                               input, _unexpired)
        if plan.strategy == "usage-based-routing-v2":
            return _router_scores.pick_usage(cache, candidates, messages, input, _unexpired)
        if plan.strategy == "usage-based-routing":
            return _router_scores.pick_usage_v1(cache, group, candidates, messages, input, _unexpired)
        return _router_scores.pick_cost(cache, group, candidates, messages, input, _unexpired)
    prefix = f"{plan.handle},{group.index},"
    if plan.strategy == "least-busy":
        counts = _in_flight(cache, group)
        if counts is None:
            return "unusual_in_flight_count"
        if cooled and COMPONENT.router_packed(f"{prefix}d,,{cooled}", plan.generation) == 0:
            return "no_deployment_available"  # stock raises its no-deployments error
        request = f"{prefix}b,{counts},{cooled}"
    elif not cooled and group.uniform_n:  # nothing cooling down or excluded: n known, one crossing
        request = f"{prefix}u,{_random._randbelow(group.uniform_n)},"
    elif not cooled:
        request = f"{prefix}w,{_random.random()!r},"
    else:
        need = COMPONENT.router_packed(f"{prefix}d,,{cooled}", plan.generation)
        if need == 0:
            return "no_deployment_available"  # stock raises its no-deployments error
        if need == -1:
            request = f"{prefix}w,{_random.random()!r},{cooled}"
        elif need > 0:
            request = f"{prefix}u,{_random._randbelow(need)},{cooled}"
        else:
            raise RuntimeError(f"component refused {prefix}d,,{cooled}")
    index = COMPONENT.router_packed(request, plan.generation)
    if index < 0:
        raise RuntimeError(f"component refused {request}")
    model_list = getattr(router, N.model_list)
    if plan.model_list is not model_list or index >= len(model_list):
        invalidate(router)  # changed by another thread since the checks above
        return "router_changed_meanwhile"
    return model_list[index]


class _Litellm:
    """litellm objects the per-call checks read, resolved once by install()."""

    module: Any = None
    otel_runtime: Any = None
    router_logger: Any = None
    prefetch: Any = None
    custom_logger: Any = None
    default_filter: Any = None
    # what the async pre-routing hook (without pre-routing strategies) and the output
    # ceiling restore after it can write: metadata keys they clear, the compaction state
    hook_metadata_keys: frozenset = frozenset()
    compaction_state_key: str = ""
    router_class: Any = None
    service_target_code: Any = None  # the code of litellm's with_service_target async wrapper
    service_types: Any = None
    parent_span: Any = None
    service_hook: Any = None
    drawing_modules: dict = {}  # strategy -> its litellm module, which draws from its global `random`
    router_module: Any = None  # litellm.router
    phase_span: Any = None  # its phase_span, when litellm's own (1.106's async v1 path)
    resolve_alias: Any = None  # litellm's resolve_model_group_alias

    @classmethod
    def resolve(cls) -> None:
        import litellm
        from litellm.integrations.custom_logger import CustomLogger
        from litellm.integrations.otel.runtime import _otel_runtime
        from litellm.router_strategy.simple_shuffle import _ROUTER_LOGGER
        from litellm.router_utils.routing_read_batch import RoutingPrefetch

        try:  # 1.109 moved it
            from litellm.litellm_core_utils.routing_common_utils import resolve_model_group_alias
        except ImportError:
            from litellm.router_utils.common_utils import resolve_model_group_alias

        cls.module, cls.otel_runtime, cls.router_logger = litellm, _otel_runtime, _ROUTER_LOGGER
        from litellm.router import Router, ServiceTypes, get_parent_otel_span_from_kwargs

        from litellm._service_logger import ServiceLogging

        # the class whose methods a selection runs (1.109: the core class), for the
        # overridden-pipeline check
        cls.router_class = _router_release.patched_class(Router)
        cls.service_types, cls.parent_span = ServiceTypes, get_parent_otel_span_from_kwargs
        cls.service_hook = ServiceLogging.async_service_success_hook
        cls.prefetch, cls.custom_logger = RoutingPrefetch, CustomLogger
        cls.resolve_alias = resolve_model_group_alias
        from litellm.router_strategy import lowest_latency, lowest_tpm_rpm_v2, simple_shuffle

        cls.drawing_modules = {"simple-shuffle": simple_shuffle, "latency-based-routing": lowest_latency,
                               "usage-based-routing-v2": lowest_tpm_rpm_v2}
        cls.default_filter = CustomLogger.async_filter_deployments
        from litellm import router as router_module

        cls.router_module = router_module
        cls.phase_span = _overrides.litellm_own(getattr(router_module, "phase_span", None))
        from litellm.router_strategy.complexity_router import context_compaction

        from litellm._internal_context import with_service_target

        async def probe() -> None:
            return None

        cls.service_target_code = with_service_target("probe")(probe).__code__
        cls.hook_metadata_keys = frozenset({
            "_autorouter_baseline_route", "routing_decision",  # literals in _record_routing_decision
            router_module.SESSION_DEPLOYMENT_AFFINITY_TTL_METADATA_KEY,
            router_module.CONSUMED_REQUEST_TAGS_METADATA_KEY,
            router_module.CLIENT_OUTPUT_CEILING_METADATA_KEY,
        })
        cls.compaction_state_key = context_compaction._STATE_KEY


def _environment_reason(router: Any) -> str | None:
    """Per call: things outside the Router that change what stock does or logs."""
    if _Litellm.module.model_alias_map:
        return "model_alias_map"
    if _Litellm.module.set_verbose:  # stock's cache reads print
        return "litellm_verbose"
    if _Litellm.router_logger.isEnabledFor(logging.INFO):
        return "router_logging"
    if _Litellm.otel_runtime() is not None:
        return "opentelemetry"
    return None


def _failed(router: Any, exc: Exception) -> str:
    """The hand-off reason for a component failure during a selection. A failure after
    the draw leaves `random` one draw on (saving its state per call would cost more than
    the whole selection), so that hand-off picks from the next draw."""
    if isinstance(exc, InstanceChanged):
        invalidate(router)  # a trap elsewhere replaced the instance: the plan is rebuilt
        return "component_restarted"
    _log_once(exc)
    FLAGS.record(FEATURE, ok=False)
    return "component_error"


def _guarded(step: Callable[..., Any], router: Any, *args: Any) -> Any:
    """`step(router, *args)`, or the hand-off reason for a component failure."""
    try:
        return step(router, *args)
    except Exception as exc:
        return _failed(router, exc)


def _call_reason(router: Any, specific_deployment: Any) -> str | None:
    """Why stock must select, from the call itself and its surroundings."""
    if specific_deployment:
        return "specific_deployment"
    return _environment_reason(router) or _router_release.call_reason()


def _select(router: Any, model: Any, specific_deployment: Any, request_kwargs: Any, excluded: Any = None,
            messages: Any = None, input: Any = None) -> Any:
    """A deployment, or the reason stock selects (the sync path: one guard for both steps)."""
    reason = _call_reason(router, specific_deployment)
    if reason is not None:
        return reason
    try:
        target = _target(router, model, request_kwargs)
        if type(target) is str:
            return target
        return _pick(router, *target, excluded, request_kwargs, messages, input)
    except Exception as exc:
        return _failed(router, exc)


def select_excluding(router: Any, model: Any, request_kwargs: Any, excluded: list) -> Any:
    """For fast_litellm's own API: the selection with `excluded` deployment ids left out as
    litellm's `_excluded_deployment_ids` are. The deployment, False when none is left, or
    None when litellm must decide (the caller then passes the ids to litellm)."""
    if not ORIGINALS:  # selection is not ours now (removed, or a Router we do not recognise)
        STATS.handed_off(OPERATION, "routing_not_installed")
        return None
    route = _route_sync(router)
    if isinstance(route, str) or route == SHADOW:
        return None
    picked = _select(router, model, False, request_kwargs, excluded)
    # none left: exact as False where stock finds it before any draw or write (the scoring
    # strategies shuffle or write first: litellm answers those)
    if (picked == "no_deployment_available"
            and getattr(router, N.routing_strategy) not in _router_scores.SCORED_STRATEGIES):
        return False
    if type(picked) is str:
        STATS.handed_off(OPERATION, picked)
        return None
    _served_one()
    return picked


def _log_once(exc: BaseException) -> None:
    if "route" not in _logged:
        _logged.add("route")
        log.warning("fast_litellm: routing failed in the component (%s: %s); served by litellm",
                    type(exc).__name__, exc)


# -- the methods installed on litellm's Router ---------------------------------------------


def _strategy_reason(strategy: Any) -> str:
    """The hand-off reason for a strategy the component does not serve (kept per name: this
    check runs first on every selection of such a router)."""
    reason = _strategy_reasons.get(strategy)
    if reason is None:
        reason = _strategy_reasons[strategy] = f"strategy_{getattr(strategy, 'value', strategy)}"
    return reason


_strategy_reasons: dict = {}


def _route(router: Any) -> int | str:
    """ACCELERATED, SHADOW, or why stock selects: the strategy first (a plain comparison:
    it runs on every selection of a router we do not serve), then the flag."""
    strategy = getattr(router, N.routing_strategy)
    if strategy in SERVED_STRATEGIES:
        return FLAGS.route(FEATURE)
    router.__dict__.pop(_PLAN, None)  # a plan of another strategy, made stale by the change
    with _seen_lock:
        _unserved.add(router)
    return _strategy_reason(strategy)


def _route_sync(router: Any) -> int | str:
    """_route for a sync selection: litellm's cost-based selector is async only (its sync
    path raises), so stock answers those."""
    if getattr(router, N.routing_strategy) == "cost-based-routing":
        return "cost_based_sync"
    return _route(router)


def get_available_deployment(self, model, messages=None, input=None, specific_deployment=False,
                             request_kwargs=None):
    stock = ORIGINALS["get_available_deployment"]
    route = _route_sync(self)
    if isinstance(route, str):
        STATS.handed_off(OPERATION, route)
        return stock(self, model, messages, input, specific_deployment, request_kwargs)
    if route == SHADOW:
        return _shadow(lambda: _select(self, model, specific_deployment, request_kwargs, None, messages, input),
                       lambda: stock(self, model, messages, input, specific_deployment, request_kwargs))
    picked = _select(self, model, specific_deployment, request_kwargs, None, messages, input)
    if type(picked) is str:
        STATS.handed_off(OPERATION, picked)
        return stock(self, model, messages, input, specific_deployment, request_kwargs)
    _served_one()
    return picked


async def async_get_available_deployment(self, model, request_kwargs, messages=None, input=None,
                                         specific_deployment=False):
    stock = ORIGINALS["async_get_available_deployment"]
    if getattr(self, N.routing_strategy) == "usage-based-routing":
        return await _v1_async(self, stock, model, request_kwargs, messages, input, specific_deployment)
    route = _route(self)
    reason = route if isinstance(route, str) else _async_reason(self)
    if reason is not None:
        STATS.handed_off(OPERATION, reason)
        return await stock(self, model, request_kwargs, messages, input, specific_deployment)
    if route == SHADOW:
        STATS.handed_off(OPERATION, "shadow")
        state = _random.getstate()
        picked = await _async_select(self, model, request_kwargs, messages, input, specific_deployment,
                                     hook=False)
        _random.setstate(state)
        expected = await stock(self, model, request_kwargs, messages, input, specific_deployment)
        _compare(picked, expected)
        return expected
    started = time.time()
    try:
        picked = await _async_select(self, model, request_kwargs, messages, input, specific_deployment)
    except Exception as e:
        # what stock's own selection does with an exception of the pre-routing hook
        _router_release.mark_selection_failure(e)
        traceback_exception = traceback.format_exc()
        logging_obj = request_kwargs.get("litellm_logging_obj", None) if request_kwargs is not None else None
        if logging_obj is not None:
            asyncio.create_task(logging_obj.dispatch_failure_handlers(
                exception=e, traceback_exception=traceback_exception, prefer_async_handlers=True))
        raise e
    if type(picked) is str:
        STATS.handed_off(OPERATION, picked)
        return await stock(self, model, request_kwargs, messages, input, specific_deployment)
    if getattr(self, N.routing_strategy) != "simple-shuffle":
        _report_selection_time(self, request_kwargs, started)
    _served_one()
    return picked


async def _v1_async(router: Any, stock: Callable[..., Any], model: Any, request_kwargs: Any, messages: Any,
                    input: Any, specific_deployment: Any) -> Any:
    """An async selection by usage-based-routing (v1), which has no async selector: stock
    runs the sync selection, and so do we.
    1.106: stock's async wrapper opens a tracing span and calls the Router's
    `_async_get_available_deployment`, which calls `self.get_available_deployment`: ours,
    unless replaced. Where that chain would only reach ours (_v1_chain_is_plain), ours is
    called directly (entering the wrapper cost 6 of 20 µs); otherwise the chain runs.
    1.109: its sync pipeline inside its async pod-resolution wrapper."""
    if not _router_release.FACADE:
        if _v1_chain_is_plain(router):
            return get_available_deployment(router, model, messages, input, specific_deployment, request_kwargs)
        return await stock(router, model, request_kwargs, messages, input, specific_deployment)
    route = _route_sync(router)
    picked = "shadow" if route == SHADOW else route
    if not isinstance(picked, str):
        picked = _select(router, model, specific_deployment, request_kwargs, None, messages, input)
    if type(picked) is str:
        STATS.handed_off(OPERATION, picked)
        return await stock(router, model, request_kwargs, messages, input, specific_deployment)
    _served_one()
    return picked


def _v1_chain_is_plain(router: Any) -> bool:
    """1.106: whether stock's async v1 path would do nothing but call our sync selection:
    its span a no-op (OpenTelemetry off, litellm's own phase_span), litellm's own
    `_async_get_available_deployment` and ours as `get_available_deployment`, neither
    replaced on the instance or the class."""
    cls, attributes = type(router), router.__dict__
    span = getattr(_Litellm.router_module, "phase_span", None)
    return (_Litellm.otel_runtime() is None and span is _Litellm.phase_span
            and "get_available_deployment" not in attributes and "_async_get_available_deployment" not in attributes
            and cls.get_available_deployment is get_available_deployment
            and cls._async_get_available_deployment is _overrides.router_method("_async_get_available_deployment"))


def _report_selection_time(router: Any, request_kwargs: Any, start_time: float) -> None:
    """What stock does after each async selection by a strategy other than simple-shuffle:
    a ROUTER event to litellm's service logger (Prometheus, OpenTelemetry, ... if set up).
    With no service callback the event reaches nothing (litellm's hook only loops over
    them): the task, a third of a least-busy selection, is not created then."""
    logger = router.service_logger_obj
    if (not _Litellm.module.service_callback and not logger.mock_testing
            and type(logger).async_service_success_hook is _Litellm.service_hook):
        return
    end_time = time.time()
    asyncio.create_task(logger.async_service_success_hook(
        service=_Litellm.service_types.ROUTER, duration=end_time - start_time,
        call_type="<routing_strategy>.async_get_available_deployments",
        parent_otel_span=_Litellm.parent_span(request_kwargs), start_time=start_time, end_time=end_time))


def _async_reason(router: Any) -> str | None:
    """Why the async path goes to stock before anything runs (stock's own steps included)."""
    if _Litellm.prefetch.armed():
        return "routing_prefetch"
    custom_logger, default_filter = _Litellm.custom_logger, _Litellm.default_filter
    callbacks = router._routing_callbacks() if _router_release.FACADE else _Litellm.module.callbacks
    for callback in callbacks:
        if not isinstance(callback, custom_logger):
            continue
        if ((type(callback).async_filter_deployments is not default_filter
             and not _passes_deployments_through(type(callback)))
                or "async_filter_deployments" in getattr(callback, "__dict__", ())):
            return "callback_filters_deployments"
    return None


def _passes_deployments_through(callback_class: type) -> bool:
    """Whether a callback class's async_filter_deployments only returns the deployments it
    is given (the proxy registers one: its model max-budget limiter's). Read once per class
    from its source: a plain method taking exactly the arguments stock passes, whose body
    is `return healthy_deployments`, under nothing but litellm's `with_service_target`
    (which only sets a context variable for the call)."""
    known = _pass_through.get(callback_class)
    if known is None:
        known = _pass_through[callback_class] = _returns_its_input(callback_class)
    return known


_pass_through: dict = {}
_FILTER_PARAMS = ["self", "model", "healthy_deployments", "messages", "request_kwargs", "parent_otel_span"]


def _returns_its_input(callback_class: type) -> bool:
    import ast
    import inspect
    import textwrap
    import types

    function = inspect.getattr_static(callback_class, "async_filter_deployments", None)
    if type(function) is not types.FunctionType:  # a staticmethod, classmethod, or other object
        return False
    while hasattr(function, "__wrapped__"):
        if getattr(function, "__code__", None) is not _Litellm.service_target_code:
            return False
        function = function.__wrapped__
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    except (OSError, TypeError, SyntaxError):
        return False
    definition = tree.body[0] if tree.body else None
    if not isinstance(definition, ast.AsyncFunctionDef):
        return False
    arguments = definition.args
    if ([arg.arg for arg in arguments.args] != _FILTER_PARAMS or arguments.posonlyargs or arguments.kwonlyargs
            or arguments.vararg or arguments.kwarg):
        return False  # stock calls it with those keywords: anything else raises there
    body = definition.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    return (len(body) == 1
            and isinstance(body[0], ast.Return) and isinstance(body[0].value, ast.Name)
            and body[0].value.id == "healthy_deployments")


async def _async_select(router, model, request_kwargs, messages, input, specific_deployment, hook=True):
    """Stock's async steps that write to the request (the pre-routing hook and the output
    ceiling restore) run as stock runs them; the selection itself is ours."""
    reason = _call_reason(router, specific_deployment)
    if reason is not None:
        return reason
    target = _guarded(_target, router, model, request_kwargs, True)  # decided before the hook writes
    if type(target) is str:
        return target
    if hook:
        if request_kwargs is None:
            return "unusual_request_kwargs"
        if _hook_has_work(request_kwargs):
            response = await getattr(router, N.async_pre_routing_hook)(
                model=model, request_kwargs=request_kwargs, messages=messages, input=input,
                specific_deployment=specific_deployment)
            if response is not None:  # not without pre-routing strategies (checked per router)
                raise RuntimeError("pre-routing hook answered on a router without pre-routing strategies")
            if not _router_release.FACADE:  # 1.109's hook restores the ceiling itself, first
                router._restore_client_ceiling_no_tier_pins(request_kwargs)
    # on a hand-off stock runs the hook again: without pre-routing strategies its writes
    # are records and clears of None, the same the second time
    return _guarded(_pick, router, *target, None, request_kwargs, messages, input)


def _hook_has_work(request_kwargs: dict) -> bool:
    """Whether stock's pre-routing hook and ceiling restore would change this request. On a
    router without pre-routing strategies or plugins they only clear metadata keys (and
    reset a compaction state): with none of those present, running them changes nothing,
    and skipping them saves a third of an async selection."""
    if _Litellm.compaction_state_key in request_kwargs:
        return True
    keys = _Litellm.hook_metadata_keys
    for bucket in (request_kwargs.get("metadata"), request_kwargs.get("litellm_metadata")):
        if isinstance(bucket, dict) and not keys.isdisjoint(bucket):
            return True
    return False


_stats_lock, _served = STATS.served_fast()


def _served_one() -> None:
    if FLAGS.probing:  # a half-open breaker counts successful probes
        FLAGS.record(FEATURE, ok=True)
    with _stats_lock:
        _served[OPERATION] += 1


def _shadow(accelerated: Callable[[], Any], stock: Callable[[], Any]) -> Any:
    """Stock's pick from the same random state; the component's is only compared."""
    STATS.handed_off(OPERATION, "shadow")
    state = _random.getstate()
    picked = accelerated()
    _random.setstate(state)
    expected = stock()
    _compare(picked, expected)
    return expected


def _compare(picked: Any, expected: Any) -> None:
    if type(picked) is str:
        return  # stock serves that case anyway: nothing to compare
    if picked is not expected:
        FLAGS.record_mismatch(FEATURE, "route", _label(picked), _label(expected))
    else:
        FLAGS.record(FEATURE, ok=True)


def _label(deployment: Any) -> Any:
    try:
        return deployment["model_info"]["id"]
    except Exception:
        return deployment


# -- installing on litellm's Router ----------------------------------------------------------

PROBLEMS: list[str] = []  # what in litellm's Router did not look as expected


def _check(router_class: Any) -> list[str]:
    import inspect

    problems = []
    target = _router_release.patched_class(router_class)
    entry_points = _entry_points()
    for function, expected in _EXPECTED_PARAMS.items():
        name = entry_points[function]
        try:
            params = list(inspect.signature(getattr(target, name)).parameters)
        except (AttributeError, TypeError, ValueError):
            params = None
        if params != expected:
            problems.append(f"Router.{name} signature {params} differs from the tested {expected}")
    for name in (*_MUTATORS, N.has_model_id, N.async_pre_routing_hook):
        if not callable(getattr(target, name, None)):
            problems.append(f"Router.{name} not found")
    try:
        from litellm.integrations.otel.runtime import _otel_runtime  # noqa: F401
        from litellm.router_strategy.simple_shuffle import _ROUTER_LOGGER  # noqa: F401
        from litellm.router_utils.routing_read_batch import RoutingPrefetch  # noqa: F401
        from litellm.caching.in_memory_cache import InMemoryCache

        _classify_marker()
        _Litellm.resolve()
        if not hasattr(InMemoryCache(), "_clock"):
            problems.append("InMemoryCache._clock not found")
    except Exception as exc:
        problems.append(f"{type(exc).__name__}: {exc}")
    return problems + _router_scores.problems() + _pre_call.problems()


def _entry_points() -> dict[str, str]:
    """Our selection function -> the name requests call it by on the installed release
    (1.109's async endpoints call the core's `_core_async_get_available_deployment`; its
    old name is a deprecated alias on the facade that requests never reach)."""
    if _router_release.FACADE:
        return {"get_available_deployment": "get_available_deployment",
                "async_get_available_deployment": "_core_async_get_available_deployment"}
    return {name: name for name in _EXPECTED_PARAMS}


def _invalidating(method: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        finally:
            invalidate(self)

    wrapper.__wrapped__ = method  # type: ignore[attr-defined]
    wrapper.__name__ = method.__name__
    wrapper._fast_litellm = True  # type: ignore[attr-defined]
    return wrapper


_INSTALLED: dict[str, tuple] = {}  # name on the patched class -> (what we put there, what it held)
_request_options = _REQUEST_OPTIONS  # with the release's own (install)
_filtered_model_info = _FILTERED_MODEL_INFO


def install() -> bool:
    """Put our selection on litellm's Router class (1.109: on its core class), if its
    internals are the tested ones."""
    global _request_options, _filtered_model_info, _setting_values
    from litellm.router import Router

    with _lock:
        if ORIGINALS:
            return True
        try:
            _router_release.resolve(Router)
        except Exception as exc:
            PROBLEMS[:] = [f"{type(exc).__name__}: {exc}"]
            return False
        PROBLEMS[:] = _check(Router)
        if PROBLEMS:
            return False
        _router_scores._Litellm.resolve()
        _pre_call._Litellm.resolve()
        _overrides.record(_Litellm.router_class, _router_release.PIPELINE_METHODS,
                          _router_scores._Litellm.selector_types.values())
        _request_options = _REQUEST_OPTIONS | _router_release.EXTRA_REQUEST_OPTIONS
        _setting_values = _setting_values_of_release()
        _filtered_model_info = _FILTERED_MODEL_INFO + _router_release.EXTRA_FILTERED_MODEL_INFO
        target = _router_release.patched_class(Router)
        if not _router_release.FACADE:  # 1.109 counts such changes itself (_settings)
            for name in _MUTATORS:
                _replace(target, name, _invalidating(target.__dict__[name]))
        # 1.109: litellm's kubernetes pod resolution wraps both entry points (stock, on a
        # hand-off, keeps it); ours are not wrapped: it returns a deployment unchanged unless
        # that asks for pod discovery, and those groups are litellm's
        entry_points = _entry_points()
        for function, replacement in (("get_available_deployment", get_available_deployment),
                                      ("async_get_available_deployment", async_get_available_deployment)):
            ORIGINALS[function] = target.__dict__[entry_points[function]]
            _replace(target, entry_points[function], replacement)
        import litellm.utils

        counting = _router_scores.counting_edits(_Litellm.module.register_model)
        for module in (_Litellm.module, litellm.utils):  # the same function under both names
            _REGISTER_MODEL.append((module, module.register_model))
            module.register_model = counting
        return True


def _replace(target: type, name: str, replacement: Any) -> None:
    """Put `replacement` on the class, remembering what the class itself held (uninstall)."""
    _INSTALLED[name] = (replacement, target.__dict__.get(name, _ABSENT))
    type.__setattr__(target, name, replacement)


_ABSENT = object()


def uninstall() -> bool:
    from litellm.router import Router

    with _lock:
        restored = bool(ORIGINALS)
        target = _router_release.patched_class(Router)
        for name, (_, held) in _INSTALLED.items():
            if held is _ABSENT:
                type.__delattr__(target, name)
            else:
                type.__setattr__(target, name, held)
        _INSTALLED.clear()
        ORIGINALS.clear()
        while _REGISTER_MODEL:
            module, original = _REGISTER_MODEL.pop()
            module.register_model = original
        return restored


def status() -> dict:
    """Whether litellm's Router selects through us right now (checked on the live class)."""
    try:
        from litellm.router import Router
    except Exception as exc:
        return {"patched": False, "problem": f"{type(exc).__name__}: {exc}"}
    target = _router_release.patched_class(Router)
    live = bool(_INSTALLED) and all(target.__dict__.get(name) is fn for name, (fn, _) in _INSTALLED.items())
    out: dict = {"patched": live, "strategies": sorted(SERVED_STRATEGIES)}
    if PROBLEMS:
        out["problems"] = list(PROBLEMS)
    else:
        try:
            out["routers"] = _routers_seen()
        except Exception as exc:  # noqa: BLE001 - a health check reports, never raises
            out["routers"] = {"problem": f"{type(exc).__name__}: {exc}"}
    return out


def _routers_seen() -> dict:
    """The Routers that have selected since fast-litellm was installed (their plans, built
    at a Router's first selection and after each change): how many the component serves,
    and why litellm serves the others, or some of their model groups. Each Router counts
    once, as its last selection found it."""
    with _seen_lock:
        plans, unserved = list(_plans), list(_unserved)
    served, left, groups_left = 0, Counter(), Counter()
    stale = set()  # plans of Routers whose strategy changed to one we do not serve
    for router in unserved:
        strategy = getattr(router, N.routing_strategy, None)
        if strategy not in SERVED_STRATEGIES:
            left[_strategy_reason(strategy)] += 1
            stale.add(id(router.__dict__.get(_PLAN)))
    for plan in plans:
        if id(plan) in stale:
            continue
        if plan.reason is not None:
            left[plan.reason] += 1
            continue
        served += 1
        groups_left.update(plan.handed.values())
    return {"served": served, "left_to_litellm": dict(sorted(left.items())),
            "groups_left_to_litellm": dict(sorted(groups_left.items()))}


def router_report(router: Any) -> dict:
    """For one Router: which model groups the component selects for, and why the others
    stay with litellm."""
    plan = _plan(router)
    if plan.reason is not None:
        return {"accelerated_groups": [], "reason": plan.reason}
    return {"accelerated_groups": sorted(plan.groups), "handed_to_litellm": dict(sorted(plan.handed.items())),
            "deployments_in_component": COMPONENT.router("deployments", plan.handle)}
