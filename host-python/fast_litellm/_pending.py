"""Public functions of the documented API whose features are not built yet.

Each exists so code written against the API imports and fails clearly, never with a
made-up result. They are replaced as the routing, rate-limiting and connection-pooling
issues land (routing and rate limiting have).
"""

from __future__ import annotations

from typing import Any, NoReturn


def _not_yet(name: str, feature: str) -> NoReturn:
    raise NotImplementedError(
        f"fast_litellm.{name}() is not implemented yet: {feature} is not accelerated in this "
        "release (token counting is). litellm's own implementation is in use and unaffected."
    )


def get_connection_stats(*args: Any, **kwargs: Any) -> dict:
    """Connection pool counters (planned: connection pooling stays in litellm for now)."""
    _not_yet("get_connection_stats", "connection pooling")
