"""The hub end to end: channel records in, contact history, dead letters and triggers out."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from schemas import topics
from schemas.rejected import RejectedRecord
from schemas.trigger import Trigger
from tests.factories import PAYLOADS, envelope, profile
from tests.integration.harness import HubUnderTest, fetch, values, wait_for_metric, wait_for_rows


def scenario(run: str) -> dict[str, Any]:
    """Events of every channel and type for one customer, plus the two moments that fire."""
    now = datetime.now(UTC).replace(microsecond=0)
    walker, shy = f"{run}-walker", f"{run}-shy"
    valid = []
    for n, (channel, type_) in enumerate(sorted(PAYLOADS)):
        at = (now - timedelta(minutes=60 - n)).isoformat()
        record = envelope(
            channel,
            type_,
            event_id=f"{run}-{n}",
            occurred_at=at,
            customer={"customer_id": walker, "card_no": "4000123412341234"},
        )
        # No stated travel need, so that of the sales rules only the walk-in fires.
        if "purpose" in record["payload"] and type_ == "fx_exchange":
            record["payload"]["purpose"] = "other"
        if record["payload"].get("topic") == "travel":
            record["payload"]["topic"] = "mortgage"
        valid.append(record)
    deposit = envelope(
        event_id=f"{run}-large",
        occurred_at=now.isoformat(),
        customer={"customer_id": walker},
        payload={"amount": "75000.00", "currency": "USD", "account_type": "fx"},
    )
    shy_deposit = envelope(
        event_id=f"{run}-shy-large",
        occurred_at=now.isoformat(),
        customer={"customer_id": shy},
        payload={"amount": "75000.00", "currency": "USD", "account_type": "fx"},
    )
    return {"walker": walker, "shy": shy, "valid": [*valid, shy_deposit], "deposit": deposit, "now": now}


def as_records(events: list[dict[str, Any]]) -> list[tuple[str, bytes, bytes]]:
    return [
        (topics.CHANNEL_TOPICS[e["channel"]], e["customer"]["customer_id"].encode(), json.dumps(e).encode())
        for e in events
    ]


def bad_records(run: str, now: datetime) -> dict[str, tuple[str, bytes]]:
    missing = envelope(event_id=f"{run}-bad-missing")
    del missing["payload"]["amount"]
    return {
        "invalid_json": (topics.INTERACTIONS_TELLER, b'{"event_id": "broken",'),
        "schema": (topics.INTERACTIONS_TELLER, json.dumps(missing).encode()),
        "unknown_channel": (
            topics.INTERACTIONS_TELLER,
            json.dumps({**envelope(), "channel": "fax"}).encode(),
        ),
        "unknown_type": (
            topics.INTERACTIONS_PHONE,
            json.dumps({**envelope("phone", "call"), "type": "teleport"}).encode(),
        ),
        "channel_mismatch": (
            topics.INTERACTIONS_WEB,
            json.dumps(envelope(event_id=f"{run}-bad-mm")).encode(),
        ),
        "future_event": (
            topics.INTERACTIONS_BRANCH,
            json.dumps(
                envelope(
                    "branch",
                    "visit",
                    event_id=f"{run}-bad-future",
                    occurred_at=(now + timedelta(hours=25)).isoformat(),
                )
            ).encode(),
        ),
    }


async def test_records_of_all_channels_become_history_dead_letters_and_triggers(hub: HubUnderTest) -> None:
    run = hub.prefix.strip(".")
    s = scenario(run)
    profiles = [
        (
            topics.CUSTOMERS_PROFILE,
            s["walker"].encode(),
            json.dumps(profile(customer_id=s["walker"])).encode(),
        ),
        (
            topics.CUSTOMERS_PROFILE,
            s["shy"].encode(),
            json.dumps(
                profile(
                    customer_id=s["shy"],
                    consents={"marketing": False, "phone": True, "sms": True, "email": True},
                )
            ).encode(),
        ),
    ]
    await hub.produce(profiles)
    await wait_for_profiles(hub, 2)
    bad = bad_records(run, s["now"])
    valid = s["valid"] + [s["deposit"]]
    await hub.produce([*as_records(valid), *[(t, b"k", v) for t, v in bad.values()], *as_records(valid[:3])])

    ids = [e["event_id"] for e in valid]
    rows = await wait_for_rows("SELECT * FROM interactions WHERE event_id = ANY($1)", ids, expect=len(ids))
    assert sorted(r["event_id"] for r in rows) == sorted(ids), "every valid event once, duplicates ignored"
    assert all("4000123412341234" not in r["identifiers"] for r in rows), "card numbers are never stored"
    stored_card = json.loads(next(r["identifiers"] for r in rows if "card_no" in r["identifiers"]))["card_no"]
    assert stored_card["masked"] == "************1234"
    assert stored_card["hash"].startswith("k1:")

    dead_letters = await hub.consume(topics.INTERACTIONS_DLQ, expect=len(bad), settle_s=1)
    dead = values(dead_letters)
    by_reason = {d["reason"].split(":")[0]: RejectedRecord.model_validate(d) for d in dead}
    assert sorted(by_reason) == sorted(bad), dead
    for category, (topic, raw) in bad.items():
        assert by_reason[category].topic == hub.topic(topic)
        assert by_reason[category].raw == raw.decode()
    assert by_reason["schema"].reason == "schema: payload.amount: field required"

    care_records = await hub.consume(topics.TRIGGERS_CARE, expect=1, settle_s=1)
    sales_records = await hub.consume(topics.TRIGGERS_CROSS_SELL, expect=1, settle_s=1)
    care, sales = values(care_records), values(sales_records)
    for record in [*dead_letters, *care_records, *sales_records]:
        assert dict(record.headers)["content-type"] == b"application/json", record.headers
    assert all(t["schema_version"] == 1 for t in care + sales)
    [follow_up] = [Trigger.model_validate(t) for t in care]
    assert (follow_up.customer_id, follow_up.action, follow_up.rule.id) == (
        s["walker"],
        "follow_up",
        "complaint_follow_up",
    )
    [referral] = [Trigger.model_validate(t) for t in sales]
    assert (referral.customer_id, referral.kind) == (s["walker"], "rm_referral")
    assert referral.evidence == [f"{run}-large"]
    assert referral.tier == "wealth" and "75,000.00 USD" in referral.reason

    metrics = hub.metrics()
    assert metrics['hub_events_rejected_total{reason="future_event"}'] == 1
    assert (
        metrics[
            'hub_decisions_total{outcome="suppressed",policy="consent",rule="high_value_walk_in_rm_referral"}'
        ]
        == 1
    )
    assert sum(v for k, v in metrics.items() if k.startswith("hub_events_duplicate_total")) == 3

    history = hub.hub("history", s["walker"], "--json").stdout.splitlines()
    assert [json.loads(line)["event_id"] for line in history][:2] == [
        f"{run}-large",
        f"{run}-{len(PAYLOADS) - 1}",
    ]
    assert len(history) == len(valid) - 1
    oldest = json.loads(history[-1])
    assert oldest["identifiers"] == {"card_no": "************1234"}, "display form only, never a hash"


async def test_a_restart_and_a_replay_record_nothing_twice_and_send_nothing_twice(hub: HubUnderTest) -> None:
    run = hub.prefix.strip(".")
    s = scenario(run)
    await hub.produce(
        [
            (
                topics.CUSTOMERS_PROFILE,
                s["walker"].encode(),
                json.dumps(profile(customer_id=s["walker"])).encode(),
            )
        ]
    )
    await wait_for_profiles(hub, 1)
    events = [*s["valid"], s["deposit"]]
    await hub.produce(as_records(events))
    ids = [e["event_id"] for e in events]
    await wait_for_rows("SELECT event_id FROM interactions WHERE event_id = ANY($1)", ids, expect=len(ids))
    first = await hub.consume(topics.TRIGGERS_CROSS_SELL, expect=1, settle_s=1)
    assert len(first) == 1

    hub.stop()
    hub.start()
    await hub.produce(as_records(events))  # the channel system replays everything
    await wait_for_duplicates(hub, len(events))

    rows = await fetch("SELECT event_id FROM interactions WHERE event_id = ANY($1)", ids)
    assert len(rows) == len(ids)
    assert len(await hub.consume(topics.TRIGGERS_CROSS_SELL, expect=2, timeout_s=3)) == 1
    assert len(await hub.consume(topics.TRIGGERS_CARE, expect=2, timeout_s=3)) == 1
    outbox = await fetch("SELECT published_at FROM triggers WHERE customer_id = $1", s["walker"])
    assert len(outbox) == 2 and all(r["published_at"] is not None for r in outbox)


async def wait_for_profiles(hub: HubUnderTest, count: int) -> None:
    await wait_for_metric(hub, "hub_profiles_consumed_total", count)


async def wait_for_duplicates(hub: HubUnderTest, count: int) -> None:
    await wait_for_metric(hub, "hub_events_duplicate_total", count)


async def test_garbage_on_the_internal_topic_is_dead_lettered_and_the_stream_goes_on(
    hub: HubUnderTest,
) -> None:
    run = hub.prefix.strip(".")
    good = envelope("phone", "complaint", event_id=f"{run}-after", customer={"customer_id": f"{run}-C"})
    nobodys = envelope(
        "phone", "call", event_id=f"{run}-nobody", customer={"customer_id": None, "phone": "1"}
    )
    await hub.produce(
        [
            (topics.INTERACTIONS_ACCEPTED, b"C", b'{"not": "an interaction"}'),
            # Valid, but naming no customer, with a key PostgreSQL could not store.
            (topics.INTERACTIONS_ACCEPTED, b"C\x00", json.dumps(nobodys).encode()),
            (topics.INTERACTIONS_UNRESOLVED, b"k", b"garbage without ingest's headers"),
            (topics.INTERACTIONS_PHONE, b"C", json.dumps(good).encode()),
        ]
    )
    dead = values(await hub.consume(topics.INTERACTIONS_DLQ, expect=3, settle_s=1))
    assert sorted(d["raw"] for d in dead) == sorted(
        ['{"not": "an interaction"}', json.dumps(nobodys), "garbage without ingest's headers"]
    )
    assert all(d["reason"].startswith("schema: not a valid interaction") for d in dead)
    assert await wait_for_rows("SELECT 1 FROM interactions WHERE event_id = $1", f"{run}-after", expect=1)
