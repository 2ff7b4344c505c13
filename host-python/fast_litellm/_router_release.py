"""Where litellm's Router keeps what a selection reads, on the release installed.

litellm 1.109 made `litellm.Router` a facade over a `PythonCore` (litellm/router.py):
selections run on the core, which keeps its state in `_core_<name>` attributes; the old
names are deprecated aliases that warn and count on every read, which stock's own code
does not do. 1.106 keeps plain attributes on the Router. `_router` reads through the
names here, resolved once by `resolve()`, and asks `call_reason()` on every selection for
what only 1.109 filters by.
"""

from __future__ import annotations

from typing import Any

FACADE = False  # litellm.Router is 1.109's facade over a core class


class Names:
    """The Router attributes a selection reads, by their name on the installed release."""

    model_list = "model_list"
    routing_strategy = "routing_strategy"
    cache = "cache"
    cooldown_cache = "cooldown_cache"
    enable_pre_call_checks = "enable_pre_call_checks"
    model_group_alias = "model_group_alias"
    model_names = "model_names"
    model_name_to_deployment_indices = "model_name_to_deployment_indices"
    team_model_to_deployment_indices = "team_model_to_deployment_indices"
    routing_plugins = "routing_plugins"
    routing_groups = "routing_groups"
    auto_routers = "auto_routers"
    complexity_routers = "complexity_routers"
    adaptive_routers = "adaptive_routers"
    quality_routers = "quality_routers"
    enable_tag_filtering = "enable_tag_filtering"
    enable_health_check_routing = "enable_health_check_routing"
    has_model_id = "has_model_id"
    async_pre_routing_hook = "async_pre_routing_hook"
    kubernetes_pod_discovery = "kubernetes_pod_discovery"  # 1.109 only


# The Router methods stock's selection runs: a subclass (or an instance) overriding one is
# left to stock. 1.109 renamed some to `_core_<name>` (a subclass's override of the old
# name is moved there) and added filters.
PIPELINE_METHODS_1106 = (
    "_common_checks_available_deployment", "_get_routing_group_deployments", "get_all_deployments",
    "should_include_deployment", "get_model_from_alias", "_filter_reserved_deployments", "_drop_strategy_markers",
    "_is_strategy_marker_deployment", "_filter_deployments_by_model_access_groups", "get_model_access_groups",
    "_filter_health_check_unhealthy_deployments", "_async_filter_health_check_unhealthy_deployments",
    "_filter_cooldown_deployments", "_filter_blocked_deployments", "async_callback_filter_deployments",
    "_pre_call_checks", "_count_pre_call_check_tokens", "_acount_pre_call_check_tokens",
    "_pre_call_checks_need_token_count", "_deployment_max_input_tokens", "get_router_model_info",
    "_get_routing_context", "async_get_healthy_deployments", "_async_get_available_deployment",
    "async_pre_routing_hook", "_pin_tier_params_onto_request", "_restore_client_ceiling_no_tier_pins",
    "_filter_by_routing_plugin_candidates", "get_model_ids", "has_model_id",
)
PIPELINE_METHODS_1109 = (
    "_common_checks_available_deployment", "_get_routing_group_deployments", "_core_get_all_deployments",
    "_core_should_include_deployment", "_core_get_model_from_alias", "_filter_reserved_deployments",
    "_drop_strategy_markers", "_is_strategy_marker_deployment", "_filter_deployments_by_model_access_groups",
    "_core_get_model_access_groups", "_filter_health_check_unhealthy_deployments",
    "_async_filter_health_check_unhealthy_deployments", "_filter_cooldown_deployments",
    "_filter_blocked_deployments", "async_callback_filter_deployments", "_get_routing_context",
    "_core_async_get_healthy_deployments", "_async_get_available_deployment", "_core_async_pre_routing_hook",
    "_pin_tier_params_onto_request", "_filter_by_routing_plugin_candidates", "_core_get_model_ids",
    "_core_has_model_id", "_get_available_deployment_unresolved", "_async_get_available_deployment_unresolved",
    "_without_deployments_that_cannot_serve_route", "_without_declared_text_only_deployments",
    "_deployment_declares_no_vision", "_request_carries_image", "_without_decisions_deployments_refusing_media",
    "_narrow_to_video_deployment", "_routing_callbacks", "_restore_client_output_ceiling",
    "_core_deployments_named", "_team_deployments_named", "_region_routable_deployments",
    "_select_deployment_sync", "_select_deployment_async", "_override_selector_pre_call_check",
    # the pre-call checks and what they ask
    "_pre_call_checks", "_count_pre_call_check_tokens", "_acount_pre_call_check_tokens",
    "_resolve_pre_call_check_input_tokens", "_pre_call_checks_need_token_count", "_deployment_max_input_tokens",
    "_core_get_router_model_info", "_deployment_lacks_params", "_deployment_rejects_params",
    "_pre_call_check_requested_chat_params", "_served_openai_models",
)
PIPELINE_METHODS = PIPELINE_METHODS_1106

