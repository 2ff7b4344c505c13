"""litellm's token counting, encode and decode, served by the component.

Each function has the exact signature of the litellm function it stands in for. It
serves what the component computes exactly and hands everything else to litellm's own
function (kept in `ORIGINALS` by the patcher) with the reason counted: HuggingFace
tokenizers, custom tokenizers, inputs litellm raises on, content the component does not
model, images litellm would download. A trap in the component is counted, the instance is
rebuilt on the next call, and this call is served by litellm.
"""

from __future__ import annotations

import array
import json
import logging
import threading
from typing import Any, Callable

from . import _settings
from ._component import COMPONENT, ENCODINGS, ComponentUnavailable
from ._flags import FLAGS, SHADOW
from ._metrics import COMPONENT_NAME, FLUSH_AT as _FLUSH_AT, METRICS, input_size
from ._stats import STATS
from marshal import dumps as _marshal
from time import perf_counter_ns

FEATURE = "rust_token_counting"

log = logging.getLogger("fast_litellm")

# litellm's own functions, filled in by _patch before any of ours is reachable.
ORIGINALS: dict[str, Callable[..., Any]] = {}



def _not_json(value: Any) -> Any:
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _make_dumps() -> Callable[[Any], str]:
    """`json.dumps(obj, ensure_ascii=False, separators=(",", ":"))`, minus the encoder that
    `json` builds anew on every call (a third of the cost for a short chat).

    ensure_ascii=False keeps non-ASCII text short; lone surrogates then fail to encode to
    UTF-8 and the request goes back to litellm, which has its own rules for them. Without
    a circular-reference check a cycle ends in RecursionError, which also goes back."""
    from json import encoder

    c_make_encoder = getattr(encoder, "c_make_encoder", None)
    if c_make_encoder is None:  # no C accelerator: the plain route
        plain = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
        return plain
    iterencode = c_make_encoder(
        None, _not_json, encoder.encode_basestring, None, ":", ",", False, False, True
    )
    join = "".join

    def dumps(obj: Any) -> str:
        return join(iterencode(obj, 0))

    return dumps


_dumps = _make_dumps()

# count-request's negative codes (wit/world.wit).
_REASONS = {
    -1: "unexpected_input",
    -2: "litellm_raises_or_formats",
    -3: "content_not_modelled",
    -4: "image_needs_download",
    -5: "tools_not_modelled",
}


class _Plan:
    """How litellm counts for one model name: encoding and per-message constants, whether
    its chat template formats tools (1.109+: litellm counts those its own way), and the
    facts of litellm's model lists they were read from (`basis`)."""

    __slots__ = ("encoding", "per_message", "per_name", "reason", "tool_section", "basis")

    def __init__(self, encoding: int = 0, per_message: int = 3, per_name: int = 1, reason: str | None = None):
        self.encoding, self.per_message, self.per_name, self.reason = encoding, per_message, per_name, reason
        self.tool_section = False
        self.basis: tuple = ()


_plans: dict[str, _Plan] = {}
_NOT_A_STRING = _Plan(reason="model_not_a_string")


_litellm_module: Any = None


def _litellm() -> Any:
    global _litellm_module
    if _litellm_module is None:
        import litellm

        _litellm_module = litellm
    return _litellm_module


def _basis(model: str) -> tuple:
    """All litellm's choice of tokenizer for `model` reads besides the name itself
    (`_fix_model_name`, `huggingface_tokenizer_kind`): its membership of litellm's model
    lists and the download switch. Compared per call: users edit those lists in place.
    litellm 1.109 picks the encoding from far more (cost-map entries of every suffix of
    the name, a scan of the OpenAI list: `register_model` can move a name to o200k), so
    there the encoding litellm names is asked on every count and compared too (2-4 us
    for common names): exact whatever was edited, where a fingerprint of those maps was not."""
    litellm = _litellm()
    basis = (model in litellm.open_ai_chat_completion_models, model in litellm.azure_llms,
             model in litellm.anthropic_models, model in litellm.cohere_models,
             litellm.disable_hf_tokenizer_download)
    if _encoding_from_cost_map is not None:
        return basis + (_encoding_from_cost_map(model),)
    return basis


# litellm's openai_tokenizer_encoding_name, on releases where it reads the cost map (1.109+); set by learn_release
_encoding_from_cost_map: Callable[[str], str] | None = None


