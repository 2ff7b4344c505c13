"""latency-, cost- and usage-based selection: litellm's own scoring of litellm's own state.

These strategies keep their inputs in the Router's cache, written by litellm's success and
failure callbacks. latency- and cost-based: per model group a map of deployment id ->
latency samples, time to first token and per-minute requests and tokens; stock's selector
reads that map, adds the candidates it lacks (into the cached object itself: later
samples append to them), shuffles it (latency), drops deployments over their tpm/rpm
limits and takes the lowest latency (a random one within the buffer) or the lowest cost.
usage-based-routing-v2: per deployment a tokens and a requests counter for the current
UTC minute; the selector drops deployments over their limits and picks at random among
those with the fewest tokens used.

What stock spends before its selector runs (the filter pipeline) is what the plan saves;
the candidates come from the component. The scoring stays here, as stock's expressions on
the same Python objects in the same order: its inputs are Python objects litellm's
callbacks keep changing, copying them across the boundary costs more than scoring a group,
and litellm averages with `sum()`, whose float result depends on the Python version.
Every check that can send a selection to stock runs before the first side effect (the
insertion, the draw), so stock then starts from the state it would have started from.
"""

from __future__ import annotations

import operator
from typing import Any

from . import _draws, _overrides

SCORED_STRATEGIES = frozenset({"latency-based-routing", "cost-based-routing", "usage-based-routing-v2",
                               "usage-based-routing"})
_INF = float("inf")  # the object limits() gives for no limit
_REAL = (int, float)
_SCORE = operator.itemgetter(1)  # of (deployment, latency or cost, ...)
_NO_USAGE: dict = {}  # stock's `.get(minute, {})` default, shared: only read
_NO_SAMPLES: list = []  # stock's `.get(key, [])` default, shared: only read
_random = _draws._random


class _Litellm:
    """litellm's strategy modules, resolved by resolve() (install time)."""

    latency: Any = None
    cost: Any = None
    usage: Any = None
    usage_v1: Any = None
    selector_types: dict = {}  # strategy -> litellm's selector class (least-busy's too: selector())
    plain_average: Any = None  # lowest_latency._average_latency, when it is the expression inlined
    # 1.109 keeps latencies under "latency_normalized" and drops samples that cannot be an
    # elapsed time (NaN, infinite, negative: `_usable_latency_samples`) before averaging
    latency_key = "latency"
    usable_samples: Any = None  # lowest_latency._usable_latency_samples, on 1.109, when litellm's own
    metadata_field, old_metadata_field = "litellm_metadata", "metadata"

    @classmethod
    def resolve(cls) -> None:
        from litellm.constants import LITELLM_METADATA_FIELD, OLD_LITELLM_METADATA_FIELD
        from litellm.router_strategy import least_busy, lowest_cost, lowest_latency, lowest_tpm_rpm, lowest_tpm_rpm_v2

        cls.metadata_field, cls.old_metadata_field = LITELLM_METADATA_FIELD, OLD_LITELLM_METADATA_FIELD
        cls.usage, cls.usage_v1 = lowest_tpm_rpm_v2, lowest_tpm_rpm
        cls.latency, cls.cost = lowest_latency, lowest_cost
        average = getattr(lowest_latency, "_average_latency", None)
        cls.plain_average = average if _same_code(average, _average_latency) else None
        usable = getattr(lowest_latency, "_usable_latency_samples", None)
        cls.latency_key = "latency" if usable is None else "latency_normalized"
        own = (getattr(usable, "__module__", None) == lowest_latency.__name__
               and getattr(getattr(usable, "__code__", None), "co_filename", None) == lowest_latency.__file__)
        cls.usable_samples = usable if own else None
        cls.selector_types = {"latency-based-routing": lowest_latency.LowestLatencyLoggingHandler,
                              "cost-based-routing": lowest_cost.LowestCostLoggingHandler,
                              "usage-based-routing-v2": lowest_tpm_rpm_v2.LowestTPMLoggingHandler_v2,
                              "usage-based-routing": lowest_tpm_rpm.LowestTPMLoggingHandler,
                              "least-busy": least_busy.LeastBusyLoggingHandler}  # (picked in the component)


