"""The customer state's stored form, its index of seen events and its time-ordered lists.

The state used to be a pydantic model stored as ``model_dump_json(exclude_defaults=True)``;
states written that way may still be in PostgreSQL, so they must read back as the same
state. ``_OldState`` below is a copy of that model, kept here to write such states.
"""

import random
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import BaseModel, ConfigDict, Field

from hub.core.state import RECENT_LIMIT, SENT_MEMORY, ComplaintTimes, CustomerState, Mark, Sent
from schemas.interaction import Interaction
from tests.factories import NOW
from tests.unit.core.decisions import customer, event, run

# --- the pydantic model before, as it wrote states ------------------------------------


class _OldEntry(BaseModel):
    model_config = ConfigDict(frozen=True)
    event_id: str
    channel: str
    type: str
    occurred_at: datetime


class _OldComplaint(BaseModel):
    opened: datetime | None = None
    resolved: datetime | None = None


class _OldMark(BaseModel):
    model_config = ConfigDict(frozen=True)
    at: datetime
    event_id: str


class _OldSent(BaseModel):
    model_config = ConfigDict(frozen=True)
    at: datetime
    rule_id: str
    kind: str
    product: str | None = None
    cap_key: str | None = None


class _OldState(BaseModel):
    recent: list[_OldEntry] = Field(default_factory=list)
    complaints: dict[str, _OldComplaint] = Field(default_factory=dict)
    counters: dict[str, list[_OldMark]] = Field(default_factory=dict)
    sent: list[_OldSent] = Field(default_factory=list)
    annual_scheduled: dict[str, int] = Field(default_factory=dict)


def old_bytes(state: CustomerState) -> bytes:
    """``state`` as the pydantic model stored it."""
    old = _OldState(
        recent=[_OldEntry(**_fields(e)) for e in state.recent],
        complaints={k: _OldComplaint(**_fields(t)) for k, t in state.complaints.items()},
        counters={k: [_OldMark(**_fields(m)) for m in marks] for k, marks in state.counters.items()},
        sent=[_OldSent(**_fields(s)) for s in state.sent],
        annual_scheduled=dict(state.annual_scheduled),
    )
    return old.model_dump_json(exclude_defaults=True).encode()


def _fields(struct: object) -> dict[str, object]:
    return {name: getattr(struct, name) for name in struct.__struct_fields__}  # type: ignore[attr-defined]


# --- histories ---------------------------------------------------------------------------

SHANGHAI_OFFSET = timezone(timedelta(hours=8))


def history(length: int) -> list[Interaction]:
    """Mixed traffic of one customer, some of it late, some times in +08:00."""
    kinds: list[tuple[str, str, dict[str, object]]] = [
        ("teller", "fx_exchange", {}),
        ("phone", "call", {"resolved": False}),
        ("phone", "complaint", {}),
        ("web", "login", {"success": False}),
        ("phone", "complaint_resolved", {}),
        ("teller", "deposit", {"amount": "80000.00", "currency": "USD", "account_type": "fx"}),
        ("branch", "visit", {"wait_minutes": 40}),
        ("teller", "inquiry", {"topic": "travel"}),
    ]
    events = []
    for n in range(length):
        channel, type_, payload = kinds[n % len(kinds)]
        if type_.startswith("complaint"):
            payload = {"complaint_id": f"CMP-{n // len(kinds)}"}
        at = NOW + timedelta(hours=5 * n - (9 if n % 5 == 4 else 0))  # every fifth one is late
        if n % 3 == 0:
            at = at.astimezone(SHANGHAI_OFFSET)
        events.append(event(channel, type_, event_id=f"e{n}", occurred_at=at.isoformat(), payload=payload))
    return events


def busy_state(length: int) -> CustomerState:
    state, who = CustomerState(), customer()
    for ev in history(length):
        run(ev, state, who)
    return state


# --- stored form ---------------------------------------------------------------------------


def test_no_stored_state_is_the_empty_state() -> None:
    state = CustomerState.from_bytes(None)
    assert state == CustomerState()
    assert (state.recent, state.complaints, state.counters, state.sent, state.annual_scheduled) == (
        [],
        {},
        {},
        [],
        {},
    )
    assert CustomerState.from_bytes(CustomerState().to_bytes()) == CustomerState()


