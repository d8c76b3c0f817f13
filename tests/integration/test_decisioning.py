"""Rules end to end on real Kafka and PostgreSQL: time-based checks, live rule reloads,
the decision log, and marketing's outcomes."""

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from schemas import topics
from tests.factories import envelope, profile
from tests.integration.harness import HubUnderTest, values, wait_for_metric, wait_for_rows


def record(event: dict[str, Any]) -> tuple[str, bytes, bytes]:
    return (
        topics.CHANNEL_TOPICS[event["channel"]],
        event["customer"]["customer_id"].encode(),
        json.dumps(event).encode(),
    )


def profile_record(customer_id: str, **overrides: Any) -> tuple[str, bytes, bytes]:
    body = profile(customer_id=customer_id, **overrides)
    return topics.CUSTOMERS_PROFILE, customer_id.encode(), json.dumps(body).encode()


async def test_an_application_not_submitted_within_24_hours_is_followed_up_in_event_time(
    hub: HubUnderTest,
) -> None:
    run = hub.prefix.strip(".")
    who = f"{run}-A"
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)

    def web(type_: str, n: int, at: datetime, **payload: Any) -> tuple[str, bytes, bytes]:
        return record(
            envelope(
                "web",
                type_,
                event_id=f"{run}-{n}",
                occurred_at=at.isoformat(),
                customer={"customer_id": who},
                payload=payload,
            )
        )

    await hub.produce([profile_record(who)])
    await wait_for_metric(hub, "hub_profiles_consumed_total", 1)
    await hub.produce(
        [
            web("application_started", 1, start, application_id="APP-abandoned", product="personal_loan"),
            web(
                "application_started",
                2,
                start + timedelta(minutes=5),
                application_id="APP-done",
                product="fund",
            ),
            web(
                "application_submitted",
                3,
                start + timedelta(hours=2),
                application_id="APP-done",
                product="fund",
            ),
            # A day and more later the customer logs in: event time passes both due times.
            web("login", 4, start + timedelta(hours=26), success=True),
        ]
    )
    [trigger] = values(await hub.consume(topics.TRIGGERS_CROSS_SELL, expect=1, settle_s=2))
    assert (trigger["rule"]["id"], trigger["action"], trigger["product"]) == (
        "abandoned_application",
        "follow_up",
        "personal_loan",
    )
    assert datetime.fromisoformat(trigger["created_at"]) == start + timedelta(hours=24)
    assert trigger["evidence"] == [f"{run}-1"]
    checks = await wait_for_rows(
        "SELECT correlation, status FROM scheduled_checks WHERE customer_id = $1 AND rule_id = $2",
        who,
        "abandoned_application",
        expect=2,
    )
    assert {r["correlation"]: r["status"] for r in checks} == {
        "APP-abandoned": "fired",
        "APP-done": "cancelled",
    }


RULE_FILE = """
rules:
  - id: long_branch_wait
    version: {version}
    when:
      event: {{channel: branch, types: [visit], payload: {{wait_minutes: {{gte: {minutes}}}}}}}
    trigger:
      kind: care
      action: apologise
      priority: 60
      reason: "waited {{payload.wait_minutes}} minutes"
      channels: {{default: [sms, branch]}}
"""


@pytest.fixture
def rules_file(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(RULE_FILE.format(version=1, minutes=30))
    return path


async def test_a_changed_rule_file_is_picked_up_live_and_a_bad_one_is_refused(
    tmp_path: Path, rules_file: Path
) -> None:
    hub = HubUnderTest(
        tmp_path / "worker", extra_env={"HUB_RULES_FILE": str(rules_file), "HUB_RULES_RELOAD_SECONDS": "0.3"}
    )
    hub.workdir.mkdir()
    hub.start()
    try:
        run = hub.prefix.strip(".")

        async def visit(n: int) -> None:
            event = envelope(
                "branch",
                "visit",
                event_id=f"{run}-{n}",
                customer={"customer_id": f"{run}-V{n}"},
                payload={"wait_minutes": 20},
            )
            await hub.produce([record(event)])

        await visit(1)
        await wait_for_rows("SELECT 1 FROM interactions WHERE event_id = $1", f"{run}-1", expect=1)
        await asyncio.to_thread(rules_file.write_text, RULE_FILE.format(version=2, minutes=15))
        await asyncio.sleep(1.5)
        await visit(2)
        await asyncio.to_thread(rules_file.write_text, "rules: [{id: Broken}]")
        await asyncio.sleep(1.5)
        await visit(3)
        sent = values(await hub.consume(topics.TRIGGERS_CARE, expect=2, settle_s=2))
        assert sorted((t["customer_id"], t["rule"]["version"]) for t in sent) == [
            (f"{run}-V2", 2),
            (f"{run}-V3", 2),
        ]
        metrics = hub.metrics()
        assert metrics['hub_rules_reloads_total{result="loaded"}'] == 1
        assert metrics['hub_rules_reloads_total{result="rejected"}'] == 1
    finally:
        hub.stop()


async def test_decisions_are_explained_and_a_declined_offer_is_not_repeated(hub: HubUnderTest) -> None:
    run = hub.prefix.strip(".")
    who = f"{run}-F"
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(days=40)
    await hub.produce([profile_record(who)])
    await wait_for_metric(hub, "hub_profiles_consumed_total", 1)

    def fx(n: int, days: int) -> tuple[str, bytes, bytes]:
        return record(
            envelope(
                "teller",
                "fx_exchange",
                event_id=f"{run}-{n}",
                occurred_at=(now + timedelta(days=days)).isoformat(),
                customer={"customer_id": who},
                payload={"purpose": "other"},
            )
        )

    await hub.produce([fx(1, 0), fx(2, 1), fx(3, 2)])  # the third in 30 days: up-sell
    [offer] = values(await hub.consume(topics.TRIGGERS_CROSS_SELL, expect=1, settle_s=1))
    assert (offer["rule"]["id"], offer["product"]) == ("fx_active_up_sell", "structured_fx_deposit")
    outcome = {
        "trigger_id": offer["trigger_id"],
        "customer_id": who,
        "outcome": "declined",
        "at": (now + timedelta(days=3)).isoformat(),
    }
    await hub.produce([(topics.TRIGGERS_OUTCOMES, who.encode(), json.dumps(outcome).encode())])
    await wait_for_rows("SELECT 1 FROM declined_offers WHERE customer_id = $1", who, expect=1)
    # Weeks later, three more exchanges: past the caps, yet the product was declined.
    await hub.produce([fx(4, 30), fx(5, 31), fx(6, 32)])
    await wait_for_rows("SELECT 1 FROM decisions WHERE customer_id = $1", who, expect=4)

    explained = [json.loads(line) for line in hub.hub("explain", who, "--json").stdout.splitlines()]
    # Newest first: each later exchange completes a count of three again, and is declined.
    assert [(d["rule_id"], d["outcome"], d["policy"]) for d in explained] == [
        ("fx_active_up_sell", "suppressed", "declined"),
        ("fx_active_up_sell", "suppressed", "declined"),
        ("fx_active_up_sell", "suppressed", "declined"),
        ("fx_active_up_sell", "published", None),
    ]
    assert explained[-1]["outcomes"] == ["declined"]
    assert explained[0]["evidence"] == [f"{run}-4", f"{run}-5", f"{run}-6"]
    readable = hub.hub("explain", who).stdout
    assert "STOP" in readable and "declined" in readable and "SENT" in readable
    report = {row["rule_id"]: row for row in map(json.loads, hub.hub("report", "--json").stdout.splitlines())}
    assert report["fx_active_up_sell"]["declined"] >= 1
