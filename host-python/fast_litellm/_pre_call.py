"""litellm's deployment pre-call checks (`Router(enable_pre_call_checks=True)`) on a group.

Stock runs them on every selection with messages or input, after the cooldown filter and
before the order filter, deployment by deployment (`Router._pre_call_checks`):

- context window: removed if the request's token count exceeds the deployment's
  `max_input_tokens` (from litellm's model info);
- rpm (not under usage-based-routing-v2): removed if `litellm_params.rpm` is an int at most
  this minute's requests, read from the Router's cache under the deployment's id;
- region: removed if the request sets `allowed_model_region` and the deployment's
  `region_name` (its litellm_params as litellm validates them) is not equal to it;
- params: unless `litellm.drop_params`, removed if the request sets `response_format` and
  the deployment's provider does not support it.

litellm 1.109 (`PythonCore._pre_call_checks`) dropped the rpm check, counts with a tokenizer
model chosen per group (`single_encoding_openai_model` of what the group serves), and checks
only a `response_format` that is not a str: a deployment lacking it (its provider's params
for its model and `base_model`) is removed when another candidate has it; when every
candidate lacks it, litellm weighs each deployment's and the request's `drop_params`,
`allowed_openai_params` and `additional_drop_params` and may raise `UnsupportedParamsError`:
that case goes to litellm.

What depends only on a deployment (its context window, what its provider supports) is read
when the plan is built (`GroupChecks`); the token count, the cache reads and the request's
params per selection. The positions removed join the cooling ones, so the component applies
the order filter to what is left, as stock does. Whatever stock would answer with an error
or a log (every deployment removed, a count that fails) goes to litellm before any effect.
"""

from __future__ import annotations

import asyncio
from typing import Any

from . import _router_release, _router_scores

_COUNTS = (int, float)
# Stock counts an async selection's tokens in a worker thread so that a huge prompt cannot
# stall the event loop; we count in the loop (a thread hop costs more than our count) up to
# this upper bound of the count, and leave larger prompts to stock.
_LOOP_COUNT_BOUND = 200_000


class _Litellm:
    """litellm names read per selection, resolved by resolve() (install time)."""

    module: Any = None
    router_module: Any = None
    compaction_pending: Any = None
    model_params: Any = None  # LiteLLM_Params
    region_allowed: Any = None  # the router module's is_region_allowed, when it compiles as _is_region_allowed
    # 1.109's checks (None on 1.106): the core class, and its tokenizer model choice
    core: Any = None
    single_encoding_openai_model: Any = None
    model_info_method = "get_router_model_info"

    @classmethod
    def resolve(cls) -> None:
        import litellm
        from litellm.router_strategy.complexity_router.context_compaction import compaction_pending
        from litellm.types.router import LiteLLM_Params

        if _router_release.FACADE:
            from litellm import router_python_core as router_module
            from litellm.litellm_core_utils import token_counter

            cls.core = router_module.PythonCore
            cls.single_encoding_openai_model = token_counter.single_encoding_openai_model
            cls.model_info_method = "_core_get_router_model_info"
        else:
            from litellm import router as router_module
        cls.module, cls.router_module = litellm, router_module
        region_allowed = getattr(router_module, "is_region_allowed", None)
        cls.region_allowed = region_allowed if _router_scores._same_code(region_allowed, _is_region_allowed) else None
        cls.compaction_pending, cls.model_params = compaction_pending, LiteLLM_Params


def problems() -> list[str]:
    """What of litellm's pre-call checks differs from the tested shape."""
    try:
        if _router_release.FACADE:
            from litellm import router_python_core as router_module
            from litellm.litellm_core_utils import token_counter

            core = router_module.PythonCore
            needed = [(core, "_pre_call_checks"), (core, "_count_pre_call_check_tokens"),
                      (core, "_deployment_max_input_tokens"), (core, "_core_get_router_model_info"),
                      (core, "_deployment_lacks_params"), (core, "_pre_call_check_requested_chat_params"),
                      (core, "_served_openai_models"), (router_module, "_PRE_CALL_CHECK_FILTERED_PARAMS"),
                      (router_module, "compaction_pending"), (router_module, "is_region_allowed"),
                      (token_counter, "single_encoding_openai_model")]
            if getattr(router_module, "_PRE_CALL_CHECK_FILTERED_PARAMS", None) != _FILTERED_PARAMS:
                return ["router_python_core._PRE_CALL_CHECK_FILTERED_PARAMS is not {'response_format'}"]
        else:
            from litellm import router as router_module
            from litellm.router import Router

            needed = [(Router, "_pre_call_checks"), (Router, "_count_pre_call_check_tokens"),
                      (Router, "_deployment_max_input_tokens"), (Router, "get_router_model_info"),
                      (router_module, "get_utc_datetime"), (router_module, "compaction_pending"),
                      (router_module, "is_region_allowed")]
        return [f"{getattr(owner, '__name__', owner)}.{name} not found" for owner, name in needed
                if not hasattr(owner, name)]
    except Exception as exc:
        return [f"{type(exc).__name__}: {exc}"]


