"""The one place that leans on Faust internals.

A Faust table decides the changelog partition and the local store shard of a write from
the *current* stream event. Batch processing writes one customer's state after the whole
batch, when the current event may belong to another partition, so each write is made in
the context of that customer's own last event.
"""

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from faust.streams import _current_event
from faust.types import CollectionT

TableT = TypeVar("TableT", bound=CollectionT)


@contextmanager
def as_current_event(event: Any) -> Iterator[None]:
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)


def use_raw_bytes(table: TableT) -> TableT:
    """Make ``table`` store values as the bytes it is given.

    Faust derives a table's serializer from its value type and picks JSON for ``bytes``,
    which would decode our JSON documents into dicts on the way back. The store and the
    changelog read these attributes when they are created, at worker start.
    """
    table.key_serializer = "raw"  # type: ignore[attr-defined]
    table.value_serializer = "raw"  # type: ignore[attr-defined]
    return table
