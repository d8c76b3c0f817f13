"""Poison isolation: the batch is split until the failing records are found; the rest go on."""

from collections.abc import Sequence

import pytest

from hub.isolation import isolate


class Handler:
    """Fails any batch that holds a poisoned record; keeps what it handled, in order."""

    def __init__(self, poisoned: set[int]) -> None:
        self.poisoned = poisoned
        self.handled: list[int] = []

    async def __call__(self, records: Sequence[int]) -> None:
        bad = self.poisoned & set(records)
        if bad:
            raise ValueError(f"cannot handle {min(bad)}")
        self.handled += records


async def test_a_poison_record_is_isolated_and_the_others_are_handled_in_order() -> None:
    handler = Handler({5})

    poisoned = await isolate(list(range(10)), handler)

    assert [(record, type(error)) for record, error in poisoned] == [(5, ValueError)]
    assert handler.handled == [0, 1, 2, 3, 4, 6, 7, 8, 9]


async def test_two_poison_records_in_one_batch() -> None:
    handler = Handler({0, 7})

    poisoned = await isolate(list(range(8)), handler)

    assert [record for record, _ in poisoned] == [0, 7]
    assert handler.handled == [1, 2, 3, 4, 5, 6]


async def test_a_batch_that_fails_whole_is_not_poison_but_a_fault_to_stop_for() -> None:
    handler = Handler(set(range(4)))

    with pytest.raises(ValueError, match="cannot handle 0"):
        await isolate([0, 1, 2, 3], handler)


async def test_a_good_batch_is_handled_once() -> None:
    calls: list[Sequence[int]] = []

    async def handle(records: Sequence[int]) -> None:
        calls.append(records)

    assert await isolate([1, 2, 3], handle) == []
    assert calls == [[1, 2, 3]]