# litellm 1.106's utils.is_region_allowed (its docstring too: a constant of the code
# compared), which removed() inlines while the router module calls one that compiles alike
def _is_region_allowed(litellm_params, allowed_model_region):
    """
    Return true/false if a deployment is in the EU
    """
    if litellm_params.region_name == allowed_model_region:
        return True
    return False


class GroupChecks:
    """A group's name and, per position: id, context window, rpm limit, response_format
    support, region."""

    __slots__ = ("name", "ids", "max_input", "rpm", "response_format", "reads_params", "region")

    def __init__(self, name: str) -> None:
        self.name = name
        self.ids: list[str] = []
        self.max_input: list[int | None] = []
        self.rpm: list[Any] = []
        self.response_format: list[bool] = []
        self.reads_params: list[bool] = []  # 1.106: stock reads the request's params for it
        self.region: list[Any] = []  # region_name, or _UNREADABLE where validating the params raises


def read_group(router: Any, name: str, deployments: list[dict]) -> GroupChecks | str:
    """The group's GroupChecks, or why stock checks the group (a model-info lookup that
    raises or that litellm's two readings of it see differently)."""
    checks = GroupChecks(name)
    for deployment in deployments:
        params, info = deployment["litellm_params"], deployment["model_info"]
        try:
            model_info = getattr(router, _Litellm.model_info_method)(deployment=deployment, received_model_name=name)
        except Exception:  # stock logs it on every selection
            return "pre_call_model_info"
        max_input = model_info.get("max_input_tokens") if isinstance(model_info, dict) else None
        max_input = max_input if isinstance(max_input, int) else None
        if router._deployment_max_input_tokens(name, deployment) != max_input:
            return "pre_call_model_info"
        base_model = info.get("base_model", None)
        if base_model is None:
            base_model = params.get("base_model", None)
        try:  # what stock's region and params checks validate per selection, once
            params_model = _Litellm.model_params.model_validate(params)
        except Exception:  # stock raises in its region check, skips the params check
            params_model = None
        region = params_model.region_name if params_model is not None else _UNREADABLE
        if _Litellm.core is not None:  # 1.109: its own test of the deployment (it catches what it raises)
            reads, supports = True, not _Litellm.core._deployment_lacks_params(deployment, name, _FILTERED_PARAMS)
        else:
            found = _supports_response_format(base_model or params.get("model", None) or name, params_model)
            if found is None:
                return "pre_call_model_info"
            reads, supports = found
        rpm = params.get("rpm", None)
        checks.ids.append(info.get("id", ""))
        checks.max_input.append(max_input)
        checks.rpm.append(rpm if isinstance(rpm, int) else None)
        checks.response_format.append(supports)
        checks.reads_params.append(reads)
        checks.region.append(region)
    return checks


_UNREADABLE = object()
_FILTERED_PARAMS = frozenset({"response_format"})  # the request params 1.109's check filters by


def _supports_response_format(model: str, params_model: Any) -> tuple[bool, bool] | None:
    """(whether stock's params check reads the request's params for this deployment, whether
    it keeps it for a request setting response_format); None where its lookup raises.
    `params_model`: the deployment's validated LiteLLM_Params, None where validating them
    raised."""
    if params_model is None:  # stock skips the check for this deployment
        return False, True
    litellm = _Litellm.module
    try:
        model, provider, _, _ = litellm.get_llm_provider(model=model, litellm_params=params_model)
    except Exception:  # stock skips the check for this deployment
        return False, True
    try:
        supported = litellm.get_supported_openai_params(model=model, custom_llm_provider=provider)
    except Exception:
        return None
    return supported is not None, supported is None or "response_format" in supported


def _may_be_large(messages: Any, input: Any, request_kwargs: Any) -> bool:
    """Whether the count could exceed _LOOP_COUNT_BOUND: messages of plain text under it
    (one token per UTF-8 byte at most) plus what litellm also counts from the request
    (tools, system, instructions: at most a token per byte of their repr) pass."""
    bound = _router_scores.upper_bound(messages) if input is None else None
    if bound is None:
        return True
    for name in ("tools", "system", "instructions"):
        extra = request_kwargs.get(name) if request_kwargs is not None else None
        if extra is not None:
            bound += 4 * len(extra if type(extra) is str else repr(extra))
    return bound > _LOOP_COUNT_BOUND


