"""litellm's count tunables, read where litellm's counting reads them.

The chunk size, the exact-count limit and the tile size are default arguments litellm
binds when it is imported: a later change of the module constant changes nothing for
stock, so nothing for us. The extrapolation sample count and the image constants are
module globals litellm reads on every count: a change at run time must reach the
component before the next count."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import litellm
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fast_litellm
from conftest import outcome
from test_parity_tokens import data_urls, png

core = pytest.importorskip("litellm.litellm_core_utils.token_counter")


def _served() -> int:
    return fast_litellm.get_performance_stats()["operations"].get("token_counter", {}).get("component", 0)


def _image_chat(text: str, url: str, detail: str | None) -> list[dict]:
    image = {"url": url} if detail is None else {"url": url, "detail": detail}
    return [{"role": "user", "content": [{"type": "text", "text": text}, {"type": "image_url", "image_url": image}]}]


@settings(max_examples=150, deadline=None)
@given(
    text=st.text(max_size=60),
    url=data_urls(),
    detail=st.sampled_from([None, "low", "auto", "high"]),
    default_flag=st.booleans(),
    image_tokens=st.integers(min_value=1, max_value=5000),
    width=st.integers(min_value=1, max_value=4000),
    height=st.integers(min_value=1, max_value=4000),
    short_side=st.integers(min_value=1, max_value=2048),
    long_side=st.integers(min_value=1, max_value=4096),
)
def test_image_constants_changed_at_run_time_reach_the_component(stock, text, url, detail, default_flag,
                                                                  image_tokens, width, height, short_side, long_side):
    changed = {
        "DEFAULT_IMAGE_TOKEN_COUNT": image_tokens,
        "DEFAULT_IMAGE_WIDTH": width,
        "DEFAULT_IMAGE_HEIGHT": height,
        "MAX_SHORT_SIDE_FOR_IMAGE_HIGH_RES": short_side,
        "MAX_LONG_SIDE_FOR_IMAGE_HIGH_RES": long_side,
    }
    before = {name: getattr(core, name) for name in changed}
    kwargs = dict(model="gpt-4o", messages=_image_chat(text, url, detail), use_default_image_token_count=default_flag)
    try:
        for name, value in changed.items():
            setattr(core, name, value)
        assert outcome(litellm.token_counter, **kwargs) == outcome(stock.token_counter, **kwargs)
    finally:
        for name, value in before.items():
            setattr(core, name, value)
    assert outcome(litellm.token_counter, **kwargs) == outcome(stock.token_counter, **kwargs)


def test_default_image_count_change_is_served_not_handed_off(stock):
    kwargs = dict(model="gpt-4o", messages=_image_chat("hi", "https://example.invalid/a.png", None),
                  use_default_image_token_count=True)
    before = core.DEFAULT_IMAGE_TOKEN_COUNT
    fast_litellm.reset_performance_stats()
    try:
        core.DEFAULT_IMAGE_TOKEN_COUNT = before + 1000
        assert litellm.token_counter(**kwargs) == stock.token_counter(**kwargs) == litellm.token_counter(
            model="gpt-4o", messages=_image_chat("hi", "https://example.invalid/a.png", None),
            use_default_image_token_count=False) + before + 1000 - 85  # litellm's default is 85 for low detail
    finally:
        core.DEFAULT_IMAGE_TOKEN_COUNT = before
    assert litellm.token_counter(**kwargs) == stock.token_counter(**kwargs)
    assert _served() == 3


def test_extrapolation_samples_changed_at_run_time_reach_the_component(stock):
    """Past TOKEN_COUNTER_MAX_EXACT_CHARS litellm counts EXTRAPOLATION_SAMPLES samples."""
    limit = core._get_extrapolating_count_function.__defaults__[0]
    text = ("Grüße, 世界! 12345 ab\n" * (limit // 20 + 1000))[: limit + 54_321]
    before = core.EXTRAPOLATION_SAMPLES
    counts = {}
    try:
        for samples in (3, 7, before):
            core.EXTRAPOLATION_SAMPLES = samples
            fast_litellm.reset_performance_stats()
            counted = litellm.token_counter(model="gpt-4o", text=text)
            assert counted == stock.token_counter(model="gpt-4o", text=text)
            assert _served() == 1
            messages = [{"role": "user", "content": text}]
            assert litellm.token_counter(model="gpt-4o", messages=messages) == stock.token_counter(
                model="gpt-4o", messages=messages)
            counts[samples] = counted
    finally:
        core.EXTRAPOLATION_SAMPLES = before
    assert len(set(counts.values())) > 1  # the sample count did change the count


def test_a_value_the_component_cannot_hold_is_handed_to_litellm(stock):
    before = core.DEFAULT_IMAGE_TOKEN_COUNT
    kwargs = dict(model="gpt-4o", messages=_image_chat("hi", "https://example.invalid/a.png", None),
                  use_default_image_token_count=True)
    fast_litellm.reset_performance_stats()
    try:
        core.DEFAULT_IMAGE_TOKEN_COUNT = -5
        assert litellm.token_counter(**kwargs) == stock.token_counter(**kwargs)
        reasons = fast_litellm.get_performance_stats()["operations"]["token_counter"]["handed_to_litellm"]
        assert reasons == {"unsupported_setting": 1}
    finally:
        core.DEFAULT_IMAGE_TOKEN_COUNT = before
    assert litellm.token_counter(**kwargs) == stock.token_counter(**kwargs)
    assert _served() == 1


def test_bound_defaults_are_what_counts_not_the_module_constant(stock):
    """Set on the module after litellm's import: litellm's functions keep their defaults."""
    script = r"""
