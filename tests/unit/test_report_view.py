"""The conversion lines of ``hub report``: counts, rates and lift with 95% intervals, warnings."""

from hub.core.evidence import lift
from hub.decisions_view import _evidence, report_evidence


def test_a_small_control_group_is_reported_with_its_counts_and_a_warning() -> None:
    # By hand: Wilson(23, 63) = 25.7%-48.9%, Wilson(0, 3) = 0-56.1%; Newcombe: 36.5% - sqrt(
    # (0.365 - 0.257)^2 + 0.561^2) = -20.7%, 36.5% + sqrt((0.489 - 0.365)^2 + 0) = 48.9%.
    assert report_evidence(lift(23, 63, 0, 3, control_customers=3)) == (
        "  conversion: published 23/63 = 36.5% (95% CI 25.7% to 48.9%), "
        "control group 0/3 = 0.0% (95% CI 0.0% to 56.1%)\n"
        "  lift 36.5% (95% CI -20.7% to 48.9%)\n"
        "  warning: too little evidence to tell a lift: 3 customer(s) in the control group, fewer than 30; "
        "the lift's 95% interval spans 0"
    )


def test_a_clear_lift_has_no_warning() -> None:
    assert report_evidence(lift(56, 70, 48, 80, control_customers=80)) == (
        "  conversion: published 56/70 = 80.0% (95% CI 69.2% to 87.7%), "
        "control group 48/80 = 60.0% (95% CI 49.0% to 70.0%)\n"
        "  lift 20.0% (95% CI 5.2% to 33.4%)"
    )


def test_no_control_group_says_so() -> None:
    text = report_evidence(lift(5, 20, 0, 0, control_customers=0))
    assert "control group n/a (none)" in text and "lift n/a" in text and "warning: " in text


def test_the_json_form_carries_the_intervals() -> None:
    shown = _evidence(lift(56, 70, 48, 80, control_customers=80), offers=True)
    assert shown["conversion_published"] == 0.8 and shown["conversion_held_out"] == 0.6
    low, high = shown["lift_ci95"]  # type: ignore[misc]
    assert (round(low, 4), round(high, 4)) == (0.0524, 0.3339)
    assert shown["warning"] is None
    assert _evidence(lift(0, 0, 0, 0, control_customers=0), offers=False)["warning"] is None
