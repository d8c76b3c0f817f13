"""Every customer read through the API leaves one audit row, before its answer leaves."""

import httpx
import pytest

from hub.core.pii import Hasher
from hub.errors import StoreUnavailable
from hub.storage.audit import AuditQuery
from tests.unit.api.fakes import AUDITOR, INSPECTOR, LEDGER, PII_KEY, READER, FakeAudit, FakeReads


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    ("path", "view"),
    [
        ("/customers/C9", "profile"),
        ("/customers/C9/history", "history"),
        ("/customers/C9/decisions", "decisions"),
    ],
)
async def test_each_read_records_who_what_and_which_customer(
    client: httpx.AsyncClient, audit: FakeAudit, path: str, view: str
) -> None:
    answer = await client.get(path, headers=bearer(AUDITOR))
    assert answer.status_code == 200
    (read,) = audit.recorded
    assert (read.token_name, read.view, read.customer_id, read.served_id) == ("audit", view, "C9", "C1")
    assert read.status == 200
    assert read.client == "127.0.0.1"


async def test_a_probe_for_an_unknown_customer_is_recorded(
    client: httpx.AsyncClient, audit: FakeAudit
) -> None:
    assert (await client.get("/customers/NOPE", headers=bearer(READER))).status_code == 404
    (read,) = audit.recorded
    assert (read.token_name, read.customer_id, read.served_id, read.status) == ("desk", "NOPE", None, 404)


async def test_refused_attempts_are_recorded_without_an_unproven_name(
    client: httpx.AsyncClient, audit: FakeAudit
) -> None:
    await client.get("/customers/C1")
    await client.get("/customers/C1", headers=bearer("not-a-configured-token"))
    await client.get("/customers/C1/decisions", headers=bearer(READER))  # lacks decisions:read
    assert [(r.token_name, r.view, r.customer_id, r.served_id, r.status) for r in audit.recorded] == [
        (None, "profile", "C1", None, 401),
        (None, "profile", "C1", None, 401),
        ("desk", "decisions", "C1", None, 403),  # a proven token, short of the scope
    ]


async def test_invalid_parameters_are_recorded_as_422(client: httpx.AsyncClient, audit: FakeAudit) -> None:
    assert (await client.get("/customers/C1/history?limit=0", headers=bearer(READER))).status_code == 422
    assert [(r.view, r.customer_id, r.status) for r in audit.recorded] == [("history", "C1", 422)]


async def test_a_search_by_identifier_records_its_hash_and_masked_form_only(
    client: httpx.AsyncClient, audit: FakeAudit
) -> None:
    answer = await client.post(
        "/customers/search", json={"kind": "card_no", "value": "6222 0212 3456 7890"}, headers=bearer(READER)
    )
    assert answer.status_code == 404
    (read,) = audit.recorded
    assert (read.view, read.customer_id, read.served_id, read.status) == ("search", None, None, 404)
    assert read.search_kind == "card_no"
    assert read.search_key == Hasher("k1", PII_KEY.encode()).digest("card_no", "6222021234567890")
    assert read.search_shown == "************7890"  # masked as the rest of the hub masks it
    assert "6222 0212" not in repr(read) and "6222021234567890" not in repr(read)


async def test_a_search_by_id_records_the_id_and_the_survivor(
    client: httpx.AsyncClient, audit: FakeAudit
) -> None:
    answer = await client.post("/customers/search", json={"customer_id": "C9"}, headers=bearer(READER))
    assert answer.json() == {"customer_id": "C1"}
    (read,) = audit.recorded
    assert (read.view, read.customer_id, read.served_id, read.search_kind) == ("search", "C9", "C1", None)


async def test_no_audit_no_answer(client: httpx.AsyncClient, audit: FakeAudit) -> None:
    audit.failure = StoreUnavailable("PostgreSQL unavailable while recording a customer read")
    answer = await client.get("/customers/C1/history", headers=bearer(READER))
    assert answer.status_code == 503
    assert "e000" not in answer.text  # the data is withheld, never sent unaudited


async def test_a_failed_read_is_recorded_with_its_status(
    client: httpx.AsyncClient, audit: FakeAudit, reads: FakeReads
) -> None:
    reads.failure = StoreUnavailable("gone")
    assert (await client.get("/customers/C1", headers=bearer(READER))).status_code == 503
    assert [(r.view, r.status) for r in audit.recorded] == [("profile", 503)]


async def test_health_and_the_page_are_not_customer_reads(
    client: httpx.AsyncClient, audit: FakeAudit
) -> None:
    for path in ("/healthz", "/readyz", "/", "/openapi.json"):
        await client.get(path)
    assert audit.recorded == []


# --- listing ---------------------------------------------------------------------------


async def test_listing_needs_the_audit_scope(client: httpx.AsyncClient, audit: FakeAudit) -> None:
    assert (await client.get("/audit/reads")).status_code == 401
    for token in (READER, AUDITOR, LEDGER):
        refused = await client.get("/audit/reads", headers=bearer(token))
        assert refused.status_code == 403
        assert refused.json()["error"]["message"] == "the token lacks the audit:read scope"
    assert audit.queries == []


async def test_listing_shows_reads_newest_first_and_is_not_itself_recorded(
    client: httpx.AsyncClient, audit: FakeAudit
) -> None:
    await client.get("/customers/C9", headers=bearer(READER))
    await client.post(
        "/customers/search", json={"kind": "phone", "value": "13800138000"}, headers=bearer(READER)
    )

    answer = await client.get(
        "/audit/reads", params={"customer_id": "C9", "who": "desk", "limit": 1}, headers=bearer(INSPECTOR)
    )

    assert answer.status_code == 200
    body = answer.json()
    assert [item["view"] for item in body["items"]] == ["search"]
    assert body["items"][0]["search"] == {"kind": "phone", "shown": "*******8000"}
    assert "k1:" not in answer.text  # the keyed hash stays in the database
    assert body["next_cursor"] is not None
    assert audit.queries == [AuditQuery(customer_id="C9", token_name="desk")]
    assert len(audit.recorded) == 2


@pytest.mark.parametrize(
    "params", [{"cursor": "%%%"}, {"since": "2026-01-01T00:00:00"}, {"limit": 201}, {"who": ""}]
)
async def test_listing_refuses_bad_parameters(client: httpx.AsyncClient, params: dict[str, object]) -> None:
    answer = await client.get("/audit/reads", params=params, headers=bearer(INSPECTOR))
    assert answer.status_code == 422


async def test_listing_refuses_a_cursor_of_another_page(client: httpx.AsyncClient) -> None:
    history = await client.get("/customers/C1/history", params={"limit": 1}, headers=bearer(READER))
    foreign = history.json()["next_cursor"]  # its id is an event id, not an audit row's
    answer = await client.get("/audit/reads", params={"cursor": foreign}, headers=bearer(INSPECTOR))
    assert answer.status_code == 422
    assert answer.json()["error"]["message"] == "query.cursor: not a cursor this API gave out"
