"""Properties of the contact policy over random histories of one customer.

Each example is a sequence of 1-40 events of every channel and type, with random payloads
and gaps from seconds to weeks, for a random profile. It is decided by the recorder's own
fold (hub.core.fold): every event against the state before it, then folded in; checks
scheduled by the rules come due in due order as event time passes them, unless a
follow-up cancelled them first. Whatever the history, the domain's promises (domain.md,
"Contact policy") hold.
"""

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.core.drafts import ScheduledCheck
from hub.core.fold import BatchDecisions, Subjects, answers, decide_batch, watermarks
from hub.core.records import CHECK_GRACE, ReceivedEvent
from hub.core.state import CustomerState
from schemas.interaction import Interaction
from schemas.profile import CustomerProfile
from schemas.trigger import SALES_KINDS, Trigger
from tests.factories import NOW, PAYLOADS
from tests.unit.core.decisions import RULES, config, customer, event

SHANGHAI = ZoneInfo("Asia/Shanghai")
QUIET_START, QUIET_END = time(21, 0), time(8, 0)
OUTBOUND = ("phone", "sms", "email")  # channels that need the customer's consent; web and branch do not

PROPERTIES = settings(
    max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)

# --- strategies -------------------------------------------------------------------------

KINDS = sorted(PAYLOADS)
CURRENCIES = st.sampled_from(["CNY", "USD", "EUR", "GBP", "HKD", "JPY"])
AMOUNTS = st.one_of(
    st.sampled_from(["49999.99", "50000.00", "355000.00", "80000.00"]),  # around the walk-in threshold
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("900000"), places=2).map(str),
)
TOPICS = st.sampled_from(["travel", "study_abroad", "mortgage", "fx"])
COMPLAINT_IDS = st.sampled_from(["CMP-1", "CMP-2", "CMP-3"])
GAPS = st.one_of(
    st.integers(1, 120),  # seconds: bursts of logins
    st.integers(60, 3600),  # minutes
    st.integers(3600, 2 * 86400),  # hours: repeated contacts
    st.integers(86400, 21 * 86400),  # days: caps and windows
).map(lambda seconds: timedelta(seconds=seconds))
SIZES = st.integers(1, 40)
BURSTS = st.sampled_from([1, 1, 1, 1, 2, 3, 4])
BURST_GAPS = st.integers(1, 600).map(lambda seconds: timedelta(seconds=seconds))
ANY_KIND = st.sampled_from(KINDS)
SALES_MOMENTS = [
    ("teller", "deposit"),
    ("teller", "fx_exchange"),
    ("teller", "time_deposit_opened"),
    ("teller", "inquiry"),
    ("branch", "inquiry"),
    ("web", "application_started"),
]
DAYS_APART = st.integers(12 * 3600, 4 * 86400).map(lambda seconds: timedelta(seconds=seconds))
PRODUCTS = ["savings", "wealth_account", "structured_fx_deposit", "international_credit_card"]


def payload_for(channel: str, type_: str, when: datetime) -> st.SearchStrategy[dict[str, Any]]:
    """Random payload fields for one kind of event; the rest come from ``PAYLOADS``."""
    match (channel, type_):
        case ("teller", "deposit" | "withdrawal"):
            return st.fixed_dictionaries(
                {
                    "amount": AMOUNTS,
                    "currency": CURRENCIES,
                    "account_type": st.sampled_from(["current", "savings", "time_deposit", "fx"]),
                }
            )
        case ("teller", "fx_exchange"):
            return st.fixed_dictionaries(
                {
                    "sell_amount": AMOUNTS,
                    "sell_currency": CURRENCIES,
                    "purpose": st.sampled_from(["travel", "study_abroad", "trade", "investment", "other"]),
                }
            )
        case ("teller", "time_deposit_opened"):
            return st.fixed_dictionaries(
                {
                    "amount": AMOUNTS,
                    "currency": CURRENCIES,
                    "maturity_date": st.integers(1, 400).map(
                        lambda days: (when.date() + timedelta(days=days)).isoformat()
                    ),
                }
            )
        case (_, "inquiry"):
            return st.fixed_dictionaries({"topic": TOPICS})
        case ("phone", "call"):
            return st.fixed_dictionaries({"resolved": st.booleans()})
        case ("phone", "complaint"):
            return st.fixed_dictionaries(
                {"complaint_id": COMPLAINT_IDS, "severity": st.sampled_from(["low", "medium", "high"])}
            )
        case ("phone", "complaint_resolved"):
            return st.fixed_dictionaries({"complaint_id": COMPLAINT_IDS})
        case ("web", "login"):
            return st.fixed_dictionaries({"success": st.booleans()})
        case ("web", "application_started" | "application_submitted"):
            return st.fixed_dictionaries(
                {
                    "application_id": st.sampled_from([f"APP-{n}" for n in range(1, 13)]),
                    "product": st.sampled_from(["credit_card", "personal_loan"]),
                }
            )
        case ("branch", "visit"):
            return st.fixed_dictionaries({"wait_minutes": st.integers(0, 90)})
        case _:
            return st.just({})


