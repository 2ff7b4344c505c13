"""A litellm whose internals differ from the tested ones is left unpatched, and says so."""

import litellm
import litellm._lazy_imports as lazy
import litellm.utils
import pytest

import fast_litellm
from fast_litellm import tokens


@pytest.fixture
def unpatched():
    assert fast_litellm.remove_acceleration() is True
    yield
    assert fast_litellm.apply_acceleration() is True


def _assert_left_alone(stock, what: str) -> None:
    assert fast_litellm.apply_acceleration() is False
    health = fast_litellm.health_check()
    assert health["status"] == "unaccelerated"
    assert any(what in problem for problem in health["unrecognised_litellm_internals"]), health
    assert not any(entry["patched"] for entry in fast_litellm.get_patch_status().values())
    assert lazy._token_counter_new_func is not tokens.token_counter
    assert fast_litellm.is_enabled("rust_token_counting") is False
    # routing is decided on the Router's own internals: still served
    assert health["routing"]["patched"] is True and "problems" not in health["routing"]
    assert fast_litellm.is_enabled("rust_routing") is True
    messages = [{"role": "user", "content": "still counted by litellm"}]
    assert litellm.token_counter(model="gpt-4o", messages=messages) == stock.token_counter(
        model="gpt-4o", messages=messages)


def test_missing_internal_function_leaves_litellm_unpatched(stock, unpatched, monkeypatch):
    monkeypatch.delattr(litellm.utils, "huggingface_tokenizer_kind")
    _assert_left_alone(stock, "huggingface_tokenizer_kind")


def test_changed_signature_leaves_litellm_unpatched(stock, unpatched, monkeypatch):
    original = stock.token_counter

    def token_counter(*args, **kwargs):  # same behaviour, a signature we have not tested
        return original(*args, **kwargs)

    monkeypatch.setattr(lazy, "_token_counter_new_func", token_counter)
    _assert_left_alone(stock, "token_counter signature")


def test_removal_is_seen_by_is_enabled(unpatched):
    """is_enabled answers whether the component serves now: not after remove_acceleration."""
    assert fast_litellm.is_enabled("rust_token_counting") is False
    assert fast_litellm.is_enabled("rust_routing") is False
    assert fast_litellm.health_check()["status"] == "unaccelerated"
    assert fast_litellm.apply_acceleration() is True
    assert fast_litellm.is_enabled("rust_token_counting") is True
    assert fast_litellm.is_enabled("rust_routing") is True
