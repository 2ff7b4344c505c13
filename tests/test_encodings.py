"""The component's WIT exports against Python tiktoken, for all four encodings.

litellm only reaches cl100k_base and o200k_base through its chat models; p50k_base and
r50k_base are there for other hosts of the component and are checked here directly,
through wasmtime's generic call path (which also exercises the plain-list exports).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest
import tiktoken
from hypothesis import given, settings
from hypothesis import strategies as st

import litellm.litellm_core_utils.default_encoding  # noqa: F401  (points tiktoken at the files litellm bundles)
from fast_litellm._component import COMPONENT

ROOT = Path(__file__).resolve().parents[1]
WIT_NAMES = {"cl100k_base": "cl100k-base", "o200k_base": "o200k-base", "p50k_base": "p50k-base",
             "r50k_base": "r50k-base"}


def _tiktoken_rs_asset(name: str) -> Path:
    """The rank file the component embeds, found through cargo (the same crate build)."""
    meta = json.loads(subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--offline"], cwd=ROOT, check=True,
        capture_output=True, text=True).stdout)
    package = next(p for p in meta["packages"] if p["name"] == "tiktoken-rs")
    return Path(package["manifest_path"]).parent / "assets" / f"{name}.tiktoken"


def _reference(name: str) -> tiktoken.Encoding:
    if name != "r50k_base":
        return tiktoken.get_encoding(name)  # litellm bundles these files
    # r50k_base is not bundled: build tiktoken's encoding from the very file the component
    # embeds, after checking it is byte for byte the file tiktoken itself pins.
    from tiktoken.load import load_tiktoken_bpe
    from tiktoken_ext import openai_public

    path = _tiktoken_rs_asset(name)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == (
        "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930")
    return tiktoken.Encoding(
        name="r50k_base", pat_str=openai_public.r50k_pat_str,
        mergeable_ranks=load_tiktoken_bpe(str(path)), special_tokens={"<|endoftext|>": 50256})


REFERENCES = {name: _reference(name) for name in WIT_NAMES}
text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=200) | st.sampled_from(
    ["<|endoftext|>", " \n\n  x", "'ll've", "1234567", "👩‍👩‍👧 漢字", "   \t"])


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(sorted(WIT_NAMES)), value=text)
def test_encode_count_decode_match_tiktoken(name, value):
    ref = REFERENCES[name]
    wit = WIT_NAMES[name]
    expected = ref.encode(value, disallowed_special=())
    assert COMPONENT.call_plain("encode", wit, value) == expected
    assert COMPONENT.call_plain("count-text", wit, value) == len(expected)
    assert COMPONENT.call_plain("decode", wit, expected) == ref.decode(expected)
    assert COMPONENT.call_plain("decode", wit, expected[1:]) == ref.decode(expected[1:])


# What the component's hand-written ASCII pre-tokenizer (src/pretokenize.rs) tells apart,
# mixed with what it hands to the regex: contractions in any case, words of each case,
# digit runs, punctuation and "/" tails, every ASCII space (and \x1c, which is not one),
# newlines, the Latin-1 and Cyrillic letters it cuts (and × ÷, their neighbours it leaves),
# and other letters, marks, numbers, spaces and the long s that folds to s.
SPLIT_PIECES = ["a", "Z", "s", "S", "t", "r", "E", "v", "m", "L", "l", "d", "'", "'", "0", "7", " ", " ",
                " ", "\t", "\n", "\r", "\x0b", "\x0c", "\x1c", "!", ".", "/", "-", "\x7f", "é", "É", "ſ",
                "ǅ", "ʰ", "中", "\u0300", "²", "\u00a0", "\u2028", "—", "😀", "hello", "World", "HTTP",
                "don't", "I'LL", "we've", "\r\n", "123456", "...", "À", "Þ", "ß", "ÿ", "×", "÷", "ª", "Ā",
                "Я", "а", "џ", "Ѡ", "naïve", "ÆRØ", "Москва"]
split_text = st.lists(st.sampled_from(SPLIT_PIECES), max_size=40).map("".join)


@settings(max_examples=400, deadline=None)
@given(name=st.sampled_from(["cl100k_base", "o200k_base"]), value=split_text)
def test_pre_tokenizer_edge_cases_match_tiktoken(name, value):
    expected = REFERENCES[name].encode(value, disallowed_special=())
    assert COMPONENT.call_plain("encode", WIT_NAMES[name], value) == expected
    assert COMPONENT.count_text(["cl100k_base", "o200k_base"].index(name), value) == len(expected)


def test_count_texts_batches():
    texts = ["", "hello", "漢字 and more", "x" * 3000]
    expected = [len(REFERENCES["o200k_base"].encode(t)) for t in texts]
    assert COMPONENT.call_plain("count-texts", "o200k-base", texts) == expected


def test_decode_rejects_ids_outside_the_encoding():
    assert COMPONENT.call_plain("decode", "cl100k-base", [100256]) is None
    assert COMPONENT.call_plain("decode", "r50k-base", [50257]) is None
    assert COMPONENT.call_plain("decode", "r50k-base", [50256]) == "<|endoftext|>"


@pytest.mark.parametrize("model", ["gpt-4o", "gpt-4o-mini", "gpt-4", "gpt-3.5-turbo-0613", "gpt-4.1-nano", "o1",
                                   "o3-mini", "gpt-5", "gpt-5-mini", "text-davinci-003", "davinci", "gpt2",
                                   "ft:gpt-4o:org::id", "unknown-model"])
def test_encoding_for_model_follows_tiktoken_and_litellm(model):
    """The WIT's own table (for hosts that do not ask litellm): tiktoken's, with litellm's
    gpt-4o rule first and cl100k_base for unknown names."""
    try:
        expected = "o200k_base" if "gpt-4o" in model else tiktoken.encoding_name_for_model(model)
    except KeyError:
        expected = "cl100k_base"
    expected = {"gpt2": "r50k_base"}.get(expected, expected)  # tiktoken's alias, same ranks
    assert COMPONENT.call_plain("encoding-for-model", model) == WIT_NAMES[expected]
