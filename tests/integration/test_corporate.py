"""Corporate customers end to end on the real broker and database: a treasurer acting for
a member company shows in the treasurer's, the company's and the group's timelines, each
side decided once, and the group view gathers the group."""

import json
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from hub.api.app import create_api
from hub.settings import Settings
from hub.storage.audit import AuditStore
from hub.storage.customer_reads import CustomerReads
from hub.storage.history import HistoryStore
from schemas import topics
from tests.factories import company, envelope, profile
from tests.integration.harness import HubUnderTest, fetch, values, wait_for_metric, wait_for_rows

TOKEN = "integration-token-0123456789"
DESK_TOKEN = "integration-desk-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ORGANISATION_CODE = "91310000MA1FL8XQ3K"


@pytest.fixture
async def api() -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        pii_key=os.environ["HUB_PII_KEY"],
        api={
            "tokens": [
                {"name": "it", "token": TOKEN, "scopes": ["customers:read", "decisions:read"]},
                {"name": "desk", "token": DESK_TOKEN, "scopes": ["customers:read"]},
            ]
        },
    )
    store = await HistoryStore.open(settings.require_database_url())
    reads = CustomerReads(store)
    app = create_api(settings, reads, AuditStore(store))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub") as client:
        yield client
    await reads.close()


def _names(run: str) -> dict[str, str]:
    return {
        "group": f"{run}-G",
        "member": f"{run}-K1",
        "other": f"{run}-K2",
        "treasurer": f"{run}-T",
    }


def _profiles(n: dict[str, str]) -> list[tuple[str, bytes, bytes]]:
    group = company(customer_id=n["group"], corporate={"organisation_code": None, "industry": "holding"})
    member = company(customer_id=n["member"], corporate={"group_id": n["group"]})
    other = company(
        customer_id=n["other"],
        corporate={"group_id": n["group"], "organisation_code": None, "rm_team": {"lead_rm_id": "RM-K2"}},
    )
    treasurer = profile(customer_id=n["treasurer"])
    return [
        (topics.CUSTOMERS_PROFILE, p["customer_id"].encode(), json.dumps(p).encode())
        for p in (group, member, other, treasurer)
    ]


def _acting(n: dict[str, str], event_id: str, channel: str, type_: str, at: datetime, **fields: Any) -> bytes:
    record = envelope(
        channel,
        type_,
        event_id=event_id,
        schema_version=2,
        on_behalf_of=n["member"],
        occurred_at=at.isoformat(),
        customer={"customer_id": n["treasurer"]},
        **fields,
    )
    return json.dumps(record).encode()


async def _history(api: httpx.AsyncClient, path: str, **params: Any) -> list[dict[str, Any]]:
    answer = await api.get(path, params=params, headers=AUTH)
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


