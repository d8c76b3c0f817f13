"""A seeded schedule of faults: the same seed gives the same faults at the same times."""

import random
from dataclasses import dataclass
from typing import Literal

FaultKind = Literal["kill_worker", "broker_term", "broker_kill", "postgres_stop", "rebalance", "slow_worker"]


@dataclass(frozen=True)
class Profile:
    """How long traffic flows, how fast, and how many faults of each kind hit it."""

    name: str
    seconds: float
    rate: float
    """Channel records per second offered by the traffic."""
    faults: dict[FaultKind, int]


FULL = Profile(
    "full",
    seconds=180,
    rate=125,
    faults={
        "kill_worker": 9,
        "broker_term": 1,
        "broker_kill": 1,
        "postgres_stop": 1,
        "rebalance": 1,
        "slow_worker": 2,
    },
)
SHORT = Profile(
    "short",
    seconds=50,
    rate=60,
    faults={"kill_worker": 2, "broker_kill": 1, "postgres_stop": 1, "slow_worker": 1},
)
PROFILES = {profile.name: profile for profile in (FULL, SHORT)}

# How long each kind of fault lasts (seconds, drawn uniformly).
_DOWN_FOR: dict[FaultKind, tuple[float, float]] = {
    "kill_worker": (1, 8),  # until the worker is started again
    "broker_term": (3, 8),
    "broker_kill": (3, 8),
    "postgres_stop": (15, 20),
    "rebalance": (15, 30),  # a third worker joins, then leaves with SIGTERM
    "slow_worker": (3, 14),  # SIGSTOP .. SIGCONT: past the 10 s session timeout, or not
}
_QUIET_HEAD_S = 8.0
_QUIET_TAIL_S = 8.0


@dataclass(frozen=True)
class Fault:
    at_s: float
    kind: FaultKind
    lasts_s: float
    target: int
    """Which worker (an index drawn from the seed; the runner takes it modulo the live ones)."""

    def describe(self) -> str:
        return f"t={self.at_s:6.1f}s {self.kind:<13} for {self.lasts_s:4.1f}s (target {self.target})"


def plan(seed: int, profile: Profile) -> list[Fault]:
    """The faults of one run, in time order. Faults may overlap (a worker killed while the
    database is down is the case that once lost an event), except that the broker and the
    database each have one outage at a time."""
    rng = random.Random(seed)
    faults: list[Fault] = []
    end = profile.seconds - _QUIET_TAIL_S
    for kind, count in profile.faults.items():
        for _ in range(count):
            low, high = _DOWN_FOR[kind]
            lasts = round(rng.uniform(low, high), 1)
            for _attempt in range(100):
                at = round(rng.uniform(_QUIET_HEAD_S, end - lasts), 1)
                if not _clashes(faults, kind, at, lasts):
                    break
            faults.append(Fault(at, kind, lasts, rng.randrange(1000)))
    return sorted(faults, key=lambda fault: fault.at_s)


def _clashes(faults: list[Fault], kind: FaultKind, at: float, lasts: float) -> bool:
    service = _service(kind)
    if service is None:
        return False
    return any(
        _service(other.kind) == service
        and at < other.at_s + other.lasts_s + 5
        and other.at_s < at + lasts + 5
        for other in faults
    )


def _service(kind: FaultKind) -> str | None:
    if kind in ("broker_term", "broker_kill"):
        return "broker"
    if kind == "postgres_stop":
        return "postgres"
    return None