@st.composite
def histories(
    draw: Callable[..., Any],
    kinds: st.SearchStrategy[tuple[str, str]] = ANY_KIND,
    gaps: st.SearchStrategy[timedelta] = GAPS,
    sizes: st.SearchStrategy[int] = SIZES,
    bursts: st.SearchStrategy[int] = BURSTS,
) -> list[Interaction]:
    """1-40 events of one customer in increasing event time, starting any time in a year.

    Some events come in bursts of the same kind and payload seconds to minutes apart, so that
    the counting rules (three failed logins, three contacts, three exchanges) get their chance.
    """
    size = draw(sizes)
    when = NOW + timedelta(seconds=draw(st.integers(0, 366 * 86400)))
    events: list[Interaction] = []
    while len(events) < size:
        channel, type_ = draw(kinds)
        payload = draw(payload_for(channel, type_, when))
        for repeat in range(min(draw(bursts), size - len(events))):
            if events:
                when += draw(gaps if repeat == 0 else BURST_GAPS)
            record = {"event_id": f"e{len(events):02d}", "occurred_at": when.isoformat(), "payload": payload}
            events.append(event(channel, type_, **record))
    return events


@st.composite
def profiles(draw: Callable[..., Any], marketing: st.SearchStrategy[bool] | None = None) -> CustomerProfile:
    aum = draw(st.sampled_from([None, "20000.00", "100000.00", "820000.00", "7000000.00"]))
    birth_date = draw(st.one_of(st.none(), st.dates(date(1940, 1, 1), date(2005, 12, 31))))
    return customer(
        consents={
            "marketing": draw(marketing if marketing is not None else st.booleans()),
            "phone": draw(st.booleans()),
            "sms": draw(st.booleans()),
            "email": draw(st.booleans()),
        },
        assets_under_management=None if aum is None else {"amount": aum, "currency": "CNY"},
        rm_id=draw(st.sampled_from([None, "RM-1"])),
        products=draw(st.lists(st.sampled_from(PRODUCTS), unique=True, max_size=3)),
        birth_date=None if birth_date is None else birth_date.isoformat(),
        time_zone=draw(st.sampled_from(["Asia/Shanghai", None])),  # None: the default zone, Shanghai too
    )


SALES_PRESSURE = histories(
    st.one_of(st.sampled_from(SALES_MOMENTS), st.just(("web", "application_started"))),
    gaps=DAYS_APART,
    sizes=st.integers(20, 40),
    bursts=st.just(1),
)
"""Long histories of moments that may propose a sale, hours to days apart: the caps at work."""


# --- the recorder's loop, in memory -----------------------------------------------------


def replay(
    events: list[Interaction], who: CustomerProfile, *, restarts: bool = False, batch_size: int = 1
) -> list[BatchDecisions]:
    """Decide ``events`` with the recorder's own fold, ``batch_size`` events a batch.

    Between batches the checks are kept as the store keeps them: scheduled once, settled
    once (fired or cancelled by a follow-up before they are due), handed back to the fold
    when the next batch's event time makes them due. With ``restarts`` the state is
    restored from its serialised form (PostgreSQL's copy) after every batch, as if the
    worker restarted each time.
    """
    state = [CustomerState()]
    subjects = Subjects(lambda _: state[0], lambda _: who, {}, lambda trigger: trigger.kind)
    pending: dict[str, ScheduledCheck] = {}
    settled: set[str] = set()
    decided: list[BatchDecisions] = []
    for start in range(0, len(events), batch_size):
        batch = [
            ReceivedEvent(ev, ev.occurred_at + CHECK_GRACE, "interactions.test", 0, start + n)
            for n, ev in enumerate(events[start : start + batch_size])
        ]
        mark = watermarks(batch)[0]
        due = [(c, 0) for c in pending.values() if c.due_at <= mark]
        out = decide_batch(batch, {item.event.event_id for item in batch}, due, subjects, config())
        for cancellation in out.cancellations:
            for check in [c for c in pending.values() if answers(cancellation, c)]:
                del pending[check.check_id]
                settled.add(check.check_id)
        for check, _ in out.schedules:
            if check.check_id not in settled:
                pending.setdefault(check.check_id, check)
        for check_id in out.fired + out.answered:
            pending.pop(check_id, None)
            settled.add(check_id)
        decided.append(out)
        if restarts:
            state[0] = CustomerState.from_bytes(state[0].to_bytes())
    return decided


