"""``hub demo``: the whole hub on one machine, with traffic, showing what fires.

Uses the configured Kafka and PostgreSQL, or starts local ones when none is configured
(and stops them again at the end). Each run gets its own topic prefix, so a second run
starts from a clean slate while the database keeps the history of both.
"""

import asyncio
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

from aiokafka import AIOKafkaConsumer
from rich.console import Console
from rich.table import Table

from hub.decisions_view import print_explanation, print_report
from hub.errors import InfraError
from hub.history_view import print_group_history, print_history
from hub.infra import local
from hub.kafka_admin import client_options
from hub.marketing import respond
from hub.readiness import free_port, wait_until_ready
from hub.settings import Settings, load_settings
from hub.simulated_groups import group_id
from hub.simulation_publisher import GROUPS, publish_traffic
from hub.storage.admin import migrate_database
from schemas import topics

console = Console(highlight=False, soft_wrap=True)
READY_TIMEOUT_S = 90
IDLE_STOP_S = 8.0
KIND_STYLE = {"care": "green", "rm_referral": "magenta"}


def run_demo(*, seconds: int, customers: int, events: int, serve: bool = False) -> None:
    configured = load_settings()
    started_infra = configured.kafka_bootstrap is None or configured.database_url is None
    if started_infra:
        console.print(
            "[bold]No HUB_KAFKA_BOOTSTRAP / HUB_DATABASE_URL set:[/] starting a local Apache Kafka "
            "and PostgreSQL (first run downloads Kafka, ~1 minute) ..."
        )
        os.environ.update(local.up())
    run_id = f"demo-{int(time.time())}"
    os.environ["HUB_TOPIC_PREFIX"] = f"{configured.topic_prefix}{run_id}."
    os.environ["HUB_DATA_DIR"] = str(Path(".hub-data") / run_id)
    os.environ["HUB_WEB_PORT"] = str(free_port())
    token = _api_token()
    os.environ["HUB_API__PORT"] = str(free_port())
    settings = load_settings()
    worker: subprocess.Popen[bytes] | None = None
    api: subprocess.Popen[bytes] | None = None
    try:
        asyncio.run(migrate_database(settings))
        log_path = Path(".hub-data") / f"{run_id}.log"
        worker = _start(["worker"], settings.web_port, log_path)
        api = _start(["api"], settings.api.port, Path(".hub-data") / f"{run_id}-api.log")
        totals, sample, group = asyncio.run(
            _show(settings, seconds=seconds, customers=customers, events=events)
        )
        if worker.poll() is not None:
            raise InfraError(f"the worker stopped unexpectedly (code {worker.returncode}): see {log_path}")
        _print_summary(totals, _scrape_metrics(settings))
        if sample:
            console.print(f"\n[bold]contact history of {sample}[/] (`hub history {sample}`), newest first:")
            asyncio.run(print_history(settings, sample, as_json=False, limit=10))
            console.print(f"\n[bold]decisions about {sample}[/] (`hub explain {sample}`):")
            asyncio.run(print_explanation(settings, sample, as_json=False, limit=5))
        if group:
            how = f"`hub history --group {group}`"
            console.print(f"\n[bold]combined timeline of group {group}[/] ({how}), newest first:")
            asyncio.run(print_group_history(settings, group, as_json=False, limit=12))
        time.sleep(2)  # the outcomes of the stand-in marketing service reach the decision log
        console.print("\n[bold]per rule[/] (`hub report`; all runs so far):")
        asyncio.run(print_report(settings, as_json=False))
        _show_page(settings, sample, token, serve=serve)
    except KeyboardInterrupt:
        console.print("\n[bold]interrupted[/]: stopping")
    finally:
        for process in (api, worker):
            if process is not None:
                _stop(process)
        if started_infra:
            console.print("stopping the local Kafka and PostgreSQL")
            local.down()


def _api_token() -> str:
    """The demo's bearer token for the customer API: a new one, unless tokens are configured
    (those are secrets, never printed)."""
    configured = load_settings().api.tokens
    if configured:
        return f"yours ({configured[0].name})"
    token = secrets.token_urlsafe(18)
    scopes = ["customers:read", "decisions:read"]
    os.environ["HUB_API__TOKENS"] = json.dumps([{"name": "demo", "token": token, "scopes": scopes}])
    return token


