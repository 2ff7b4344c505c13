"""A litellm whose internals differ from the tested ones is left unpatched, and says so."""

import litellm
import litellm._lazy_imports as lazy
import litellm.utils
import pytest
from conftest import ROUTING_SERVED

import fast_litellm
from fast_litellm import _versions, tokens


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
    # routing is decided on the release and the Router's own internals: not on these
    assert health["routing"]["patched"] is ROUTING_SERVED and ("problems" in health["routing"]) is not ROUTING_SERVED
    assert fast_litellm.is_enabled("rust_routing") is ROUTING_SERVED
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
    assert fast_litellm.is_enabled("rust_routing") is ROUTING_SERVED


# -- litellm releases the suite was not run against -------------------------------------------

def _assert_release_left_alone(stock, version: str) -> None:
    from litellm.router import Router

    from fast_litellm import _router

    health = fast_litellm.health_check()
    assert health["status"] == "unaccelerated"
    assert health["litellm_version"] == version and health["litellm_version_verified"] is False
    assert health["verified_litellm_versions"] == ["1.106.2", "1.106.10", "1.109.1"]
    assert health["litellm_verified_features"] == []
    assert len(health["unrecognised_litellm_internals"]) == 1
    assert f"litellm {version} is not a release" in health["unrecognised_litellm_internals"][0]
    assert health["routing"]["patched"] is False
    assert health["routing"]["problems"] == health["unrecognised_litellm_internals"]
    assert not any(entry["patched"] for entry in fast_litellm.get_patch_status().values())
    assert Router.get_available_deployment is not _router.get_available_deployment
    assert Router.async_get_available_deployment is not _router.async_get_available_deployment
    assert lazy._token_counter_new_func is not tokens.token_counter
    assert fast_litellm.is_enabled("rust_token_counting") is False and fast_litellm.is_enabled("rust_routing") is False
    messages = [{"role": "user", "content": "counted by litellm"}]
    assert litellm.token_counter(model="gpt-4o", messages=messages) == stock.token_counter(
        model="gpt-4o", messages=messages)


def _seen_as_release(monkeypatch, version: str) -> None:
    """The installed litellm passes for `version`, without the override, nothing warned yet."""
    from fast_litellm import _patch

    monkeypatch.setattr(_versions, "installed", lambda: version)
    monkeypatch.delenv(_versions.ALLOW_UNVERIFIED_ENV, raising=False)
    monkeypatch.setattr(_patch, "_warned", set())


def test_an_unverified_release_is_left_unpatched_with_one_warning(stock, unpatched, monkeypatch, caplog):
    _seen_as_release(monkeypatch, "1.109.0")
    with caplog.at_level("WARNING", logger="fast_litellm"):
        assert fast_litellm.apply_acceleration() is False
        assert fast_litellm.apply_acceleration() is False
    _assert_release_left_alone(stock, "1.109.0")
    warnings = [r.getMessage() for r in caplog.records if "1.109.0 is not a release" in r.getMessage()]
    assert len(warnings) == 1, caplog.records
    # the limiters do not depend on litellm: still served by the component
    from fast_litellm._ratelimit import RateLimiter

    limiter = RateLimiter(1, 60, clock=lambda: 0)
    assert [limiter.check("k")["allowed"] for _ in range(2)] == [True, False]
    # our own selection API hands a request with blocked ids to litellm's selection
    model_list = [{"model_name": "g", "litellm_params": {"model": "gpt-4o", "api_key": "k"},
                   "model_info": {"id": i}} for i in ("a", "b")]
    picked = fast_litellm.get_available_deployment(model_list, "g", ["a"])
    assert picked["model_info"]["id"] == "b"


def test_an_unverified_release_is_patched_when_allowed(unpatched, monkeypatch):
    # the Router is then patched where its internals are the ones tested (not on 1.109.x)
    router_recognised = _versions.ROUTING in _versions.verified_features(_versions.installed())
    monkeypatch.setattr(_versions, "installed", lambda: "1.109.0")
    monkeypatch.setenv(_versions.ALLOW_UNVERIFIED_ENV, "1")
    assert fast_litellm.apply_acceleration() is True
    health = fast_litellm.health_check()
    assert health["status"] == "accelerated" and health["litellm_version_verified"] is False
    assert health["unrecognised_litellm_internals"] == [] and health["routing"]["patched"] is router_recognised


def test_a_release_verified_for_counting_only_counts_and_leaves_the_router(stock, unpatched, monkeypatch, caplog):
    from litellm.router import Router

    from fast_litellm import _router

    # a release verified for counting only (none is today: 1.109.1 was, until routing was ported)
    monkeypatch.setitem(_versions.VERIFIED, "1.106.99", (_versions.TOKEN_COUNTING,))
    _seen_as_release(monkeypatch, "1.106.99")
    with caplog.at_level("WARNING", logger="fast_litellm"):
        assert fast_litellm.apply_acceleration() is True
    health = fast_litellm.health_check()
    assert health["status"] == "accelerated" and health["litellm_version_verified"] is True
    assert health["litellm_verified_features"] == ["rust_token_counting"]
    assert health["unrecognised_litellm_internals"] == []
    assert health["routing"]["patched"] is False
    [problem] = health["routing"]["problems"]
    assert "litellm 1.106.99 was not verified for rust_routing" in problem
    assert [r.getMessage() for r in caplog.records if "rust_routing" in r.getMessage()] == [
        f"fast_litellm: {problem}; see health_check()"]
    assert Router.get_available_deployment is not _router.get_available_deployment
    assert fast_litellm.is_enabled("rust_token_counting") is True and fast_litellm.is_enabled("rust_routing") is False
    messages = [{"role": "user", "content": "counted by the component"}]
    def served() -> int:
        return fast_litellm.get_performance_stats()["operations"].get("token_counter", {}).get("component", 0)

    before = served()
    assert litellm.token_counter(model="gpt-4o", messages=messages) == stock.token_counter(
        model="gpt-4o", messages=messages)
    assert served() == before + 1
