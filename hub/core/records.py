"""Plain records passed between the stages, the decision core and the PostgreSQL store."""

from dataclasses import dataclass
from datetime import datetime

from schemas.interaction import Interaction
from schemas.trigger import Trigger


@dataclass(frozen=True, slots=True)
class ReceivedEvent:
    """A validated interaction with where and when the hub received it."""

    event: Interaction
    received_at: datetime
    topic: str
    partition: int
    offset: int
    shard: int = 0
    """The partition of the internal topic: which worker owns this customer now."""


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    trigger: Trigger
    topic: str
    caused_by: str
    shard: int = 0
    published: bool = False
    recorded_at: datetime | None = None
    """When the outbox row was written; set on triggers an earlier owner left unpublished."""


@dataclass(frozen=True, slots=True)
class AcceptedRecord:
    """An accepted interaction record on its way to the history stage, with its position."""

    value: bytes
    received_at: datetime
    topic: str
    partition: int
    offset: int
    shard: int = 0
    customer_id: str | None = None
    """Whom ingest resolved the event to: the event's own customer_id, the holder of its
    identifiers, or the customer it was merged into."""
    event: Interaction | None = None
    """The event as ingest validated it, when the record did not leave the worker since."""
    key: bytes | None = None
    """The channel record's own key (its dead letter goes under it)."""
