"""One chaos run: services, two workers, traffic, a seeded schedule of faults, a verdict."""

import asyncio
import itertools
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from hub.errors import InfraError
from hub.readiness import listening, wait_until_ready
from schemas import topics
from tests.chaos.cluster import FIRST_WEB_PORT, STOP_BOUND_S, Services, Worker
from tests.chaos.schedule import Fault, Profile, plan
from tests.chaos.traffic import Traffic
from tests.chaos.verify import TRIGGER_TOPICS, Verdict, judge, read_history, read_topic, uncommitted

BASE_WORKERS = 2
CUSTOMERS = 2_000
READY_TIMEOUT_S = 120
DRAIN_TIMEOUT_S = 240
EXIT_SLACK_S = 1.0
"""Past the bound the worker's watchdog exits at once; the exit itself and reaping it take
a moment more (15.1 s measured on a loaded machine)."""
BASELINE_MARGIN_S = 3.0
EFFECT_WINDOW_S = 10.0
"""How long after a fault ends its effect on latency is still counted."""


@dataclass
class Effect:
    fault: Fault
    began_s: float
    ended_s: float
    note: str = ""
    latency_ms: tuple[float, float, float] | None = None
    """p50, p99 and max of send-to-record latency of events sent during the fault and
    EFFECT_WINDOW_S after it."""
    stall_s: float = 0.0
    """The longest stretch in that window in which nothing was recorded."""


@dataclass
class RunResult:
    seed: int
    profile: str
    verdict: Verdict
    effects: list[Effect]
    baseline_ms: tuple[float, float, float] | None
    throughput: float
    """Events recorded per second of traffic, faults and all."""
    offered: float
    drain_s: float
    stop_seconds: list[float]
    worker_exits: list[int]
    worker_starts: int
    send_failures: int
    logs: dict[str, str] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.verdict.clean and all(took <= STOP_BOUND_S + EXIT_SLACK_S for took in self.stop_seconds)


async def run_seed(seed: int, profile: Profile, workdir: Path, cache: Path, *, say: "Say") -> RunResult:
    # The producer's reconnection warnings during broker outages say nothing new.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    faults = plan(seed, profile)
    say(
        f"seed {seed} ({profile.name}: {profile.seconds:.0f} s at {profile.rate:.0f}/s, {len(faults)} faults)"
    )
    for fault in faults:
        say("  " + fault.describe())
    services = Services(workdir / "infra", cache)
    await asyncio.to_thread(_fresh, services, workdir)
    env = {
        **os.environ,
        **services.env(),
        "HUB_TOPIC_PREFIX": f"chaos{seed}.",
        "HUB_LOG_LEVEL": "warn",
        "HUB_STARTUP_WAIT_S": "600",
    }
    workers = [Worker(index, workdir, env) for index in range(BASE_WORKERS + 1)]
    try:
        migrate = [sys.executable, "-m", "hub", "migrate"]
        done = await asyncio.to_thread(subprocess.run, migrate, env=env, capture_output=True, text=True)
        if done.returncode:
            raise InfraError(f"hub migrate failed for the chaos run: {done.stderr.strip()}")
        for worker in workers[:BASE_WORKERS]:
            worker.start()
        for worker in workers[:BASE_WORKERS]:
            await _ready(worker)
        return await _traffic_under_faults(seed, profile, faults, services, workers, env, say)
    finally:
        for worker in workers:
            worker.kill()
        await asyncio.to_thread(services.stop)