# model_info keys only 1.109's filters read (team PTU shares, endpoint enforcement, embedding
# batch limits, batch-only deployments): a group with any is left to stock there.
FILTERED_MODEL_INFO_1109 = (
    ("ptu_shares", lambda info: bool(info.get("ptu_shares"))),
    ("enforce_supported_endpoints", lambda info: bool(info.get("enforce_supported_endpoints"))),
    ("max_embedding_batch_size", lambda info: info.get("max_embedding_batch_size") is not None),
    ("batch_mode", lambda info: info.get("mode") == "batch"),
)
# Request keys only 1.109 routes by (a mid-stream continuation: prefill-capable deployments).
REQUEST_OPTIONS_1109 = frozenset({"_mid_stream_continuation"})
# What the installed release filters by besides 1.106's (resolve): added to _router's lists.
EXTRA_REQUEST_OPTIONS: frozenset = frozenset()
EXTRA_FILTERED_MODEL_INFO: tuple = ()


class _Litellm:
    """1.109's objects the per-call checks read (context variables set by the calls that
    filter by them), resolved once."""

    selecting_for_embedding: Any = None
    batch_create_routing: Any = None
    video_deployment: Any = None
    routed_call_type: Any = None
    routed_call_filters: frozenset = frozenset()
    carries_image: Any = None  # PythonCore._request_carries_image
    declares_no_vision: Any = None  # PythonCore._deployment_declares_no_vision
    mark_selection_failure: Any = None
    pod_discovery_class: Any = None  # KubernetesPodDiscovery


def resolve(router_class: Any) -> None:
    """Read the installed release's layout; raises if a 1.109 piece we rely on is missing."""
    global FACADE, PIPELINE_METHODS, EXTRA_REQUEST_OPTIONS, EXTRA_FILTERED_MODEL_INFO
    FACADE = "_core_class" in vars(router_class)
    prefix = "_core_" if FACADE else ""
    for name in vars(Names):
        if not name.startswith("_"):
            setattr(Names, name, prefix + name)
    PIPELINE_METHODS = PIPELINE_METHODS_1109 if FACADE else PIPELINE_METHODS_1106
    EXTRA_REQUEST_OPTIONS = REQUEST_OPTIONS_1109 if FACADE else frozenset()
    EXTRA_FILTERED_MODEL_INFO = FILTERED_MODEL_INFO_1109 if FACADE else ()
    if not FACADE:
        return
    core = router_class._core_class
    missing = [name for name in PIPELINE_METHODS_1109 if not callable(getattr(core, name, None))]
    if missing:
        raise LookupError(f"Router core methods not found: {', '.join(missing)}")
    from litellm import router_python_core
    from litellm.litellm_core_utils.batch_utils import _batch_create_routing
    from litellm.router_utils.cooldown_handlers import mark_deployment_selection_failure
    from litellm.router_utils.embedding_batch_size_check import _SELECTING_FOR_EMBEDDING
    from litellm.router_utils.kubernetes_pod_discovery import KubernetesPodDiscovery

    _Litellm.selecting_for_embedding = _SELECTING_FOR_EMBEDDING
    _Litellm.batch_create_routing = _batch_create_routing
    _Litellm.video_deployment = router_python_core._video_call_deployment_id
    _Litellm.routed_call_type = router_python_core._routed_call_type
    _Litellm.routed_call_filters = (frozenset(router_python_core._ROUTE_CAPABILITY_RESOLVERS)
                                    | frozenset(router_python_core._DECISIONS_MEDIA_CALL_TYPES))
    _Litellm.carries_image = core._request_carries_image
    _Litellm.declares_no_vision = core._deployment_declares_no_vision
    _Litellm.mark_selection_failure = mark_deployment_selection_failure
    _Litellm.pod_discovery_class = KubernetesPodDiscovery


