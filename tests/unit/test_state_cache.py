"""The worker's cache of customer states: encoded in memory, decoded per batch, bounded."""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import cast

from hub.core.state import CustomerState, Sent
from hub.storage.customer_state import StateCache
from hub.storage.unit_of_work import UnitOfWork

AT = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


class StoredStates:
    """What PostgreSQL holds; counts the queries."""

    def __init__(self, states: dict[str, bytes]) -> None:
        self.states = states
        self.asked: list[list[str]] = []

    async def load_states(self, customer_ids: Sequence[str]) -> dict[str, bytes]:
        self.asked.append(list(customer_ids))
        return {c: self.states[c] for c in customer_ids if c in self.states}


def with_sent(rule_id: str) -> CustomerState:
    state = CustomerState()
    state.record_sent(Sent(at=AT, rule_id=rule_id, kind="care", product=None, cap_key=None))
    return state


async def test_states_not_in_memory_are_loaded_in_one_query_and_decoded_for_the_batch() -> None:
    stored = StoredStates({"C1": with_sent("welcome").to_bytes()})
    cache = StateCache(10)

    unknown = await cache.ensure(cast(UnitOfWork, stored), {"C1": 0, "C2": 1})

    assert unknown == {"C2"}
    assert stored.asked == [["C1", "C2"]]
    assert [s.rule_id for s in cache.get("C1").sent] == ["welcome"]
    assert cache.get("C1") is cache.get("C1"), "one decoded state per batch, changed in place"
    assert cache.get("C2").sent == []
    await cache.ensure(cast(UnitOfWork, stored), {"C1": 0})
    assert len(stored.asked) == 1, "in memory now"


async def test_a_committed_batch_is_what_the_next_batch_decodes_and_the_bound_holds() -> None:
    stored = StoredStates({})
    cache = StateCache(2)
    await cache.ensure(cast(UnitOfWork, stored), {"C1": 0, "C2": 0})
    cache.get("C1").record_sent(Sent(at=AT, rule_id="greet", kind="care", product=None, cap_key=None))

    cache.commit([("C1", 0, cache.get("C1").to_bytes())])  # C2 was not needed after all
    await cache.ensure(cast(UnitOfWork, stored), {"C3": 1})
    cache.commit([("C3", 1, CustomerState().to_bytes())])

    assert len(cache) == 2
    assert [s.rule_id for s in cache.get("C1").sent] == ["greet"]
    await cache.ensure(cast(UnitOfWork, stored), {"C2": 0})
    assert stored.asked[-1] == ["C2"], "the least recently used went first"


async def test_a_failed_batch_reads_again_what_it_touched_and_a_revoked_shard_is_forgotten() -> None:
    stored = StoredStates({"C1": with_sent("welcome").to_bytes()})
    cache = StateCache(10)
    await cache.ensure(cast(UnitOfWork, stored), {"C1": 0, "C2": 1})
    cache.get("C1").record_sent(Sent(at=AT, rule_id="half-way", kind="care", product=None, cap_key=None))

    cache.discard(["C1"])
    await cache.ensure(cast(UnitOfWork, stored), {"C1": 0})
    assert [s.rule_id for s in cache.get("C1").sent] == ["welcome"]

    cache.forget_shards({1})
    assert len(cache) == 1
