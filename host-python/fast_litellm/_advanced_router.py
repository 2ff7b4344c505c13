"""fast_litellm's own selection API (kept from the earlier PyO3 package): pick a deployment
from a model list as litellm's Router would.

A litellm `Router` is built once per model list (a list object, its length and the
settings) and kept (the 8 most recent); selections then go through the same accelerated
path `Router.get_available_deployment` takes, so the picks are litellm's, for the same
`random` state. `blocked_models` (deployment ids, `model_info.id`) are left out as
litellm leaves out `_excluded_deployment_ids` (after its order filter).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from . import _router

_KEEP = 8
_routers: OrderedDict = OrderedDict()
_lock = threading.Lock()


def _router_for(model_list: list, settings: dict) -> Any:
    from litellm import Router

    if not isinstance(model_list, list) or not all(isinstance(d, dict) for d in model_list):
        raise ValueError("model_list must be a list of litellm deployment dicts")
    key = (id(model_list), len(model_list), repr(sorted(settings.items())))
    with _lock:
        entry = _routers.get(key)
        if entry is not None and entry[0] is model_list:
            _routers.move_to_end(key)
            return entry[1]
    router = Router(model_list=model_list, **settings)
    with _lock:
        _routers[key] = (model_list, router)
        while len(_routers) > _KEEP:
            _routers.popitem(last=False)
    return router


def select(model_list: list, model: str, blocked_models: Any = None, context: dict | None = None,
           settings: dict | None = None) -> dict | None:
    """The deployment litellm's Router (built with `settings`) selects for `model`, or None
    when every deployment of the group is blocked or cooling down."""
    if not isinstance(model, str) or not model:
        raise ValueError(f"model must be a non-empty str, got {model!r}")
    if blocked_models is not None and (not isinstance(blocked_models, (list, tuple, set, frozenset)) or
                                       not all(isinstance(b, str) for b in blocked_models)):
        raise ValueError("blocked_models must be a list of deployment ids (str)")
    if context is not None and not isinstance(context, dict):
        raise ValueError("context must be a dict of request kwargs (as litellm's request_kwargs)")
    if settings is not None and not isinstance(settings, dict):
        raise ValueError("settings must be a dict of litellm Router arguments")
    router = _router_for(model_list, dict(settings or {}))
    blocked = list(blocked_models or ())
    if blocked:
        picked = _router.select_excluding(router, model, context, blocked)
        if picked is not None:
            return picked or None  # False: none left
        # the component does not serve this case: litellm leaves them out itself
        context = {**(context or {}), "_excluded_deployment_ids": blocked}
    try:
        return router.get_available_deployment(model, request_kwargs=dict(context) if context else None)
    except _no_deployment_error():
        return None


def _no_deployment_error() -> type:
    """litellm's "no deployment available" error (all cooling down or left out)."""
    from litellm.types.router import RouterRateLimitError

    return RouterRateLimitError


class AdvancedRouter:
    """`AdvancedRouter(strategy="simple-shuffle")`: selections with one of litellm's routing
    strategies, served as Router selections are (cost-based is async only in litellm: its
    sync selection raises, so this returns None for it)."""

    STRATEGIES = ("simple-shuffle", "least-busy", "latency-based-routing", "usage-based-routing-v2",
                  "cost-based-routing")

    def __init__(self, strategy: str = "simple-shuffle") -> None:
        if strategy not in self.STRATEGIES:
            raise ValueError(f"unknown strategy {strategy!r}; one of {', '.join(self.STRATEGIES)}")
        self.strategy = strategy

    def get_available_deployment(self, model_list: list, model: str, blocked_models: Any = None) -> dict | None:
        return select(model_list, model, blocked_models, settings={"routing_strategy": self.strategy})