# litellm 1.106's lowest_latency._average_latency (no docstring: it would be a constant of
# the code compared), which pick_latency inlines when the installed one compiles alike
def _average_latency(samples: Any) -> float:
    if not samples:
        return 0.0
    return sum(samples) / len(samples)


def _same_code(function: Any, reference: Any) -> bool:
    code, expected = getattr(function, "__code__", None), reference.__code__
    if code is None:
        return False
    consts = [(type(c), repr(c)) for c in code.co_consts]  # not ==: 0.0 == 0 == -0.0 == False
    return (code.co_code, code.co_names, code.co_varnames, consts) == (
        expected.co_code, expected.co_names, expected.co_varnames, [(type(c), repr(c)) for c in expected.co_consts])


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
    """What in litellm's latency-, cost- and usage-based strategies differs from the tested
    shape."""
    try:
        from litellm.router_strategy import lowest_cost, lowest_latency, lowest_tpm_rpm as usage_v1
        from litellm.router_strategy import lowest_tpm_rpm_v2 as usage

        needed = [(lowest_latency, "LowestLatencyLoggingHandler"), (lowest_latency, "_average_latency"),
                  (lowest_latency, "_percentile_latency"), (lowest_latency, "token_counter"),
                  (lowest_latency, "datetime"), (lowest_cost, "LowestCostLoggingHandler"),
                  (lowest_cost, "_deployment_cost_map_rates"), (lowest_cost, "token_counter"),
                  (lowest_cost, "datetime"), (usage, "LowestTPMLoggingHandler_v2"), (usage, "token_counter"),
                  (usage, "get_utc_datetime"), (usage_v1, "LowestTPMLoggingHandler"),
                  (usage_v1, "token_counter"), (usage_v1, "datetime")]
        return [f"{module.__name__}.{name} not found" for module, name in needed if not hasattr(module, name)]
    except Exception as exc:
        return [f"{type(exc).__name__}: {exc}"]


def selector(router: Any, strategy: str) -> Any:
    """litellm's own selector of this strategy on this Router, or None if it (or one of its
    selection methods) was replaced."""
    found = getattr(router, router._DEFAULT_SELECTOR_ATTR_BY_STRATEGY[strategy], None)
    expected = _Litellm.selector_types[strategy]
    if (type(found) is not expected or not _overrides.selector_own(found)
            or found.router_cache.in_memory_cache is None):
        return None
    return found


def limits(deployment: dict) -> tuple[Any, Any]:
    """A deployment's tpm and rpm limits, as both selectors read them."""
    tpm = (deployment.get("tpm", None) or deployment.get("litellm_params", {}).get("tpm", None)
           or deployment.get("model_info", {}).get("tpm", None) or _INF)
    rpm = (deployment.get("rpm", None) or deployment.get("litellm_params", {}).get("rpm", None)
           or deployment.get("model_info", {}).get("rpm", None) or _INF)
    return tpm, rpm


def usage_limits(deployment: dict) -> tuple[Any, Any]:
    """A deployment's tpm and rpm limits as usage-based-routing-v2 reads them (unset is
    None there, where the other selectors take any false value for unset)."""
    out = []
    for metric in ("tpm", "rpm"):
        limit = deployment.get(metric)
        if limit is None:
            limit = deployment.get("litellm_params", {}).get(metric)
        if limit is None:
            limit = deployment.get("model_info", {}).get(metric)
        out.append(_INF if limit is None else limit)
    return out[0], out[1]


def usage_key_prefix(deployment: dict) -> str | None:
    """`{id}:{model}`, the start of the deployment's usage counter keys; None for an id
    the selector's `key.split(":")[0]` would cut."""
    dep_id = deployment.get("model_info", {}).get("id")
    if ":" in dep_id:
        return None
    return f"{dep_id}:{deployment.get('litellm_params', {}).get('model')}"


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
    """latency- and cost-based routing's per-minute key, from one clock read (they read the
    clock three times: at a minute's turn, within microseconds, theirs can mix two minutes)."""
    return _minute_key(module.datetime.now(), "%Y-%m-%d-%H-%M")


