"""Loading fast-litellm into the LiteLLM proxy.

Add one line to the proxy's config.yaml:

    litellm_settings:
      callbacks: ["fast_litellm.proxy.accelerator"]

The proxy imports this module at start-up, which accelerates litellm in the proxy
process; the `accelerator` callback itself does nothing per request. It prints one line
with the proxy's acceleration status, so the log shows whether it is on.
"""

from __future__ import annotations

import os
import sys

from litellm.integrations.custom_logger import CustomLogger

import fast_litellm


class FastLitellmAccelerator(CustomLogger):
    """A callback whose only job is to be loaded: importing it applied the acceleration."""

    def __init__(self) -> None:
        super().__init__()
        health = fast_litellm.health_check()
        live = sum(1 for p in health["patches"].values() if p["patched"])
        print(f"fast_litellm: proxy process {os.getpid()}: {health['status']} "
              f"({live}/{len(health['patches'])} patch targets live, litellm {health['litellm_version']}, "
              f"component error: {health['component_error']})"
              + "".join(f"; {problem}" for problem in dict.fromkeys(  # counting's, then the Router's
                  health["unrecognised_litellm_internals"] + health["routing"].get("problems", []))),
              file=sys.stderr, flush=True)


accelerator = FastLitellmAccelerator()
