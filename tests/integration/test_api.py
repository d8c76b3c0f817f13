"""The customer API on the real PostgreSQL: rows seeded with SQL, read through HTTP."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from subprocess import PIPE
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest

from hub.api.app import create_api
from hub.core.pii import Hasher, mask
from hub.readiness import free_port
from hub.settings import Settings
from hub.storage.audit import AuditStore
from hub.storage.customer_reads import CustomerReads
from hub.storage.history import HistoryStore
from tests.factories import NOW

TOKEN = "integration-token-0123456789"
PII_KEY = "integration-test-pii-key"
HASHER = Hasher("k1", PII_KEY.encode())
AUTH = {"Authorization": f"Bearer {TOKEN}"}
TOKENS = [{"name": "it", "token": TOKEN, "scopes": ["customers:read", "decisions:read"]}]


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(pii_key=PII_KEY, pii_key_id="k1", api={"tokens": TOKENS})
    store = await HistoryStore.open(settings.require_database_url())
    reads = CustomerReads(store)
    app = create_api(settings, reads, AuditStore(store))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub") as client:
        yield client
    await reads.close()


# --- seeding ---------------------------------------------------------------------------


async def add_profile(
    connection: asyncpg.Connection, customer_id: str, merged_into: str | None = None, **fields: Any
) -> None:
    profile = {
        "customer_id": customer_id,
        "schema_version": 2,
        "updated_at": NOW.isoformat(),
        "merged_into": merged_into,
        **fields,
    }
    await connection.execute(
        "INSERT INTO customer_profiles (customer_id, merged_into, profile, updated_at)"
        " VALUES ($1, $2, $3, $4)",
        customer_id,
        merged_into,
        json.dumps(profile),
        NOW,
    )


async def add_identifier(connection: asyncpg.Connection, customer_id: str, kind: str, value: str) -> None:
    await connection.execute(
        "INSERT INTO customer_identifiers (lookup_key, kind, display, customer_id, claimed_at)"
        " VALUES ($1, $2, $3, $4, $5)",
        HASHER.digest(kind, value),
        kind,
        value if kind == "web_user" else mask(value),
        customer_id,
        NOW,
    )


async def add_event(
    connection: asyncpg.Connection,
    customer_id: str,
    occurred_at: datetime,
    *,
    channel: str = "teller",
    type_: str = "deposit",
    payload: dict[str, Any] | None = None,
    identifiers: dict[str, Any] | None = None,
    event_id: str | None = None,
) -> str:
    event_id = event_id or unique("evt")
    await connection.execute(
        "INSERT INTO interactions (event_id, customer_id, channel, type, occurred_at, received_at, source,"
        " payload, identifiers, kafka_topic, kafka_partition, kafka_offset)"
        " VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8, 'interactions.test', 0, 0)",
        event_id,
        customer_id,
        channel,
        type_,
        occurred_at,
        json.dumps({"system": "it"}),
        json.dumps(payload or {"amount": "100.00", "currency": "CNY", "account_type": "savings"}),
        json.dumps(identifiers or {}),
    )
    return event_id


async def add_decision(
    connection: asyncpg.Connection,
    customer_id: str,
    decided_at: datetime,
    *,
    outcome: str = "published",
    published: bool = True,
) -> str:
    decision_id = unique("dec")
    await connection.execute(
        "INSERT INTO decisions (decision_id, customer_id, rule_id, rule_version, kind, product, tier,"
        " outcome, policy, detail, reason, evidence, channel, decided_at)"
        " VALUES ($1, $2, 'fx_active_up_sell', 1, 'up_sell', 'structured_fx_deposit', 'mass', $3, $4, 'why',"
        " 'three exchanges in 30 days', $5, 'phone', $6)",
        decision_id,
        customer_id,
        outcome,
        None if outcome == "published" else "frequency_cap",
        ["evt-1"],
        decided_at,
    )
    if outcome == "published":
        await connection.execute(
            # Shard -1 belongs to no worker: the outbox of the workers other tests run never
            # picks these bodiless rows up to publish them.
            "INSERT INTO triggers (trigger_id, customer_id, kind, rule_id, rule_version, caused_by, topic,"
            " body, created_at, published_at, shard) VALUES ($1, $2, 'up_sell', 'fx_active_up_sell', 1,"
            " 'evt-1', 'triggers.cross_sell', '{}', $3, $4, -1)",
            decision_id,
            customer_id,
            decided_at,
            decided_at if published else None,
        )
    return decision_id


async def all_history(client: httpx.AsyncClient, customer_id: str, **params: Any) -> list[list[str]]:
    """Every page's event ids, following next_cursor."""
    pages: list[list[str]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        answer = await client.get(f"/customers/{customer_id}/history", params=query, headers=AUTH)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        pages.append([item["event_id"] for item in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages


# --- history ---------------------------------------------------------------------------


async def test_45_events_page_as_20_20_5_newest_first(
    client: httpx.AsyncClient, connection: asyncpg.Connection
) -> None:
    customer = unique("C")
    # Three events share each timestamp, so that the event id breaks ties across pages.
    seeded = [
        (
            NOW - timedelta(minutes=n // 3),
            await add_event(connection, customer, NOW - timedelta(minutes=n // 3)),
        )
        for n in range(45)
    ]
    expected = [event_id for _, event_id in sorted(seeded, reverse=True)]

    pages = await all_history(client, customer, limit=20)

    assert [len(page) for page in pages] == [20, 20, 5]
    assert [event_id for page in pages for event_id in page] == expected


async def test_channel_and_time_filters(client: httpx.AsyncClient, connection: asyncpg.Connection) -> None:
    customer = unique("C")
    at = {n: NOW - timedelta(hours=n) for n in range(4)}
    teller = await add_event(connection, customer, at[0])
    phone = await add_event(
        connection, customer, at[1], channel="phone", type_="call", payload={"reason": "card"}
    )
    web = await add_event(
        connection, customer, at[2], channel="web", type_="login", payload={"success": True}
    )
    branch = await add_event(connection, customer, at[3], channel="branch", type_="visit", payload={})

    async def ids(**params: Any) -> list[str]:
        return [event_id for page in await all_history(client, customer, **params) for event_id in page]

    assert await ids() == [teller, phone, web, branch]
    assert await ids(channel=["phone", "branch"]) == [phone, branch]
    # since inclusive, until exclusive, with offsets other than UTC.
    assert await ids(since=at[2].isoformat(), until=at[0].isoformat()) == [phone, web]
    assert await ids(since=at[1].astimezone().isoformat()) == [teller, phone]
    assert await ids(channel=["web"], until=at[2].isoformat()) == []


async def test_history_shows_masked_identifiers_and_never_a_hash(
    client: httpx.AsyncClient, connection: asyncpg.Connection
) -> None:
    customer = unique("C")
    stored = {
        "card_no": HASHER.protect("card_no", "6222021234567890"),
        "phone": HASHER.protect("phone", "13800138000"),
        "account_no": "6222000011112222",
        "web_user": "li.wei",
    }
    await add_event(connection, customer, NOW, identifiers=stored)

    answer = await client.get(f"/customers/{customer}/history", headers=AUTH)

    assert answer.json()["items"][0]["identifiers"] == {
        "card_no": "************7890",
        "phone": "*******8000",
        "account_no": "************2222",
        "web_user": "li.wei",
    }
    assert stored["card_no"]["hash"] not in answer.text and "6222021234567890" not in answer.text


# --- profiles, merges, complaints ------------------------------------------------------


async def test_a_merged_customer_reads_as_the_survivor_with_both_histories(
    client: httpx.AsyncClient, connection: asyncpg.Connection
) -> None:
    survivor, merged, merged_earlier = unique("A"), unique("B"), unique("Z")
    await add_profile(
        connection,
        survivor,
        segment="private",
        assets_under_management={"amount": "1000000.00", "currency": "USD"},
        rm_id="RM-7",
        consents={"marketing": True, "phone": True},
        identifiers={"card_no": ["************7890"]},
    )
    await add_profile(connection, merged, merged_into=survivor)
    await add_profile(connection, merged_earlier, merged_into=merged)  # a chain: Z -> B -> A
    mine = await add_event(connection, survivor, NOW)
    theirs = await add_event(connection, merged, NOW - timedelta(hours=1))
    oldest = await add_event(connection, merged_earlier, NOW - timedelta(hours=2))

    view = (await client.get(f"/customers/{merged_earlier}", headers=AUTH)).json()

    assert view["customer_id"] == survivor
    assert view["requested_id"] == merged_earlier
    assert sorted(view["merged_ids"]) == sorted([merged, merged_earlier])
    assert (view["segment"], view["tier"], view["rm_id"]) == ("private", "private", "RM-7")
    assert view["consents"] == {"marketing": True, "phone": True, "sms": False, "email": False}
    assert view["identifiers"]["card_no"] == ["************7890"]
    assert view["interaction_counts"] == {"teller": 3, "phone": 0, "web": 0, "branch": 0}
    assert await all_history(client, merged) == [[mine, theirs, oldest]]


async def test_a_merge_cycle_ends(client: httpx.AsyncClient, connection: asyncpg.Connection) -> None:
    one, two = unique("X"), unique("Y")
    await add_profile(connection, one, merged_into=two)
    await add_profile(connection, two, merged_into=one)

    answer = await client.get(f"/customers/{one}", headers=AUTH)

    assert answer.status_code == 200
    assert answer.json()["customer_id"] in (one, two)


async def test_interactions_without_a_profile(
    client: httpx.AsyncClient, connection: asyncpg.Connection
) -> None:
    customer = unique("C")
    await add_event(connection, customer, NOW)

    view = (await client.get(f"/customers/{customer}", headers=AUTH)).json()

    assert view["tier"] == "mass"
    assert view["segment"] is None and view["consents"] is None and view["updated_at"] is None


async def test_open_complaints_exclude_resolved_ones(
    client: httpx.AsyncClient, connection: asyncpg.Connection
) -> None:
    customer, merged = unique("C"), unique("M")
    await add_profile(connection, customer)
    await add_profile(connection, merged, merged_into=customer)

    async def complaint(who: str, complaint_id: str, minutes: int, type_: str = "complaint") -> str:
        payload = {"complaint_id": complaint_id}
        if type_ == "complaint":
            payload |= {"category": "fees", "severity": "high"}
        at = NOW + timedelta(minutes=minutes)
        return await add_event(connection, who, at, channel="phone", type_=type_, payload=payload)

    await complaint(customer, "CMP-1", 0)
    await complaint(merged, "CMP-1", 10, "complaint_resolved")  # resolved under the merged id
    still_open = await complaint(merged, "CMP-2", 20)
    await complaint(customer, "CMP-3", 30, "complaint_resolved")  # resolves a complaint made later
    reopened = await complaint(customer, "CMP-3", 40)

    view = (await client.get(f"/customers/{customer}", headers=AUTH)).json()

    assert [(c["complaint_id"], c["event_id"]) for c in view["open_complaints"]] == [
        ("CMP-3", reopened),
        ("CMP-2", still_open),
    ]
    assert view["open_complaints"][0]["severity"] == "high"
    assert view["open_complaints"][0]["category"] == "fees"


async def test_unknown_customers_are_404(client: httpx.AsyncClient) -> None:
    unknown = unique("NOPE")
    for path in (f"/customers/{unknown}", f"/customers/{unknown}/history", f"/customers/{unknown}/decisions"):
        answer = await client.get(path, headers=AUTH)
        assert answer.status_code == 404
        assert answer.json()["error"]["code"] == "not_found"
    answer = await client.post("/customers/search", json={"customer_id": unknown}, headers=AUTH)
    assert answer.status_code == 404


# --- search ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "value", "typed"),
    [
        ("card_no", "6222021234567890", "6222 0212 3456 7890"),
        ("phone", "13800138000", "138 0013 8000"),
        ("account_no", "6222000011112222", "6222000011112222"),
        ("web_user", "li.wei", "li.wei"),
    ],
)
async def test_search_by_identifier_finds_the_survivor(
    client: httpx.AsyncClient, connection: asyncpg.Connection, kind: str, value: str, typed: str
) -> None:
    survivor, merged = unique("A"), unique("B")
    await add_profile(connection, survivor)
    await add_profile(connection, merged, merged_into=survivor)
    await add_identifier(connection, merged, kind, f"{value}-{survivor}" if kind == "web_user" else value)
    typed = f"{typed}-{survivor}" if kind == "web_user" else typed

    answer = await client.post("/customers/search", json={"kind": kind, "value": typed}, headers=AUTH)

    assert answer.status_code == 200, answer.text
    assert answer.json() == {"customer_id": survivor}
    await connection.execute(
        "DELETE FROM customer_identifiers WHERE customer_id = $1", merged
    )  # the numbers are shared between runs; ids are not
    missing = await client.post("/customers/search", json={"kind": kind, "value": typed}, headers=AUTH)
    assert missing.status_code == 404


# --- decisions -------------------------------------------------------------------------


async def test_decisions_newest_first_with_their_trigger(
    client: httpx.AsyncClient, connection: asyncpg.Connection
) -> None:
    customer, merged = unique("C"), unique("M")
    await add_profile(connection, customer)
    await add_profile(connection, merged, merged_into=customer)
    sent = await add_decision(connection, customer, NOW)
    unsent = await add_decision(connection, merged, NOW - timedelta(hours=1), published=False)
    suppressed = await add_decision(connection, customer, NOW - timedelta(hours=2), outcome="suppressed")

    first = (await client.get(f"/customers/{merged}/decisions", params={"limit": 2}, headers=AUTH)).json()
    rest = (
        await client.get(
            f"/customers/{merged}/decisions",
            params={"limit": 2, "cursor": first["next_cursor"]},
            headers=AUTH,
        )
    ).json()

    items = first["items"] + rest["items"]
    assert [d["decision_id"] for d in items] == [sent, unsent, suppressed]
    assert rest["next_cursor"] is None
    assert [d["trigger_id"] for d in items] == [sent, unsent, None]
    assert items[0]["published_at"] is not None and items[1]["published_at"] is None
    assert items[2]["policy"] == "frequency_cap"
    assert items[0]["reason"] == "three exchanges in 30 days"


# --- the process -----------------------------------------------------------------------


def test_the_hub_api_process_serves_readiness_and_refuses_without_a_token(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "HUB_API__PORT": str(port),
        "HUB_API__TOKENS": json.dumps(TOKENS),
        "HUB_PII_KEY": PII_KEY,
    }
    log_path = tmp_path / "api.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "hub", "api"], env=env, stdout=log, stderr=log)
    try:
        assert wait_for(f"http://127.0.0.1:{port}/readyz", process) == (200, {"ready": True}), (
            log_path.read_text()
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/customers/SECRET-ID-42", timeout=5)
        assert refused.value.code == 401
        assert refused.value.headers["WWW-Authenticate"] == "Bearer"
        assert json.loads(refused.value.read())["error"]["code"] == "unauthorized"
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    assert "SECRET-ID-42" not in log_path.read_text()  # no access log with customer ids


def wait_for(url: str, process: "subprocess.Popen[bytes]") -> tuple[int, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, "hub api exited"
        try:
            with urllib.request.urlopen(url, timeout=1) as answer:
                return answer.status, json.loads(answer.read())
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within 30 s")


async def test_hub_api_refuses_an_unmigrated_database(connection: asyncpg.Connection) -> None:
    name = unique("unmigrated").replace("-", "_")
    await connection.execute(f'CREATE DATABASE "{name}"')
    try:
        url = urlsplit(os.environ["HUB_DATABASE_URL"])._replace(path=f"/{name}").geturl()
        env = {
            **os.environ,
            "HUB_DATABASE_URL": url,
            "HUB_API__PORT": str(free_port()),
            "HUB_API__TOKENS": json.dumps(TOKENS),
            "HUB_PII_KEY": PII_KEY,
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "hub", "api", env=env, stdout=PIPE, stderr=PIPE
        )
        _, raw_stderr = await asyncio.wait_for(process.communicate(), 60)
    finally:
        await connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    stderr = raw_stderr.decode()
    assert process.returncode == 2, stderr
    assert stderr.startswith("hub: error: PostgreSQL at "), stderr
    assert stderr.strip().endswith(f"/{name} has not been migrated: run `hub migrate`"), stderr
    assert len(stderr.strip().splitlines()) == 1, stderr
