"""The wheel `just wheel` writes to dist/: pure Python plus the component, installable and
working in a fresh virtualenv with no Rust toolchain on PATH.

Part of the normal suite (`just test` builds the wheel first). The install test creates a
venv and lets pip resolve litellm and wasmtime from the package index, pinned to the
versions in requirements-dev.txt; it takes a minute or two.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COMPONENT_IN_WHEEL = "fast_litellm/component/fast_litellm.wasm"
WASM_COMPONENT_MAGIC = b"\0asm\x0d\x00\x01\x00"  # component-model binary, not a core module


@pytest.fixture(scope="module")
def wheel() -> Path:
    wheels = sorted((ROOT / "dist").glob("fast_litellm-*.whl"))
    if not wheels:
        pytest.skip("no dist/fast_litellm-*.whl: build it with `./just wheel` (`just test` does this first)")
    assert len(wheels) == 1, f"more than one wheel in dist/: {wheels}"
    return wheels[0]


def test_wheel_is_pure_python_with_the_component(wheel):
    assert wheel.name.endswith("py3-none-any.whl"), wheel.name
    with zipfile.ZipFile(wheel) as zf:
        assert zf.testzip() is None  # every member's CRC is right
        names = set(zf.namelist())
        assert COMPONENT_IN_WHEEL in names, sorted(names)
        component = zf.read(COMPONENT_IN_WHEEL)
        sidecar = zf.read(COMPONENT_IN_WHEEL + ".sha256").decode() if COMPONENT_IN_WHEEL + ".sha256" in names else None
        metadata_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = zf.read(metadata_name).decode()
        wheel_info = zf.read(next(n for n in names if n.endswith(".dist-info/WHEEL"))).decode()
    assert component[:8] == WASM_COMPONENT_MAGIC
    assert len(component) > 1_000_000
    # the recorded digest names the compiled cache entry: a stale one would load another
    # build's compiled code, so it must describe exactly the wasm shipped beside it
    assert sidecar is not None, "the wheel lacks fast_litellm.wasm.sha256 (just build writes it)"
    digest, size = sidecar.split()
    assert digest == hashlib.sha256(component).hexdigest()
    assert int(size) == len(component)
    for module in ("__init__", "_component", "_invoke", "_patch", "_rust", "_settings", "_stats",
                   "_versions", "tokens"):
        assert f"fast_litellm/{module}.py" in names
    assert not any(n.endswith((".so", ".pyd", ".dylib")) for n in names)  # nothing native
    assert "Root-Is-Purelib: true" in wheel_info
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:") and "extra ==" not in line]
    assert any(" litellm" in r for r in requires) and any(" wasmtime" in r for r in requires), requires


def _pins() -> str:
    """litellm and wasmtime pinned as in requirements-dev.txt, as a pip constraints file."""
    text = (ROOT / "requirements-dev.txt").read_text()
    pins = []
    for name in ("litellm", "wasmtime"):
        # constraints take no extras: litellm[proxy]==X pins litellm==X
        match = re.search(rf"^{name}(?:\[[^\]]*\])?==(\S+)$", text, re.MULTILINE)
        assert match, f"requirements-dev.txt does not pin {name}"
        pins.append(f"{name}=={match.group(1)}")
    return "\n".join(pins) + "\n"


CHILD = r"""
import json, os, shutil, sys
from importlib.metadata import version
import litellm
import fast_litellm
from fast_litellm import tokens

