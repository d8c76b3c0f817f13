from decimal import Decimal

import pytest
from pydantic import ValidationError

from schemas.interaction import INTERACTION_ADAPTER, TYPES_BY_CHANNEL, TellerCashEvent
from tests.factories import PAYLOADS, envelope, raw


@pytest.mark.parametrize(("channel", "type_"), sorted(PAYLOADS))
def test_every_channel_type_of_the_contract_validates(channel: str, type_: str) -> None:
    event = INTERACTION_ADAPTER.validate_json(raw(envelope(channel, type_)))
    assert (event.channel, event.type) == (channel, type_)


def test_factories_cover_every_type_the_schema_knows() -> None:
    known = {(c, t) for c, types in TYPES_BY_CHANNEL.items() for t in types}
    assert known == set(PAYLOADS)


def test_money_stays_an_exact_decimal() -> None:
    event = INTERACTION_ADAPTER.validate_json(raw(envelope(payload={"amount": "12500.10"})))
    assert isinstance(event, TellerCashEvent)
    assert event.payload.amount == Decimal("12500.10")
    assert '"amount":"12500.10"' in event.model_dump_json()


@pytest.mark.parametrize(
    "payload",
    [
        {"amount": 12500.1},
        {"amount": "-5.00"},
        {"amount": "NaN"},
        {"currency": "usd"},
        {"account_type": "gold"},
    ],
)
def test_bad_money_is_refused(payload: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        INTERACTION_ADAPTER.validate_json(raw(envelope(payload=payload)))


def test_customer_needs_some_identity() -> None:
    customer = {"customer_id": None, "account_no": None, "card_no": None, "phone": None, "web_user": None}
    with pytest.raises(ValidationError, match="at least one channel identifier"):
        INTERACTION_ADAPTER.validate_json(raw(envelope(customer=customer)))


def test_event_id_longer_than_128_characters_is_refused() -> None:
    with pytest.raises(ValidationError):
        INTERACTION_ADAPTER.validate_json(raw(envelope(event_id="x" * 129)))


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        INTERACTION_ADAPTER.validate_json(raw(envelope(occurred_at="2026-11-25T09:14:03")))