async def _traffic_under_faults(
    seed: int,
    profile: Profile,
    faults: list[Fault],
    services: Services,
    workers: list[Worker],
    env: dict[str, str],
    say: "Say",
) -> RunResult:
    prefix = env["HUB_TOPIC_PREFIX"]
    bootstrap = services.kafka.bootstrap
    traffic = Traffic(bootstrap, prefix, seed=seed, customers=CUSTOMERS)
    stop_traffic = asyncio.Event()
    began = time.monotonic()
    began_wall = time.time()
    effects: list[Effect] = []
    supervising = asyncio.create_task(_supervise(workers))
    sending = asyncio.create_task(traffic.run(seconds=profile.seconds, rate=profile.rate, stop=stop_traffic))
    injecting = [
        asyncio.create_task(_inject(fault, began, services, workers, effects, say)) for fault in faults
    ]
    await asyncio.sleep(profile.seconds)
    stop_traffic.set()
    await sending
    await asyncio.gather(*injecting)
    traffic_s = time.monotonic() - began
    for worker in workers[:BASE_WORKERS]:
        if not worker.wanted:
            worker.start()
    say(f"  traffic done: {len(traffic.ledger)} records acknowledged; draining")
    drained = time.monotonic()
    verdict = await _drain(traffic, services, prefix)
    drain_s = time.monotonic() - drained
    # What was owed, for a look after the run (the services' data stays in the folder).
    with (services.root.parent / "ledger.jsonl").open("w") as ledger:
        ledger.writelines(json.dumps(asdict(sent)) + "\n" for sent in traffic.ledger)
    supervising.cancel()
    stop_seconds = [worker.terminate() for worker in workers[:BASE_WORKERS]]
    stop_seconds += [took for worker in workers[BASE_WORKERS:] for took in worker.stop_seconds]
    history = await read_history(services.postgres.url)
    sent_at: dict[str, float] = {}
    for sent in traffic.ledger:
        if sent.event_id is not None:
            sent_at.setdefault(sent.event_id, sent.sent_at)
    latencies = sorted(
        (history.recorded[event_id] - at, at - began_wall)
        for event_id, at in sent_at.items()
        if event_id in history.recorded
    )
    first_fault = min((fault.at_s for fault in faults), default=profile.seconds)
    # Events sent well before the first fault: those in flight when it struck count for it.
    baseline = _percentiles([lat for lat, at in latencies if at < first_fault - BASELINE_MARGIN_S])
    recorded_times = sorted(t - began_wall for t in history.recorded.values())
    for effect in effects:
        window = (effect.began_s, effect.ended_s + EFFECT_WINDOW_S)
        effect.latency_ms = _percentiles([lat for lat, at in latencies if window[0] <= at < window[1]])
        effect.stall_s = _longest_gap(recorded_times, *window)
    recorded_during = sum(1 for t in recorded_times if t <= traffic_s)
    return RunResult(
        seed=seed,
        profile=profile.name,
        verdict=verdict,
        effects=sorted(effects, key=lambda effect: effect.began_s),
        baseline_ms=baseline,
        throughput=recorded_during / traffic_s,
        offered=len(traffic.ledger) / traffic_s,
        drain_s=drain_s,
        stop_seconds=stop_seconds,
        worker_exits=[code for worker in workers for code in worker.unexpected_exits],
        worker_starts=sum(worker.starts for worker in workers),
        send_failures=traffic.send_failures,
        logs={} if verdict.clean else {f"worker-{w.index}": w.log_tail() for w in workers},
    )


def _fresh(services: Services, workdir: Path) -> None:
    """Empty services, and no tables or logs of the workers of an earlier run."""
    for port in (FIRST_WEB_PORT + index for index in range(BASE_WORKERS + 1)):
        if listening(port):
            raise InfraError(
                f"port {port} is taken (a worker of an earlier chaos run?): stop what listens there "
                f"(`ss -ltnp | grep {port}`)"
            )
    services.start_fresh()
    for leftover in [*workdir.glob("data-*"), *workdir.glob("worker-*.log")]:
        if leftover.is_dir():
            shutil.rmtree(leftover)
        else:
            leftover.unlink()


async def _ready(worker: Worker) -> None:
    assert worker.process is not None
    try:
        await asyncio.to_thread(
            wait_until_ready, worker.process, worker.web_port, timeout_s=READY_TIMEOUT_S, log_hint="its log"
        )
    except InfraError as exc:
        raise InfraError(f"chaos worker {worker.index}: {exc}\n{worker.log_tail()}") from None


