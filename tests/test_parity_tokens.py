"""Differential tests: stock litellm and fast-litellm on the same generated inputs.

Every test runs litellm's own function (captured before patching) and the public,
accelerated litellm entry point on one input and requires the same value or the same
exception type. Each test also checks that the component really served a share of the
inputs, so a test cannot pass by handing everything back to litellm.
"""

from __future__ import annotations

import base64
import copy
import enum
import struct
from collections import namedtuple

import litellm
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fast_litellm
from conftest import outcome

MODELS = [
    "gpt-3.5-turbo",
    "gpt-3.5-turbo-0301",
    "gpt-4",
    "gpt-4o",
    "gpt-4.1",
    "o3-mini",
    "gpt-5",
    "claude-3-5-sonnet",  # not an anthropic HF-tokenizer name: litellm counts it with cl100k
    "",
    "my-unknown-model-xyz",
    "qwen3.5-plus",  # 1.109: its chat template formats tools
    "deepseek-v4-pro",  # 1.109: a DeepSeek HuggingFace tokenizer
    "openai/gpt-4o",  # 1.109: o200k through the cost map (cl100k on 1.106)
    "azure/gpt-4o",
]

# Text that stresses the pre-tokenizer and the chunking: multi-byte chars, marks, emoji,
# zero-width and BOM, special-token text (counted as plain text), whitespace runs.
TRICKY = [
    "<|endoftext|>", "<|fim_prefix|>", "<|endofprompt|>", "\ufeff", "\u200b", "\u200d",
    "e\u0301", "\u0915\u094d\u0937", "👩‍👩‍👧", "🙂", "漢字", "カタカナ", "한국어", "\r\n", "\n\n\n",
    "   ", "\t\t", " \n ", "'s", "'LL", "123456789", "1,000.5", "\x00", "\x1c", "\u00a0",
    "\u3000", "ﬁ", "Ⅻ", "٣", "\ud7ff", "\U0010ffff", "a" * 50, "💩" * 7, "\ud800", "x\udfff",
]

ALPHABET = st.characters(codec="utf-8", exclude_categories=["Cs"])
words = st.one_of(
    st.text(ALPHABET, max_size=40),
    st.sampled_from(TRICKY),
    st.text(st.sampled_from("ab \n\t'.,!?0123456789é漢🙂"), max_size=60),
)
texts = st.lists(words, max_size=12).map("".join)


