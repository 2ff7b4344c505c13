"""The litellm releases this fast-litellm verified, for which accelerations, and whether
the installed one is one.

litellm changes what it counts and how it routes between releases without changing the
signatures we patch (1.109.0 counts a message holding a 1x1 inline PNG as 262 tokens,
1.106.2 as 92, tests/test_litellm_releases.py). A signature check cannot see that, so
a piece of litellm is patched only on a release the whole test suite passed against for
that piece; on any other it is left alone and `health_check()` says why.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

# No package imports at module level: `just test` reads VERIFIED from this file alone
# (runpy), without importing fast_litellm.

TOKEN_COUNTING = "rust_token_counting"  # the feature flags' names (tokens.FEATURE, _router.FEATURE)
ROUTING = "rust_routing"
# Release -> what the whole suite, parity suites included, verified on it; `just test`
# runs the suite against each: requirements-dev.txt pins the first, the others are
# installed beside it (justfile). Adding one: docs/design.md, "Supported litellm releases".
# 1.109.x rewrote the Router as a facade over a core (_router_release): its latency-based
# routing and pre-call checks are not ported and stay litellm's there.
VERIFIED = {
    "1.106.2": (TOKEN_COUNTING, ROUTING),
    "1.106.10": (TOKEN_COUNTING, ROUTING),
    "1.109.1": (TOKEN_COUNTING, ROUTING),
}
# Patch another release anyway, where its internals look as expected: for running this
# repository's suite against a new litellm, not for production.
ALLOW_UNVERIFIED_ENV = "FAST_LITELLM_ALLOW_UNVERIFIED_LITELLM"


def installed() -> str:
    """The version of the litellm Python imports, from the package metadata that describes
    those very files (a litellm imported from elsewhere, e.g. a source tree ahead on
    sys.path, has no version we can trust)."""
    try:
        import litellm

        distribution = metadata.distribution("litellm")
        described = Path(distribution.locate_file("litellm/__init__.py")).resolve()
        if described != Path(litellm.__file__).resolve():
            return f"unknown (litellm imported from {Path(litellm.__file__).parent}, not the installed " \
                   f"{distribution.version})"
        return distribution.version
    except Exception as exc:  # noqa: BLE001 - reported, never raised
        return f"unavailable: {exc}"


def is_verified(version: str) -> bool:
    return version in VERIFIED


def verified_features(version: str) -> tuple[str, ...]:
    return VERIFIED.get(version, ())


def unverified_problem(feature: str | None = None) -> str | None:
    """Why litellm must be left unpatched on this release (for `feature`, if named), or None."""
    from ._flags import env_switch

    version = installed()
    verified = verified_features(version)
    if (feature in verified) if feature else bool(verified):
        return None
    if env_switch(ALLOW_UNVERIFIED_ENV):
        return None
    if is_verified(version):
        releases = ", ".join(r for r, features in VERIFIED.items() if feature in features)
        return (f"litellm {version} was not verified for {feature} (it was on {releases}): that part of "
                f"litellm left unpatched (set {ALLOW_UNVERIFIED_ENV}=1 to patch it anyway, for testing)")
    return (f"litellm {version} is not a release this fast-litellm was verified against "
            f"({', '.join(VERIFIED)}): litellm left unpatched (set {ALLOW_UNVERIFIED_ENV}=1 to patch it "
            "anyway, for testing)")
