"""A real Prometheus (Debian's binary) scrapes a live worker under traffic: every query of
the Grafana dashboard returns data, and the alert rules load and evaluate without error.

With HUB_DASHBOARD_PICTURE set to a path, the test then sends a minute of simulated
traffic and saves a picture of the panels there (``make dashboard-picture``).
"""

import asyncio
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from hub.rules.loading import default_rules_text
from schemas import topics
from tests.dashboard import OBSERVABILITY, Query, queries
from tests.dashboard_picture import Window, page, prometheus_reader, screenshot
from tests.factories import envelope, profile
from tests.integration.harness import HubUnderTest, wait_for_metric

ALERTS = OBSERVABILITY / "prometheus" / "alerts.yml"

API_TOKEN = "dashboard-test-token-0123456789"
READY_TIMEOUT_S = 30
PICTURE = os.environ.get("HUB_DASHBOARD_PICTURE")
CHROMIUM = Path("/usr/bin/chromium")
DATA_TIMEOUT_S = 30


def low_free_port() -> int:
    """A free port below the ephemeral range (32768), where outgoing connections take theirs."""
    for port in random.sample(range(20000, 32000), 50):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError("no free port in 20000-32000")


def get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as answer:
        return json.loads(answer.read())


class Prometheus:
    def __init__(self, workdir: Path, worker_port: int, api_port: int) -> None:
        self.port = low_free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workdir = workdir
        workdir.mkdir()
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(ALERTS)],
            "scrape_configs": [
                {"job_name": "hub", "static_configs": [{"targets": [f"127.0.0.1:{worker_port}"]}]},
                {"job_name": "hub-api", "static_configs": [{"targets": [f"127.0.0.1:{api_port}"]}]},
            ],
        }
        (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))

    def start(self) -> None:
        binary = shutil.which("prometheus")
        if binary is None:
            pytest.fail("prometheus not found: run `make prometheus` (Debian's prometheus package)")
        with (self.workdir / "prometheus.log").open("wb") as log:
            self.process = subprocess.Popen(
                [
                    binary,
                    f"--config.file={self.workdir / 'prometheus.yml'}",
                    f"--storage.tsdb.path={self.workdir / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"prometheus exited:\n{self.log()}"
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        raise AssertionError(f"prometheus not ready within {READY_TIMEOUT_S}s:\n{self.log()}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log(self) -> str:
        return (self.workdir / "prometheus.log").read_text(errors="replace")[-4000:]

    def query(self, promql: str) -> list[Any]:
        answer = get(f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": promql}))
        assert answer["status"] == "success", answer
        result: list[Any] = answer["data"]["result"]
        return result


@pytest.fixture
def rules_file(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(default_rules_text())
    return path


@pytest.fixture
def worker(tmp_path: Path, rules_file: Path) -> Iterator[HubUnderTest]:
    hub = HubUnderTest(
        tmp_path / "worker",
        extra_env={"HUB_RULES_FILE": str(rules_file), "HUB_RULES_RELOAD_SECONDS": "0.3"},
    )
    hub.workdir.mkdir()
    hub.start()
    yield hub
    hub.stop()


@pytest.fixture
def api(tmp_path: Path, worker: HubUnderTest) -> Iterator[str]:
    """`hub api` on the worker's database, with a token that may read customers."""
    port = low_free_port()
    tokens = [{"name": "dashboard", "token": API_TOKEN, "scopes": ["customers:read", "decisions:read"]}]
    env = {**worker.env, "HUB_API__PORT": str(port), "HUB_API__TOKENS": json.dumps(tokens)}
    with (tmp_path / "api.log").open("wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "hub", "api"], env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not _answers(f"{url}/readyz"):
        assert process.poll() is None and time.monotonic() < deadline, (tmp_path / "api.log").read_text()
        time.sleep(0.2)
    yield url
    process.terminate()
    process.wait(15)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def read_customer(api: str, customer_id: str) -> int:
    request = urllib.request.Request(
        f"{api}/customers/{customer_id}", headers={"Authorization": f"Bearer {API_TOKEN}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as refused:
        return int(refused.code)


@pytest.fixture
def prometheus(tmp_path: Path, worker: HubUnderTest, api: str) -> Iterator[Prometheus]:
    server = Prometheus(tmp_path / "prometheus", worker.web_port, int(api.rsplit(":", 1)[1]))
    server.start()
    yield server
    server.stop()


def traffic(run: str) -> tuple[list[tuple[str, bytes, bytes]], list[tuple[str, bytes, bytes]]]:
    """Profiles, then events of every channel: a complaint (care trigger), large deposits of
    a customer with an open complaint and one without consent (two suppressions), an event
    known only by its card (resolved), a bad record (dead letter) and two replays."""
    now = datetime.now(UTC).replace(microsecond=0)
    walker, shy, card = f"{run}-walker", f"{run}-shy", "4000" + str(uuid.uuid4().int)[:12]
    identifiers = {"account_no": [], "card_no": [card], "phone": [], "web_user": []}
    no_marketing = {"marketing": False, "phone": True, "sms": True, "email": True}
    profiles = [
        (topics.CUSTOMERS_PROFILE, walker.encode(), profile(customer_id=walker, identifiers=identifiers)),
        (topics.CUSTOMERS_PROFILE, shy.encode(), profile(customer_id=shy, consents=no_marketing)),
    ]
    large = {"amount": "75000.00", "currency": "USD", "account_type": "fx"}

    def event(n: int, channel: str, type_: str, **customer: Any) -> dict[str, Any]:
        at = (now - timedelta(minutes=10 - n)).isoformat()
        payload = large if type_ == "deposit" else None
        return envelope(
            channel, type_, event_id=f"{run}-{n}", occurred_at=at, customer=customer, payload=payload
        )

    events = [
        event(1, "web", "login", customer_id=walker),
        event(2, "branch", "visit", customer_id=walker),
        event(3, "phone", "complaint", customer_id=walker),
        event(4, "teller", "deposit", customer_id=walker),
        event(5, "teller", "deposit", customer_id=shy),
        event(6, "teller", "withdrawal", customer_id=None, card_no=card),
    ]
    records = [(topics.CHANNEL_TOPICS[e["channel"]], run.encode(), e) for e in events]
    encoded = [(topic, key, json.dumps(value).encode()) for topic, key, value in [*records, *records[:2]]]
    bad = [(topics.INTERACTIONS_TELLER, b"k", b'{"event_id": "broken",')]
    return [(t, k, json.dumps(v).encode()) for t, k, v in profiles], [*encoded, *bad]


async def test_every_dashboard_query_returns_data_from_a_live_worker_and_api(
    worker: HubUnderTest, api: str, prometheus: Prometheus, rules_file: Path
) -> None:
    run = worker.prefix.strip(".")
    profiles, events = traffic(run)
    await worker.produce(profiles)
    await wait_for_metric(worker, "hub_profiles_consumed_total", 2)
    await worker.produce(events)
    good_rules = default_rules_text()
    await asyncio.to_thread(rules_file.write_text, "rules: [{id: Broken}]")
    await wait_for_metric(worker, 'hub_rules_reloads_total{result="rejected"}', 1)
    await asyncio.to_thread(rules_file.write_text, good_rules)
    await wait_for_metric(worker, 'hub_rules_reloads_total{result="loaded"}', 1)
    for series, count in [
        ("hub_triggers_published_total", 1),
        ("hub_events_rejected_total", 1),
        ("hub_events_duplicate_total", 2),
        ("hub_identity_resolved_total", 1),
        ("hub_decisions_total", 3),
    ]:
        await wait_for_metric(worker, series, count)

    for customer_id in (f"{run}-walker", f"{run}-nobody"):  # an answer and a 404
        await asyncio.to_thread(read_customer, api, customer_id)

    missing = await data_of(prometheus, queries())
    assert not missing, "panels without data:\n" + "\n".join(missing) + f"\n{worker.log()}"

    targets = get(f"{prometheus.url}/api/v1/targets")["data"]["activeTargets"]
    assert {t["labels"]["job"]: t["health"] for t in targets} == {"hub": "up", "hub-api": "up"}, targets
    # A second wave after Prometheus has seen the first: the counters' first series start
    # at their first increment, so only now does their rate show intake (HubNoIntake).
    await worker.produce(events[:2])
    assert await alert_states(prometheus) == {"HubRuleReloadRejected": "firing"}, (
        "the rejected reload above fires its alert (the counter's first series, no `for`); "
        "nothing else is wrong with this worker"
    )
    if PICTURE:
        await picture_under_simulated_traffic(worker, api, prometheus, Path(PICTURE))


async def picture_under_simulated_traffic(
    worker: HubUnderTest, api: str, prometheus: Prometheus, png: Path
) -> None:
    """Waves of ``hub simulate`` traffic and customer reads for a minute, then the picture."""
    began = time.time()
    for wave in range(6):
        simulate = [sys.executable, "-m", "hub", "simulate", "--events", "500", "--customers", "150"]
        await asyncio.to_thread(
            subprocess.run, [*simulate, "--seed", str(wave)], env=worker.env, check=True, capture_output=True
        )
        for customer_id in (f"C{wave + 1:06d}", "nobody"):
            await asyncio.to_thread(read_customer, api, customer_id)
        await asyncio.sleep(8)
    await asyncio.sleep(5)
    document = page(prometheus_reader(prometheus.url, Window(began - 20, time.time())))
    await asyncio.to_thread(screenshot, document, png, CHROMIUM)


async def alert_states(prometheus: Prometheus) -> dict[str, str]:
    """The alerts not inactive, once the seven rules evaluate without error, after any
    pending alert had DATA_TIMEOUT_S to go back to inactive."""
    deadline = time.monotonic() + DATA_TIMEOUT_S
    while True:
        groups = (await asyncio.to_thread(get, f"{prometheus.url}/api/v1/rules"))["data"]["groups"]
        rules = [rule for group in groups for rule in group["rules"]]
        assert len(rules) == 7 and all(rule["health"] == "ok" for rule in rules), rules
        active = {rule["name"]: rule["state"] for rule in rules if rule["state"] != "inactive"}
        if "pending" not in active.values() or time.monotonic() > deadline:
            return active
        await asyncio.sleep(1)


async def data_of(prometheus: Prometheus, wanted: list[Query]) -> list[str]:
    """The queries still without a series after DATA_TIMEOUT_S (the first scrapes may lag)."""
    deadline = time.monotonic() + DATA_TIMEOUT_S
    while True:
        missing = [q for q in wanted if not await asyncio.to_thread(prometheus.query, q.promql)]
        if not missing or time.monotonic() > deadline:
            return [f"{q.panel} ({q.ref_id}): {q.promql}" for q in missing]
        wanted = missing
        await asyncio.sleep(1)
