"""Micro-benchmark of the pure decision core: µs of CPU per call, no services.

Run from the repository root::

    .venv/bin/python -m tools.core_micro                     # print the table
    .venv/bin/python -m tools.core_micro --save before.json  # keep the numbers
    .venv/bin/python -m tools.core_micro --compare before.json

It uses only the core's public functions (``CustomerState.from_bytes``/``to_bytes``/
``apply``/``has_seen``, ``count_event``, ``evaluate_event``, ``decide``,
``decode_interaction``), so the same script measures the code before and after a change.
The rules are the shipped default set and the config is the unit tests' one
(tests/unit/core/decisions.py: no control group). Each figure is the best of several
``timeit`` repeats timed with the process's CPU clock (``time.process_time``: a busy
machine that takes the CPU away does not count), divided by the number of calls: CPU
spent by one thread, without the worker's I/O, logging or metrics.
"""

import argparse
import json
import sys
import time
import timeit
from collections.abc import Callable, Iterator
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hub.core.decide import Subject, decide
from hub.core.pii import Hasher, normalised
from hub.core.rules.engine import Context, count_event, evaluate_event
from hub.core.state import CustomerState
from hub.core.tiers import tier_of
from hub.core.validation import decode_interaction
from schemas.interaction import Interaction
from tests.factories import NOW, envelope, raw
from tests.unit.core.decisions import config, customer, event

CONFIG = config()
PROFILE = customer()
CUSTOMER = "C000001"

# A customer's mixed traffic: what the state of a busy customer is made of.
MIX: list[tuple[str, str, dict[str, Any]]] = [
    ("teller", "deposit", {}),
    ("teller", "fx_exchange", {"purpose": "travel"}),
    ("phone", "call", {"resolved": False}),
    ("web", "login", {"success": False}),
    ("web", "page_view", {}),
    ("branch", "visit", {"wait_minutes": 35}),
    ("phone", "complaint", {}),
    ("phone", "complaint_resolved", {}),
    ("teller", "withdrawal", {}),
    ("web", "login", {"success": True}),
]


def mixed_event(n: int, *, start_hours: float = 0) -> Interaction:
    channel, type_, payload = MIX[n % len(MIX)]
    if type_.startswith("complaint"):
        payload = {**payload, "complaint_id": f"CMP-{n // len(MIX)}"}
    at = NOW + timedelta(hours=start_hours + 7 * n)
    return event(channel, type_, event_id=f"evt-{n}", occurred_at=at.isoformat(), payload=payload)


def busy_state(entries: int) -> CustomerState:
    """A state built the way the recorder builds it: decide, then apply, ``entries`` times."""
    state = CustomerState()
    for n in range(entries):
        ev = mixed_event(n)
        decide(ev, Subject(CUSTOMER, state, PROFILE, {}), CONFIG)
        state.apply(ev)
    return state


