"""Hand-built histories for the backtest's tests: a few customers, events by the day."""

from datetime import datetime, timedelta
from typing import Any

from hub.core.backtest.replay import CustomerHistory, Decline
from hub.core.records import CHECK_GRACE, ReceivedEvent
from schemas.profile import CustomerProfile
from tests.factories import NOW
from tests.unit.core.decisions import customer, event


def at(days: float = 0, hours: float = 0) -> datetime:
    return NOW + timedelta(days=days, hours=hours)


def received(
    cid: str, channel: str, type_: str, when: datetime, event_id: str, **payload: Any
) -> ReceivedEvent:
    ev = event(
        channel,
        type_,
        event_id=event_id,
        occurred_at=when.isoformat(),
        customer={"customer_id": cid},
        payload=payload or None,
    )
    return ReceivedEvent(ev, when + CHECK_GRACE, "t", 0, 0, shard=0)


def big_deposit(cid: str, when: datetime, event_id: str) -> ReceivedEvent:
    """80,000 USD into an fx account: the walk-in referral's moment for a customer without an RM."""
    return received(
        cid, "teller", "deposit", when, event_id, amount="80000.00", currency="USD", account_type="fx"
    )


def travel_exchange(cid: str, when: datetime, event_id: str) -> ReceivedEvent:
    return received(cid, "teller", "fx_exchange", when, event_id, purpose="travel")


def history(
    cid: str,
    *events: ReceivedEvent,
    who: CustomerProfile | None = None,
    declines: tuple[Decline, ...] = (),
) -> CustomerHistory:
    return CustomerHistory(cid, 0, who, list(events), declines)


def wealthy(cid: str, **overrides: Any) -> CustomerProfile:
    """820,000 CNY of AUM (tier wealth), no RM, consents to marketing, phone and sms."""
    return customer(customer_id=cid, **overrides)
