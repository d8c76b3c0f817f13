"""Intervals of ``hub report`` against the published values of Newcombe (1998), *Statistics
in Medicine* 17: 857-872 (single proportions) and 873-890 (differences, method 10)."""

import pytest

from hub.core.evidence import MIN_CONTROL_CUSTOMERS, Interval, lift, newcombe, wilson


def close(interval: Interval | None, low: float, high: float) -> bool:
    assert interval is not None
    return (round(interval.low, 4), round(interval.high, 4)) == (low, high)


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611), (1, 29, 0.0061, 0.1718)],
)
def test_wilson_matches_the_published_intervals(k: int, n: int, low: float, high: float) -> None:
    assert close(wilson(k, n), low, high)


def test_wilson_by_hand() -> None:
    # 1 of 2 with z = 2: centre (0.5 + 1) / 3 = 0.5, half 2/3 * sqrt(0.125 + 0.25) = 0.4082
    interval = wilson(1, 2, z=2.0)
    assert interval is not None
    assert interval.low == pytest.approx(0.5 - 0.408248, abs=1e-6)
    assert interval.high == pytest.approx(0.5 + 0.408248, abs=1e-6)


def test_wilson_stays_inside_zero_and_one() -> None:
    assert wilson(0, 1) == Interval(0.0, wilson(0, 1).high)  # type: ignore[union-attr]
    assert wilson(5, 5).high == 1.0  # type: ignore[union-attr]
    assert wilson(0, 0) is None
    with pytest.raises(ValueError, match="successes"):
        wilson(3, 2)


@pytest.mark.parametrize(
    ("k1", "n1", "k2", "n2", "low", "high"),
    [
        (56, 70, 48, 80, 0.0524, 0.3339),
        (9, 10, 3, 10, 0.1705, 0.8090),
        (6, 7, 2, 7, 0.0582, 0.8062),
        (5, 56, 0, 29, -0.0381, 0.1926),
    ],
)
def test_newcombe_matches_the_published_intervals(
    k1: int, n1: int, k2: int, n2: int, low: float, high: float
) -> None:
    assert close(newcombe(k1, n1, k2, n2), low, high)


def test_a_control_group_of_three_is_too_small_to_tell() -> None:
    # What the issue saw: "control 0.0%, lift 36.5%" from a handful of held-out customers.
    told = lift(23, 63, 0, 3, control_customers=3)
    assert told.lift == pytest.approx(23 / 63)
    assert told.interval is not None and told.interval.spans_zero()
    assert told.warning == (
        "too little evidence to tell a lift: 3 customer(s) in the control group, fewer than 30; "
        "the lift's 95% interval spans 0"
    )


def test_a_clear_lift_from_a_large_control_group_has_no_warning() -> None:
    told = lift(56, 70, 48, 80, control_customers=80)
    assert told.published is not None and told.published.value == 0.8
    assert told.control is not None and told.control.value == 0.6
    assert close(told.interval, 0.0524, 0.3339)
    assert told.warning is None


def test_a_large_control_group_with_an_interval_across_zero_is_warned() -> None:
    told = lift(5, 56, 0, 29, control_customers=MIN_CONTROL_CUSTOMERS)
    assert told.warning == "too little evidence to tell a lift: the lift's 95% interval spans 0"


def test_no_control_group_gives_no_lift() -> None:
    told = lift(3, 10, 0, 0, control_customers=0)
    assert told.control is None and told.lift is None and told.interval is None
    assert told.warning is not None and "0 customer(s) in the control group" in told.warning
