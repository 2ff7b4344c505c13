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


def pytest_collection_modifyitems(config, items):
    if ROUTING_SERVED:
        return
    skip = pytest.mark.skip(reason=f"routing is not served here: {ROUTING_UNSERVED_BECAUSE}")
    for item in items:
        if item.get_closest_marker("routing"):
            item.add_marker(skip)