def per_call(func: Callable[[], object], *, calls: int | None = None, repeat: int = 7) -> float:
    """µs per call: the best of ``repeat`` runs of enough calls to take ~0.1 s each."""
    timer = timeit.Timer(func, timer=time.process_time)
    if calls is None:
        calls, _ = timer.autorange()
        calls = max(1, calls // 2)
    return min(timer.repeat(repeat=repeat, number=calls)) / calls * 1e6


def apply_new_events(entries: int) -> float:
    """µs per apply of a new event to a state already holding ``entries`` entries."""
    batch, repeat = 500, 7
    best = float("inf")
    for r in range(repeat):
        state = busy_state(entries)
        fresh = [mixed_event(10_000 * (r + 1) + n, start_hours=24 * 3650) for n in range(batch)]
        took = timeit.timeit(partial(_apply_next, state, iter(fresh)), number=batch, timer=time.process_time)
        best = min(best, took / batch * 1e6)
    return best


def _apply_next(state: CustomerState, events: Iterator[Interaction]) -> bool:
    return state.apply(next(events))


def _decode(value: bytes, channel: str) -> object:
    return decode_interaction(value, topic_channel=channel, now=NOW, future_tolerance=timedelta(hours=24))


def measure() -> dict[str, float]:
    results: dict[str, float] = {}
    for entries in (10, 50):
        state = busy_state(entries)
        encoded = state.to_bytes()
        results[f"state.to_bytes ({entries} entries)"] = per_call(state.to_bytes)
        results[f"state.from_bytes ({entries} entries)"] = per_call(
            partial(CustomerState.from_bytes, encoded)
        )
        results[f"  encoded size, bytes ({entries} entries)"] = float(len(encoded))
    results["state.from_bytes(None)"] = per_call(lambda: CustomerState.from_bytes(None))

    state = busy_state(50)
    oldest, missing = state.recent[0].event_id, "evt-not-there"
    results["state.has_seen, miss (50 entries)"] = per_call(lambda: state.has_seen(missing))
    results["state.has_seen, hit oldest (50 entries)"] = per_call(lambda: state.has_seen(oldest))
    results["state.apply, new event (10 entries)"] = apply_new_events(10)
    results["state.apply, new event (50 entries)"] = apply_new_events(50)
    replayed = mixed_event(49)
    results["state.apply, replay (50 entries)"] = per_call(lambda: state.apply(replayed))

    tier = tier_of(PROFILE, CONFIG.tiers, rates=CONFIG.rates)
    assert PROFILE.time_zone is not None
    ctx = Context(CUSTOMER, PROFILE, tier, CONFIG.rates, ZoneInfo(PROFILE.time_zone))
    moments = {
        "teller deposit": event("teller", "deposit", event_id="m-dep"),
        "teller fx_exchange (travel)": event("teller", "fx_exchange", event_id="m-fx"),
        "phone call (unresolved)": event("phone", "call", event_id="m-call", payload={"resolved": False}),
        "web login (failed)": event("web", "login", event_id="m-login", payload={"success": False}),
        "branch visit": event("branch", "visit", event_id="m-visit"),
    }
    decide_times = []
    for name, ev in moments.items():
        state = busy_state(50)
        subject = Subject(CUSTOMER, state, PROFILE, {})
        decide(ev, subject, CONFIG)  # the first call counts and records; then steady state
        results[f"count_event: {name}"] = per_call(
            partial(count_event, ev, state, CONFIG.rules, CONFIG.rates)
        )
        results[f"evaluate_event: {name}"] = per_call(partial(evaluate_event, ev, state, CONFIG.rules, ctx))
        took = per_call(partial(decide, ev, subject, CONFIG))
        results[f"decide: {name}"] = took
        decide_times.append(took)
    results["decide: mean of the five"] = sum(decide_times) / len(decide_times)

    for channel, type_ in (("teller", "deposit"), ("phone", "call")):
        value = raw(envelope(channel, type_))
        results[f"decode_interaction: {channel} {type_} ({len(value)} bytes)"] = per_call(
            partial(_decode, value, channel)
        )
    hasher = Hasher("k1", b"0123456789abcdef0123")
    results["pii.normalised (phone +8613977774321)"] = per_call(lambda: normalised("phone", "+8613977774321"))
    results["pii.normalised (phone +86 (139) 7777-4321)"] = per_call(
        lambda: normalised("phone", "+86 (139) 7777-4321")
    )
    results["Hasher.digest (phone)"] = per_call(lambda: hasher.digest("phone", "+86 (139) 7777-4321"))
    return results


def table(results: dict[str, float], before: dict[str, float] | None) -> str:
    width = max(len(name) for name in results)
    lines = []
    if before is None:
        lines.append(f"| {'what':<{width}} | µs/call |")
        lines.append(f"|{'-' * (width + 2)}|--------:|")
        lines += [f"| {name:<{width}} | {value:7.2f} |" for name, value in results.items()]
    else:
        lines.append(f"| {'what':<{width}} |  before |   after | ratio |")
        lines.append(f"|{'-' * (width + 2)}|--------:|--------:|------:|")
        for name, value in results.items():
            old = before.get(name)
            ratio = f"{old / value:5.1f}" if old and value else "    -"
            old_text = f"{old:7.2f}" if old is not None else "      -"
            lines.append(f"| {name:<{width}} | {old_text} | {value:7.2f} | {ratio} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--save", type=Path, help="write the numbers as JSON to this file")
    parser.add_argument("--compare", type=Path, help="a file written by --save: show before/after")
    args = parser.parse_args(argv)
    results = measure()
    if args.save is not None:
        args.save.write_text(json.dumps(results, indent=2) + "\n")
    before = json.loads(args.compare.read_text()) if args.compare is not None else None
    print(table(results, before))
    return 0


if __name__ == "__main__":
    sys.exit(main())
