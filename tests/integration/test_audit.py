"""The audit of customer reads on the real PostgreSQL: written by the API, listed by API and CLI."""

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from subprocess import PIPE
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest

from hub.api.app import create_api
from hub.settings import Settings
from hub.storage.audit import AuditStore
from hub.storage.customer_reads import CustomerReads
from hub.storage.history import HistoryStore
from tests.factories import NOW
from tests.integration.test_api import (
    HASHER,
    PII_KEY,
    add_decision,
    add_event,
    add_identifier,
    add_profile,
    unique,
)

CARD, CARD_TYPED = "6222029876543210", "6222 0298 7654 3210"
PHONE, PHONE_TYPED = "13900139000", "139-0013-9000"


class Tokens:
    """A reader and an auditor with names of their own, so that each test finds its rows."""

    def __init__(self) -> None:
        self.reader_name, self.auditor_name = unique("reader"), unique("auditor")
        self.reader, self.auditor = unique("reader-token-0123456789"), unique("auditor-token-0123456789")

    def configured(self) -> list[dict[str, Any]]:
        return [
            {"name": self.reader_name, "token": self.reader, "scopes": ["customers:read", "decisions:read"]},
            {"name": self.auditor_name, "token": self.auditor, "scopes": ["audit:read"]},
        ]

    def as_reader(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.reader}"}

    def as_auditor(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.auditor}"}


@pytest.fixture
def tokens() -> Tokens:
    return Tokens()


@pytest.fixture
async def client(tokens: Tokens) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(pii_key=PII_KEY, pii_key_id="k1", api={"tokens": tokens.configured()})
    store = await HistoryStore.open(settings.require_database_url())
    app = create_api(settings, CustomerReads(store), AuditStore(store))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub") as client:
        yield client
    await store.close()


async def rows_of(connection: asyncpg.Connection, **where: Any) -> list[dict[str, Any]]:
    """Audit rows matching every ``column=value``, oldest first."""
    conditions = " AND ".join(f"{column} IS NOT DISTINCT FROM ${n}" for n, column in enumerate(where, 1))
    found = await connection.fetch(
        f"SELECT * FROM customer_reads_audit WHERE {conditions} ORDER BY id", *where.values()
    )
    return [dict(row) for row in found]


# --- recording -------------------------------------------------------------------------


async def test_each_read_route_writes_one_row(
    client: httpx.AsyncClient, connection: asyncpg.Connection, tokens: Tokens
) -> None:
    survivor, merged = unique("A"), unique("B")
    await add_profile(connection, survivor)
    await add_profile(connection, merged, merged_into=survivor)
    await add_event(connection, survivor, NOW)
    await add_decision(connection, survivor, NOW)
    await add_identifier(connection, merged, "card_no", CARD)
    before = await connection.fetchval("SELECT now()")

    for path in (f"/customers/{merged}", f"/customers/{merged}/history", f"/customers/{survivor}/decisions"):
        assert (await client.get(path, headers=tokens.as_reader())).status_code == 200
    for body in ({"customer_id": merged}, {"kind": "card_no", "value": CARD_TYPED}):
        answer = await client.post("/customers/search", json=body, headers=tokens.as_reader())
        assert answer.json() == {"customer_id": survivor}

    rows = await rows_of(connection, token_name=tokens.reader_name)
    assert [(r["view"], r["customer_id"], r["served_id"], r["status"]) for r in rows] == [
        ("profile", merged, survivor, 200),
        ("history", merged, survivor, 200),
        ("decisions", survivor, survivor, 200),
        ("search", merged, survivor, 200),
        ("search", None, survivor, 200),
    ]
    assert all(r["client"] == "127.0.0.1" for r in rows)
    assert all(r["read_at"] >= before for r in rows)  # the server's clock, at the read
    assert rows[-1]["search_kind"] == "card_no"
    assert rows[-1]["search_key"] == HASHER.digest("card_no", CARD)
    assert rows[-1]["search_shown"] == "************3210"
    await connection.execute("DELETE FROM customer_identifiers WHERE customer_id = $1", merged)


async def test_probes_and_refusals_are_recorded(
    client: httpx.AsyncClient, connection: asyncpg.Connection, tokens: Tokens
) -> None:
    unknown, probed = unique("NOPE"), unique("PROBE")
    assert (await client.get(f"/customers/{unknown}/history", headers=tokens.as_reader())).status_code == 404
    assert (await client.get(f"/customers/{probed}")).status_code == 401
    assert (await client.get(f"/customers/{probed}", headers=tokens.as_auditor())).status_code == 403

    assert [
        (r["token_name"], r["view"], r["status"]) for r in await rows_of(connection, customer_id=unknown)
    ] == [(tokens.reader_name, "history", 404)]
    assert [
        (r["token_name"], r["served_id"], r["status"]) for r in await rows_of(connection, customer_id=probed)
    ] == [
        (None, None, 401),  # no proven name
        (tokens.auditor_name, None, 403),  # a real token, without customers:read
    ]


