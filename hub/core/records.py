"""Plain records passed between the stages, the decision core and the PostgreSQL store."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from schemas.interaction import Interaction
from schemas.trigger import Trigger

Side = Literal["own", "acting", "represented"]
"""How an event concerns the customer it is recorded and decided for: their ``own`` event;
one they did ``acting`` for a company (``on_behalf_of``); or the company's copy of an
event someone did for it (``represented``)."""
SIDES: tuple[Side, ...] = ("own", "acting", "represented")

# A check fires once its shard's event time is this far past its due time, so that a
# follow-up arriving a little late (another channel, a slower system) still counts.
CHECK_GRACE = timedelta(seconds=60)


class ReceivedEvent:
    """A validated interaction with where and when the hub received it.

    A plain class rather than a dataclass: one is made for every event read (a
    backtest's million), and in the compiled core (tools/compile_core.py) a dataclass
    keeps the Python ``__init__`` that :mod:`dataclasses` writes, five times the cost of
    this compiled one. Nothing changes one once made."""

    __slots__ = (
        "_placement",
        "clock",
        "event",
        "offset",
        "partition",
        "party",
        "received_at",
        "shard",
        "topic",
    )

    event: Interaction
    received_at: datetime
    topic: str
    partition: int
    offset: int
    shard: int
    """The partition of the internal topic: which worker owns this customer now."""
    party: str | None
    """The company this copy is recorded and decided for, when the event's own customer
    acted for it (``on_behalf_of``); None for the customer's own copy."""
    clock: datetime
    """How far the event moves its shard's event time, less the checks' grace: never past
    its own receipt, so that a clock-skewed event from the future does not fire other
    customers' checks."""

    def __init__(
        self,
        event: Interaction,
        received_at: datetime,
        topic: str,
        partition: int,
        offset: int,
        shard: int = 0,
        party: str | None = None,
    ) -> None:
        self.event = event
        self.received_at = received_at
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.shard = shard
        self.party = party
        # Both worked out once: the fold asks for them more than once per event, and each
        # reads fields of the (pydantic) event, slow to read from compiled code.
        self._placement = _placement_of(event, party)
        occurred = event.occurred_at
        self.clock = (
            occurred if occurred <= received_at else received_at
        ) - CHECK_GRACE  # min(): a call more

    def _fields(self) -> tuple[object, ...]:
        return (self.event, self.received_at, self.topic, self.partition, self.offset, self.shard, self.party)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ReceivedEvent):
            return NotImplemented
        return self._fields() == other._fields()

    __hash__ = None  # type: ignore[assignment]  # equal by value, like the dataclass it was

    def __repr__(self) -> str:
        names = ("event", "received_at", "topic", "partition", "offset", "shard", "party")
        fields = ", ".join(f"{name}={value!r}" for name, value in zip(names, self._fields(), strict=True))
        return f"ReceivedEvent({fields})"

    @property
    def subject_id(self) -> str:
        """Whose history and state the event goes into here."""
        return self.placement()[0]

    @property
    def side(self) -> Side:
        return self.placement()[1]

    @property
    def record_key(self) -> str:
        """What makes this copy new or a duplicate: the event id, and for a company's copy
        the company too (a NUL cannot be in a stored id: PostgreSQL text refuses it)."""
        return self.placement()[2]

    def placement(self) -> tuple[str, Side, str]:
        """(:attr:`subject_id`, :attr:`side`, :attr:`record_key`) worked out together: the
        fold asks all three of every event."""
        return self._placement


def _placement_of(event: Interaction, party: str | None) -> tuple[str, Side, str]:
    if party is not None:
        return party, "represented", party_key(event.event_id, party)
    customer_id = event.customer.customer_id
    assert customer_id is not None, "the history stage records resolved events only"
    company = event.on_behalf_of
    side: Side = "own" if company is None or company == customer_id else "acting"
    return customer_id, side, event.event_id


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
