"""Records a pipeline run wrote per input event, from two snapshots of end offsets."""

import pytest

from bench.kafka_counts import records_per_event

PREFIX = "bench-1.hub."


def test_records_written_in_the_window_less_the_inputs_per_event() -> None:
    before = {PREFIX + "interactions.web": 0, PREFIX + "interaction-hub-customer-state-changelog": 500}
    after = {
        PREFIX + "interactions.web": 1000,
        PREFIX + "hub.interactions.accepted": 1000,
        PREFIX + "interaction-hub-customer-state-changelog": 1400,
        PREFIX + "triggers.care": 30,
        PREFIX + "triggers.cross_sell": 40,
        PREFIX + "interactions.dlq": 0,
    }

    counts = records_per_event(before, after, PREFIX, {"interactions.web": 1000}, 1000)

    assert counts.per_event == pytest.approx(1.97)
    assert counts.triggers_per_event == pytest.approx(0.07)
    assert counts.without_triggers == pytest.approx(1.9)
    assert list(counts.by_topic) == [
        "hub.interactions.accepted",
        "interaction-hub-customer-state-changelog",
        "triggers.cross_sell",
        "triggers.care",
    ]


def test_a_topic_created_during_the_window_counts_from_zero() -> None:
    counts = records_per_event({}, {PREFIX + "new-changelog": 250}, PREFIX, {}, 500)

    assert counts.by_topic == {"new-changelog": 0.5}