def _start(command: list[str], port: int, log_path: Path) -> subprocess.Popen[bytes]:
    """``hub worker`` or ``hub api`` in the background, once it answers /readyz."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    console.print(f"starting hub {' '.join(command)} (log: {log_path}) ...")
    # A session of its own: Ctrl-C reaches the demo, which sums up and then stops the
    # process cleanly, instead of killing it under it.
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "hub", *command],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until_ready(process, port, timeout_s=READY_TIMEOUT_S, log_hint=str(log_path))
    except InfraError:
        _stop(process)
        raise
    return process


def _show_page(settings: Settings, sample: str, token: str, *, serve: bool) -> None:
    url = f"http://{settings.api.host}:{settings.api.port}/" + (f"?customer={sample}" if sample else "")
    console.print(f"\n[bold]customer 360 page[/]: {url}  (bearer token: {token})")
    if not serve:
        console.print("run `DEMO_SERVE=1 make demo` to keep the page and the hub up until Ctrl-C")
        return
    console.print("serving until Ctrl-C ...")
    while True:
        time.sleep(3600)


async def _show(
    settings: Settings, *, seconds: int, customers: int, events: int
) -> tuple[Counter[str], str, str | None]:
    """Print the triggers as they arrive; return the totals, a customer with a referral,
    and the group of the traffic whose timeline to show (the first, which nests another)."""
    watched = {
        settings.topic(t): t
        for t in (topics.TRIGGERS_CROSS_SELL, topics.TRIGGERS_CARE, topics.INTERACTIONS_DLQ)
    }
    consumer = AIOKafkaConsumer(
        *watched, **client_options(settings), auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    totals: Counter[str] = Counter()
    sample = ""
    deadline = time.monotonic() + seconds
    interrupted = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGINT, interrupted.set)
    console.print(
        f"publishing {customers} profiles, {GROUPS} corporate groups and {events} interactions "
        "(2% bad, 2% duplicate, a tenth by or for companies) ..."
    )
    publishing = asyncio.create_task(
        publish_traffic(settings, customers=customers, events=events, seed=int(time.time()))
    )
    marketing_done = asyncio.Event()
    marketing = asyncio.create_task(respond(settings, seconds=seconds + 30, stop=marketing_done))
    last_seen = time.monotonic()
    try:
        while not interrupted.is_set() and time.monotonic() < deadline:
            if publishing.done() and (time.monotonic() - last_seen > IDLE_STOP_S or _caught_up(settings)):
                break
            for records in (await consumer.getmany(timeout_ms=500)).values():
                last_seen = time.monotonic()
                for record in records:
                    value = json.loads(record.value)
                    _print_record(watched[record.topic], value, totals)
                    if value.get("kind") == "rm_referral":
                        sample = str(value["customer_id"])
        if interrupted.is_set():
            console.print("\n[bold]interrupted[/]: summing up and stopping")
    finally:
        publishing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await publishing
        marketing_done.set()
        await marketing
        await consumer.stop()
    return totals, sample, group_id(1) if GROUPS else None


def _print_record(topic: str, value: dict[str, object], totals: Counter[str]) -> None:
    if topic == topics.INTERACTIONS_DLQ:
        totals["rejected"] += 1
        return
    kind = str(value["kind"])
    totals[kind] += 1
    style = KIND_STYLE.get(kind, "cyan")
    addressed = value.get("addressed_to")
    rm = f"  (for {addressed['rm_id']})" if isinstance(addressed, dict) and addressed.get("rm_id") else ""
    console.print(
        f"[{style}]{kind:<11}[/] {value['customer_id']}  {value['tier']:<11} "
        f"via {value['recommended_channel']:<6} p{value['priority']}  {value['reason']}{rm}"
    )


def _scrape_metrics(settings: Settings) -> dict[str, float]:
    wanted = (
        "hub_events_consumed_total",
        "hub_identity_resolved_total",
        "hub_events_recorded_total",
        "hub_events_rejected_total",
        "hub_events_duplicate_total",
        "hub_triggers_published_total",
        "suppressed",
    )
    sums: dict[str, float] = dict.fromkeys(wanted, 0.0)
    with urllib.request.urlopen(f"http://127.0.0.1:{settings.web_port}/metrics", timeout=5) as answer:
        for line in answer.read().decode().splitlines():
            name = line.split("{")[0].split(" ")[0]
            if name == "hub_decisions_total" and 'outcome="suppressed"' in line:
                name = "suppressed"
            if name in sums:
                sums[name] += float(line.rsplit(" ", 1)[1])
    return sums


def _caught_up(settings: Settings) -> bool:
    """Every valid record received has been recorded or recognised as a duplicate."""
    counters = _scrape_metrics(settings)
    received = counters["hub_events_consumed_total"]
    done = counters["hub_events_recorded_total"] + counters["hub_events_duplicate_total"]
    return received > 0 and done >= received


def _print_summary(totals: Counter[str], counters: dict[str, float]) -> None:
    table = Table(title="demo summary", show_header=False)
    accepted, duplicates = counters["hub_events_consumed_total"], counters["hub_events_duplicate_total"]
    table.add_row("valid interactions received", f"{accepted:.0f}")
    table.add_row("  recorded in the contact history", f"{counters['hub_events_recorded_total']:.0f}")
    resolved = counters["hub_identity_resolved_total"]
    table.add_row("  named only by card, phone, account or login", f"{resolved:.0f}")
    table.add_row("  duplicates ignored", f"{duplicates:.0f}")
    table.add_row("rejected to interactions.dlq", f"{counters['hub_events_rejected_total']:.0f}")
    table.add_row("triggers published", f"{counters['hub_triggers_published_total']:.0f}")
    for kind, count in sorted(totals.items()):
        if kind != "rejected":
            table.add_row(f"  {kind}", str(count))
    table.add_row("suppressed by the contact policy", f"{counters['suppressed']:.0f}")
    console.print(table)


def _stop(worker: subprocess.Popen[bytes]) -> None:
    worker.terminate()
    try:
        worker.wait(30)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()