async def test_a_search_stores_no_plain_card_or_phone_number(
    client: httpx.AsyncClient, connection: asyncpg.Connection, tokens: Tokens
) -> None:
    holder = unique("H")
    await add_profile(connection, holder)
    await add_identifier(connection, holder, "phone", PHONE)
    searches = [
        ("phone", PHONE_TYPED),
        ("phone", PHONE),
        ("card_no", CARD_TYPED),
        ("card_no", "4000123412341234"),
    ]
    for kind, value in searches:
        await client.post(
            "/customers/search", json={"kind": kind, "value": value}, headers=tokens.as_reader()
        )

    stored = await connection.fetch(
        "SELECT row_to_json(a)::text AS row, search_key, search_shown, status FROM customer_reads_audit a"
        " WHERE token_name = $1 ORDER BY id",
        tokens.reader_name,
    )
    assert [row["status"] for row in stored] == [200, 200, 404, 404]
    assert [row["search_shown"] for row in stored] == ["*******9000"] * 2 + [
        "************3210",
        "************1234",
    ]
    assert [row["search_key"] for row in stored] == [HASHER.digest(kind, value) for kind, value in searches]
    text = " ".join(row["row"] for row in stored)
    for _, value in searches:
        for spelling in (value, value.replace(" ", "").replace("-", ""), value[:8]):
            assert spelling not in text
    await connection.execute("DELETE FROM customer_identifiers WHERE customer_id = $1", holder)


async def test_the_audit_is_append_only(
    client: httpx.AsyncClient, connection: asyncpg.Connection, tokens: Tokens
) -> None:
    customer = unique("C")
    await client.get(f"/customers/{customer}", headers=tokens.as_reader())
    with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError, match="append-only"):
        await connection.execute(
            "UPDATE customer_reads_audit SET token_name = 'x' WHERE customer_id = $1", customer
        )
    with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError, match="append-only"):
        await connection.execute("DELETE FROM customer_reads_audit WHERE customer_id = $1", customer)
    assert len(await rows_of(connection, customer_id=customer)) == 1


# --- listing ---------------------------------------------------------------------------


async def test_listing_needs_the_audit_scope_and_pages_newest_first(
    client: httpx.AsyncClient, connection: asyncpg.Connection, tokens: Tokens
) -> None:
    customer = unique("C")
    await add_profile(connection, customer)
    for path in ("", "/history", "/decisions"):
        await client.get(f"/customers/{customer}{path}", headers=tokens.as_reader())

    refused = await client.get("/audit/reads", headers=tokens.as_reader())
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
    assert (await client.get("/audit/reads")).status_code == 401

    views, cursor = [], None
    while True:
        params = {"customer_id": customer, "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = await client.get("/audit/reads", params=params, headers=tokens.as_auditor())
        assert page.status_code == 200, page.text
        views.append([item["view"] for item in page.json()["items"]])
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert views == [["decisions", "history"], ["profile"]]
    item = page.json()["items"][0]
    assert (item["who"], item["customer_id"], item["served_id"], item["status"]) == (
        tokens.reader_name,
        customer,
        customer,
        200,
    )

    by_who = await client.get(
        "/audit/reads", params={"who": tokens.auditor_name}, headers=tokens.as_auditor()
    )
    assert by_who.json()["items"] == []  # listing the audit is not a customer read
    later = await client.get(
        "/audit/reads",
        params={"customer_id": customer, "since": "2999-01-01T00:00:00Z"},
        headers=tokens.as_auditor(),
    )
    assert later.json()["items"] == []


# --- hub audit -------------------------------------------------------------------------


def hub_audit(*args: str, url: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **({"HUB_DATABASE_URL": url} if url else {})}
    return subprocess.run(
        [sys.executable, "-m", "hub", "audit", *args], env=env, capture_output=True, text=True, timeout=60
    )


async def test_hub_audit_lists_as_a_table_and_as_json(
    client: httpx.AsyncClient, connection: asyncpg.Connection, tokens: Tokens
) -> None:
    customer, other = unique("C"), unique("D")
    await add_profile(connection, customer)
    await client.get(f"/customers/{customer}", headers=tokens.as_reader())
    await client.get(f"/customers/{customer}/history")
    await client.get(f"/customers/{other}", headers=tokens.as_reader())

    table = hub_audit("--customer", customer)
    assert table.returncode == 0, table.stderr
    header, *lines = table.stdout.splitlines()
    assert header.split() == ["read", "at", "who", "view", "customer", "served", "status", "client"]
    assert [line.split()[1:3] + line.split()[-2:] for line in lines] == [
        ["(no", "token)", "401", "127.0.0.1"],
        [tokens.reader_name, "profile", "200", "127.0.0.1"],
    ]
    assert other not in table.stdout

    as_json = hub_audit("--who", tokens.reader_name, "--json", "--limit", "1")
    assert as_json.returncode == 0, as_json.stderr
    (entry,) = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert (entry["token_name"], entry["view"], entry["customer_id"], entry["status"]) == (
        tokens.reader_name,
        "profile",
        other,
        404,
    )

    none = hub_audit("--customer", customer, "--since", "2999-01-01T00:00:00+08:00")
    assert (none.returncode, none.stdout) == (0, "no customer reads recorded that match\n")


def test_hub_audit_refuses_a_time_without_an_offset() -> None:
    result = hub_audit("--since", "2026-11-25T09:00:00")
    assert result.returncode == 2
    assert "Invalid value for '--since'" in result.stderr and "has no offset" in result.stderr


async def test_hub_audit_on_an_unmigrated_database_says_so(connection: asyncpg.Connection) -> None:
    name = unique("unmigrated").replace("-", "_")
    await connection.execute(f'CREATE DATABASE "{name}"')
    try:
        url = urlsplit(os.environ["HUB_DATABASE_URL"])._replace(path=f"/{name}").geturl()
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "hub",
            "audit",
            env={**os.environ, "HUB_DATABASE_URL": url},
            stdout=PIPE,
            stderr=PIPE,
        )
        _, raw_stderr = await asyncio.wait_for(process.communicate(), 60)
    finally:
        await connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    assert process.returncode == 2
    assert (
        raw_stderr.decode()
        == "hub: error: PostgreSQL has not been migrated to this version: run `hub migrate`\n"
    )