import json, os, random
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
from litellm.litellm_core_utils import token_counter as core
core.TIKTOKEN_ENCODE_CHUNK_SIZE_CHARS = 7
core.TOKEN_COUNTER_MAX_EXACT_CHARS = 50
core.MAX_TILE_WIDTH = core.MAX_TILE_HEIGHT = 3
import litellm, fast_litellm
from fast_litellm import tokens
assert fast_litellm.apply_acceleration()
stock = tokens.ORIGINALS["token_counter"]
rng = random.Random(5)
alphabet = "ab c\n.,;:'\u00e9\u0416\u4e2d\U0001f600 \t0123456789"
mismatches = 0
for _ in range(200):
    text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 300)))
    for kwargs in ({"text": text}, {"messages": [{"role": "user", "content": text}]}):
        mismatches += litellm.token_counter(model="gpt-4o", **kwargs) != stock(model="gpt-4o", **kwargs)
ops = fast_litellm.get_performance_stats()["operations"]["token_counter"]
print(json.dumps({"mismatches": mismatches, "served": ops.get("component", 0)}))
"""
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result == {"mismatches": 0, "served": 400}


def test_high_detail_image_with_changed_short_side(stock):
    """A hand-picked case of the generated one above: a large PNG resized by the new side."""
    before = core.MAX_SHORT_SIDE_FOR_IMAGE_HIGH_RES
    import base64

    url = "data:image/png;base64," + base64.b64encode(png(3000, 2000)).decode()
    kwargs = dict(model="gpt-4o", messages=_image_chat("look", url, "high"))
    try:
        core.MAX_SHORT_SIDE_FOR_IMAGE_HIGH_RES = 300
        changed = litellm.token_counter(**kwargs)
        assert changed == stock.token_counter(**kwargs)
    finally:
        core.MAX_SHORT_SIDE_FOR_IMAGE_HIGH_RES = before
    assert litellm.token_counter(**kwargs) == stock.token_counter(**kwargs) != changed


def test_an_equal_value_of_another_type_is_a_change(stock):
    """16.0 == 16, but litellm slices with it (TypeError) and returns float counts: compared
    by identity, such a value reaches the component's check and goes to litellm."""
    image = dict(model="gpt-4o", messages=_image_chat("hi", "https://example.invalid/a.png", None),
                 use_default_image_token_count=True)
    limit = core._get_extrapolating_count_function.__defaults__[0]
    big = dict(model="gpt-4o", text="hello world " * (limit // 12 + 100))
    before = core.EXTRAPOLATION_SAMPLES, core.DEFAULT_IMAGE_TOKEN_COUNT
    try:
        core.EXTRAPOLATION_SAMPLES = float(before[0])
        assert outcome(litellm.token_counter, **big) == outcome(stock.token_counter, **big) == (None, TypeError)
        core.EXTRAPOLATION_SAMPLES = before[0]
        core.DEFAULT_IMAGE_TOKEN_COUNT = float(before[1])
        fast, expected = litellm.token_counter(**image), stock.token_counter(**image)
        assert (fast, type(fast)) == (expected, float)
    finally:
        core.EXTRAPOLATION_SAMPLES, core.DEFAULT_IMAGE_TOKEN_COUNT = before
    assert litellm.token_counter(**image) == stock.token_counter(**image)


def test_a_change_made_while_settings_are_pushed_is_pushed_after(stock, monkeypatch):
    """What is sent is what is recorded as sent: a value assigned by another thread during
    a push is seen as a change by the next count."""
    from fast_litellm._component import COMPONENT

    kwargs = dict(model="gpt-4o", messages=_image_chat("hi", "https://example.invalid/a.png", None),
                  use_default_image_token_count=True)
    before = core.DEFAULT_IMAGE_TOKEN_COUNT
    real = COMPONENT.set_count_settings

    def pushed_while_another_thread_assigns(settings):
        real(settings)
        core.DEFAULT_IMAGE_TOKEN_COUNT = before + 2000

    try:
        monkeypatch.setattr(COMPONENT, "set_count_settings", pushed_while_another_thread_assigns)
        core.DEFAULT_IMAGE_TOKEN_COUNT = before + 1000
        litellm.token_counter(**kwargs)  # raced: either value is an answer litellm could give
        monkeypatch.setattr(COMPONENT, "set_count_settings", real)
        assert litellm.token_counter(**kwargs) == stock.token_counter(**kwargs)
    finally:
        core.DEFAULT_IMAGE_TOKEN_COUNT = before
    assert litellm.token_counter(**kwargs) == stock.token_counter(**kwargs)


def test_a_long_text_counted_under_old_settings_is_not_remembered(stock, monkeypatch):
    """Thread B counts a long text; meanwhile thread A changes the sample count and
    counts (push, memos emptied) and thread C sees the text for the first time since.
    B's count, made under the old setting, must not be remembered afterwards."""
    from fast_litellm._component import COMPONENT

    limit = core._get_extrapolating_count_function.__defaults__[0]
    text = ("Grüße, 世界! 12345 ab\n" * (limit // 20 + 1000))[: limit + 54_321]  # extrapolated, remembered
    long_chat = [{"role": "user", "content": text}]
    real = COMPONENT.count_text
    before = core.EXTRAPOLATION_SAMPLES

    def count_while_others_run(encoding, counted_text):
        counted = real(encoding, counted_text)
        if len(counted_text) > limit:
            monkeypatch.setattr(COMPONENT, "count_text", real)
            core.EXTRAPOLATION_SAMPLES = 3  # thread A
            litellm.token_counter(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
            litellm.token_counter(model="gpt-4o", messages=long_chat)  # thread C
        return counted

    try:
        litellm.token_counter(model="gpt-4o", messages=long_chat)  # first sighting
        monkeypatch.setattr(COMPONENT, "count_text", count_while_others_run)
        litellm.token_counter(model="gpt-4o", messages=long_chat)  # thread B: raced
        for _ in range(2):
            assert litellm.token_counter(model="gpt-4o", messages=long_chat) == stock.token_counter(
                model="gpt-4o", messages=long_chat)
    finally:
        monkeypatch.setattr(COMPONENT, "count_text", real)
        core.EXTRAPOLATION_SAMPLES = before


def test_an_unholdable_value_is_not_tried_again_until_it_changes(stock, monkeypatch):
    from fast_litellm import _settings

    tried = []
    real = _settings.litellm_count_settings
    monkeypatch.setattr(_settings, "litellm_count_settings", lambda values: tried.append(1) or real(values))
    before = core.DEFAULT_IMAGE_WIDTH
    kwargs = dict(model="gpt-4o", messages=_image_chat("hi", "https://example.invalid/a.png", None))
    try:
        core.DEFAULT_IMAGE_WIDTH = 0
        for _ in range(5):
            assert litellm.token_counter(**kwargs) == stock.token_counter(**kwargs)
        assert len(tried) == 1
    finally:
        core.DEFAULT_IMAGE_WIDTH = before
    assert litellm.token_counter(**kwargs) == stock.token_counter(**kwargs)
    assert len(tried) == 2


@pytest.mark.parametrize("exact_limit, longest", [(50, 300), (9_000, 12_000)])
def test_sample_count_changes_reach_plain_chats_when_the_exact_limit_is_small(stock, exact_limit, longest):
    """A plain chat of short strings skips the per-count check, unless litellm's exact
    limit (set through the environment) is under LONG_TEXT: then short strings are
    extrapolated too, and a run-time EXTRAPOLATION_SAMPLES change must reach them. Over
    LONG_TEXT (9,000), a tool description or tool_choice past it is extrapolated with
    short messages: tools and tool_choice are checked at any length."""
    script = r"""
import json, os, random
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
import litellm, fast_litellm
from fast_litellm import tokens
from litellm.litellm_core_utils import token_counter as core
from litellm.utils import get_messages_reach_token_count
assert fast_litellm.apply_acceleration()
stock, stock_reach = tokens.ORIGINALS["token_counter"], tokens.ORIGINALS["messages_reach_token_count"]
reach = get_messages_reach_token_count()
rng = random.Random(9)
alphabet = "ab c\n.,;:'\u00e9\u0416\u4e2d\U0001f600 \t0123456789"
def text():
    return "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, LONGEST)))
mismatches = 0
for samples in (16, 3, 7, 16):
    core.EXTRAPOLATION_SAMPLES = samples
    for _ in range(40):
        messages = [{"role": "system", "content": text()[:8000]}, {"role": "user", "content": text()[:8000]}]
        tools = [{"type": "function", "function": {"name": "f", "description": text(),
                                                    "parameters": {"type": "object", "properties": {}}}}]
        for kwargs in ({"text": text()}, {"messages": messages}, {"messages": messages, "tools": tools},
                       {"messages": messages, "tool_choice": {"type": "function", "function": {"name": text()}}}):
            mismatches += litellm.token_counter(model="gpt-4o", **kwargs) != stock(model="gpt-4o", **kwargs)
        for tools_given in (None, tools):
            mismatches += (reach(model="gpt-4o", messages=messages, threshold=60, tools=tools_given)
                           != stock_reach(model="gpt-4o", messages=messages, threshold=60, tools=tools_given))
ops = fast_litellm.get_performance_stats()["operations"]
print(json.dumps({"mismatches": mismatches, "served": ops["token_counter"].get("component", 0)}))
"""
    run = subprocess.run([sys.executable, "-c", script.replace("LONGEST", str(longest))], capture_output=True,
                         text=True, timeout=300, env={**os.environ, "PYTHONWARNINGS": "ignore",
                                                      "TOKEN_COUNTER_MAX_EXACT_CHARS": str(exact_limit)})
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result == {"mismatches": 0, "served": 640}


def test_plain_short_chat_does_not_read_the_settings(stock, monkeypatch):
    """The saving this gating is for: a plain chat without tools never asks."""
    from fast_litellm import _settings

    asked = []
    monkeypatch.setattr(_settings, "changed", lambda: asked.append(1) or False)
    messages = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi", "name": "ann"}]
    assert litellm.token_counter(model="gpt-4o", messages=messages) == stock.token_counter(model="gpt-4o",
                                                                                          messages=messages)
    assert asked == []
    image = _image_chat("hi", "https://example.invalid/a.png", None)
    assert litellm.token_counter(model="gpt-4o", messages=image) == stock.token_counter(model="gpt-4o",
                                                                                       messages=image)
    assert asked == [1]
