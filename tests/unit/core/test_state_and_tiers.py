from datetime import timedelta
from decimal import Decimal

import pytest

from hub.core.money import Rates, UnknownCurrency, convert
from hub.core.pii import Hasher, mask, protected_identifiers
from hub.core.state import RECENT_LIMIT, CustomerState
from hub.core.tiers import tier_of
from hub.settings import DEFAULT_FX_RATES, TierSettings
from schemas.interaction import INTERACTION_ADAPTER, CustomerRef
from schemas.profile import CustomerProfile
from tests.factories import NOW, envelope, profile, raw

RATES = Rates(DEFAULT_FX_RATES, "CNY")


def event(event_id: str, minutes: int = 0, channel: str = "teller", type_: str = "deposit"):  # type: ignore[no-untyped-def]
    at = (NOW + timedelta(minutes=minutes)).isoformat()
    return INTERACTION_ADAPTER.validate_json(raw(envelope(channel, type_, event_id=event_id, occurred_at=at)))


def test_applying_an_event_twice_changes_nothing() -> None:
    state = CustomerState()
    assert state.apply(event("e1"))
    snapshot = state.to_bytes()
    assert not state.apply(event("e1"))
    assert state.to_bytes() == snapshot


def test_history_is_kept_in_event_time_order_even_when_events_arrive_late() -> None:
    state = CustomerState()
    for event_id, minute in (("a", 10), ("b", 30), ("late", 20)):
        state.apply(event(event_id, minute))
    assert [e.event_id for e in state.recent] == ["a", "late", "b"]


def test_history_is_bounded() -> None:
    state = CustomerState()
    for n in range(RECENT_LIMIT + 5):
        state.apply(event(f"e{n}", n))
    assert len(state.recent) == RECENT_LIMIT and state.recent[-1].event_id == f"e{RECENT_LIMIT + 4}"


def test_state_survives_serialisation() -> None:
    state = CustomerState()
    state.apply(event("c", channel="phone", type_="complaint"))
    assert CustomerState.from_bytes(state.to_bytes()) == state
    assert state.open_complaints == ["CMP-1"]


def test_complaints_follow_event_time_whatever_the_arrival_order() -> None:
    resolved_first = CustomerState()
    resolved_first.apply(event("r", 10, "phone", "complaint_resolved"))
    resolved_first.apply(event("c", 5, "phone", "complaint"))
    assert resolved_first.open_complaints == []
    reopened = CustomerState()
    reopened.apply(event("r", 10, "phone", "complaint_resolved"))
    reopened.apply(event("c", 20, "phone", "complaint"))
    assert reopened.open_complaints == ["CMP-1"]


def test_replaying_an_event_older_than_the_window_changes_nothing() -> None:
    state = CustomerState()
    for n in range(RECENT_LIMIT):
        state.apply(event(f"e{n}", 100 + n))
    snapshot = state.to_bytes()
    state.apply(event("ancient", 0))
    assert state.to_bytes() == snapshot


@pytest.mark.parametrize(
    ("aum", "tier"),
    [
        (None, "mass"),
        ("49999.99", "mass"),
        ("50000.00", "affluent"),
        ("500000.00", "wealth"),
        ("6000000.00", "private"),
    ],
)
def test_tiers_follow_aum_thresholds(aum: str | None, tier: str) -> None:
    money = {"amount": aum, "currency": "CNY"} if aum else None
    who = CustomerProfile.model_validate(profile(assets_under_management=money))
    assert tier_of(who, TierSettings(), rates=RATES) == tier


def test_aum_in_foreign_currency_is_converted_before_tiering() -> None:
    who = CustomerProfile.model_validate(
        profile(assets_under_management={"amount": "80000", "currency": "USD"})
    )
    assert tier_of(who, TierSettings(), rates=RATES) == "wealth"


def test_conversion_goes_through_the_home_currency() -> None:
    assert convert(Decimal("710"), "CNY", "USD", rates=RATES) == Decimal("100")
    with pytest.raises(UnknownCurrency):
        convert(Decimal("1"), "XAU", "USD", rates=RATES)


def test_card_and_phone_numbers_are_stored_as_keyed_hashes_and_masked() -> None:
    hasher = Hasher("k1", b"0123456789abcdef0123")
    ref = CustomerRef(
        customer_id="C1",
        account_no="6222000011112222",
        card_no="4000123412345678",
        phone="+8613800001234",
        web_user="du.l",
    )
    stored = protected_identifiers(ref, hasher)
    assert stored["account_no"] == hasher.protect("account_no", "6222000011112222")
    assert "6222000011112222" not in str(stored)
    assert stored["card_no"]["masked"] == "************5678"
    assert stored["phone"]["masked"] == "**********1234"
    assert stored["web_user"] == "du.l", "a login is not a card or phone number"
    assert "4000123412345678" not in str(stored) and "13800001234" not in str(stored)
    assert stored["card_no"]["hash"] == hasher.digest("card_no", "4000 1234 1234 5678"), (
        "spaces do not matter"
    )
    assert stored["card_no"]["hash"].startswith("k1:")
    other_key = Hasher("k2", b"another key of 20 chars")
    assert other_key.digest("card_no", "4000123412345678") != stored["card_no"]["hash"]
    assert hasher.digest("phone", "4000123412345678") != stored["card_no"]["hash"], "kinds are kept apart"
    assert mask("123") == "***"


def test_identifiers_written_with_separators_hash_alike_and_national_form_does_not() -> None:
    hasher = Hasher("k1", b"0123456789abcdef0123")
    assert hasher.digest("phone", "+86 (139) 7777-4321") == hasher.digest("phone", "+8613977774321")
    assert hasher.digest("card_no", "4000-1234 1234.5678") == hasher.digest("card_no", "4000123412345678")
    assert hasher.digest("phone", "13977774321") != hasher.digest("phone", "+8613977774321")
    assert hasher.digest("web_user", " du.l ") == hasher.digest("web_user", "du.l")
    assert hasher.digest("web_user", "du.l") != hasher.digest("web_user", "dul")
