"""A backtest's customers split into ranges of ids with about the same number of events."""

from hub.storage.history_replay import MAX_CHECKPOINTS, Outline


def _outline(events_by_customer: list[int]) -> Outline:
    outline = Outline()
    for n, events in enumerate(events_by_customer):
        outline.events += events
        outline.customers += 1
        outline._passed(f"C{n:06d}")
    return outline


def _events_in(ranges: list[tuple[str | None, str | None]], events_by_customer: list[int]) -> list[int]:
    ids = [f"C{n:06d}" for n in range(len(events_by_customer))]
    return [
        sum(
            events
            for cid, events in zip(ids, events_by_customer, strict=True)
            if (after is None or cid > after) and (up_to is None or cid <= up_to)
        )
        for after, up_to in ranges
    ]


def test_the_ranges_cover_every_customer_once_with_about_the_same_events() -> None:
    counts = [(n * 37) % 90 + 1 for n in range(50_000)]  # uneven customers
    outline = _outline(counts)
    for parts in (1, 2, 3, 7):
        ranges = outline.split(parts)
        shares = _events_in(ranges, counts)
        assert sum(shares) == sum(counts)  # every customer in exactly one range
        assert max(shares) - min(shares) <= 0.01 * sum(counts)


def test_the_checkpoints_stay_bounded_however_many_customers() -> None:
    outline = _outline([3] * 200_000)
    assert len(outline.checkpoints) <= MAX_CHECKPOINTS
    assert outline.spacing > 1


def test_fewer_customers_than_parts_leave_some_ranges_empty_and_none_twice() -> None:
    counts = [5, 9]
    ranges = _outline(counts).split(4)
    assert len(ranges) == 4 and sorted(_events_in(ranges, counts)) == [0, 0, 5, 9]