def _resolve(model: str) -> _Plan:
    """Ask litellm's own functions which tokenizer and constants it uses for `model`."""
    import litellm
    from litellm.litellm_core_utils import token_counter as core
    from litellm.utils import huggingface_tokenizer_kind

    if litellm.disable_hf_tokenizer_download is not True and huggingface_tokenizer_kind(model) is not None:
        return _Plan(reason="huggingface_tokenizer")
    name = core.openai_tokenizer_encoding_name(model)
    if name not in ENCODINGS:
        return _Plan(reason=f"encoding_{name}")
    plan = _Plan(ENCODINGS.index(name), 4, -1) if core.uses_legacy_message_accounting(model) else \
        _Plan(ENCODINGS.index(name), 3, 1)
    tool_section = core.__dict__.get("chat_template_tool_section")  # 1.109+: depends on the name only
    plan.tool_section = tool_section is not None and tool_section(model) is not None
    return plan


# count-request flag bits (wit/world.wit) for what the installed litellm release does:
# bit 2 when it reads inline images in "auto" detail (1.109+). Set by learn_release.
RELEASE_FLAGS = 0


def learn_release() -> None:
    """Read, from the installed litellm's own code, what it counts differently by release
    (called by _patch.apply before anything is served)."""
    global RELEASE_FLAGS, _encoding_from_cost_map
    from litellm.litellm_core_utils import token_counter as core

    RELEASE_FLAGS = 4 if "_auto_image_dimensions" in core.__dict__ else 0
    _encoding_from_cost_map = core.openai_tokenizer_encoding_name if "_cost_map_entry" in core.__dict__ else None
    _plans.clear()


def plan_for(model: Any) -> _Plan:
    if type(model) is not str:  # before any lookup: an unhashable model raises litellm's error there
        return _NOT_A_STRING
    try:
        basis = _basis(model)
    except Exception as exc:  # litellm changed under us: let it answer
        return _Plan(reason=f"model_lookup_failed:{type(exc).__name__}")
    plan = _plans.get(model)
    if plan is None or plan.basis != basis:
        try:
            plan = _resolve(model)
        except Exception as exc:
            plan = _Plan(reason=f"model_lookup_failed:{type(exc).__name__}")
        plan.basis = basis
        if len(_plans) < 4096:
            _plans[model] = plan
    return plan


# Content the component does not model (src/messages.rs returns -3 for them). Told here,
# before any serialising: a component call ahead of litellm's own measured 40 us on a
# 76 us request (the call, and litellm's code running slower right after it).
_UNMODELLED_BLOCKS = frozenset({"image", "document", "file", "tool_use", "tool_result"})
_LIST_TESTED = frozenset({"content", "tool_calls", "search_results"})  # isinstance(value, list) in litellm
_SCALARS = frozenset({str, type(None), int, float, bool})


def _plain(value: Any) -> bool:
    """Whether `value` is built of exact builtin types only. JSON writes a subclass (a str
    or int Enum, a namedtuple) as its base value, while litellm formats some with str() or
    tests isinstance(list): those go to litellm. marshal refuses every subclass, in C
    (a walk in Python cost 3 us on a short chat, 11 us on three tools)."""
    if type(value) in _SCALARS:
        return True
    try:
        _marshal(value, 2)
    except ValueError:  # a subclass, an object of no builtin type, nesting past its limit
        return False
    return True


def _messages_for_component(messages: Any) -> list | str | None:
    """The messages as litellm would walk them; a hand-off reason for content only
    litellm counts; None if only litellm can tell."""
    if type(messages) is not list and type(messages) is not tuple:
        return None
    long_texts = False
    parts = False  # a value of other than a scalar type (content parts, tool calls)
    for m in messages:
        if type(m) is not dict:
            return _converted_messages(messages)
        for key, value in m.items():  # one pass: the checks below, and _plain inline
            kind = type(value)
            if type(key) is not str:
                return None
            if kind in _SCALARS:
                if kind is str and len(value) > LONG_TEXT:
                    long_texts = True
                continue
            parts = True
            if kind is dict and key == "provider_specific_fields" and value.get("compaction_blocks"):
                return "content_not_modelled"  # counted by litellm 1.109+, skipped by 1.106
            if kind is list:
                if key == "search_results":
                    return "content_not_modelled"
                if key == "content":
                    for block in value:
                        # a type of another kind (a dict cannot be looked up): the component hands it back
                        if (type(block) is dict and type(block.get("type")) is str
                                and block["type"] in _UNMODELLED_BLOCKS):
                            return "content_not_modelled"
            elif kind is tuple and key in _LIST_TESTED:
                return None  # litellm tests isinstance(value, list): JSON would make it one
            if not _plain(value):
                return None
    return _NotPlain(messages, long_texts) if long_texts or parts else messages