def utc_minute(module: Any) -> str:
    """usage-based-routing-v2's minute key (`%H-%M` in UTC)."""
    return _minute_key(module.get_utc_datetime(), "%H-%M")


def _minute_key(now: Any, form: str) -> str:
    """`now.strftime(form)` for a form with no unit below the minute, formatted once per
    minute: strftime is most of the cost."""
    fields = (now.minute, now.hour, now.day, now.month, now.year)
    last = _minute_keys.get(form)  # one read: another thread may replace it meanwhile
    if last is None or fields != last[0]:
        last = _minute_keys[form] = (fields, now.strftime(form))
    return last[1]


_minute_keys: dict = {}  # form -> ((minute, hour, day, month, year), the key formatted)


def _stored_map(cache: Any, key: str, read: Any) -> Any:
    """The group's map as `get_cache(key) or {}` gives it: the cached object itself, or
    None when stock would start from a fresh dict; a str when stock would read something
    else (a value it JSON-decodes, or not a dict)."""
    value = read(cache, key, cache._clock())
    if not value:
        return None
    return value if type(value) is dict else "unusual_usage_entry"


class _Tokens:
    """The request's token count where a tpm limit needs it. Stock counts it first,
    catches any error as 0, and compares it only with tpm limits: a limit of inf needs no
    count, and a deployment whose usage plus an upper bound of the count stays within its
    limit needs none either (the count is at most the bound, so it fits too)."""

    __slots__ = ("module", "messages", "input", "value", "bound")

    def __init__(self, module: Any, messages: Any, input: Any) -> None:
        self.module, self.messages, self.input, self.value, self.bound = module, messages, input, None, -1

    def count(self) -> Any:
        if self.value is None:
            try:
                self.value = self.module.token_counter(messages=self.messages, text=self.input)
            except Exception:
                self.value = 0
        return self.value

    def upper(self) -> int | None:
        """An upper bound of the count, or None."""
        if self.bound == -1:
            self.bound = upper_bound(self.messages) if self.input is None else None
        return self.bound

    def over(self, used: Any, limit: Any) -> bool:
        """Stock's `used + input_tokens > limit`."""
        if limit == _INF:
            return used + 0 > limit  # False for any count (and raises where stock's does)
        bound = self.upper()
        if bound is not None and used + bound <= limit:
            return False
        return used + self.count() > limit


def upper_bound(messages: Any) -> int | None:
    """At least litellm's `token_counter(messages=messages)` for the default tokenizer, or
    None where no bound is this simple. Messages of str values only: 3 for the reply, at
    most 4 per message, and per value at most one token per UTF-8 byte (BPE tokens are
    byte sequences; litellm's extrapolation of long texts scales a sample's count, which
    keeps that rate), 4 bytes per character at most, plus 1 for a name."""
    if type(messages) is not list:
        return None
    total = 3
    for message in messages:
        if type(message) is not dict:
            return None
        total += 4
        for value in message.values():
            if type(value) is str:
                total += 4 * len(value) + 1
            elif value is not None:
                return None
    return total


def _entries(stored: Any, candidates: dict, new_entry: Any) -> tuple[list, dict]:
    """The map's entries as stock iterates them once it has added the missing candidates
    (added in candidate order), and those additions."""
    if stored is not None and stored.keys() >= candidates.keys():  # the common case: none to add
        return list(stored.items()), {}
    missing = {dep_id: new_entry() for dep_id in candidates if stored is None or dep_id not in stored}
    return (list(stored.items()) if stored is not None else []) + list(missing.items()), missing


def _add_missing(stored: Any, missing: dict) -> None:
    """Stock's insertion of the candidates the cached map lacks (none into a fresh map: it
    is not cached). Not update(): an entry a callback added meanwhile is kept."""
    if stored is not None:
        for dep_id, entry in missing.items():
            stored.setdefault(dep_id, entry)