def triggers_of(decisions: list[BatchDecisions]) -> list[Trigger]:
    return [entry.trigger for decision in decisions for entry in decision.outbox]


def sales(triggers: list[Trigger]) -> list[Trigger]:
    return sorted((t for t in triggers if t.kind in SALES_KINDS), key=lambda t: t.created_at)


def in_quiet_hours(moment: datetime) -> bool:
    local = moment.astimezone(SHANGHAI).time()
    return local >= QUIET_START or local < QUIET_END


# --- properties -------------------------------------------------------------------------


@PROPERTIES
@given(events=histories(), who=profiles(marketing=st.just(False)))
def test_no_sales_trigger_without_marketing_consent(events: list[Interaction], who: CustomerProfile) -> None:
    decisions = replay(events, who)
    assert sales(triggers_of(decisions)) == []
    for decided in (d for decision in decisions for d in decision.decided):
        if decided.verdict.draft.kind in SALES_KINDS:
            assert (decided.verdict.outcome, decided.verdict.policy) == ("suppressed", "consent")


@PROPERTIES
@given(events=histories(), who=profiles())
def test_a_trigger_recommends_only_a_channel_the_customer_allows(
    events: list[Interaction], who: CustomerProfile
) -> None:
    rules = {rule.id: rule for rule in RULES}
    for trigger in triggers_of(replay(events, who)):
        channel = trigger.recommended_channel
        assert channel not in OUTBOUND or getattr(who.consents, channel), trigger
        assert channel in rules[trigger.rule.id].trigger.channels_for(trigger.tier), trigger


@PROPERTIES
@given(events=st.one_of(histories(), SALES_PRESSURE), who=profiles(marketing=st.just(True)))
def test_sales_caps_are_never_exceeded(events: list[Interaction], who: CustomerProfile) -> None:
    published = sales(triggers_of(replay(events, who)))
    for earlier, later in pairwise(published):
        assert later.created_at - earlier.created_at >= timedelta(days=7), (earlier, later)
    for last in published:
        window = [
            t for t in published if last.created_at - timedelta(days=30) < t.created_at <= last.created_at
        ]
        assert len(window) <= 3, window


@PROPERTIES
@given(events=histories(), who=profiles())
def test_no_call_is_asked_for_in_quiet_hours(events: list[Interaction], who: CustomerProfile) -> None:
    for trigger in triggers_of(replay(events, who)):
        if trigger.recommended_channel != "phone":
            assert trigger.not_before == trigger.created_at
            continue
        assert not in_quiet_hours(trigger.not_before), trigger
        assert timedelta(0) <= trigger.not_before - trigger.created_at <= timedelta(hours=11)
        if not in_quiet_hours(trigger.created_at):
            assert trigger.not_before == trigger.created_at


@PROPERTIES
@given(events=histories(), who=profiles())
def test_replaying_the_same_events_gives_the_same_triggers_even_across_restarts(
    events: list[Interaction], who: CustomerProfile
) -> None:
    first, again = replay(events, who), replay(events, who, restarts=True)
    triggers = triggers_of(first)
    assert [t.model_dump_json() for t in triggers] == [t.model_dump_json() for t in triggers_of(again)]
    assert len({t.trigger_id for t in triggers}) == len(triggers)  # one id, one trigger
    verdicts = [(d.decision_id, d.verdict.outcome, d.verdict.policy) for x in first for d in x.decided]
    assert verdicts == [
        (d.decision_id, d.verdict.outcome, d.verdict.policy) for x in again for d in x.decided
    ]
    for decision_id, outcome, policy in verdicts:
        assert (policy is None) == (outcome == "published"), decision_id  # every stop names its policy


@PROPERTIES
@given(events=histories(), who=profiles(), batch_size=st.integers(2, 40))
def test_where_batch_boundaries_fall_changes_no_decision(
    events: list[Interaction], who: CustomerProfile, batch_size: int
) -> None:
    def verdicts(decisions: list[BatchDecisions]) -> list[tuple[str, str, str | None]]:
        return sorted(
            (d.decision_id, d.verdict.outcome, d.verdict.policy) for x in decisions for d in x.decided
        )

    assert verdicts(replay(events, who, batch_size=batch_size)) == verdicts(replay(events, who))
