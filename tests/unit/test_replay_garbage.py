"""The cycle collector runs seldom during a replay, and as it did once the replay is over."""

import gc

import pytest

from hub.backtest.replaying import GARBAGE_THRESHOLDS, garbage_collected_seldom


def test_the_collector_runs_seldom_during_the_replay_and_as_before_after_it() -> None:
    before = gc.get_threshold()

    with garbage_collected_seldom():
        assert gc.get_threshold() == GARBAGE_THRESHOLDS
        assert gc.get_freeze_count() > 0  # the objects from before, set aside

    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_a_replay_that_fails_leaves_the_collector_as_it_was() -> None:
    before = gc.get_threshold()

    with pytest.raises(RuntimeError), garbage_collected_seldom():
        raise RuntimeError("the replay failed")

    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