def _candidate_entries(entries: list, candidates: dict) -> Any:
    """(id, entry, candidate) for the map's entries of candidates, in the map's order; a
    TypeError for an entry that is not a dict (stock raises reading it)."""
    for dep_id, item_map in entries:
        candidate = candidates.get(dep_id)
        if candidate is not None:
            if type(item_map) is not dict:
                raise TypeError(f"usage entry of {dep_id!r} is a {type(item_map).__name__}")
            yield dep_id, item_map, candidate


def candidates_by_id(model_list: list, group: Any, positions: list[int]) -> dict:
    """id -> (deployment, (tpm limit, rpm limit), cost or usage key prefix) of the
    candidates, in group order."""
    ids, indices, limits, reads = group.ids, group.indices, group.limits, group.reads or None
    return {ids[p]: (model_list[indices[p]], limits[p], reads[p] if reads else None) for p in positions}


def _usage(item_map: dict, minute: str) -> tuple[Any, Any]:
    this_minute = item_map.get(minute, {})
    return this_minute.get("rpm", 0), this_minute.get("tpm", 0)


def _over(tokens: _Tokens, tpm: Any, rpm: Any, limits: tuple) -> bool:
    """Stock's `item_tpm + input_tokens > tpm_limit or item_rpm + 1 > rpm_limit`."""
    tpm_limit, rpm_limit = limits
    if tpm_limit is _INF:
        return tpm + 0 > tpm_limit or rpm + 1 > rpm_limit  # inf: no count can exceed it
    return tokens.over(tpm, tpm_limit) or rpm + 1 > rpm_limit


