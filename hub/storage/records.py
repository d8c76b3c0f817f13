"""Plain records passed between the services and the PostgreSQL store."""

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
