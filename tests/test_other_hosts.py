"""The same component from another host: Node through jco, with the answers Python gets."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from fast_litellm._component import component_path
from fast_litellm._flags import bucket

NODE_DIR = Path(__file__).parent / "node"


@pytest.mark.skipif(shutil.which("node") is None or shutil.which("npm") is None, reason="node/npm not on PATH")
def test_node_through_jco(tmp_path, stock):
    work = tmp_path / "node"
    shutil.copytree(NODE_DIR, work)
    subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund"], cwd=work, check=True, timeout=600)
    subprocess.run(["npx", "jco", "transpile", str(component_path()), "-o", "dist", "--name", "fast_litellm",
                    "--quiet"], cwd=work, check=True, timeout=600, capture_output=True)
    out = subprocess.run(["node", "smoke.mjs", str(work / "dist")], cwd=work, check=True, capture_output=True,
                         text=True, timeout=120)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    import fast_litellm

    messages = [{"role": "user", "content": "Hello, how are you today?"}]
    assert got["version"] == fast_litellm.__version__
    assert got["countText"] == stock.token_counter(model="gpt-3.5-turbo", text="hello world")
    assert got["countRequest"] == stock.token_counter(model="gpt-3.5-turbo", messages=messages)
    import litellm.litellm_core_utils.default_encoding  # noqa: F401  (tiktoken's files, offline)
    import tiktoken

    assert got["encode"] == tiktoken.get_encoding("o200k_base").encode("hello world")
    assert got["decode"] == "hello world"
    assert got["bucket"] == bucket("req-42")  # the same rollout decision in Node and Python
    assert got["series"] == 0