async def test_a_treasurers_visit_for_a_member_is_in_three_timelines_and_each_side_decides_once(
    hub: HubUnderTest, api: httpx.AsyncClient
) -> None:
    run = hub.prefix.strip(".")
    n = _names(run)
    await hub.produce(_profiles(n))
    await wait_for_metric(hub, "hub_profiles_consumed_total", 4)
    now = datetime.now(UTC).replace(microsecond=0)
    visit = _acting(n, f"{run}-visit", "teller", "deposit", now - timedelta(minutes=5))
    complaint = _acting(
        n,
        f"{run}-complaint",
        "phone",
        "complaint",
        now - timedelta(minutes=2),
        payload={"complaint_id": "CMP-9"},
    )
    own = json.dumps(
        envelope(
            event_id=f"{run}-own",
            occurred_at=(now - timedelta(minutes=9)).isoformat(),
            customer={"customer_id": n["other"]},
        )
    ).encode()
    treasurer = n["treasurer"].encode()
    records = [
        (topics.INTERACTIONS_TELLER, treasurer, visit),
        (topics.INTERACTIONS_PHONE, treasurer, complaint),
        (topics.INTERACTIONS_TELLER, n["other"].encode(), own),
    ]
    await hub.produce(records)

    parties = await wait_for_rows(
        "SELECT event_id, customer_id, role FROM interaction_parties WHERE event_id LIKE $1 ORDER BY 1, 3",
        f"{run}-%",
        expect=4,
    )
    assert [(r["event_id"], r["customer_id"], r["role"]) for r in parties] == [
        (f"{run}-complaint", n["treasurer"], "acting"),
        (f"{run}-complaint", n["member"], "represented"),
        (f"{run}-visit", n["treasurer"], "acting"),
        (f"{run}-visit", n["member"], "represented"),
    ]
    stored = await fetch(
        "SELECT customer_id, on_behalf_of FROM interactions WHERE event_id = $1", f"{run}-visit"
    )
    assert [(r["customer_id"], r["on_behalf_of"]) for r in stored] == [(n["treasurer"], n["member"])]

    # The visit in the treasurer's, the company's and the group's timelines, once each.
    for path in (f"/customers/{n['treasurer']}/history", f"/customers/{n['member']}/history"):
        items = await _history(api, path)
        assert [i["event_id"] for i in items] == [f"{run}-complaint", f"{run}-visit"], path
        assert all(i["customer_id"] == n["treasurer"] and i["on_behalf_of"] == n["member"] for i in items)
    combined = await _history(api, f"/groups/{n['group']}/history")
    assert [i["event_id"] for i in combined] == [f"{run}-complaint", f"{run}-visit", f"{run}-own"]
    only_other = await _history(api, f"/groups/{n['group']}/history", member=n["other"])
    assert [i["event_id"] for i in only_other] == [f"{run}-own"]
    refused = await api.get(f"/groups/{n['group']}/history", params={"member": "nobody"}, headers=AUTH)
    assert refused.status_code == 422

    # The treasurer's complaint is followed up for the treasurer (the default rule looks at
    # their own and acting side), decided on the treasurer's partition.
    decided = await wait_for_rows(
        "SELECT customer_id, rule_id FROM decisions WHERE $1 = ANY(evidence)", f"{run}-complaint", expect=1
    )
    assert (n["treasurer"], "complaint_follow_up") in {(r["customer_id"], r["rule_id"]) for r in decided}

    # Replayed copies (the channel sent them again) change nothing.
    before = await fetch("SELECT count(*) AS n FROM decisions WHERE customer_id LIKE $1", f"{run}-%")
    await hub.produce(records[:2])
    await wait_for_metric(hub, "hub_events_duplicate_total", 2)
    await wait_for_metric(hub, 'hub_company_copies_total{outcome="duplicate"}', 2)
    # So does a version 2 copy of an event_id first seen as a plain event of the company.
    late_claim = json.loads(own)
    late_claim.update(schema_version=2, on_behalf_of=n["member"], customer={"customer_id": n["treasurer"]})
    await hub.produce([(topics.INTERACTIONS_TELLER, treasurer, json.dumps(late_claim).encode())])
    await wait_for_metric(hub, "hub_events_duplicate_total", 3)
    await wait_for_metric(hub, 'hub_company_copies_total{outcome="duplicate"}', 3)
    again = await fetch("SELECT count(*) AS n FROM interaction_parties WHERE event_id LIKE $1", f"{run}-%")
    after = await fetch("SELECT count(*) AS n FROM decisions WHERE customer_id LIKE $1", f"{run}-%")
    assert again[0]["n"] == 4 and after[0]["n"] == before[0]["n"]

    # The group view: members, who acted for them, open complaints, the RM team.
    answer = await api.get(f"/groups/{n['group']}", headers=AUTH)
    assert answer.status_code == 200, answer.text
    view = answer.json()
    assert [m["customer_id"] for m in view["members"]] == sorted([n["member"], n["other"]])
    assert view["rm_team"] == {"lead_rm_id": "RM-LEAD", "members": ["RM-2"]}
    assert [(r["customer_id"], r["on_behalf_of"], r["interactions"]) for r in view["representatives"]] == [
        (n["treasurer"], n["member"], 2)
    ]
    assert [(c["complaint_id"], c["customer_id"], c["on_behalf_of"]) for c in view["open_complaints"]] == [
        ("CMP-9", n["treasurer"], n["member"])
    ]
    # The company's copy of the complaint is decided on the company's side too.
    assert [(t["customer_id"], t["rule_id"]) for t in view["recent_triggers"]] == [
        (n["member"], "key_account_complaint")
    ]
    desk = await api.get(f"/groups/{n['group']}", headers={"Authorization": f"Bearer {DESK_TOKEN}"})
    assert desk.status_code == 200 and desk.json()["recent_triggers"] is None, "decisions need decisions:read"
    not_a_group = await api.get(f"/groups/{n['treasurer']}", headers=AUTH)
    assert not_a_group.status_code == 404

    # The command line (and so the demo) prints the same combined timeline.
    printed = hub.hub("history", "--group", n["group"]).stdout.splitlines()
    assert (
        printed[0]
        == f"group {n['group']}: 2 member companies: {', '.join(sorted([n['member'], n['other']]))}"
    )
    acted = f"{n['treasurer']} for {n['member']}"
    kinds = ("complaint", "deposit")
    assert [(acted in line, next(k for k in kinds if f" {k} " in line)) for line in printed[1:]] == [
        (True, "complaint"),
        (True, "deposit"),
        (False, "deposit"),
    ], printed

    # The organisation code is kept masked, with its keyed hash; never plain.
    [row] = await fetch(
        "SELECT profile::text AS p FROM customer_profiles WHERE customer_id = $1", n["member"]
    )
    assert ORGANISATION_CODE not in row["p"]
    stored_code = json.loads(row["p"])["corporate"]
    assert stored_code["organisation_code"] == "*" * 14 + ORGANISATION_CODE[-4:]
    assert stored_code["organisation_code_hash"].startswith("k1:")
    assert ORGANISATION_CODE not in hub.log()