stock = tokens.ORIGINALS
cases = [
    {"model": "gpt-3.5-turbo", "text": "Hello from a fresh virtualenv, naïve café 🙂"},
    {"model": "gpt-4o", "messages": [{"role": "system", "content": "Be brief."},
                                     {"role": "user", "content": "How many tokens is this?", "name": "eve"}]},
]
text = "round trip: 日本語"
out = {
    "health": fast_litellm.health_check(),
    "available": fast_litellm.RUST_ACCELERATION_AVAILABLE,
    "fast_litellm_file": fast_litellm.__file__,
    "prefix": sys.prefix,
    "cargo": shutil.which("cargo"),
    "rustc": shutil.which("rustc"),
    "versions": {"litellm": version("litellm"), "wasmtime": version("wasmtime"),
                 "fast-litellm": version("fast-litellm")},
    "counts": [litellm.token_counter(**c) for c in cases],
    "stock_counts": [stock["token_counter"](**c) for c in cases],
    "encoded": litellm.encode(model="gpt-4o", text=text),
    "stock_encoded": stock["encode"](model="gpt-4o", text=text),
    "decoded": litellm.decode(model="gpt-4o", tokens=stock["encode"](model="gpt-4o", text=text)),
    "decoded_by_us": tokens.decode(model="gpt-4o", tokens=stock["encode"](model="gpt-4o", text=text)),
    "decode_installed": litellm.decode is tokens.decode,
    "stats": fast_litellm.get_performance_stats(),
}
print("RESULT:" + json.dumps(out))
"""


def test_wheel_installs_and_accelerates_in_a_fresh_venv(wheel, tmp_path):
    venv = tmp_path / "venv"
    py = venv / "bin" / "python"
    timings = {}

    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=300)
    timings["venv"] = time.perf_counter() - start

    constraints = tmp_path / "constraints.txt"
    constraints.write_text(_pins())
    start = time.perf_counter()
    pip = subprocess.run(
        [str(py), "-m", "pip", "install", "--disable-pip-version-check", "--no-input",
         "-c", str(constraints), str(wheel)],
        capture_output=True, text=True, timeout=900, cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))},
    )
    timings["pip install"] = time.perf_counter() - start
    assert pip.returncode == 0, f"pip install failed\n{pip.stdout[-3000:]}\n{pip.stderr[-3000:]}"

    env = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",  # no cargo, no rustup
        "HOME": str(tmp_path),
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "FAST_LITELLM_CACHE_DIR": str(tmp_path / "cache"),
    }

    def child(label: str) -> dict:
        start = time.perf_counter()
        proc = subprocess.run([str(py), "-c", CHILD], env=env, cwd=tmp_path, capture_output=True, text=True,
                              timeout=300)
        timings[label] = time.perf_counter() - start
        assert proc.returncode == 0, proc.stderr[-4000:]
        (line,) = [line for line in proc.stdout.splitlines() if line.startswith("RESULT:")]
        return json.loads(line[len("RESULT:"):])

    result = child("cold import and count")
    warm = child("warm import and count")
    print("\n[wheel] " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()))
    assert result["health"]["compiled_cache"]["cache_hit"] is False
    assert warm["health"]["compiled_cache"]["cache_hit"] is True
    assert warm["counts"] == warm["stock_counts"] == result["counts"]

    # it ran the installed copy, not this source tree, with no toolchain in reach
    assert Path(result["prefix"]) == venv
    assert Path(result["fast_litellm_file"]).is_relative_to(venv), result["fast_litellm_file"]
    assert result["cargo"] is None and result["rustc"] is None
    pinned = dict(line.split("==") for line in _pins().split())
    assert result["versions"]["litellm"] == pinned["litellm"]
    assert result["versions"]["wasmtime"] == pinned["wasmtime"]
    assert result["versions"]["fast-litellm"] in wheel.name

    health = result["health"]
    assert health["status"] == "accelerated", health
    assert result["available"] is True
    assert health["component_error"] is None
    assert Path(health["component_path"]).is_relative_to(venv)
    assert health["compiled_cache"]["cache_error"] is None
    assert Path(health["compiled_cache"]["cache_file"]).is_relative_to(tmp_path / "cache")
    assert all(entry["patched"] for entry in health["patches"].values())

    assert result["counts"] == result["stock_counts"]
    assert all(n > 0 for n in result["counts"])
    assert result["encoded"] == result["stock_encoded"]
    assert result["decoded"] == result["decoded_by_us"] == "round trip: 日本語"
    ops = result["stats"]["operations"]
    assert ops["token_counter"]["component"] == 2 and ops["token_counter"]["litellm"] == 0
    assert ops["encode"]["component"] == 1 and ops["encode"]["litellm"] == 0
    # decode is served by the component whether or not litellm.decode is ours (SERVE_DECODE)
    assert ops["decode"]["component"] == (2 if result["decode_installed"] else 1)