class _NotPlain:
    """Walked messages holding more than short strings and other scalars: content parts
    (images, counted with litellm's image constants) or strings of over LONG_TEXT chars
    (see _long_text_count; past litellm's exact limit, extrapolated)."""

    __slots__ = ("messages", "long_texts")

    def __init__(self, messages: Any, long_texts: bool) -> None:
        self.messages = messages
        self.long_texts = long_texts


def _prepared_messages(messages: Any, encoding: int) -> tuple[Any, int] | str | None:
    """The messages to send and the tokens counted apart from them (long texts), a
    hand-off reason, or None if only litellm can tell."""
    walked = _messages_for_component(messages)
    if walked is None or type(walked) is str:
        return walked
    if type(walked) is not _NotPlain:
        return walked, 0
    if not _settings_current():  # before anything is counted with them
        return "unsupported_setting"
    if not walked.long_texts:
        return walked.messages, 0
    apart = 0
    sent = []
    for m in walked.messages:
        copy = None
        for key, value in m.items():
            # litellm counts any str value but these two by count(value) alone ("name"
            # adds its bonus whatever the text): "" in its place counts 0
            if type(value) is str and len(value) > LONG_TEXT and key not in _COUNTED_OTHERWISE:
                counted = _long_text_count(encoding, value)
                if type(counted) is not int:
                    return counted
                apart += counted
                if copy is None:
                    copy = dict(m)
                copy[key] = ""
        sent.append(m if copy is None else copy)
    return sent, apart


_COUNTED_OTHERWISE = frozenset({"tool_calls", "function_call"})

# Strings over LONG_TEXT chars (an agent's system prompt of tens of KB comes with every
# request) are counted apart from the request, through count-text: written into the
# request's JSON, a 40 KB prompt cost 310 us to serialise and 110 us more to pass and look
# up. Their counts are remembered from a text's second sighting (the first leaves a hash,
# in a bounded set), by encoding and text: Python keeps a str's hash on the object, so
# the same prompt object costs one dict lookup. Bounded by chars held; emptied when full
# and when litellm's count settings are pushed again (_patch.apply).
LONG_TEXT = 8192
_LONG_COUNTS_MAX_CHARS = 16 << 20
_long_seen: set[int] = set()
_long_counts: dict[tuple[int, str], int] = {}
_long_counts_chars = 0
# Keeps each memo's size counter true to its contents when threads insert at once.
_memo_lock = threading.Lock()


def _long_text_count(encoding: int, text: str) -> int | str:
    global _long_counts_chars
    key = (encoding, text)
    counted = _long_counts.get(key)
    if counted is not None:
        return counted
    generation = _settings.generation
    counted = _call("token_counter", COMPONENT.count_text, encoding, text)
    if type(counted) is not int:
        return counted
    if len(text) > _LONG_COUNTS_MAX_CHARS // 4:
        return counted  # one text must not take the memo's room from the others
    sighting = hash(key)
    with _memo_lock:  # taken on a text's first two sightings only
        if generation != _settings.generation:
            return counted  # counted under settings pushed over since: not remembered
        if sighting in _long_seen:
            if _long_counts_chars + len(text) > _LONG_COUNTS_MAX_CHARS:
                _long_counts.clear()
                _long_counts_chars = 0
            _long_counts[key] = counted
            _long_counts_chars += len(text)
        else:
            if len(_long_seen) >= 4096:
                _long_seen.clear()
            _long_seen.add(sighting)
    return counted


def _converted_messages(messages: Any) -> list | str | None:
    """Pydantic Message objects, converted by litellm's own function as it would."""
    from litellm.utils import convert_list_message_to_dict

    try:
        converted = convert_list_message_to_dict(messages)
    except Exception:
        return None
    if any(type(m) is not dict for m in converted):
        return None
    return _messages_for_component(converted)