@pytest.mark.parametrize("length", [1, 10, RECENT_LIMIT + 15])
def test_a_state_reads_back_as_it_was_written(length: int) -> None:
    state = busy_state(length)
    assert state.recent and state.counters and state.sent and state.annual_scheduled
    again = CustomerState.from_bytes(state.to_bytes())
    assert again == state
    assert again.to_bytes() == state.to_bytes()
    # Each time keeps its UTC offset, not only its instant.
    assert [e.occurred_at.utcoffset() for e in again.recent] == [
        e.occurred_at.utcoffset() for e in state.recent
    ]


def test_the_stored_form_is_a_versioned_array() -> None:
    assert CustomerState().to_bytes() == b"[2,[],{},{},[],{}]"
    assert (
        busy_state(3).to_bytes().startswith(b'[2,[["e0","teller","fx_exchange","2026-11-25T17:00:00+08:00"]')
    )


@pytest.mark.parametrize("length", [0, 1, 10, RECENT_LIMIT + 15])
def test_a_state_the_pydantic_model_stored_reads_back_the_same(length: int) -> None:
    state = busy_state(length)
    assert CustomerState.from_bytes(old_bytes(state)) == state


def test_a_stored_json_object_of_the_pydantic_model_reads_field_by_field() -> None:
    # Written by the pydantic CustomerState: defaults left out, times in Z or their offset.
    stored = (
        b'{"recent":[{"event_id":"fx-1","channel":"teller","type":"fx_exchange",'
        b'"occurred_at":"2026-11-25T09:00:00Z"},{"event_id":"c-1","channel":"phone","type":"complaint",'
        b'"occurred_at":"2026-11-25T10:00:00Z"},{"event_id":"r-2","channel":"phone",'
        b'"type":"complaint_resolved","occurred_at":"2026-11-25T19:00:00+08:00"}],'
        b'"complaints":{"CMP-1":{"opened":"2026-11-25T10:00:00Z"},'
        b'"CMP-2":{"opened":"2026-11-25T11:00:00Z","resolved":"2026-11-25T19:00:00+08:00"}},'
        b'"counters":{"fx_active_up_sell":[{"at":"2026-11-25T09:00:00Z","event_id":"fx-1"}]},'
        b'"sent":[{"at":"2026-11-25T09:00:00Z","rule_id":"travel_or_study_card","kind":"repeat_sell",'
        b'"product":"international_credit_card"},{"at":"2026-11-25T10:00:00Z",'
        b'"rule_id":"complaint_follow_up","kind":"care","cap_key":"CMP-1"}],'
        b'"annual_scheduled":{"birthday_greeting":2027}}'
    )
    state = CustomerState.from_bytes(stored)
    nine = datetime(2026, 11, 25, 9, tzinfo=UTC)
    assert [(e.event_id, e.channel, e.type, e.occurred_at) for e in state.recent] == [
        ("fx-1", "teller", "fx_exchange", nine),
        ("c-1", "phone", "complaint", nine + timedelta(hours=1)),
        ("r-2", "phone", "complaint_resolved", nine + timedelta(hours=2)),
    ]
    assert state.recent[2].occurred_at.utcoffset() == timedelta(hours=8)
    assert state.complaints == {
        "CMP-1": ComplaintTimes(opened=nine + timedelta(hours=1)),
        "CMP-2": ComplaintTimes(opened=nine + timedelta(hours=2), resolved=nine + timedelta(hours=2)),
    }
    assert state.open_complaints == ["CMP-1"]
    assert state.counters == {"fx_active_up_sell": [Mark(at=nine, event_id="fx-1")]}
    assert state.sent == [
        Sent(
            at=nine, rule_id="travel_or_study_card", kind="repeat_sell", product="international_credit_card"
        ),
        Sent(at=nine + timedelta(hours=1), rule_id="complaint_follow_up", kind="care", cap_key="CMP-1"),
    ]
    assert state.annual_scheduled == {"birthday_greeting": 2027}
    assert state.has_seen("c-1") and not state.has_seen("c-2")
    assert CustomerState.from_bytes(state.to_bytes()) == state
    assert CustomerState.from_bytes(b"{}") == CustomerState()


