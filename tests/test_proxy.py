"""The real LiteLLM proxy (litellm[proxy]) with fast-litellm loaded through config.yaml,
in front of a local mock OpenAI-compatible server on loopback."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import ROUTING_SERVED, environment_without_our_settings

pytest.importorskip("fastapi", reason="litellm[proxy] extras are installed by `just setup`")

MOCK_REPLY = "Hello from the mock upstream."


class _MockOpenAI(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's naming
        length = int(self.headers.get("Content-Length", 0))
        body = json.loads(self.rfile.read(length) or b"{}")
        self.server.requests.append((self.path, body))
        reply = {
            "id": "chatcmpl-mock", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", "gpt-3.5-turbo"),
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": MOCK_REPLY}}],
            "usage": {"prompt_tokens": 12, "completion_tokens": 6, "total_tokens": 18},
        }
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):  # keep the test output clean
        pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(url: str, payload: dict, key: str) -> dict:
    req = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                 headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read())


@pytest.fixture
def mock_upstream():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _MockOpenAI)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


# A callback of the test's own, loaded by the proxy from the config's directory: after each
# call it writes what fast-litellm's Router selection did inside the proxy process.
ROUTE_STATS_CALLBACK = """
import json, os
import fast_litellm
from litellm.integrations.custom_logger import CustomLogger

class RouteStats(CustomLogger):
    async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):
        route = fast_litellm.get_performance_stats()["operations"].get("route", {})
        with open(os.environ["ROUTE_STATS_FILE"] + ".tmp", "w") as f:
            json.dump(route, f)
        os.replace(os.environ["ROUTE_STATS_FILE"] + ".tmp", os.environ["ROUTE_STATS_FILE"])

route_stats = RouteStats()
"""


def test_proxy_runs_accelerated(tmp_path: Path, mock_upstream, stock):
    upstream = f"http://127.0.0.1:{mock_upstream.server_address[1]}/v1"
    config = tmp_path / "config.yaml"
    (tmp_path / "route_stats.py").write_text(ROUTE_STATS_CALLBACK)
    deployments = "".join(f"""
  - model_name: gpt-3.5-turbo
    litellm_params:
      model: openai/gpt-3.5-turbo
      api_base: {upstream}
      api_key: sk-mock-not-a-secret
      rpm: {100 * (i + 1)}
    model_info:
      id: upstream-{i}""" for i in range(3))
    config.write_text(f"""
model_list:{deployments}
litellm_settings:
  callbacks: ["fast_litellm.proxy.accelerator", "route_stats.route_stats"]
router_settings:
  routing_strategy: latency-based-routing
""")
    port = _free_port()
    log_path = tmp_path / "proxy.log"
    env = environment_without_our_settings()
    key = f"sk-{secrets.token_hex(32)}"  # a fresh master key for this run only
    stats_file = tmp_path / "route_stats.json"
    env.update(LITELLM_LOCAL_MODEL_COST_MAP="True", PYTHONUNBUFFERED="1", LITELLM_MASTER_KEY=key,
               ROUTE_STATS_FILE=str(stats_file))
    litellm_cli = Path(sys.executable).with_name("litellm")
    with open(log_path, "w") as log:
        proxy = subprocess.Popen([str(litellm_cli), "--config", str(config), "--host", "127.0.0.1",
                                  "--port", str(port)], stdout=log, stderr=subprocess.STDOUT, env=env,
                                 cwd=tmp_path)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{base}/health/liveliness", timeout=2):
                    break
            except OSError:
                if proxy.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"proxy did not start:\n{log_path.read_text()[-4000:]}")
                time.sleep(0.5)

        messages = [{"role": "user", "content": "Count me inside the proxy, please."}]
        reply = _post(f"{base}/chat/completions", {"model": "gpt-3.5-turbo", "messages": messages}, key)
        assert reply["choices"][0]["message"]["content"] == MOCK_REPLY
        assert mock_upstream.requests and mock_upstream.requests[0][0] == "/v1/chat/completions"
        for _ in range(3):
            _post(f"{base}/chat/completions", {"model": "gpt-3.5-turbo", "messages": messages}, key)

        if ROUTING_SERVED:  # the proxy's own Router selected through fast-litellm, served by the component
            deadline = time.monotonic() + 30
            while True:
                route = json.loads(stats_file.read_text()) if stats_file.exists() else {}
                if route.get("component", 0) + route.get("litellm", 0) >= 4 or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            assert route.get("component", 0) >= 4 and route.get("litellm", 0) == 0, (
                route, log_path.read_text()[-3000:])

        counted = _post(f"{base}/utils/token_counter", {"model": "gpt-3.5-turbo", "messages": messages}, key)
        assert counted["total_tokens"] == stock.token_counter(model="gpt-3.5-turbo", messages=messages)

        text = log_path.read_text()
        line = next((l for l in text.splitlines() if l.startswith("fast_litellm: proxy process")), None)
        assert line is not None, text[-4000:]
        print(line)
        assert ": accelerated (" in line and "component error: None" in line, line
        # the release under test, not the pinned one (a relative PYTHONPATH would not reach the proxy)
        assert f"litellm {os.environ.get('FAST_LITELLM_TEST_RELEASE', '1.106.2')}," in line, line
        assert ("rust_routing" in line) is not ROUTING_SERVED, line
        live, total = line.split("(")[1].split(" patch targets")[0].split("/")
        assert live == total and int(total) >= 8, line
    finally:
        proxy.terminate()
        try:
            proxy.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proxy.kill()
