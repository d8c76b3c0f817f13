"""Per-customer hot state in the worker's memory, with PostgreSQL as its system of record.

A batch asks for its customers' states once (:meth:`StateCache.ensure`, one query for
those not in memory), changes them in place, writes the changed ones in its own
transaction and then :meth:`commit`\\ s; a batch that fails :meth:`discard`\\ s what it
touched, so the next attempt starts again from what PostgreSQL holds. The cache is
bounded (least recently used out first) and forgets a shard when its partition goes to
another worker, who loads the states from PostgreSQL as they are needed.
"""

from collections import OrderedDict
from collections.abc import Iterable, Mapping

from hub.core.state import CustomerState
from hub.storage.unit_of_work import UnitOfWork


class StateCache:
    def __init__(self, max_customers: int) -> None:
        self._max = max_customers
        self._states: OrderedDict[str, tuple[int, CustomerState]] = OrderedDict()

    async def ensure(self, work: UnitOfWork, shard_of: Mapping[str, int]) -> set[str]:
        """Have the states of these customers (customer -> shard) in memory; return those
        of them that PostgreSQL has no state of either."""
        missing = [customer_id for customer_id in shard_of if customer_id not in self._states]
        if not missing:
            return set()
        stored = await work.load_states(missing)
        for customer_id in missing:
            self._states[customer_id] = (
                shard_of[customer_id],
                CustomerState.from_bytes(stored.get(customer_id)),
            )
        return set(missing) - set(stored)

    def get(self, customer_id: str) -> CustomerState:
        """A customer's state, which :meth:`ensure` loaded for this batch."""
        self._states.move_to_end(customer_id)
        return self._states[customer_id][1]

    def commit(self) -> None:
        """The batch's writes are durable: trim the cache to its bound."""
        while len(self._states) > self._max:
            self._states.popitem(last=False)

    def discard(self, customer_ids: Iterable[str]) -> None:
        """Forget states a failed batch may have changed half-way."""
        for customer_id in customer_ids:
            self._states.pop(customer_id, None)

    def forget_shards(self, shards: set[int]) -> None:
        """Partitions revoked: their next owner reads the states from PostgreSQL."""
        for customer_id in [c for c, (shard, _) in self._states.items() if shard in shards]:
            del self._states[customer_id]

    def __len__(self) -> int:
        return len(self._states)
