"""The parts of a customer's state (msgspec structs) and its stored forms.

The state (:class:`hub.core.state.CustomerState`) is read and written for every event,
so its parts are msgspec structs: a few hundred nanoseconds to build, against
microseconds for a pydantic model. They live in a module of their own, which is never
compiled: in a module compiled by mypyc (``make compiled``, tools/compile_core.py),
msgspec decodes the nested structs of a stored state as plain dicts.
"""

from datetime import datetime

import msgspec

# The frozen parts hold only text, times and numbers, so they can never be part of a
# reference cycle: ``gc=False`` keeps the garbage collector from tracking the tens of
# thousands of them a worker's cache holds.


class HistoryEntry(msgspec.Struct, frozen=True, array_like=True, gc=False):
    event_id: str
    channel: str
    type: str
    occurred_at: datetime


class ComplaintTimes(msgspec.Struct, array_like=True):
    opened: datetime | None = None
    resolved: datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.opened is not None and (self.resolved is None or self.resolved < self.opened)


class Mark(msgspec.Struct, frozen=True, array_like=True, gc=False):
    at: datetime
    event_id: str


class Sent(msgspec.Struct, frozen=True, array_like=True, gc=False):
    """A decision that counted against the contact policy: published, or held out."""

    at: datetime
    rule_id: str
    kind: str
    product: str | None = None
    cap_key: str | None = None


class StoredState(msgspec.Struct, array_like=True, tag=2):
    """The stored form, version 2: a JSON array of the fields, each struct an array of its own."""

    recent: list[HistoryEntry]
    complaints: dict[str, ComplaintTimes]
    counters: dict[str, list[Mark]]
    sent: list[Sent]
    annual_scheduled: dict[str, int]


_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(StoredState)


class _OldEntry(msgspec.Struct):
    event_id: str
    channel: str
    type: str
    occurred_at: datetime


class _OldComplaint(msgspec.Struct):
    opened: datetime | None = None
    resolved: datetime | None = None


class _OldMark(msgspec.Struct):
    at: datetime
    event_id: str


class _OldSent(msgspec.Struct):
    at: datetime
    rule_id: str
    kind: str
    product: str | None = None
    cap_key: str | None = None


class _OldState(msgspec.Struct):
    """The JSON object of the pydantic model (``model_dump_json(exclude_defaults=True)``)."""

    recent: list[_OldEntry] = []
    complaints: dict[str, _OldComplaint] = {}
    counters: dict[str, list[_OldMark]] = {}
    sent: list[_OldSent] = []
    annual_scheduled: dict[str, int] = {}


_LEGACY_DECODER = msgspec.json.Decoder(_OldState)


def encode_stored(state: StoredState) -> bytes:
    return _ENCODER.encode(state)


def decode_stored(raw: bytes) -> StoredState:
    """The stored form of either version: the array, or the JSON object of the pydantic
    model before it (``{"recent": [{"event_id": ...}], ...}``)."""
    if raw[:1] != b"{":
        return _DECODER.decode(raw)
    old = _LEGACY_DECODER.decode(raw)
    return StoredState(
        recent=[HistoryEntry(e.event_id, e.channel, e.type, e.occurred_at) for e in old.recent],
        complaints={k: ComplaintTimes(t.opened, t.resolved) for k, t in old.complaints.items()},
        counters={k: [Mark(m.at, m.event_id) for m in marks] for k, marks in old.counters.items()},
        sent=[Sent(s.at, s.rule_id, s.kind, s.product, s.cap_key) for s in old.sent],
        annual_scheduled=old.annual_scheduled,
    )
