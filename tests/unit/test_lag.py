"""The lag gauge covers data topics only and forgets partitions a worker lost."""

from faust.types import TP
from prometheus_client import REGISTRY

from agents.lag import FAUST_DATA_TOPICS, LagReport


def lag(topic: str, partition: int) -> float | None:
    return REGISTRY.get_sample_value(
        "hub_consumer_lag_messages", {"topic": topic, "partition": str(partition)}
    )


def test_changelog_topics_are_not_data_topics() -> None:
    report = LagReport(f"t1-{name}" for name in FAUST_DATA_TOPICS)
    assert report.is_data(TP("t1-customers.profile", 0))
    assert not report.is_data(TP("t1-interaction-hub-profiles-changelog", 0))


def test_the_series_of_a_lost_partition_is_removed() -> None:
    report = LagReport(["t2-customers.profile"])
    report.show(TP("t2-customers.profile", 0), 5)
    report.show(TP("t2-customers.profile", 1), -3)  # a position past the high-water mark
    assert lag("t2-customers.profile", 0) == 5
    assert lag("t2-customers.profile", 1) == 0
    report.keep_only({TP("t2-customers.profile", 1), TP("t2-customers.profile", 2)})
    assert lag("t2-customers.profile", 0) is None
    assert lag("t2-customers.profile", 1) == 0
    report.keep_only(set())
    assert lag("t2-customers.profile", 1) is None