async def _supervise(workers: list[Worker]) -> None:
    while True:
        for worker in workers:
            worker.supervise()
        await asyncio.sleep(0.5)


async def _inject(
    fault: Fault, began: float, services: Services, workers: list[Worker], effects: list[Effect], say: "Say"
) -> None:
    await asyncio.sleep(max(0.0, began + fault.at_s - time.monotonic()))
    start = time.monotonic() - began
    note = ""
    if fault.kind == "kill_worker":
        alive = [worker for worker in workers if worker.wanted and worker.alive()]
        if not alive:
            note = "no worker up: skipped"
        else:
            victim = alive[fault.target % len(alive)]
            victim.kill()
            note = f"worker {victim.index}"
            await asyncio.sleep(fault.lasts_s)
            victim.start()
    elif fault.kind in ("broker_term", "broker_kill"):
        stop = services.kafka.stop if fault.kind == "broker_term" else services.kill_broker
        await asyncio.to_thread(stop)
        await asyncio.sleep(fault.lasts_s)
        await asyncio.to_thread(services.kafka.start)
    elif fault.kind == "postgres_stop":
        await asyncio.to_thread(services.postgres.stop)
        await asyncio.sleep(fault.lasts_s)
        await asyncio.to_thread(services.postgres.start)
    elif fault.kind == "rebalance":
        extra = workers[BASE_WORKERS]
        extra.start()
        await asyncio.sleep(fault.lasts_s)
        took = await asyncio.to_thread(extra.terminate)
        note = f"third worker stopped in {took:.1f} s"
    elif fault.kind == "slow_worker":
        alive = [worker for worker in workers if worker.wanted and worker.alive()]
        if alive:
            victim = alive[fault.target % len(alive)]
            victim.pause()
            note = f"worker {victim.index} frozen"
            await asyncio.sleep(fault.lasts_s)
            victim.resume()
    ended = time.monotonic() - began
    effects.append(Effect(fault, start, ended, note))
    say(f"  {fault.describe()}: done at t={ended:.1f}s {note}")


async def _drain(traffic: Traffic, services: Services, prefix: str) -> Verdict:
    """Judge until nothing is missing any more, or DRAIN_TIMEOUT_S passed: the last verdict."""
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while True:
        verdict = await _judge(traffic, services, prefix)
        if not verdict.lost or time.monotonic() > deadline:
            # Once complete, look once more after a pause: late doubles would show now.
            await asyncio.sleep(5)
            return await _judge(traffic, services, prefix)
        await asyncio.sleep(3)


async def _judge(traffic: Traffic, services: Services, prefix: str) -> Verdict:
    bootstrap = services.kafka.bootstrap
    behind = await uncommitted(bootstrap, prefix)
    history = await read_history(services.postgres.url)
    dead = await read_topic(bootstrap, prefix + topics.INTERACTIONS_DLQ)
    published = [record for topic in TRIGGER_TOPICS for record in await read_topic(bootstrap, prefix + topic)]
    verdict = judge(traffic.ledger, history, dead, published)
    verdict.behind = behind if verdict.lost else 0
    return verdict


def _percentiles(values: list[float]) -> tuple[float, float, float] | None:
    if len(values) < 2:
        return None
    values = sorted(values)
    p99 = statistics.quantiles(values, n=100)[98]
    return (statistics.median(values) * 1000, p99 * 1000, values[-1] * 1000)


def _longest_gap(times: list[float], start: float, end: float) -> float:
    inside = [start] + [t for t in times if start <= t <= end] + [end]
    return max(b - a for a, b in itertools.pairwise(inside))


class Say:
    """Progress lines for the operator (stderr) as the run goes."""

    def __call__(self, line: str) -> None:
        print(line, file=sys.stderr, flush=True)