def pick_latency(selector: Any, cache: Any, group: Any, candidates: dict, request_kwargs: Any, messages: Any,
                 input: Any, read: Any) -> Any:
    """latency-based-routing's pick among `candidates` (candidates_by_id), or why stock
    must pick. `cache`: the selector's in-memory cache; `read`: the cache read rule
    (_router._unexpired)."""
    module, args = _Litellm.latency, selector.routing_args
    stored = _stored_map(cache, group.usage_key, read)
    if type(stored) is str:
        return stored
    minute = _minute(module)
    key = _Litellm.latency_key
    filtered = key == "latency_normalized"  # 1.109 scores only samples that can be an elapsed time
    usable = getattr(module, "_usable_latency_samples", None) if filtered else None
    if filtered and usable is None:
        return "unusual_latency"  # stock's call raises
    inline_usable = usable is not None and usable is _Litellm.usable_samples  # litellm's own: inlined for floats
    entries, missing = _entries(stored, candidates, lambda: {key: [0], minute: {"tpm": 0, "rpm": 0}})
    stream = request_kwargs is not None and request_kwargs.get("stream", None) is True
    read_ttft = stream or usable is not None  # what stock does with them otherwise has no effect
    percentile, average = args.ttft_percentile, module._average_latency
    names = vars(module)  # the inlined average uses the builtins sum and len: a module global would shadow them
    inline_average = average is _Litellm.plain_average and "sum" not in names and "len" not in names
    field = _metadata_field(request_kwargs)
    write = field is not None and field in request_kwargs
    if write and type(request_kwargs[field]) is not dict:
        return "unusual_request_kwargs"  # stock writes into it
    scores = [None] * len(entries)  # by map position: (deployment, latency, within limits)
    lowest = None  # the lowest latency within limits
    tokens = None  # the request's _Tokens, once a tpm limit needs them
    bound = -1  # tokens.upper()
    all_floats = True  # every latency a float (an int buffer then gives tied ones one cutoff)
    candidate_of = candidates.get
    try:
        for position, (dep_id, item_map) in enumerate(entries):  # _candidate_entries, _usage and
            candidate = candidate_of(dep_id)  # _over inline: this loop is most of a selection
            if candidate is None:
                continue
            if type(item_map) is not dict:
                return "unusual_usage_entry"
            this_minute = item_map.get(minute, _NO_USAGE)
            rpm, tpm = this_minute.get("rpm", 0), this_minute.get("tpm", 0)
            if read_ttft:
                ttft = item_map.get("time_to_first_token_seconds", _NO_SAMPLES)
                if usable is not None and (ttft or type(ttft) is not list):
                    ttft = usable(ttft)  # stock filters them on every read, streaming or not (and raises alike)
            if stream and len(ttft) > 0:
                latency = (module._percentile_latency(ttft, percentile) if percentile is not None
                           else average(ttft))
            else:
                samples = item_map.get(key, _NO_SAMPLES)
                if inline_usable:
                    # usable()'s answer where every sample is a float (for floats, isfinite and
                    # >= 0 is this one comparison); else its own (and its exceptions)
                    kept = [x for x in samples if type(x) is float and 0.0 <= x < _INF]
                    samples = kept if len(kept) == len(samples) else usable(samples)
                elif usable is not None:
                    samples = usable(samples)
                if inline_average:  # litellm's _average_latency
                    latency = sum(samples) / len(samples) if samples else 0.0
                else:
                    latency = average(samples)
            if type(latency) is not float:
                if type(latency) not in _REAL:
                    return "unusual_latency"  # stock's sort or pick would raise or misorder
                all_floats = False
            if latency != latency:
                return "unusual_latency"  # NaN: stock's sort misorders
            tpm_limit, rpm_limit = candidate[1]
            if tpm_limit is _INF:
                over = tpm + 0 > tpm_limit  # no count exceeds it (and this raises where stock's does)
            else:
                if tokens is None:
                    tokens = _Tokens(module, messages, input)
                    bound = tokens.upper()
                over = not (bound is not None and tpm + bound <= tpm_limit) and tokens.over(tpm, tpm_limit)
            fits = not (over or rpm + 1 > rpm_limit)
            scores[position] = (candidate[0], latency, fits)
            if fits and (lowest is None or latency < lowest):
                lowest = latency
    except Exception:
        return "unusual_usage_entry"  # stock raises it, from its own state
    if lowest is None:
        return "no_deployment_available"  # stock raises its no-deployments error
    buffer = args.lowest_latency_buffer
    cutoff = lowest + buffer * lowest
    if not lowest <= cutoff:
        return "unusual_latency"  # none within the buffer: stock's pick raises (1.109: picks among all)
    if type(buffer) is not float and not all_floats:
        # stock's cutoff comes from the first lowest in shuffled order: equal latencies of
        # other types (1 and 1.0) can give other cutoffs with a buffer that is not a float
        # (equal floats give one: only 0.0 and -0.0 differ, and their cutoffs compare alike)
        tied = {x + buffer * x for x in [s[1] for s in scores if s is not None and s[2] and s[1] == lowest]}
        if len(tied) > 1:
            return "unusual_latency"
    # the side effects, in stock's order: the additions, the shuffle, the pick
    if missing:
        _add_missing(stored, missing)
    # stock sorts those within limits (stable: ties in shuffled order) and draws among the
    # ones within the buffer: the same list as those within the buffer, sorted
    within = [score for score in scores if score is not None and score[2] and score[1] <= cutoff]
    per_api_base = {}
    if len(within) == 1 and not write:  # one within the buffer, nothing to write: order is moot
        _draws.sample_draws(len(entries))
    else:
        within = []
        for position in _draws.sample_order(len(entries)):
            score = scores[position]
            if score is None:
                continue
            if write:
                api_base = score[0].get("litellm_params", {}).get("api_base", "")
                if api_base is not None:
                    per_api_base[api_base] = score[1]
            if score[2] and score[1] <= cutoff:
                within.append(score)
        within.sort(key=_SCORE)
    deployment = within[_draws.choice_index(len(within))][0]
    if write:
        request_kwargs[field]["_latency_per_deployment"] = per_api_base
    return deployment


