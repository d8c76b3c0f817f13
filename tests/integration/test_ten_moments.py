"""All ten moments of the bank's playbook fire end to end, each for its own customer."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from schemas import topics
from tests.factories import envelope, profile
from tests.integration.harness import HubUnderTest, values, wait_for_metric

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(days=10)


def moments(run: str) -> tuple[list[tuple[str, bytes, bytes]], list[tuple[str, bytes, bytes]]]:
    profiles, events = [], []
    counter = iter(range(1000))

    def customer(n: int, **overrides: Any) -> str:
        cid = f"{run}-M{n}"
        profiles.append(
            (
                topics.CUSTOMERS_PROFILE,
                cid.encode(),
                json.dumps(profile(customer_id=cid, **overrides)).encode(),
            )
        )
        return cid

    def add(cid: str, channel: str, type_: str, at: datetime, **payload: Any) -> None:
        event = envelope(
            channel,
            type_,
            event_id=f"{run}-{next(counter)}",
            occurred_at=at.isoformat(),
            customer={"customer_id": cid},
            payload=payload,
        )
        events.append((topics.CHANNEL_TOPICS[channel], cid.encode(), json.dumps(event).encode()))

    def later(cid: str, days: int) -> None:
        """A later event of the same customer: it moves the event time of their partition."""
        add(cid, "web", "page_view", T0 + timedelta(days=days), page="/home", product=None)

    add(customer(1), "teller", "deposit", T0, amount="75000.00", currency="USD", account_type="fx")
    birthday = customer(2, birth_date=(T0 + timedelta(days=2)).date().replace(year=1980).isoformat())
    add(birthday, "web", "login", T0, success=True)
    later(birthday, 5)
    saver = customer(3)
    add(
        saver, "teller", "time_deposit_opened", T0, maturity_date=(T0 + timedelta(days=10)).date().isoformat()
    )
    later(saver, 5)
    trader = customer(4)
    for hour in range(3):
        add(trader, "teller", "fx_exchange", T0 + timedelta(hours=hour), purpose="other")
    add(customer(5), "teller", "inquiry", T0, topic="study_abroad")
    add(customer(6), "phone", "complaint", T0)
    caller = customer(7)
    for hour in range(3):
        add(caller, "phone", "call", T0 + timedelta(hours=hour), resolved=False)
    locked_out = customer(8)
    for minute in range(3):
        add(locked_out, "web", "login", T0 + timedelta(minutes=minute), success=False)
    later(locked_out, 1)
    applicant = customer(9)
    add(applicant, "web", "application_started", T0, application_id="APP-9", product="personal_loan")
    later(applicant, 2)
    add(customer(10), "branch", "visit", T0, wait_minutes=40)
    return profiles, events


async def test_each_of_the_ten_moments_publishes_its_trigger(tmp_path: Path) -> None:
    hub = HubUnderTest(tmp_path)
    hub.start()
    try:
        profiles, events = moments(hub.prefix.strip("."))
        await hub.produce(profiles)
        await wait_for_metric(hub, "hub_profiles_consumed_total", len(profiles))
        await hub.produce(events)
        sent = values(await hub.consume(topics.TRIGGERS_CROSS_SELL, expect=5, settle_s=1))
        sent += values(await hub.consume(topics.TRIGGERS_CARE, expect=5, settle_s=2))
        fired = {t["customer_id"].rsplit("-", 1)[1]: t["rule"]["id"] for t in sent}
        assert fired == {
            "M1": "high_value_walk_in_rm_referral",
            "M2": "birthday_greeting",
            "M3": "time_deposit_maturing",
            "M4": "fx_active_up_sell",
            "M5": "travel_or_study_card",
            "M6": "complaint_follow_up",
            "M7": "repeated_unresolved_contact",
            "M8": "digital_distress",
            "M9": "abandoned_application",
            "M10": "long_branch_wait",
        }
        assert len(sent) == 10, "one trigger per moment, none twice"
        birthday = next(t for t in sent if t["rule"]["id"] == "birthday_greeting")
        assert birthday["recommended_channel"] == "phone", "an RM call for a wealth customer"
    finally:
        hub.stop()
