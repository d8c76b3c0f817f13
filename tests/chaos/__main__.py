"""``python -m tests.chaos [--profile full|short] [--seeds 1-10]`` (``make chaos``).

Each seed gets fresh Kafka and PostgreSQL (ports 19692 and 25832), two workers and its
own schedule of faults under steady traffic; then the verifier's verdict. Prints a
Markdown table of the runs (docs/reliability.md keeps one) and exits 1 when any run lost,
doubled or conflicted, or a worker took longer than the bound to stop.
"""

import argparse
import asyncio
import json
import os
import signal
import sys
from dataclasses import asdict
from pathlib import Path

from tests.chaos.run import RunResult, Say, run_seed
from tests.chaos.schedule import PROFILES


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=sorted(PROFILES), default="full")
    parser.add_argument("--seeds", default="1-10", help="e.g. 3, 1-10 or 2,5,7")
    parser.add_argument("--workdir", type=Path, default=Path(".chaos"))
    parser.add_argument("--json", type=Path, help="also write every run's figures here")
    args = parser.parse_args()
    # SIGTERM (a CI timeout, a Ctrl-C in make) unwinds the run, so that its workers and
    # services are stopped rather than left holding the ports.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    profile = PROFILES[args.profile]
    cache = Path(os.environ.get("HUB_CACHE_DIR", ".cache")).resolve()
    results: list[RunResult] = []
    for seed in _seeds(args.seeds):
        workdir = (args.workdir / f"seed-{seed}").resolve()
        workdir.mkdir(parents=True, exist_ok=True)
        result = asyncio.run(run_seed(seed, profile, workdir, cache, say=Say()))
        results.append(result)
        print(describe(result), flush=True)
        if args.json:
            args.json.write_text(json.dumps([asdict(r) for r in results], indent=2, default=str))
    print(table(results))
    return 0 if all(result.passed for result in results) else 1


def _seeds(spec: str) -> list[int]:
    seeds: list[int] = []
    for part in spec.split(","):
        low, _, high = part.partition("-")
        seeds.extend(range(int(low), int(high or low) + 1))
    return seeds


def describe(result: RunResult) -> str:
    verdict = result.verdict
    lines = [
        f"seed {result.seed}: {'PASS' if result.passed else 'FAIL'}: {verdict.summary()}",
        f"  throughput {result.throughput:.0f}/s recorded of {result.offered:.0f}/s offered; drained in "
        f"{result.drain_s:.0f} s; workers started {result.worker_starts} times, exited by themselves "
        f"{len(result.worker_exits)} times; SIGTERM stops took "
        + ", ".join(f"{took:.1f}" for took in result.stop_seconds)
        + " s",
        f"  latency before the first fault (p50/p99/max ms): {_ms(result.baseline_ms)}",
    ]
    for effect in result.effects:
        lines.append(
            f"  {effect.fault.kind:<13} t={effect.began_s:5.1f}-{effect.ended_s:5.1f}s: "
            f"latency {_ms(effect.latency_ms)}"
            f", nothing recorded for {effect.stall_s:.1f} s {effect.note}"
        )
    for problem in (verdict.lost + verdict.doubled + verdict.conflicting)[:20]:
        lines.append(f"  ! {problem}")
    for name, log in result.logs.items():
        lines.append(f"--- {name} (last lines) ---\n{log}")
    return "\n".join(lines)


def table(results: list[RunResult]) -> str:
    head = (
        "| seed | sent | recorded | dead letters (repeats) | triggers | lost | doubled | conflicting "
        "| recorded/s of offered | p99 before faults | worst p99 under a fault | longest stall "
        "| max SIGTERM stop |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    )
    rows = []
    for result in results:
        verdict = result.verdict
        worst = max((e.latency_ms[1] for e in result.effects if e.latency_ms), default=0.0)
        stall = max((e.stall_s for e in result.effects), default=0.0)
        rows.append(
            f"| {result.seed} | {verdict.sent} | {verdict.recorded} "
            f"| {verdict.dead_letters} ({verdict.repeated}) | {verdict.triggers} "
            f"| {len(verdict.lost)} | {len(verdict.doubled)} | {len(verdict.conflicting)} "
            f"| {result.throughput:.0f} of {result.offered:.0f} | {_ms(result.baseline_ms, 1)} ms "
            f"| {worst / 1000:.1f} s | {stall:.1f} s | {max(result.stop_seconds, default=0):.1f} s |"
        )
    return "\n".join([head, *rows])


def _ms(figures: tuple[float, float, float] | None, only: int | None = None) -> str:
    if figures is None:
        return "n/a"
    if only is not None:
        return f"{figures[only]:.0f}"
    return "/".join(f"{value:.0f}" for value in figures)


if __name__ == "__main__":
    sys.exit(main())