def token_counter(
    model="",
    custom_tokenizer=None,
    text=None,
    messages=None,
    count_response_tokens=False,
    tools=None,
    tool_choice=None,
    use_default_image_token_count=False,
    default_token_count=None,
):
    started = perf_counter_ns()
    args = (model, custom_tokenizer, text, messages, count_response_tokens, tools, tool_choice,
            use_default_image_token_count, default_token_count)
    route = FLAGS.route(FEATURE)
    result = route if isinstance(route, str) else _serve_token_counter(*args)
    return _finish("token_counter", route, result, args, started)


_series: dict = {}  # operation (accelerated path) or (operation, path) -> series id
_stats_lock, _served = STATS.served_fast()
# The size of the request the component just served (characters of its JSON or text),
# kept per thread so the metrics sample does not walk the messages a second time.
_served_size = threading.local()
_samples = METRICS.buffer
# Calls served by the component, and calls handed to litellm that succeed, are timed 1 in
# 8 per operation and path, each sample weighted 8 (the packed flags: ok, weight - 1 above
# it): timing every served call cost 6-7% of a short chat, over the 5% budget, and a
# hand-off pays for routing already. Failures and shadow-mode calls are each timed. The
# countdowns are not locked: threads racing on one can shift a sample by a call. Exact
# counts: STATS.
SAMPLE_EVERY = 8
_SERVED_SAMPLE_FLAGS = 1 | (SAMPLE_EVERY - 1) << 1
_until_timed: dict[str, int] = {}  # per operation, served calls; absent: time the next one
_until_timed_handoff: dict[str, int] = {}  # per operation, successful hand-offs


def restart_sampling() -> None:
    """Time the next call of each operation and path (after a reset, counts follow calls
    from zero)."""
    _until_timed.clear()
    _until_timed_handoff.clear()


def _sample(operation: str, path: str, ok: bool, started: int, args: tuple, weight: int = 1) -> None:
    """One latency sample (metrics on), standing for `weight` calls: buffered, sent to the
    component in batches."""
    key = (operation, path)
    sid = _series.get(key)
    if sid is None:
        sid = _series[key] = METRICS.series(COMPONENT_NAME, operation, path)
    METRICS.sample(sid, ok, started, input_size(operation, args), weight)


def _finish(operation: str, route: int | str, result: Any, args: tuple, started: int) -> Any:
    """Serve `result`, or hand the call to litellm; shadow mode compares the two."""
    failed = type(result) is HandOff and result == "component_error"
    if failed:
        FLAGS.record(FEATURE, ok=False)
    # a reason: any str, except decode's served text (its reasons are HandOffs)
    if isinstance(result, str) and (operation != "decode" or type(result) is HandOff):
        STATS.handed_off(operation, result)
        answer = ORIGINALS[operation](*args)
        if METRICS.enabled:
            if failed:
                _sample(operation, "litellm", False, started, args)
            else:
                left = _until_timed_handoff.get(operation, 1) - 1
                if left <= 0:
                    left = SAMPLE_EVERY
                    _sample(operation, "litellm", True, started, args, SAMPLE_EVERY)
                _until_timed_handoff[operation] = left
        return answer
    if route == SHADOW:
        if METRICS.enabled:
            _sample(operation, "accelerated", True, started, args)
        return _shadow(operation, result, args)
    if FLAGS.probing:  # a half-open breaker counts successful probes
        FLAGS.record(FEATURE, ok=True)
    with _stats_lock:
        _served[operation] += 1
    left = _until_timed.get(operation, 1) - 1
    if left <= 0 and METRICS.enabled:  # the hot path's sample, inlined
        left = SAMPLE_EVERY
        sid = _series.get(operation)
        if sid is None:
            sid = _series[operation] = METRICS.series(COMPONENT_NAME, operation, "accelerated")
        _samples.extend((sid, _SERVED_SAMPLE_FLAGS, perf_counter_ns() - started, _served_size.value))
        if len(_samples) >= _FLUSH_AT:
            METRICS.flush_quietly()
    _until_timed[operation] = left
    return result


