"""Per-customer hot state in the worker's memory, with PostgreSQL as its system of record.

A batch asks for its customers' states once (:meth:`StateCache.ensure`, one query for
those not in memory), changes them, writes the changed ones in its own transaction and
then :meth:`commit`\\ s their encoded form; a batch that fails :meth:`discard`\\ s what
it touched, so the next attempt starts again from what PostgreSQL holds. Memory holds
states encoded (``CustomerState.to_bytes``, which every batch writes to PostgreSQL
anyway), decoded only for the batch that needs them: a decoded state takes several times
the memory, and 1,000,000 customers of them did not fit in 1 GB. The cache is bounded
(least recently used out first) and forgets a shard when its partition goes to another
worker, who loads the states from PostgreSQL as they are needed.
"""

from collections import OrderedDict
from collections.abc import Iterable, Mapping

from hub.core.state import CustomerState
from hub.storage.unit_of_work import UnitOfWork


class StateCache:
    def __init__(self, max_customers: int) -> None:
        self._max = max_customers
        self._stored: OrderedDict[str, tuple[int, bytes | None]] = OrderedDict()
        """Customer -> (shard, the state as last committed; None: PostgreSQL has none)."""
        self._open: dict[str, CustomerState] = {}
        """The states decoded for the batch in hand."""

    async def ensure(self, work: UnitOfWork, shard_of: Mapping[str, int]) -> set[str]:
        """Have the states of these customers (customer -> shard) in memory; return those
        of them that PostgreSQL has no state of either."""
        missing = [customer_id for customer_id in shard_of if customer_id not in self._stored]
        if not missing:
            return set()
        stored = await work.load_states(missing)
        for customer_id in missing:
            self._stored[customer_id] = (shard_of[customer_id], stored.get(customer_id))
        return set(missing) - set(stored)

    def get(self, customer_id: str) -> CustomerState:
        """A customer's state, which :meth:`ensure` loaded for this batch."""
        state = self._open.get(customer_id)
        if state is None:
            self._stored.move_to_end(customer_id)
            state = self._open[customer_id] = CustomerState.from_bytes(self._stored[customer_id][1])
        return state

    def commit(self, saved: Iterable[tuple[str, int, bytes]]) -> None:
        """The batch's writes are durable: keep what it saved (customer, shard, encoded
        state) and trim the cache to its bound."""
        for customer_id, shard, encoded in saved:
            self._stored[customer_id] = (shard, encoded)
        self._open.clear()
        while len(self._stored) > self._max:
            self._stored.popitem(last=False)

    def discard(self, customer_ids: Iterable[str]) -> None:
        """Forget the states a failed batch touched: whether its transaction committed is
        not known when the connection broke during COMMIT, so they are read again."""
        self._open.clear()
        for customer_id in customer_ids:
            self._stored.pop(customer_id, None)

    def forget_shards(self, shards: set[int]) -> None:
        """Partitions revoked: their next owner reads the states from PostgreSQL."""
        for customer_id in [c for c, (shard, _) in self._stored.items() if shard in shards]:
            del self._stored[customer_id]

    def __len__(self) -> int:
        return len(self._stored)
