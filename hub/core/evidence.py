"""How sure a conversion rate and a lift are: 95% intervals, and when to say "too few".

Pure functions for ``hub report``. A rate's interval is Wilson's score interval, which
stays inside [0, 1] and behaves at 0 and n successes, where the textbook (Wald) interval
collapses to a point. The lift (published rate minus control rate) gets Newcombe's hybrid
score interval (method 10 of Newcombe 1998), built from the two Wilson intervals.

Example::

    >>> wilson(81, 263)                      # Newcombe 1998's example
    Interval(low=0.2553..., high=0.3662...)
    >>> newcombe(56, 70, 48, 80)             # 0.2 between 56/70 and 48/80
    Interval(low=0.0524..., high=0.3339...)
"""

import math
from dataclasses import dataclass

Z95 = 1.959963984540054
"""The standard normal quantile of 97.5%: a two-sided 95% interval."""

MIN_CONTROL_CUSTOMERS = 30
"""Below this many held-out customers the report says the control group is too small."""


@dataclass(frozen=True, slots=True)
class Interval:
    low: float
    high: float

    def spans_zero(self) -> bool:
        return self.low <= 0 <= self.high


@dataclass(frozen=True, slots=True)
class Rate:
    """``successes`` of ``trials``, with its 95% Wilson interval."""

    successes: int
    trials: int
    interval: Interval

    @property
    def value(self) -> float:
        return self.successes / self.trials


@dataclass(frozen=True, slots=True)
class Lift:
    """Published against control: the two rates, their difference and its interval, and a
    plain warning when the evidence cannot tell (None when it can)."""

    published: Rate | None
    control: Rate | None
    lift: float | None
    interval: Interval | None
    warning: str | None


def wilson(successes: int, trials: int, z: float = Z95) -> Interval | None:
    """Wilson's score interval of ``successes / trials``; None without trials."""
    if trials <= 0:
        return None
    if not 0 <= successes <= trials:
        raise ValueError(f"{successes} successes of {trials} trials")
    p, n, z2 = successes / trials, trials, z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z / (1 + z2 / n) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    # Exact at the ends (rounding would leave 1e-17 below 0 or above 1).
    low = 0.0 if successes == 0 else centre - half
    high = 1.0 if successes == trials else centre + half
    return Interval(low, high)


def newcombe(k1: int, n1: int, k2: int, n2: int, z: float = Z95) -> Interval | None:
    """Newcombe's hybrid score interval of ``k1/n1 - k2/n2``; None if a group is empty."""
    first, second = wilson(k1, n1, z), wilson(k2, n2, z)
    if first is None or second is None:
        return None
    p1, p2 = k1 / n1, k2 / n2
    d = p1 - p2
    below = math.sqrt((p1 - first.low) ** 2 + (second.high - p2) ** 2)
    above = math.sqrt((first.high - p1) ** 2 + (p2 - second.low) ** 2)
    return Interval(d - below, d + above)


def rate(successes: int, trials: int) -> Rate | None:
    interval = wilson(successes, trials)
    return None if interval is None else Rate(successes, trials, interval)


def lift(
    converted_published: int, published: int, converted_control: int, control: int, control_customers: int
) -> Lift:
    """Compare the published decisions' conversion with the held-out (control) decisions'.

    The warning says why the lift cannot be told: fewer than
    :data:`MIN_CONTROL_CUSTOMERS` customers in the control group, or an interval of the
    lift that spans 0 (the data fit no lift as well as the one shown)."""
    treated, held = rate(converted_published, published), rate(converted_control, control)
    difference = None if treated is None or held is None else treated.value - held.value
    interval = newcombe(converted_published, published, converted_control, control)
    reasons = []
    if control_customers < MIN_CONTROL_CUSTOMERS:
        reasons.append(
            f"{control_customers} customer(s) in the control group, fewer than {MIN_CONTROL_CUSTOMERS}"
        )
    if interval is not None and interval.spans_zero():
        reasons.append("the lift's 95% interval spans 0")
    if treated is None:
        reasons.append("nothing published")
    warning = "too little evidence to tell a lift: " + "; ".join(reasons) if reasons else None
    return Lift(treated, held, difference, interval, warning)
