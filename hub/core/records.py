"""Plain records passed between the stages, the decision core and the PostgreSQL store."""

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from schemas.interaction import Interaction
from schemas.trigger import Trigger

Side = Literal["own", "acting", "represented"]
"""How an event concerns the customer it is recorded and decided for: their ``own`` event;
one they did ``acting`` for a company (``on_behalf_of``); or the company's copy of an
event someone did for it (``represented``)."""
SIDES: tuple[Side, ...] = ("own", "acting", "represented")


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
    party: str | None = None
    """The company this copy is recorded and decided for, when the event's own customer
    acted for it (``on_behalf_of``); None for the customer's own copy."""

    @property
    def subject_id(self) -> str:
        """Whose history and state the event goes into here."""
        if self.party is not None:
            return self.party
        customer_id = self.event.customer.customer_id
        assert customer_id is not None, "the history stage records resolved events only"
        return customer_id

    @property
    def side(self) -> Side:
        if self.party is not None:
            return "represented"
        company = self.event.on_behalf_of
        return "own" if company is None or company == self.event.customer.customer_id else "acting"

    @property
    def record_key(self) -> str:
        """What makes this copy new or a duplicate: the event id, and for a company's copy
        the company too (a NUL cannot be in a stored id: PostgreSQL text refuses it)."""
        return party_key(self.event.event_id, self.party)


def party_key(event_id: str, party: str | None) -> str:
    """The :attr:`ReceivedEvent.record_key` of an event's copy for ``party`` (None: its own)."""
    return event_id if party is None else f"{event_id}\x00{party}"


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
    party: str | None = None
    """On a company's copy of an event someone did for it: the company (see
    :attr:`ReceivedEvent.party`); ``customer_id`` is then the one who acted."""