# --- seen events ---------------------------------------------------------------------------


def test_an_event_pushed_out_of_the_history_is_no_longer_seen() -> None:
    state = CustomerState()
    events = [
        event(event_id=f"e{n}", occurred_at=(NOW + timedelta(minutes=n)).isoformat()) for n in range(60)
    ]
    for ev in events:
        assert state.apply(ev)
    kept = {e.event_id for e in state.recent}
    assert kept == {f"e{n}" for n in range(10, 60)}
    assert all(state.has_seen(f"e{n}") for n in range(10, 60))
    assert not any(state.has_seen(f"e{n}") for n in range(10))
    # As before: a replay older than the history is not recognised; it falls off at once.
    snapshot = state.to_bytes()
    assert state.apply(events[0])
    assert state.to_bytes() == snapshot and not state.has_seen("e0")
    # A late event within the window pushes out the oldest one.
    late = event(event_id="late", occurred_at=(NOW + timedelta(minutes=30, seconds=1)).isoformat())
    assert state.apply(late) and state.has_seen("late") and not state.has_seen("e10")
    assert not state.apply(late)


def test_seen_events_survive_the_stored_form() -> None:
    state = busy_state(RECENT_LIMIT + 15)
    again = CustomerState.from_bytes(state.to_bytes())
    for n in range(RECENT_LIMIT + 15):
        assert (
            again.has_seen(f"e{n}")
            == state.has_seen(f"e{n}")
            == any(e.event_id == f"e{n}" for e in state.recent)
        )


# --- the time-ordered lists, against the code before (a sort and a scan) --------------


def _old_mark(marks: list[Mark], event_id: str, at: datetime, within: timedelta) -> None:
    if all(mark.event_id != event_id for mark in marks):
        marks.append(Mark(at=at, event_id=event_id))
        marks.sort(key=lambda mark: mark.at)
    horizon = marks[-1].at - within
    marks[:] = [mark for mark in marks if mark.at > horizon]


def _busiest_by_brute_force(sent: list[Sent], at: datetime, within: timedelta, rule_id: str | None) -> int:
    """Every window that holds ``at``, ending at ``at`` or at a send after it, counted."""
    times = [item.at for item in sent if rule_id is None or item.rule_id == rule_id]
    ends = [at] + [t for t in times if at < t < at + within]
    return max(sum(1 for t in times if end - within < t <= end) for end in ends)


@pytest.mark.parametrize("seed", range(20))
def test_marks_and_sends_in_any_order_match_a_sort_and_a_scan(seed: int) -> None:
    rng = random.Random(seed)
    state, marks, sends = CustomerState(), list[Mark](), list[Sent]()
    within = timedelta(hours=rng.choice([1, 6, 48]))
    for _ in range(120):
        at = NOW + timedelta(minutes=15 * rng.randrange(200))  # many share a time
        event_id = f"e{rng.randrange(80)}"  # some are counted twice
        state.mark("r", event_id, at, within)
        _old_mark(marks, event_id, at, within)
        assert state.counters["r"] == marks
        sent = Sent(at=at + timedelta(days=rng.randrange(500)), rule_id=rng.choice("ab"), kind="care")
        state.record_sent(sent)
        if sent not in sends:
            sends.append(sent)
            sends.sort(key=lambda item: item.at)
        sends[:] = [item for item in sends if item.at > sends[-1].at - SENT_MEMORY]
        assert state.sent == sends
        moment = NOW + timedelta(days=rng.randrange(-10, 500))
        cap_window = timedelta(days=rng.choice([1, 7, 30, 90]))
        rule_id = rng.choice([None, "a", "b"])
        assert state.busiest_window(moment, cap_window, rule_id=rule_id) == _busiest_by_brute_force(
            sends, moment, cap_window, rule_id
        )
        assert state.window("r", at, within) == [m.event_id for m in marks if at - within < m.at <= at]
