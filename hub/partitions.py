"""Which partition of a topic keyed by customer id holds a customer.

Kept apart from :mod:`hub.hot_path` so that what only needs the answer (a backtest's
processes) does not import the worker, Faust and all.
"""

from aiokafka.partitioner import murmur2


def home_partition(customer_id: str, partitions: int) -> int:
    """The partition Kafka's default partitioner gives this key (murmur2, as Java's)."""
    return int((murmur2(customer_id.encode()) & 0x7FFFFFFF) % partitions)