def removed(router: Any, checks: GroupChecks, cooled: str, messages: Any, input: Any,
            request_kwargs: Any, read: Any) -> list[int] | str:
    """The positions the checks remove from those not cooling down (`cooled`: theirs,
    `;`-joined), or why stock must select. `read`: the cache read rule
    (_router._unexpired)."""
    region = request_kwargs.get("allowed_model_region") if request_kwargs is not None else None
    if region is not None and (_Litellm.router_module.is_region_allowed is not _Litellm.region_allowed
                               or _Litellm.router_module.LiteLLM_Params is not _Litellm.model_params):
        return "pre_call_region"  # a check or params class other than the one inlined: stock runs it
    cooling = {int(p) for p in cooled.split(";")} if cooled else ()
    remaining = [p for p in range(len(checks.ids)) if p not in cooling]
    if not remaining:
        return []
    countable = not _Litellm.compaction_pending(request_kwargs)
    count = None
    if countable and any(checks.max_input[p] is not None for p in remaining):
        if asyncio._get_running_loop() is not None and _may_be_large(messages, input, request_kwargs):
            return "pre_call_large_prompt"
        try:
            if _Litellm.core is None:
                count = router._count_pre_call_check_tokens(messages=messages, input=input,
                                                            request_kwargs=request_kwargs)
            else:
                served = router.served_openai_models(checks.name)
                if not served:
                    return "pre_call_tokenizer"  # stock asks the candidates: none served by name
                count = router._count_pre_call_check_tokens(
                    messages=messages, input=input, request_kwargs=request_kwargs,
                    tokenizer_model=_Litellm.single_encoding_openai_model(served) or "")
        except Exception:  # stock logs it and keeps every deployment (1.109: skips only this check)
            return "pre_call_count_failed"
    if _Litellm.core is not None:
        return _removed_1109(router, checks, remaining, countable, count, region, request_kwargs)
    store = router.cache.in_memory_cache
    now = store._clock()
    minute = _router_scores.utc_minute(_Litellm.router_module)
    if read(store, f"{checks.name}:rpm:{minute}", now):
        return "pre_call_group_usage"  # a map stock would also update in place
    rpm_checked = router.routing_strategy != "usage-based-routing-v2"
    check_params = request_kwargs is not None and _Litellm.module.drop_params is False
    sets_response_format = None  # read once a deployment lacking support needs it
    out = []
    try:
        for p in remaining:
            limit = checks.max_input[p]
            if countable and limit is not None and count > limit:
                out.append(p)
                continue
            local = read(store, checks.ids[p], now)
            if local is not None and type(local) not in _COUNTS:
                return "unusual_request_count"
            if rpm_checked:
                current = max(local or 0, 0)
                rpm = checks.rpm[p]
                if rpm is not None and rpm <= current:
                    out.append(p)
                    continue
            outside = _outside_region(checks, p, region)
            if outside:
                if type(outside) is str:
                    return outside
                out.append(p)
                continue
            if check_params and checks.reads_params[p]:  # stock reads the params (its comparisons can raise)
                if sets_response_format is None:
                    non_default = _Litellm.module.utils.get_non_default_params(passed_params=request_kwargs)
                    sets_response_format = "response_format" in non_default
                if sets_response_format and not checks.response_format[p]:
                    out.append(p)
    except Exception:  # stock raises it
        return "unusual_pre_call_check"
    if len(out) == len(remaining):
        return "no_deployment_available"  # stock raises its context-window or rate-limit error
    return out


def _outside_region(checks: GroupChecks, p: int, region: Any) -> bool | str:
    """Whether stock's region check removes position `p` (is_region_allowed, inlined); a str
    where stock's validation of its params raises."""
    if region is None:
        return False
    region_name = checks.region[p]
    if region_name is _UNREADABLE:
        return "pre_call_region"
    return not region_name == region


def _removed_1109(router: Any, checks: GroupChecks, remaining: list[int], countable: bool, count: Any,
                  region: Any, request_kwargs: Any) -> list[int] | str:
    """removed() under litellm 1.109's rules: the window and region checks, then the params
    check among what they leave."""
    out = []
    try:
        for p in remaining:
            limit = checks.max_input[p]
            outside = countable and limit is not None and count > limit or _outside_region(checks, p, region)
            if type(outside) is str:
                return outside
            if outside:
                out.append(p)
        # a request param only a non-str response_format sets, only while drop_params is off
        # (asked as stock asks it, on every such request: its comparisons can raise)
        if (request_kwargs is not None and router._host.dynamic().drop_params is False
                and _Litellm.core._pre_call_check_requested_chat_params(request_kwargs)):
            dropped = set(out)
            lacking = [p for p in remaining if p not in dropped and not checks.response_format[p]]
            if lacking and len(lacking) + len(dropped) == len(remaining):
                return "pre_call_params_unsupported"  # stock weighs each deployment's drop settings
            out += lacking
    except Exception:  # stock raises it
        return "unusual_pre_call_check"
    if len(out) == len(remaining):
        return "no_deployment_available"  # stock raises its context-window or no-deployments error
    return out