def _shadow(operation: str, accelerated: Any, args: tuple) -> Any:
    """Serve litellm's answer; record the component's when it differs."""
    STATS.handed_off(operation, "shadow")
    started = perf_counter_ns()
    try:
        expected = ORIGINALS[operation](*args)
    except Exception as exc:
        FLAGS.record_mismatch(FEATURE, _describe(operation, args), accelerated, exc)
        raise
    if METRICS.enabled:  # both paths on the same input: what recommendations compare
        _sample(operation, "litellm", True, started, args)
    if expected != accelerated:
        FLAGS.record_mismatch(FEATURE, _describe(operation, args), accelerated, expected)
    else:
        FLAGS.record(FEATURE, ok=True)
    return expected


def _describe(operation: str, args: tuple) -> str:
    try:
        return f"{operation}{args!r}"
    except Exception:  # a repr that fails must not break the call
        return f"{operation}(<unrepresentable input>)"


def _serve_token_counter(model, custom_tokenizer, text, messages, count_response_tokens, tools, tool_choice,
                         use_default_image_token_count, default_token_count) -> int | str:
    """The count, or the reason litellm must serve this call."""
    if _litellm().disable_token_counter is True:
        return "token_counter_disabled"
    if custom_tokenizer is not None:
        return "custom_tokenizer"
    plan = plan_for(model)
    if plan.reason is not None:
        return plan.reason
    if text is not None:
        if messages is not None or tools or tool_choice:
            return "litellm_raises_or_formats"
        if type(text) is str:
            joined = text
        elif type(text) is list:
            joined = "".join(t for t in text if isinstance(t, str))
        else:
            return "unexpected_input"
        if len(joined) > _settings.max_exact_chars and not _settings_current():
            return "unsupported_setting"
        _served_size.value = len(joined)
        return _call("token_counter", COMPONENT.count_text, plan.encoding, joined)
    if messages is None:
        return "litellm_raises_or_formats"
    if plan.tool_section and (tools is not None or tool_choice is not None):
        return "chat_template_tools"
    # Checked before the messages are walked: walking counts long texts, wasted on a hand-off.
    image_flag = _image_flag(use_default_image_token_count)
    if image_flag is None or not _plain(tool_choice):
        return "unexpected_input"  # litellm reads these its own way
    prepared = _prepared_messages(messages, plan.encoding)
    if prepared is None:
        return "unexpected_input"
    if type(prepared) is not tuple:
        return prepared
    walked, apart = prepared
    if _plain_count_needs_settings(tools, tool_choice) and not _settings_current():
        return "unsupported_setting"
    flags = (count_response_tokens is not False) | image_flag | RELEASE_FLAGS
    counted = _count_with_tools("token_counter", [plan.encoding, plan.per_message, plan.per_name, flags, walked],
                                tools, tool_choice)
    return counted + apart if apart and type(counted) is int else counted


def _settings_current() -> bool:
    """Whether the component counts with the constants litellm reads per count
    (EXTRAPOLATION_SAMPLES, the image constants): one changed at run time is pushed again
    and counts made under the old are forgotten; False if the component cannot hold it.
    Asked only before a count they can change (images, long texts, tools, a text past the
    exact limit): asked on every count it cost 0.7-1.5 us of a 15-20 us short chat."""
    if not _settings.changed():
        return True
    try:
        _settings.push_litellm_settings()
    except (_settings.UnsupportedSetting, ComponentUnavailable):
        return False
    forget_remembered_counts()
    return True


def _plain_count_needs_settings(tools: Any, tool_choice: Any) -> bool:
    """Whether a count of plain messages (short strings and scalars: _NotPlain checked
    the rest) can depend on the per-count constants: through tools or tool_choice (any
    length), or where litellm's exact limit was set under LONG_TEXT."""
    return tools is not None or tool_choice is not None or _settings.max_exact_chars < LONG_TEXT


def _image_flag(use_default_image_token_count: Any) -> int | None:
    """use_default_image_token_count as the component's flag bit. litellm truth-tests it
    only when it meets an image: other values than these (whose truth could raise, or be
    another) go to litellm."""
    if use_default_image_token_count is True:
        return 2
    if use_default_image_token_count is False or use_default_image_token_count is None:
        return 0
    return None


class HandOff(str):
    """A reason for litellm to serve a call, told apart from a decoded text."""


def _call(operation: str, fn: Callable[..., Any], *args: Any) -> Any:
    """Call the component; a failure becomes a hand-off reason, logged once."""
    try:
        return fn(*args)
    except UnicodeEncodeError:
        return HandOff("not_utf8")
    except ComponentUnavailable:
        return HandOff("component_unavailable")
    except Exception as exc:
        _log_once(operation, exc)
        return HandOff("component_error")


