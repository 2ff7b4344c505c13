"""Compatibility names from the earlier PyO3 fast-litellm (`fast_litellm._rust`).

There is no native extension any more: these classes are backed by the WebAssembly
component. The module keeps its old name so code written against the old API runs.
"""

from __future__ import annotations

from typing import Any

from . import _patch
from ._component import COMPONENT
from ._flags import ACCELERATED, FLAGS
from ._stats import STATS
from . import tokens


class SimpleTokenCounter:
    """Token counting with litellm's exact counts, plus litellm's cost map and limits."""

    def __init__(self, model_max_tokens: int = 4096) -> None:
        if type(model_max_tokens) is not int or model_max_tokens <= 0:
            raise ValueError(f"model_max_tokens must be a positive int, got {model_max_tokens!r}")
        self.model_max_tokens = model_max_tokens

    def count_tokens(self, text: str, model: str = "gpt-3.5-turbo") -> int:
        """Same number as `litellm.token_counter(model=model, text=text)`."""
        if not isinstance(text, str):
            raise ValueError(f"text must be a str, got {type(text).__name__}")
        return tokens._litellm().token_counter(model=model, text=text)  # ours while patched

    def count_tokens_batch(self, texts: list[str], model: str = "gpt-3.5-turbo") -> list[int]:
        """Counts for many texts in one component call."""
        if not isinstance(texts, (list, tuple)) or not all(isinstance(t, str) for t in texts):
            raise ValueError("texts must be a list of str")
        plan = tokens.plan_for(model)
        # the batch is one component call: only when the flag sends calls there outright
        # (disabled, rollout and shadow go text by text through litellm.token_counter's path)
        accelerated = FLAGS.route(tokens.FEATURE) == ACCELERATED and FLAGS.state_of(tokens.FEATURE) == "enabled"
        if (plan.reason is None and texts and accelerated and _patch.is_active()
                and tokens._litellm().disable_token_counter is not True):
            try:
                counts = COMPONENT.count_texts(plan.encoding, list(texts))
            except Exception:  # a trap (counted) or text that is not UTF-8: one by one below
                counts = None
            if counts is not None:
                STATS.served("count_tokens_batch")
                return counts
        counter = tokens._litellm().token_counter
        return [counter(model=model, text=t) for t in texts]

    def estimate_cost(self, input_tokens: int, output_tokens: int, model: str = "gpt-3.5-turbo") -> float:
        """USD from litellm's cost map (`litellm.cost_per_token`); raises for unknown models."""
        import litellm

        for name, value in (("input_tokens", input_tokens), ("output_tokens", output_tokens)):
            if type(value) is not int or value < 0:
                raise ValueError(f"{name} must be a non-negative int, got {value!r}")
        prompt_cost, completion_cost = litellm.cost_per_token(
            model=model, prompt_tokens=input_tokens, completion_tokens=output_tokens
        )
        return prompt_cost + completion_cost

    def get_model_limits(self, model: str) -> dict[str, Any]:
        """`max_input_tokens`, `max_output_tokens`, `max_tokens` from litellm's model info;
        unknown models get `model_max_tokens` for all three and `known: False`."""
        import litellm

        try:
            info = litellm.get_model_info(model)
        except Exception:
            m = self.model_max_tokens
            return {"max_input_tokens": m, "max_output_tokens": m, "max_tokens": m, "known": False}
        return {
            "max_input_tokens": info.get("max_input_tokens"),
            "max_output_tokens": info.get("max_output_tokens"),
            "max_tokens": info.get("max_tokens"),
            "known": True,
        }


from ._advanced_router import AdvancedRouter  # noqa: E402,F401 - the earlier package's name


class SimpleRateLimiter:
    """A per-key limiter in the component (the earlier package's name and methods).
    `algorithm`: "fixed-window" (litellm v3's, the default), "token-bucket" or
    "sliding-window"; `clock` returns ms (inject one in tests). With `redis_url` the limit
    is shared by every process using that Redis (fixed-window)."""

    def __init__(self, requests_per_minute: int = 60, algorithm: str = "fixed-window",
                 window_seconds: float = 60.0, clock=None, redis_url: str | None = None) -> None:
        from ._ratelimit import RateLimiter, check_limit, check_window

        check_limit(requests_per_minute, "requests_per_minute")
        check_window(window_seconds, "window_seconds")
        self.requests_per_minute = requests_per_minute
        self._limiter = RateLimiter(requests_per_minute, window_seconds, algorithm, clock, redis=redis_url)

    def check(self, key: str) -> dict:
        """Admit one request: `allowed`, `remaining_requests`, `retry_after_ms`."""
        return self._limiter.check(key)

    def is_allowed(self, key: str) -> bool:
        """Admit one request if there is room; True if it was admitted."""
        return self._limiter.check(key)["allowed"]

    def get_remaining(self, key: str) -> int:
        """Requests left for `key` now, without using one."""
        return self._limiter.remaining(key)

    def get_stats(self) -> dict:
        return self._limiter.stats()