async def test_a_profile_closing_a_loop_of_groups_is_refused_with_a_reason(hub: HubUnderTest) -> None:
    run = hub.prefix.strip(".")
    top = company(customer_id=f"{run}-A", corporate={"group_id": f"{run}-B", "organisation_code": None})
    below = company(customer_id=f"{run}-B", corporate={"group_id": f"{run}-A", "organisation_code": None})
    await hub.produce([(topics.CUSTOMERS_PROFILE, top["customer_id"].encode(), json.dumps(top).encode())])
    await wait_for_metric(hub, "hub_profiles_consumed_total", 1)
    await hub.produce([(topics.CUSTOMERS_PROFILE, below["customer_id"].encode(), json.dumps(below).encode())])

    [dead] = values(await hub.consume(topics.INTERACTIONS_DLQ, expect=1, settle_s=1))
    assert dead["reason"] == "profile_group_cycle: corporate.group_id would make a cycle of 2 group(s)"
    stored = await fetch("SELECT customer_id FROM customer_profiles WHERE customer_id LIKE $1", f"{run}-%")
    assert [r["customer_id"] for r in stored] == [f"{run}-A"]


async def test_a_key_accounts_large_outflow_calls_its_lead_rm_once_and_the_group_is_pitched_once(
    hub: HubUnderTest,
) -> None:
    run = hub.prefix.strip(".")
    n = _names(run)
    await hub.produce(_profiles(n))
    await wait_for_metric(hub, "hub_profiles_consumed_total", 4)
    now = datetime.now(UTC).replace(microsecond=0)
    cash = {"amount": "8000000.00", "currency": "CNY", "account_type": "current"}
    outflow = _acting(n, f"{run}-out", "teller", "withdrawal", now - timedelta(hours=2), payload=cash)
    again = _acting(n, f"{run}-out-2", "teller", "withdrawal", now - timedelta(hours=1), payload=cash)
    treasurer = n["treasurer"].encode()
    await hub.produce([(topics.INTERACTIONS_TELLER, treasurer, outflow)] * 2)
    await hub.produce([(topics.INTERACTIONS_TELLER, treasurer, again)])

    [call] = values(await hub.consume(topics.TRIGGERS_CARE, expect=1, settle_s=3))
    assert (call["rule"]["id"], call["customer_id"], call["action"]) == (
        "key_account_large_outflow",
        n["member"],
        "call",
    )
    assert call["addressed_to"] == {"role": "lead_rm", "rm_id": "RM-LEAD"}
    assert call["tier"] == "key_account" and call["schema_version"] == 2
    logged = await wait_for_rows(
        "SELECT outcome, policy FROM decisions"
        " WHERE customer_id = $1 AND rule_id = 'key_account_large_outflow'",
        n["member"],
        expect=2,
    )
    assert sorted((r["outcome"], r["policy"]) for r in logged) == [
        ("published", None),
        ("suppressed", "frequency_cap"),
    ]
    nothing_personal = await fetch("SELECT rule_id FROM decisions WHERE customer_id = $1", n["treasurer"])
    assert nothing_personal == [], "the treasurer moved the company's money, not theirs"

    # Both members' RMs would pitch FX hedging this week: the group hears it once.
    fx = {"sell_amount": "200000.00", "sell_currency": "USD", "buy_currency": "CNY", "purpose": "trade"}
    for member, minutes in ((n["member"], 30), (n["other"], 20)):
        record = envelope(
            "teller",
            "fx_exchange",
            event_id=f"{run}-fx-{member}",
            occurred_at=(now - timedelta(minutes=minutes)).isoformat(),
            customer={"customer_id": member},
            payload=fx,
        )
        await hub.produce([(topics.INTERACTIONS_TELLER, member.encode(), json.dumps(record).encode())])
        await wait_for_rows(
            "SELECT 1 FROM decisions WHERE customer_id = $1 AND rule_id = 'company_fx_hedging_cross_sell'",
            member,
            expect=1,
        )
    pitched = await fetch(
        "SELECT customer_id, outcome, policy FROM decisions"
        " WHERE rule_id = 'company_fx_hedging_cross_sell' AND customer_id = ANY($1) ORDER BY decided_at",
        [n["member"], n["other"]],
    )
    assert [(r["customer_id"], r["outcome"], r["policy"]) for r in pitched] == [
        (n["member"], "published", None),
        (n["other"], "suppressed", "group_cap"),
    ]
    [claim] = await fetch(
        "SELECT group_id, product, customer_id FROM group_pitches WHERE group_id = $1", n["group"]
    )
    assert (claim["group_id"], claim["product"], claim["customer_id"]) == (
        n["group"],
        "fx_hedging",
        n["member"],
    )
    [offer] = values(await hub.consume(topics.TRIGGERS_CROSS_SELL, expect=1, settle_s=2))
    assert offer["customer_id"] == n["member"] and offer["addressed_to"]["rm_id"] == "RM-LEAD"