def _count_with_tools(operation: str, head: list, tools: Any, tool_choice: Any) -> int | str:
    """count-request for `head` (encoding to messages) with `tools` and `tool_choice`. A
    non-empty tools list the count includes (count_response_tokens off) goes as its
    remembered share."""
    if type(tools) is list and tools and not head[3] & 1:
        share = _tools_share(operation, head[0], tools)
        if type(share) is not int:
            return share
        return _count_request(operation, head + [None, tool_choice, share])
    if not _plain(tools) or _holds_tuple(tools):
        return "unexpected_input"  # litellm reads these its own way
    return _count_request(operation, head + [tools, tool_choice])


def _holds_tuple(value: Any, depth: int = 0) -> bool:
    """Whether a tuple is in `value`: JSON writes it as a list, and litellm 1.109 tells
    them apart in tool schemas (an `enum` or `required` that is not a list). Past a depth
    no schema reaches (a cycle, say) it answers True: litellm's to read."""
    kind = type(value)
    if kind is tuple or depth > 64:
        return True
    if kind is list:
        return any(type(v) in _CONTAINERS and _holds_tuple(v, depth + 1) for v in value)
    if kind is dict:
        return any(type(v) in _CONTAINERS and _holds_tuple(v, depth + 1) for v in value.values())
    return False


_CONTAINERS = frozenset({list, dict, tuple})


# Tool definitions repeat from request to request (an agent sends the same ones every
# time) and cost the most to send and count: 20 tools took 110 us to serialise and about
# 280 us in the component. What they add to a count depends on them and the encoding only
# (`tools_share` in src/messages.rs), so it is remembered by encoding and marshal bytes:
# equal bytes load back as equal builtin values (types and order included), and marshal
# refuses every subclass, as _plain does. Format 4 writes repeated strings as references:
# 10 us for 20 tools where format 2 took 68 (the same value shared differently writes
# other bytes: a miss, never a wrong hit). Bounded by bytes held; a full memo is emptied.
# Emptied as well when litellm's count settings are pushed again (_patch.apply).
_TOOLS_SHARES_MAX_BYTES = 4 << 20
_tools_shares: dict[tuple[int, bytes], int] = {}
_tools_shares_bytes = 0


def _tools_share(operation: str, encoding: int, tools: list) -> int | str:
    """What `tools` add to a count (before litellm's -4 for a system message), or a
    hand-off reason."""
    global _tools_shares_bytes
    try:
        key = (encoding, _marshal(tools, 4))
    except ValueError:  # a subclass, an object of no builtin type, nesting past its limit
        return "unexpected_input"
    share = _tools_shares.get(key)
    if share is None:
        if _holds_tuple(tools):  # only on a miss: marshal keys a tuple apart from a list
            return "unexpected_input"
        generation = _settings.generation
        counted = _count_request(operation, [encoding, 0, 0, 0, [], tools, None])
        if type(counted) is not int:
            return counted
        share = counted - 3  # less the reply primer
        if len(key[1]) <= _TOOLS_SHARES_MAX_BYTES // 4:
            with _memo_lock:
                if generation != _settings.generation:
                    return share  # counted under settings pushed over since: not remembered
                if _tools_shares_bytes + len(key[1]) > _TOOLS_SHARES_MAX_BYTES:
                    _tools_shares.clear()
                    _tools_shares_bytes = 0
                _tools_shares[key] = share
                _tools_shares_bytes += len(key[1])
    return share


def forget_remembered_counts() -> None:
    """Empty the host's memos of counts (tools shares, long texts)."""
    global _tools_shares_bytes, _long_counts_chars
    with _memo_lock:
        _tools_shares.clear()
        _tools_shares_bytes = 0
        _long_counts.clear()
        _long_seen.clear()
        _long_counts_chars = 0


def _count_request(operation: str, request: list) -> int | str:
    try:
        encoded = _dumps(request)
    except (TypeError, ValueError, RecursionError):
        return "not_json_serialisable"
    _served_size.value = len(encoded)
    result = _call(operation, COMPONENT.count_request, encoded)
    if type(result) is int and result < 0:
        return _REASONS.get(result, "unexpected_input")
    return result