def patched_class(router_class: Any) -> Any:
    """The class whose selection methods requests call: 1.109's core class, else the Router."""
    return router_class._core_class if FACADE else router_class


def holder(router: Any) -> Any:
    """The object a selection runs on (and our plan lives on) for a Router users hold."""
    return router.__dict__.get("_core", router)


def settings(router: Any) -> tuple:
    """What else a plan depends on, on 1.109: its counts of changes to deployments and
    settings (apply() included), and the pod discovery object its entry points consult."""
    if not FACADE:
        return ()
    return router._registry_version, router._settings_version, getattr(router, Names.kubernetes_pod_discovery)


def router_reason(router: Any) -> str | None:
    """Why a 1.109 Router's selections stay litellm's: a kubernetes pod discovery that is
    not litellm's own (its entry points hand every pick to it; ours are installed without
    that wrapper, which returns a deployment unchanged unless it asks for pod discovery)."""
    if not FACADE:
        return None
    discovery = getattr(router, Names.kubernetes_pod_discovery)
    if type(discovery) is not _Litellm.pod_discovery_class or {"resolve_deployment", "async_resolve_deployment"} & vars(
            discovery).keys():
        return "kubernetes_pod_discovery_replaced"
    return None


def deployment_reason(params: dict) -> str | None:
    """Why a group with this deployment stays litellm's on 1.109 (pod discovery rewrites
    the picked deployment's api_base)."""
    if FACADE and params.get("kubernetes_pod_discovery") is True:
        return "kubernetes_pod_discovery"
    return None


def call_reason() -> str | None:
    """Per selection on 1.109: calls whose deployments stock narrows by a context variable
    (embedding batch limits, batch creation, a video's deployment, a decisions or
    capability route)."""
    if not FACADE:
        return None
    if _Litellm.selecting_for_embedding.get():
        return "embedding_selection"
    if _Litellm.batch_create_routing.get():
        return "batch_create_routing"
    if _Litellm.video_deployment.get() is not None:
        return "video_call"
    handler = _Litellm.routed_call_type.get()
    if handler is not None and handler in _Litellm.routed_call_filters:
        return "routed_call_type"
    return None


def declares_no_vision(deployments: list, group: str) -> bool:
    """Whether 1.109 would drop one of these deployments from a request carrying an image."""
    return FACADE and any(_Litellm.declares_no_vision(deployment, group) for deployment in deployments)


def carries_image(messages: Any, request_kwargs: Any) -> bool | None:
    """1.109's `_request_carries_image` for this request (None: it raised, stock raises
    there too). Plain chat messages with str content carry none: answered without it."""
    if (type(messages) is list and messages
            and all(type(m) is dict and type(m.get("content")) is str and "type" not in m for m in messages)):
        return False
    try:
        return bool(_Litellm.carries_image(messages, request_kwargs or {}))
    except Exception:
        return None


def mark_selection_failure(exc: BaseException) -> None:
    """1.109 marks an exception leaving an async selection so its cooldown logic skips it."""
    if FACADE:
        _Litellm.mark_selection_failure(exc)
