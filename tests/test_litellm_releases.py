"""A real litellm release the suite was not run against is left unpatched (_versions).

litellm 1.109.0 is installed from the package index beside the pinned one (`pip install
--target`, without dependencies: it runs on the pinned release's) and imported first
through PYTHONPATH, in a child process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

RELEASE = "1.109.0"
CHILD = """
import json, logging, sys
logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
import litellm
import fast_litellm
from fast_litellm import tokens
from fast_litellm._ratelimit import RateLimiter

health = fast_litellm.health_check()
messages = [{"role": "user", "content": [{"type": "image_url", "image_url": {
    "url": "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAAA="}}]}]
router = litellm.Router(model_list=[{"model_name": "g", "litellm_params": {"model": "gpt-4o", "api_key": "k"}}])
limiter = RateLimiter(1, 60, clock=lambda: 0)
stock = tokens.ORIGINALS.get("token_counter")
print(json.dumps({
    "health": health,
    "litellm_file": litellm.__file__,
    "count": litellm.token_counter(model="gpt-4o", messages=messages),
    "stock_count": stock(model="gpt-4o", messages=messages) if stock else None,
    "ours": litellm.token_counter is tokens.token_counter,
    "picked": router.get_available_deployment("g")["model_info"]["id"] == router.model_list[0]["model_info"]["id"],
    "limits": [limiter.check("k")["allowed"] for _ in range(2)],
    "blocked": fast_litellm.get_available_deployment(
        [{"model_name": "g", "litellm_params": {"model": "gpt-4o", "api_key": "k"}, "model_info": {"id": i}}
         for i in ("a", "b")], "g", ["a"])["model_info"]["id"],
}, default=str))
"""


@pytest.fixture(scope="module")
def newer_litellm() -> Path:
    target = Path(sys.prefix) / f"litellm-{RELEASE}"  # kept in the virtualenv between runs
    if not (target / "litellm").is_dir():
        partial = target.with_name(target.name + ".partial")
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        "--no-deps", "--upgrade", "--target", str(partial), f"litellm=={RELEASE}"],
                       check=True, timeout=600)
        partial.rename(target)
    return target


def _child(path: Path, **env: str) -> tuple[dict, str]:
    inherited = {k: v for k, v in os.environ.items() if k != "FAST_LITELLM_ALLOW_UNVERIFIED_LITELLM"}
    run = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=300,
                         env={**inherited, "PYTHONPATH": str(path), **env})
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.splitlines()[-1]), run.stderr


def test_a_newer_release_runs_unpatched_and_says_why(newer_litellm):
    out, stderr = _child(newer_litellm)
    health = out["health"]
    assert out["litellm_file"].startswith(str(newer_litellm)), out["litellm_file"]
    assert health["litellm_version"] == RELEASE and health["litellm_version_verified"] is False
    assert health["status"] == "unaccelerated"
    [problem] = health["unrecognised_litellm_internals"]
    assert f"litellm {RELEASE} is not a release" in problem
    assert health["routing"] == {"patched": False, "strategies": health["routing"]["strategies"],
                                 "problems": [problem]}
    assert not any(entry["patched"] for entry in health["patches"].values())
    assert out["ours"] is False and out["picked"] is True
    assert out["limits"] == [True, False]  # the limiters do not depend on litellm
    assert out["blocked"] == "b"  # fast_litellm's own selection API: litellm selects
    assert stderr.count(f"litellm {RELEASE} is not a release") == 1


def test_patched_anyway_it_answers_as_the_release_does(newer_litellm):
    """Why the release list: 1.109.0 keeps the signatures we check but reads inline images
    in auto detail (a 1x1 PNG: 262 tokens, 92 on 1.106.2), which only a parity run finds.
    Found on 1.109.1, which counts as 1.109.0 does, that case is now handed to litellm:
    patched with the override, 1.109.0's answer is its own."""
    out, _ = _child(newer_litellm, FAST_LITELLM_ALLOW_UNVERIFIED_LITELLM="1")
    health = out["health"]
    assert health["status"] == "accelerated" and health["unrecognised_litellm_internals"] == []
    assert out["ours"] is True
    assert (out["count"], out["stock_count"]) == (262, 262)
    # routing is checked against the Router's internals: 1.109.0 has 1.109.1's facade and
    # core, so the override patches it too (what the override is for: a run of the suite)
    assert health["routing"]["patched"] is True


def test_a_litellm_imported_apart_from_its_metadata_is_not_trusted(newer_litellm, tmp_path):
    """1.109.0's files on the path ahead of the pinned release, without their metadata:
    the installed release's version describes other files, so it is not believed."""
    (tmp_path / "litellm").symlink_to(newer_litellm / "litellm")
    out, _ = _child(tmp_path)
    health = out["health"]
    assert out["litellm_file"].startswith(str(tmp_path))
    assert health["status"] == "unaccelerated" and health["litellm_version_verified"] is False
    assert health["litellm_version"].startswith("unknown (litellm imported from"), health["litellm_version"]
    assert out["ours"] is False and out["count"] == 262  # 1.109.0's own count
