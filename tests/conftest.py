"""Shared set-up: real litellm (pinned in requirements-dev.txt), fast_litellm applied.

`stock` holds litellm's own functions (captured by the patcher before it installed ours),
so a test can run stock and accelerated on the same input without re-patching.
"""

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import litellm  # noqa: E402
import pytest  # noqa: E402

import fast_litellm  # noqa: E402
from fast_litellm import _versions, tokens  # noqa: E402

# Why routing is not served on the litellm under test (not verified there), or None; the
# tests marked `routing` are skipped then, and others check that it is left alone.
ROUTING_UNSERVED_BECAUSE = _versions.unverified_problem(_versions.ROUTING)
ROUTING_SERVED = ROUTING_UNSERVED_BECAUSE is None


@pytest.fixture(scope="session", autouse=True)
def accelerated():
    assert fast_litellm.apply_acceleration(), fast_litellm.health_check()
    yield
    fast_litellm.apply_acceleration()


class Stock:
    """litellm's own implementations, untouched by fast_litellm."""

    @property
    def token_counter(self):
        return tokens.ORIGINALS["token_counter"]

    @property
    def messages_reach_token_count(self):
        return tokens.ORIGINALS["messages_reach_token_count"]

    @property
    def encode(self):
        return tokens.ORIGINALS["encode"]

    @property
    def decode(self):
        return tokens.ORIGINALS["decode"]


@pytest.fixture(scope="session")
def stock():
    return Stock()


def outcome(fn, *args, **kwargs):
    """(value, None) or (None, exception type): what a call returns or raises."""
    try:
        return fn(*args, **kwargs), None
    except Exception as exc:  # noqa: BLE001 - the type is what parity compares
        return None, type(exc)


def environment_without_our_settings() -> dict:
    """os.environ for a child process, without fast-litellm's settings (FAST_LITELLM_*),
    but for the override `just test-litellm` runs the suite under."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith("FAST_LITELLM_") or k == "FAST_LITELLM_ALLOW_UNVERIFIED_LITELLM"}


def pytest_configure(config):
    config.addinivalue_line("markers", "routing: needs fast-litellm's routing installed; skipped on a litellm "
                                       "release routing was not verified on (fast_litellm._versions.VERIFIED)")
    config.addinivalue_line("markers", "pre_call_checks: enable_pre_call_checks served; skipped on a release "
                                       "they are not ported to (fast_litellm._router_release.NOT_PORTED_1109)")


def pytest_collection_modifyitems(config, items):
    # what the installed release leaves to litellm (the tests that check it is left alone run)
    from fast_litellm import _router_release

    not_ported = _router_release.not_ported()

    def unported(piece: str) -> str | None:
        return f"not ported to litellm {_versions.installed()}: {not_ported[piece]}" if piece in not_ported else None

    skips = {
        "routing": None if ROUTING_SERVED else f"routing is not served here: {ROUTING_UNSERVED_BECAUSE}",
        "pre_call_checks": unported("enable_pre_call_checks"),
    }
    for item in items:
        for marker, reason in skips.items():
            if reason is not None and item.get_closest_marker(marker):
                item.add_marker(pytest.mark.skip(reason=reason))
                break