@st.composite
def long_texts(draw):
    """Strings around litellm's 1024-char chunk boundary, with multi-byte chars at it."""
    size = draw(st.integers(min_value=1000, max_value=3200))
    unit = draw(st.sampled_from(["a", "ab ", "漢", "🙂 x", "e\u0301", " \n", "word. "]))
    body = (unit * (size // len(unit) + 1))[:size]
    cut = draw(st.integers(min_value=0, max_value=len(body)))
    return body[:cut] + draw(words) + body[cut:]


class _Word(str, enum.Enum):  # str() of it is "_Word.HELLO" where JSON writes "hello"
    HELLO = "hello"


class _Number(int, enum.Enum):
    ONE = 1


_Pair = namedtuple("_Pair", "first second")  # JSON writes a list, litellm's isinstance(list) is False
# values of builtin subclasses, now and then where a str, int or list is expected
odd_values = st.sampled_from([_Word.HELLO, _Number.ONE, _Pair("hello", "world"), _Pair({"type": "text"}, 1)])

any_text = st.one_of(texts, texts, texts, long_texts())
# Lone surrogates (from surrogateescape/surrogatepass decoding) are valid Python text but
# not UTF-8; litellm serves those itself (reason not_utf8). Well-formed chats leave them out.
utf8_text = any_text.map(lambda s: s.encode("utf-8", "replace").decode("utf-8"))


def png(width: int, height: int) -> bytes:
    return b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + struct.pack(">LL", width, height) + b"\x08\x02\x00\x00\x00"


def gif(width: int, height: int) -> bytes:
    return b"GIF89a" + struct.pack("<HH", width, height) + b"\x00" * 8


def jpeg(width: int, height: int) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00" + b"\x00" * 9
    sof = b"\xff\xc0" + struct.pack(">H", 17) + b"\x08" + struct.pack(">HH", height, width) + b"\x00" * 10
    return b"\xff\xd8" + app0 + sof + b"\xff\xd9"


def webp(width: int, height: int) -> bytes:
    return b"RIFF\x00\x00\x00\x00WEBPVP8X" + b"\x00" * 8 + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")


@st.composite
def data_urls(draw):
    maker = draw(st.sampled_from([png, gif, jpeg, webp]))
    w = draw(st.integers(min_value=1, max_value=5000))
    h = draw(st.integers(min_value=1, max_value=5000))
    raw = maker(w, h)
    if draw(st.booleans()):
        raw = raw[: draw(st.integers(min_value=0, max_value=len(raw)))]  # truncated image
    return "data:image/png;base64," + base64.b64encode(raw).decode()


image_parts = st.one_of(
    st.fixed_dictionaries(
        {"type": st.just("image_url"), "image_url": st.sampled_from(["https://example.invalid/cat.png", "   ", ""])}
    ),
    # inline images in auto detail: the base estimate on 1.106, decoded by 1.109
    st.fixed_dictionaries({"type": st.just("image_url"), "image_url": data_urls()}),
    # a url that is not a string: ignored by 1.106 unless the image is read, a str method call on 1.109
    st.fixed_dictionaries(
        {"type": st.just("image_url"),
         "image_url": st.fixed_dictionaries({"url": st.sampled_from([1, ["x"], {"a": 1}])},
                                            optional={"detail": st.sampled_from(["low", "auto", "high"])})}
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("image_url"),
            "image_url": st.fixed_dictionaries(
                {"url": st.one_of(data_urls(), st.just("https://example.invalid/dog.jpg"))},
                optional={"detail": st.sampled_from(["low", "auto", "medium", None])},
            ),
        }
    ),
    st.fixed_dictionaries(
        {"type": st.just("image_url"), "image_url": st.fixed_dictionaries({"url": data_urls(), "detail": st.just("high")})}
    ),
)

content_parts = st.one_of(
    st.fixed_dictionaries({"type": st.just("text"), "text": any_text}),
    st.fixed_dictionaries({"type": st.just("text"), "text": odd_values}),
    st.fixed_dictionaries({"type": st.sampled_from([{}, ["text"], 3])}),  # a type no set can hold
    st.fixed_dictionaries({"type": st.just("text")}),
    st.fixed_dictionaries({"type": st.just("text"), "text": st.one_of(st.none(), st.integers())}),
    any_text,
    image_parts,
    st.fixed_dictionaries({"type": st.sampled_from(["thinking", "redacted_thinking"]), "thinking": texts}),
    st.fixed_dictionaries({"type": st.just("tool_reference"), "tool_name": st.one_of(texts, st.none())}),
    st.fixed_dictionaries({"type": st.sampled_from(["file", "document", "unknown_kind", "image"])}),
    st.fixed_dictionaries({"text": texts}),  # missing type
    st.integers(),
)

arguments = st.one_of(texts, st.just('{"city": "Paris", "unit": "c"}'), st.none(), st.integers(), odd_values)
tool_calls = st.lists(
    st.one_of(
        st.fixed_dictionaries(
            {
                "id": texts,
                "type": st.just("function"),
                "function": st.fixed_dictionaries({"name": texts}, optional={"arguments": arguments}),
            }
        ),
        st.fixed_dictionaries({"id": texts}),  # no function key: litellm raises
        st.fixed_dictionaries({"function": st.one_of(st.text(max_size=3), st.lists(st.integers(), max_size=2))}),
    ),
    max_size=3,
)

roles = st.sampled_from(["system", "user", "assistant", "tool", "function", "developer"])
messages_strategy = st.lists(
    st.one_of(
        st.fixed_dictionaries(
            {"role": roles, "content": st.one_of(any_text, st.none())},
            optional={"name": texts},
        ),
        st.fixed_dictionaries({"role": roles, "content": st.lists(content_parts, max_size=4)}),
        st.fixed_dictionaries(
            {"role": st.just("assistant"), "content": st.one_of(st.none(), texts)},
            optional={"tool_calls": st.one_of(tool_calls, texts, st.none()),
                      "function_call": st.one_of(st.fixed_dictionaries({"name": texts, "arguments": arguments}), texts)},
        ),
        st.fixed_dictionaries({"content": texts}),  # missing role
        st.fixed_dictionaries({"role": roles, "content": st.one_of(st.integers(), st.floats(allow_nan=False),
                                                                   st.booleans(), st.dictionaries(texts, texts, max_size=2))}),
        st.fixed_dictionaries({"role": roles, "content": texts, "extra": st.one_of(texts, st.integers(), st.none())}),
        st.fixed_dictionaries({"role": roles, "content": odd_values}),
        st.fixed_dictionaries({"role": st.just("assistant"), "content": st.none(), "tool_calls": odd_values}),
        # compaction blocks: counted by 1.109, skipped by 1.106; other provider fields by neither
        st.fixed_dictionaries({"role": st.just("assistant"), "content": texts, "provider_specific_fields": st.one_of(
            st.fixed_dictionaries({"compaction_blocks": st.lists(st.fixed_dictionaries(
                {"type": st.sampled_from(["compaction", "other"]), "content": st.one_of(texts, st.integers())}),
                max_size=2)}),
            st.just({}), st.just({"refusal": None}), texts)}),
    ),
    max_size=6,
)

json_type = st.sampled_from(["string", "integer", "number", "boolean", "null", "array", "object", "weird"])


@st.composite
def schema(draw, depth=0, odd=True):
    kind = draw(json_type) if depth < 2 else draw(st.sampled_from(["string", "integer", "boolean"]))
    out: dict = {"type": kind}
    if draw(st.booleans()):
        out["description"] = draw(texts)
    if kind in ("string", "integer", "number") and draw(st.booleans()):
        out["enum"] = draw(st.lists(st.one_of(texts, st.integers(min_value=-10**6, max_value=10**6), odd_values),
                                    max_size=4))
    if kind == "array" and draw(st.integers(0, 9)) > 0:  # now and then without items: litellm raises
        out["items"] = draw(schema(depth + 1, odd))
    if kind == "object":
        out["properties"] = draw(st.dictionaries(st.text(st.sampled_from("abcxyz_"), min_size=1, max_size=6),
                                                 schema(depth + 1, odd), max_size=3))
        if draw(st.booleans()):
            out["required"] = draw(st.lists(st.sampled_from(["a", "b", "x", "ab"]), max_size=3))
            if odd and draw(st.integers(0, 5)) == 0:  # not a list: 1.106 tests `in`, 1.109 ignores it
                out["required"] = draw(st.sampled_from([tuple(out["required"]), "abx", {"a": 1}]))
    if odd and "enum" in out and draw(st.integers(0, 5)) == 0:
        out["enum"] = tuple(out["enum"])  # 1.109 formats only a list as an enum
    return out


@st.composite
def tool(draw, odd=True):
    params = draw(schema(1, odd)) if draw(st.integers(0, 4)) else {}
    params = {"type": "object", "properties": params.get("properties", {}), **(
        {"required": params["required"]} if "required" in params else {})} if params else {}
    function: dict = {"name": draw(st.one_of(st.text(st.sampled_from("abcdefg_"), min_size=1, max_size=12), st.just(""),
                                             st.just(_Word.HELLO)))}
    if draw(st.booleans()):
        function["description"] = draw(texts)
    if params or draw(st.booleans()):
        function["parameters"] = params
    shape = draw(st.integers(0, 6))
    if shape == 0:  # Anthropic-style flat tool; 1.109 merges its other top-level keys into its schema
        flat = {"name": function["name"], "description": function.get("description"),
                "input_schema": draw(st.sampled_from([params, params, None]))}
        if odd and draw(st.booleans()):
            flat[draw(st.sampled_from(["properties", "required", "cache_control"]))] = draw(
                st.sampled_from([{"y": {"type": "string"}}, ["y"], {"type": "ephemeral"}]))
        return flat
    if shape == 1:
        return "not a tool"
    return {"type": "function", "function": function}


tools_strategy = st.one_of(st.none(), st.just([]), st.lists(tool(), min_size=1, max_size=3))
tool_choice_strategy = st.one_of(
    st.none(),
    st.sampled_from(["auto", "none", "required"]),
    st.fixed_dictionaries({"type": st.just("function"),
                           "function": st.fixed_dictionaries({"name": st.one_of(texts, odd_values)})}),
    st.just({"type": "function"}),
)

class _Unasked:
    """A flag whose truth test raises: litellm tests it only when it meets an image."""

    def __bool__(self):
        raise TypeError("asked")

    def __repr__(self):
        return "_Unasked()"


PARITY = settings(
    max_examples=3000,
    deadline=None,
    # served_share deliberately spans all examples of a test (it checks the totals)
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)


def served(operation: str) -> int:
    return fast_litellm.get_performance_stats()["operations"].get(operation, {}).get("component", 0)


@pytest.fixture
def served_share():
    """Checks after a test that the component served at least `share` of the calls."""
    fast_litellm.reset_performance_stats()
    wanted: dict = {}
    yield wanted
    ops = fast_litellm.get_performance_stats()["operations"]
    print("served/handed off:", ops)  # shown with -s: what the generated inputs exercised
    for operation, share in wanted.items():
        entry = ops.get(operation, {"component": 0, "litellm": 0})
        total = entry["component"] + entry["litellm"]
        assert total > 0, f"{operation}: no calls"
        assert entry["component"] / total >= share, (operation, entry)
    assert fast_litellm.get_performance_stats()["component_traps"] == 0


@PARITY
@given(
    model=st.sampled_from(MODELS),
    messages=messages_strategy,
    tools=tools_strategy,
    tool_choice=tool_choice_strategy,
    count_response_tokens=st.sampled_from([False, True, None]),
    use_default_image_token_count=st.sampled_from([False, True, None] * 4 + [1, _Unasked()]),
    default_token_count=st.sampled_from([None, None, None, 7]),
)
def test_messages_match_stock(stock, served_share, model, messages, tools, tool_choice, count_response_tokens,
                              use_default_image_token_count, default_token_count):
    served_share["token_counter"] = 0.2  # a fifth at least: malformed and odd-typed inputs go to litellm
    kwargs = dict(model=model, messages=messages, tools=tools, tool_choice=tool_choice,
                  count_response_tokens=count_response_tokens,
                  use_default_image_token_count=use_default_image_token_count,
                  default_token_count=default_token_count)
    assert outcome(litellm.token_counter, **kwargs) == outcome(stock.token_counter, **kwargs)


WELL_FORMED_PARITY = settings(PARITY, max_examples=2500)


@WELL_FORMED_PARITY
@given(
    model=st.sampled_from([m for m in MODELS if m not in ("qwen3.5-plus", "deepseek-v4-pro")]),
    messages=st.lists(
        st.fixed_dictionaries({"role": roles, "content": utf8_text}, optional={"name": utf8_text}), min_size=1, max_size=8
    ),
    tools=st.one_of(st.none(), st.lists(tool(odd=False), min_size=1, max_size=2)),
)
def test_well_formed_chats_are_served_and_match(stock, served_share, model, messages, tools):
    """Ordinary chats: the component must serve nearly all of them, with stock's numbers
    (but for the models litellm counts with its own tokenizers or chat templates)."""
    served_share["token_counter"] = 0.8
    assert outcome(litellm.token_counter, model=model, messages=messages, tools=tools) == outcome(
        stock.token_counter, model=model, messages=messages, tools=tools
    )


@settings(PARITY, max_examples=600)
@given(
    model=st.sampled_from(MODELS),
    tools=st.lists(tool(), min_size=1, max_size=3),
    chats=st.lists(messages_strategy, min_size=2, max_size=4),
    tool_choice=tool_choice_strategy,
    edit=st.booleans(),
)
def test_remembered_tool_shares_match_stock(stock, model, tools, chats, tool_choice, edit):
    """The host remembers what a tools list adds to a count (tokens._tools_share): the same
    tools with several requests, and the same list edited in place between them."""
    from litellm.utils import get_messages_reach_token_count

    for i, messages in enumerate(chats):
        kwargs = dict(model=model, messages=messages, tools=tools, tool_choice=tool_choice)
        assert outcome(litellm.token_counter, **kwargs) == outcome(stock.token_counter, **kwargs)
        reach = dict(model=model, messages=messages, threshold=20, tools=tools)
        assert outcome(get_messages_reach_token_count(), **reach) == outcome(stock.messages_reach_token_count, **reach)
        first = tools[0]
        if edit and type(first) is dict:
            (first["function"] if "function" in first else first)["description"] = f"edited {i} times"


# Texts over tokens.LONG_TEXT chars, which the host counts apart from the request.
long_texts = st.tuples(utf8_text, st.integers(fast_litellm.tokens.LONG_TEXT + 1, 20_000)).map(
    lambda p: ((p[0] or "x") * (p[1] // max(1, len(p[0] or "x")) + 1))[:p[1]])


@settings(PARITY, max_examples=120)
@given(
    model=st.sampled_from(MODELS),
    system=long_texts,
    name=st.one_of(st.none(), long_texts),
    users=st.lists(st.one_of(utf8_text, long_texts), min_size=1, max_size=3),
    tools=tools_strategy,
    arguments=st.one_of(st.none(), long_texts),
)
def test_long_texts_counted_apart_match_stock(stock, served_share, model, system, name, users, tools, arguments):
    """Long strings of any key (name too, with its bonus) are counted apart and remembered
    from their second sighting; tool call arguments stay in the request (litellm counts
    them its own way). The same messages three times, the second time an equal copy."""
    from litellm.utils import get_messages_reach_token_count

    served_share["token_counter"] = 0.5
    messages = [{"role": "system", "content": system}] + [{"role": "user", "content": u} for u in users]
    if name is not None:
        messages[0]["name"] = name
    if arguments is not None:
        messages.append({"role": "assistant", "content": None, "tool_calls": [
            {"id": "c", "type": "function", "function": {"name": "f", "arguments": arguments}}]})
    for call in range(3):
        sent = copy.deepcopy(messages) if call == 1 else messages
        for counted_by in (model, "gpt-4o", "gpt-3.5-turbo"):  # remembered per encoding
            kwargs = dict(model=counted_by, messages=sent, tools=tools)
            assert outcome(litellm.token_counter, **kwargs) == outcome(stock.token_counter, **kwargs)
            reach = dict(model=counted_by, messages=sent, threshold=4000, tools=tools)
            assert outcome(get_messages_reach_token_count(), **reach) == outcome(
                stock.messages_reach_token_count, **reach)
    assert messages[0]["content"] is system  # the caller's messages are not edited


def test_long_texts_are_not_counted_for_a_call_handed_to_litellm(stock, monkeypatch):
    """A flag or tool_choice litellm reads its own way is checked before long texts are
    counted through the component: that count would be wasted on a hand-off."""
    from litellm.utils import get_messages_reach_token_count

    from fast_litellm import tokens

    def must_not_count(encoding, text):
        raise AssertionError("a long text was counted for a call litellm serves")

    monkeypatch.setattr(tokens, "_long_text_count", must_not_count)
    messages = [{"role": "system", "content": "x y " * 5000}, {"role": "user", "content": "hi"}]
    class Choice(str):  # litellm formats a str subclass its own way
        pass

    for kwargs in (dict(use_default_image_token_count=1), dict(tool_choice=Choice("auto"))):
        call = dict(model="gpt-4o", messages=messages, **kwargs)
        assert outcome(litellm.token_counter, **call) == outcome(stock.token_counter, **call)
    reach = dict(model="gpt-4o", messages=messages, threshold=10, use_default_image_token_count=1)
    assert outcome(get_messages_reach_token_count(), **reach) == outcome(stock.messages_reach_token_count, **reach)


def test_tools_sharing_objects_or_holding_themselves_match_stock(stock):
    """marshal's format 4 writes a dict met twice as a reference (other bytes than two
    equal copies: a second memo entry), and takes a cycle that JSON then refuses."""
    props = {"type": "string", "description": "shared"}
    shared = [{"type": "function", "function": {"name": "f", "parameters": {
        "type": "object", "properties": {"a": props, "b": props}}}}]
    copied = [{"type": "function", "function": {"name": "f", "parameters": {
        "type": "object", "properties": {"a": dict(props), "b": dict(props)}}}}]
    cyclic = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    cyclic["function"]["parameters"]["properties"] = {"a": cyclic}
    messages = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]
    for tools in (shared, copied, shared, copied, [cyclic]):
        kwargs = dict(model="gpt-4o", messages=messages, tools=tools)
        assert outcome(litellm.token_counter, **kwargs) == outcome(stock.token_counter, **kwargs)


@settings(PARITY, max_examples=2500)
@given(model=st.sampled_from(MODELS + [["gpt-4"], bytearray(b"gpt-4")]),  # unhashable: litellm's own error
       text=st.one_of(any_text, st.lists(st.one_of(texts, st.integers()), max_size=4)))
def test_text_matches_stock(stock, served_share, model, text):
    served_share["token_counter"] = 0.7
    assert outcome(litellm.token_counter, model=model, text=text) == outcome(stock.token_counter, model=model, text=text)


@settings(PARITY, max_examples=1500)
@given(model=st.sampled_from(MODELS), text=any_text)
def test_encode_matches_stock(stock, served_share, model, text):
    served_share["encode"] = 0.7
    assert outcome(litellm.encode, model=model, text=text) == outcome(stock.encode, model=model, text=text)


token_ids = st.one_of(
    st.integers(min_value=0, max_value=100255),
    st.sampled_from([100256, 100257, 100258, 100259, 100260, 100261, 100276, 100277, 199999, -1, 2**32]),
    st.booleans(),
    st.sampled_from([1.0, "7", None]),
)


@settings(PARITY, max_examples=1500)
@given(model=st.sampled_from(MODELS), tokens=st.lists(token_ids, max_size=40), from_text=texts)
def test_decode_matches_stock(stock, served_share, model, tokens, from_text):
    """The component's decode (not installed by default: litellm is faster, see tokens.py)."""
    served_share["decode"] = 0.5
    assert outcome(fast_litellm.tokens.decode, model=model, tokens=tokens) == outcome(
        stock.decode, model=model, tokens=tokens)
    real, refused = outcome(stock.encode, model=model, text=from_text)
    if refused is not None:  # litellm 1.109's DeepSeek tokenizer refuses a lone surrogate
        return
    # any slice of a real encoding, including ones that cut a UTF-8 sequence in half
    for cut in (real, real[1:], real[:-1]):
        assert fast_litellm.tokens.decode(model=model, tokens=cut) == stock.decode(model=model, tokens=cut)


@settings(PARITY, max_examples=500)
@given(model=st.sampled_from(MODELS), messages=messages_strategy, tools=tools_strategy,
       threshold=st.integers(min_value=-5, max_value=400))
def test_messages_reach_token_count_matches_stock(stock, model, messages, tools, threshold):
    from litellm.utils import get_messages_reach_token_count  # litellm's callers go through this funnel

    kwargs = dict(model=model, messages=messages, threshold=threshold, tools=tools, use_default_image_token_count=True)
    assert outcome(get_messages_reach_token_count(), **kwargs) == outcome(stock.messages_reach_token_count, **kwargs)


def test_huge_string_is_extrapolated_like_litellm(stock):
    """Above TOKEN_COUNTER_MAX_EXACT_CHARS litellm extrapolates from 16 samples."""
    from litellm.litellm_core_utils import token_counter as core

    n = core.TOKEN_COUNTER_MAX_EXACT_CHARS + 12_345
    text = ("Grüße, 世界! 12345 " * (n // 17 + 1))[:n]
    fast_litellm.reset_performance_stats()
    for model in ("gpt-3.5-turbo", "gpt-4o"):
        assert litellm.token_counter(model=model, text=text) == stock.token_counter(model=model, text=text)
        messages = [{"role": "user", "content": text}]
        assert litellm.token_counter(model=model, messages=messages) == stock.token_counter(model=model, messages=messages)
    assert fast_litellm.get_performance_stats()["operations"]["token_counter"]["component"] == 4


def test_hand_offs_are_counted_by_reason(stock):
    fast_litellm.reset_performance_stats()
    # anthropic names without "claude-3" use litellm's bundled HuggingFace tokenizer
    hf_model = next(m for m in litellm.anthropic_models if "claude-3" not in m)
    assert litellm.token_counter(model=hf_model, text="hello there") == stock.token_counter(model=hf_model, text="hello there")
    msgs = [{"role": "user", "content": [{"type": "file", "file": {"filename": "a.txt"}}]}]
    assert litellm.token_counter(model="gpt-4", messages=msgs) == stock.token_counter(model="gpt-4", messages=msgs)
    litellm.disable_token_counter = True
    try:
        assert litellm.token_counter(model="gpt-4", text="abc") == 0
        from litellm.litellm_core_utils.token_counter import token_counter as core_entry  # patched name

        assert core_entry(model="gpt-4", text="abc") == 0
    finally:
        litellm.disable_token_counter = False
    reasons = fast_litellm.get_performance_stats()["operations"]["token_counter"]["handed_to_litellm"]
    assert reasons["huggingface_tokenizer"] == 1
    assert reasons["content_not_modelled"] == 1
    assert reasons["token_counter_disabled"] == 2  # the public name and the core name


def test_model_constants_follow_litellm_lists(stock):
    """A model added to litellm's OpenAI list at run time changes litellm's constants; ours follow."""
    name = "my-new-chat-model-for-test"
    messages = [{"role": "user", "content": "hi", "name": "ann"}]
    before = litellm.token_counter(model=name, messages=messages)
    assert before == stock.token_counter(model=name, messages=messages)
    litellm.open_ai_chat_completion_models.add(name) if isinstance(
        litellm.open_ai_chat_completion_models, set) else litellm.open_ai_chat_completion_models.append(name)
    try:
        assert litellm.token_counter(model=name, messages=messages) == stock.token_counter(model=name, messages=messages)
    finally:
        litellm.open_ai_chat_completion_models.remove(name)


def test_a_model_swapped_in_litellms_list_is_seen(stock):
    """litellm's lists edited in place keep their length: the plans follow the membership."""
    name, messages = "gpt-4o-my-deployment", [{"role": "user", "content": "hi", "name": "ann"}]
    models = litellm.open_ai_chat_completion_models
    assert litellm.token_counter(model=name, messages=messages) == stock.token_counter(model=name, messages=messages)
    swapped = next(iter(models))
    models.discard(swapped)
    models.add(name)
    try:
        assert litellm.token_counter(model=name, messages=messages) == stock.token_counter(model=name, messages=messages)
        assert litellm.token_counter(model=swapped, messages=messages) == stock.token_counter(
            model=swapped, messages=messages)
    finally:
        models.discard(name)
        models.add(swapped)


def test_content_the_host_hands_off_early_is_what_the_component_would_not_model(stock):
    """The host skips the component for these block types; it must only skip what the
    component would hand back itself (-3), so no request changes hands."""
    import json

    from fast_litellm._component import COMPONENT
    from fast_litellm.tokens import _UNMODELLED_BLOCKS

    for kind in sorted(_UNMODELLED_BLOCKS):
        request = json.dumps([0, 3, 1, 0, [{"role": "user", "content": [{"type": kind}]}], None, None])
        assert COMPONENT.count_request(request) == -3, kind
        messages = [{"role": "user", "content": [{"type": "text", "text": "hi"}, {"type": kind}]}]
        assert outcome(litellm.token_counter, model="gpt-4o", messages=messages) == outcome(
            stock.token_counter, model="gpt-4o", messages=messages)


def test_the_encoding_is_read_again_when_litellm_model_lists_change(stock, monkeypatch):
    """litellm 1.109 chooses the encoding from its cost map and OpenAI list too: a plan the
    host remembered for a name is not used once `register_model` or a list edit moves the
    name to another encoding (tokens._basis)."""
    from litellm.litellm_core_utils import token_counter as core

    monkeypatch.setattr(litellm, "model_cost", dict(litellm.model_cost))
    monkeypatch.setattr(litellm, "open_ai_chat_completion_models", set(litellm.open_ai_chat_completion_models))
    text = "漢字カタカナ한국어 – naïve café déjà vu " * 4
    messages = [{"role": "user", "content": text}]
    before = {}
    for model in ("my-deploy", "myprov/my-model"):
        before[model] = stock.token_counter(model=model, messages=messages)
        assert litellm.token_counter(model=model, messages=messages) == before[model]
        assert litellm.token_counter(model=model, text=text) == stock.token_counter(model=model, text=text)
    litellm.register_model({"azure/my-deploy": {"litellm_provider": "azure", "mode": "chat",
                                                "supports_pdf_input": True, "input_cost_per_token": 0}})
    litellm.open_ai_chat_completion_models.add("my-model")
    for model in ("my-deploy", "myprov/my-model"):
        after = stock.token_counter(model=model, messages=messages)
        if "_cost_map_entry" in core.__dict__:  # 1.109: both names moved to o200k
            assert after != before[model], model
        assert litellm.token_counter(model=model, messages=messages) == after
        assert litellm.token_counter(model=model, text=text) == stock.token_counter(model=model, text=text)


def test_tools_holding_tuples_match_stock(stock):
    """litellm 1.109 formats an `enum` only when it is a list; JSON would write a tuple as
    one, so tools holding a tuple go to litellm (tokens._holds_tuple), on both routes: a
    tools list (its share, tokens._tools_share, asked twice: a miss, then the memo) and a
    tools tuple (sent inline, tokens._count_with_tools). The generated tools reach a tuple
    enum too rarely to be relied on."""
    from litellm.utils import get_messages_reach_token_count

    def function_tool(enum):
        return {"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
                                                 "parameters": {"type": "object", "properties": {
                                                     "city": {"type": "string"},
                                                     "unit": {"type": "string", "enum": enum}},
                                                     "required": ["city"]}}}

    def flat_tool(enum):  # Anthropic-style
        return {"name": "pick", "description": "Pick a level",
                "input_schema": {"type": "object", "properties": {"level": {"type": "integer", "enum": enum}}}}

    messages = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "weather in Paris?"}]
    for make in (function_tool, flat_tool):
        for tools in ([make(("celsius", "fahrenheit") if make is function_tool else (1, 2, 3))],
                      (make(["celsius", "fahrenheit"] if make is function_tool else [1, 2, 3]),),
                      (make(("celsius", "fahrenheit") if make is function_tool else (1, 2, 3)),)):
            for model in ("gpt-4o", "gpt-3.5-turbo"):
                for _ in range(2):
                    kwargs = dict(model=model, messages=messages, tools=tools)
                    assert outcome(litellm.token_counter, **kwargs) == outcome(stock.token_counter, **kwargs), kwargs
                    reach = dict(model=model, messages=messages, threshold=40, tools=tools)
                    assert outcome(get_messages_reach_token_count(), **reach) == outcome(
                        stock.messages_reach_token_count, **reach), reach


def test_each_fact_litellm_reads_for_the_encoding_is_watched(stock, monkeypatch):
    """tokens._basis, one edit at a time: each edit below changes one fact litellm 1.109
    reads to pick an encoding (the cost map through register_model, a key added, the map
    replaced, an entry reassigned; the OpenAI and Azure lists grown, replaced, swapped in
    place) and moves a name to another encoding. Done together, as in the test above, a
    fact the basis missed would go unnoticed."""
    text = "漢字カタカナ한국어 – naïve café déjà vu " * 4
    messages = [{"role": "user", "content": text}]
    chat = {"litellm_provider": "azure", "mode": "chat", "supports_pdf_input": True, "input_cost_per_token": 0}
    embedding = dict(chat, mode="embedding")
    monkeypatch.setattr(litellm, "model_cost", dict(litellm.model_cost))
    monkeypatch.setattr(litellm, "open_ai_chat_completion_models", set(litellm.open_ai_chat_completion_models))
    monkeypatch.setattr(litellm, "azure_llms", dict(litellm.azure_llms))
    names = ("my-deploy", "my-deploy-2", "myprov/my-model", "myprov/my-model-2", "myprov/my-az", "myprov/my-az-2")

    def same_as_stock(step):
        for model in names:
            assert litellm.token_counter(model=model, messages=messages) == stock.token_counter(
                model=model, messages=messages), (step, model)

    def replaced(container, drop, add):  # a new object of the same size
        new = type(container)(container)
        new.pop(drop) if isinstance(new, dict) else new.discard(drop)
        new.update({add: add}) if isinstance(new, dict) else new.add(add)
        return new

    same_as_stock("before")
    litellm.register_model({"azure/my-deploy": chat})  # size and mutation count
    same_as_stock("registered")
    litellm.register_model({"azure/my-deploy": embedding})  # the mutation count only
    same_as_stock("registered again")
    litellm.model_cost["azure/my-deploy-2"] = dict(chat)  # the size only
    same_as_stock("key added")
    monkeypatch.setattr(litellm, "model_cost", {**litellm.model_cost, "azure/my-deploy-2": dict(embedding)})  # identity
    same_as_stock("cost map replaced")
    litellm.open_ai_chat_completion_models.add("my-model")  # the OpenAI list's size
    same_as_stock("OpenAI list grown")
    monkeypatch.setattr(litellm, "open_ai_chat_completion_models",
                        replaced(litellm.open_ai_chat_completion_models, "my-model", "my-model-2"))  # its identity
    same_as_stock("OpenAI list replaced")
    litellm.azure_llms["my-az"] = "my-az"  # the Azure list's size
    same_as_stock("Azure list grown")
    monkeypatch.setattr(litellm, "azure_llms", replaced(litellm.azure_llms, "my-az", "my-az-2"))  # its identity
    same_as_stock("Azure list replaced")
    # and edits no size, identity or count shows: a cost-map entry reassigned, a list that
    # loses one name and gains another
    litellm.model_cost["azure/my-deploy-2"] = dict(chat)
    same_as_stock("cost entry reassigned")
    litellm.open_ai_chat_completion_models.discard("my-model-2")
    litellm.open_ai_chat_completion_models.add("zzz-other")
    same_as_stock("OpenAI list swapped in place")
