"""The one place that leans on a Faust internal.

A Faust table decides the changelog partition and the local store shard of a write from
the *current* stream event. Batch processing writes one customer's state after the whole
batch, when the current event may belong to another partition, so each write is made in
the context of that customer's own last event.
"""

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from faust.streams import _current_event


@contextmanager
def as_current_event(event: Any) -> Iterator[None]:
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)