def pick_cost(cache: Any, group: Any, candidates: dict, messages: Any, input: Any, read: Any) -> Any:
    """cost-based-routing's pick among `candidates` (candidates_by_id; the cheapest
    within its limits, the first in the map's order among equals), or why stock must pick."""
    module = _Litellm.cost
    stored = _stored_map(cache, group.usage_key, read)
    if type(stored) is str:
        return stored
    minute = _minute(module)
    entries, missing = _entries(stored, candidates, lambda: {minute: {"tpm": 0, "rpm": 0}})
    tokens = _Tokens(module, messages, input)
    potential = []
    try:
        for _, item_map, candidate in _candidate_entries(entries, candidates):
            rpm, tpm = _usage(item_map, minute)
            if not _over(tokens, tpm, rpm, candidate[1]):
                potential.append((candidate[0], candidate[2]))
        ranked = sorted(potential, key=_SCORE)
    except Exception:
        return "unusual_usage_entry"  # stock raises it, from its own state
    if not ranked:
        return "no_deployment_available"  # stock raises its no-deployments error
    _add_missing(stored, missing)
    return ranked[0][0]


def pick_usage(cache: Any, candidates: dict, messages: Any, input: Any, read: Any) -> Any:
    """usage-based-routing-v2's pick among `candidates` (candidates_by_id): at random
    among those within their limits with the fewest tokens used this UTC minute."""
    module = _Litellm.usage
    minute = utc_minute(module)
    now = cache._clock()
    tokens = _Tokens(module, messages, input)
    lowest, potential = _INF, []
    try:
        for deployment, limits, prefix in candidates.values():
            tpm = read(cache, f"{prefix}:tpm:{minute}", now)
            rpm = read(cache, f"{prefix}:rpm:{minute}", now)
            if type(tpm) not in _COUNTS or type(rpm) not in _COUNTS:
                return "unusual_usage_entry"  # stock's read would decode it or raise
            if tpm is None:
                tpm = 0
            tpm_limit, rpm_limit = limits
            if tokens.over(tpm, tpm_limit) or (rpm is not None and rpm + 1 >= rpm_limit):
                continue
            if tpm == lowest:
                potential.append(deployment)
            elif tpm < lowest:
                lowest, potential = tpm, [deployment]
    except Exception:
        return "unusual_usage_entry"  # stock raises it, from its own state
    if not potential:
        return "no_deployment_available"  # stock raises its no-deployments error
    return _random.choice(potential)


_COUNTS = (int, float, type(None))


def pick_usage_v1(cache: Any, group: Any, candidates: dict, messages: Any, input: Any, read: Any) -> Any:
    """usage-based-routing (v1)'s pick among `candidates` (candidates_by_id): the first, in
    the group's tokens map order, of those within their limits with the fewest tokens used
    this minute (local time). Stock adds the candidates the cached map lacks (0 tokens)
    into the cached object itself."""
    module = _Litellm.usage_v1
    minute = _minute_key(module.datetime.now(), "%H-%M")
    now = cache._clock()
    stored = read(cache, f"{group.usage_key}:tpm:{minute}", now)
    requests = read(cache, f"{group.usage_key}:rpm:{minute}", now)
    if (stored is not None and type(stored) is not dict) or (requests is not None and type(requests) is not dict):
        return "unusual_usage_entry"  # stock's read would decode it, or its loop read it oddly
    entries, missing = _entries(stored, candidates, int)
    tokens = _Tokens(module, messages, input)
    lowest, picked = _INF, None
    try:
        for dep_id, used in entries:
            candidate = candidates.get(dep_id)
            if candidate is None:
                continue
            sent = requests.get(dep_id, 0) if requests is not None else 0
            if type(used) not in _REAL or type(sent) not in _REAL or used != used or sent != sent:
                return "unusual_usage_entry"  # stock compares it as it is, or raises
            tpm_limit, rpm_limit = candidate[1]
            if tokens.over(used, tpm_limit) or (requests is not None and dep_id in requests
                                                and sent + 1 >= rpm_limit):
                continue
            if used < lowest:
                lowest, picked = used, candidate[0]
    except Exception:
        return "unusual_usage_entry"  # stock raises it, from its own state
    if picked is None:
        return "no_deployment_available"  # stock raises its no-deployments error
    _add_missing(stored, missing)
    return picked


def _metadata_field(request_kwargs: Any) -> str | None:
    """CustomLogger._select_metadata_field (where the latency selector writes)."""
    if request_kwargs is None:
        return None
    return _Litellm.metadata_field if _Litellm.metadata_field in request_kwargs else _Litellm.old_metadata_field
