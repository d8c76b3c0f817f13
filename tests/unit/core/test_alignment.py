"""The aligner: a shard's records in event-time order across its input partitions, waiting
only for partitions that may still bring an earlier record, and never past the window."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from hub.core.alignment import Aligner, Source

TELLER: Source = ("interactions.teller", 0)
PHONE: Source = ("interactions.phone", 0)
T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def aligner(window_s: float = 1.0) -> Aligner[str]:
    return Aligner(window_s, lambda shard: [(TELLER[0], shard), (PHONE[0], shard)])


def behind(*sources: Source) -> Callable[[Source, datetime], bool]:
    return lambda source, at: source in sources


def test_a_record_is_decided_at_once_when_the_other_partition_is_caught_up() -> None:
    a = aligner()
    a.add(TELLER, 0, "deposit", T0, offset=5, now=0.0)

    assert a.release(0.0, behind()) == ["deposit"]
    assert a.waiting() == 0


def test_a_record_waits_for_a_partition_behind_the_broker_and_then_goes_in_event_time_order() -> None:
    a = aligner()
    a.add(TELLER, 0, "deposit 16:50", T0 + timedelta(minutes=110), offset=7, now=0.0)

    assert a.release(0.1, behind(PHONE)) == []
    assert a.first_held_offset(TELLER, 0) == 7  # commits stop short of it

    a.add(PHONE, 0, "complaint 15:50", T0 + timedelta(minutes=50), offset=3, now=0.2)
    assert a.release(0.2, behind(PHONE)) == ["complaint 15:50"]
    # The phone partition delivered nothing as late as the deposit yet: still behind.
    assert a.release(0.3, behind(PHONE)) == []
    a.add(PHONE, 0, "call 17:00", T0 + timedelta(minutes=120), offset=4, now=0.3)
    assert a.release(0.3, behind(PHONE)) == ["deposit 16:50", "call 17:00"]


def test_a_partition_whose_records_went_elsewhere_is_not_waited_for() -> None:
    a = aligner()
    a.add(TELLER, 0, "deposit", T0, offset=1, now=0.0)
    a.passed(PHONE, 0, T0 + timedelta(seconds=1))  # a phone record re-keyed to another shard

    assert a.release(0.0, behind(PHONE)) == ["deposit"]


def on_its_way_to_phone(at_time: datetime) -> Callable[[Source, datetime], bool]:
    """A record of ``at_time`` was sent to the phone partition and not fetched back yet."""
    return lambda source, at: source == PHONE and at_time < at


def test_a_record_on_its_way_holds_only_later_heads() -> None:
    later, earlier = aligner(), aligner()
    later.add(TELLER, 0, "deposit", T0, offset=1, now=0.0)
    earlier.add(TELLER, 0, "deposit", T0, offset=1, now=0.0)

    assert later.release(0.0, on_its_way_to_phone(T0 + timedelta(minutes=1))) == ["deposit"]
    assert earlier.release(0.0, on_its_way_to_phone(T0 - timedelta(minutes=1))) == []


def test_the_window_bounds_the_wait_and_a_straggler_is_late() -> None:
    a = aligner(window_s=1.0)
    a.add(TELLER, 0, "deposit", T0, offset=1, now=0.0)

    assert a.release(0.9, behind(PHONE)) == []
    assert a.release(1.0, behind(PHONE)) == ["deposit"]
    assert a.add(PHONE, 0, "complaint", T0 - timedelta(minutes=5), offset=2, now=1.1) is True
    assert a.add(PHONE, 0, "call", T0 + timedelta(minutes=5), offset=3, now=1.1) is False


def test_shards_wait_independently_and_forget_drops_what_a_shard_held() -> None:
    a = aligner()
    a.add(TELLER, 0, "shard 0", T0, offset=1, now=0.0)
    a.add(("interactions.teller", 1), 1, "shard 1", T0, offset=1, now=0.0)

    assert a.release(0.0, behind(PHONE)) == ["shard 1"]
    a.forget({0})
    assert a.waiting() == 0
    assert a.first_held_offset(TELLER, 0) is None