def messages_reach_token_count(model, messages, threshold, tools=None, use_default_image_token_count=False):
    """`token_counter(...) >= threshold`. litellm stops at the first message that crosses
    the threshold; that only matters for requests it would raise on, which go back to it."""
    started = perf_counter_ns()
    args = (model, messages, threshold, tools, use_default_image_token_count)
    route = FLAGS.route(FEATURE)
    result = route if isinstance(route, str) else _serve_messages_reach(*args)
    if not isinstance(result, str):
        result = result >= threshold
    return _finish("messages_reach_token_count", route, result, args, started)


def _serve_messages_reach(model, messages, threshold, tools, use_default_image_token_count) -> int | str:
    if _litellm().disable_token_counter is True:
        return "token_counter_disabled"
    if type(threshold) is not int:
        return "unexpected_input"
    plan = plan_for(model)
    if plan.reason is not None:
        return plan.reason
    if plan.tool_section and tools is not None:
        return "chat_template_tools"
    flags = _image_flag(use_default_image_token_count)  # before the walk, as in token_counter
    if flags is None:
        return "unexpected_input"
    flags |= RELEASE_FLAGS
    prepared = _prepared_messages(messages, plan.encoding)
    if prepared is None:
        return "unexpected_input"
    if type(prepared) is not tuple:
        return prepared
    walked, apart = prepared
    if _plain_count_needs_settings(tools, None) and not _settings_current():
        return "unsupported_setting"
    counted = _count_with_tools("messages_reach_token_count", [plan.encoding, plan.per_message, plan.per_name,
                                                              flags, walked], tools, None)
    return counted + apart if apart and type(counted) is int else counted


def _default_encoding_plan(model: Any) -> str | None:
    """`encode`/`decode` use litellm's default encoding (cl100k_base) for every OpenAI-
    tokenized model, gpt-4o included; HuggingFace models go back to litellm."""
    if type(model) is not str:
        return "model_not_a_string"
    plan = plan_for(model)
    return "huggingface_tokenizer" if plan.reason == "huggingface_tokenizer" else None


def encode(model="", text="", custom_tokenizer=None):
    started = perf_counter_ns()
    args = (model, text, custom_tokenizer)
    route = FLAGS.route(FEATURE)
    if isinstance(route, str):
        result: Any = route
    elif custom_tokenizer is not None:
        result = "custom_tokenizer"
    else:
        result = _default_encoding_plan(model) or (None if type(text) is str else "unexpected_input")
        if result is None:
            _served_size.value = len(text)
            result = _call("encode", COMPONENT.encode, 0, text)
    return _finish("encode", route, result, args, started)


# Measured slower than litellm (tiktoken decodes 2,400 tokens in about 90 us; the packed
# round trip through the component costs about 120 us), so litellm keeps serving decode
# and `decode` below is not installed. It stays exact and tested for when that changes.
SERVE_DECODE = False


def decode(model="", tokens=(), custom_tokenizer=None, skip_special_tokens=True):
    started = perf_counter_ns()
    args = (model, tokens, custom_tokenizer, skip_special_tokens)
    route = FLAGS.route(FEATURE)
    result = HandOff(route) if isinstance(route, str) else _serve_decode(model, tokens, custom_tokenizer)
    return _finish("decode", route, result, args, started)


def _serve_decode(model: Any, tokens: Any, custom_tokenizer: Any) -> str:
    """The decoded text, or a HandOff."""
    if custom_tokenizer is not None:
        return HandOff("custom_tokenizer")
    reason = _default_encoding_plan(model)
    if reason is not None:
        return HandOff(reason)
    if type(tokens) is not list and type(tokens) is not tuple:
        return HandOff("unexpected_input")
    try:
        # array("I") takes what tiktoken takes (ints, bools, __index__ objects) and
        # rejects the rest; litellm then raises its own error for those.
        packed = array.array("I", tokens)
    except (TypeError, OverflowError):
        return HandOff("unexpected_input")
    _served_size.value = len(tokens)
    text = _call("decode", COMPONENT.decode, 0, packed)
    if text is None:  # an id cl100k_base lacks: litellm raises its own error
        return HandOff("unknown_token_id")
    return text


_logged: set[str] = set()


def _log_once(operation: str, exc: BaseException) -> None:
    if operation not in _logged:
        _logged.add(operation)
        log.warning("fast_litellm: component failed in %s (%s: %s); served by litellm, "
                    "instance rebuilt on next call", operation, type(exc).__name__, exc)
