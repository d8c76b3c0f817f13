"""HUB_LOG_FORMAT=json: every line the worker and hub api write is one JSON object; the
worker's and the API's /metrics show what the operators' dashboards read."""

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from hub.readiness import free_port
from tests.integration.harness import HubUnderTest

pytestmark = pytest.mark.slow

TOKEN = "json-logs-test-token-0123456789"


def json_lines(text: str) -> list[dict[str, object]]:
    records = []
    for line in text.splitlines():
        record = json.loads(line)  # fails the test on any line that is not JSON
        assert isinstance(record, dict), line
        assert {"timestamp", "level", "logger", "message"} <= record.keys(), line
        records.append(record)
    return records


def test_the_worker_logs_json_lines_and_shows_data_topic_lag_only(tmp_path: Path) -> None:
    hub = HubUnderTest(tmp_path, extra_env={"HUB_LOG_FORMAT": "json"})
    hub.start()
    try:
        time.sleep(6)  # one tick of the lag monitor
        shown = hub.metrics()
    finally:
        hub.stop()
    records = json_lines((tmp_path / "worker-1.log").read_text())
    loggers = {str(r["logger"]) for r in records}
    assert any(name.startswith("faust") or name.startswith("mode") for name in loggers), loggers
    assert any(str(r["message"]).startswith("interaction hub starting with") for r in records)
    lagging = [series for series in shown if series.startswith("hub_consumer_lag_messages{")]
    assert lagging and not [s for s in lagging if "changelog" in s], lagging
    assert any(s.startswith("hub_build_info{") for s in shown)
    assert any(s.startswith("hub_rules_info{") for s in shown)
    assert shown['hub_events_rejected_total{reason="future_event"}'] == 0


def test_hub_api_logs_json_lines(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **HubUnderTest(tmp_path).env,
        "HUB_LOG_FORMAT": "json",
        "HUB_API__PORT": str(port),
        "HUB_API__TOKENS": json.dumps([{"name": "t", "token": TOKEN, "scopes": ["customers:read"]}]),
    }
    log = tmp_path / "api.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "hub", "api"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as answer:
                    text = answer.read().decode()
                break
            except OSError:
                assert time.monotonic() < deadline and process.poll() is None, log.read_text()
                time.sleep(0.2)
    finally:
        process.terminate()
        process.wait(30)
    assert "hub_api_requests_total" in text
    records = json_lines(log.read_text())
    assert any(str(r["logger"]).startswith("uvicorn") for r in records), records
    assert any("serving the customer API" in str(r["message"]) for r in records)
