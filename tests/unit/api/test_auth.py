"""Bearer tokens and scopes: who may read what."""

import httpx
import pytest

from hub.api.auth import token_named
from tests.unit.api.fakes import AUDITOR, LEDGER, READER, settings


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("path", ["/customers/C1", "/customers/C1/history", "/customers/C1/decisions"])
async def test_no_token_is_401_with_a_bearer_challenge(client: httpx.AsyncClient, path: str) -> None:
    answer = await client.get(path)
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == "Bearer"
    assert answer.json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize(
    "header", ["Bearer not-a-configured-token", f"Basic {READER}", f"Bearer {READER}x", "Bearer"]
)
async def test_a_wrong_token_is_401(client: httpx.AsyncClient, header: str) -> None:
    answer = await client.get("/customers/C1", headers={"Authorization": header})
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == "Bearer"


async def test_search_needs_a_token_too(client: httpx.AsyncClient) -> None:
    answer = await client.post("/customers/search", json={"customer_id": "C1"})
    assert answer.status_code == 401


async def test_a_token_without_decisions_read_is_403_on_decisions_only(client: httpx.AsyncClient) -> None:
    assert (await client.get("/customers/C1", headers=bearer(READER))).status_code == 200
    assert (await client.get("/customers/C1/history", headers=bearer(READER))).status_code == 200
    answer = await client.get("/customers/C1/decisions", headers=bearer(READER))
    assert answer.status_code == 403
    assert answer.json() == {
        "error": {"status": 403, "code": "forbidden", "message": "the token lacks the decisions:read scope"}
    }


async def test_the_right_token_reads_decisions(client: httpx.AsyncClient) -> None:
    answer = await client.get("/customers/C1/decisions", headers=bearer(AUDITOR))
    assert answer.status_code == 200
    assert [d["decision_id"] for d in answer.json()["items"]] == ["d000", "d001", "d002"]


def test_tokens_match_exactly_and_by_value() -> None:
    tokens = settings().api.tokens
    assert token_named(tokens, AUDITOR) is tokens[1]
    assert token_named(tokens, READER) is tokens[0]
    assert token_named(tokens, READER[:-1]) is None
    assert token_named(tokens, "") is None


async def test_health_and_readiness_need_no_token(client: httpx.AsyncClient, reads) -> None:  # type: ignore[no-untyped-def]
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).json() == {"ready": True}
    reads.ready = False
    answer = await client.get("/readyz")
    assert answer.status_code == 503
    assert answer.json() == {"ready": False}


@pytest.mark.parametrize("body", [b"{bad", b'{"kind": "passport"}', b"[]"])
async def test_search_without_a_token_is_401_whatever_the_body(
    client: httpx.AsyncClient, body: bytes
) -> None:
    # FastAPI reads a JSON body before it runs dependencies: the token must be checked first.
    answer = await client.post(
        "/customers/search", content=body, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == "Bearer"
    assert answer.json()["error"]["code"] == "unauthorized"


async def test_search_with_a_wrong_token_and_a_broken_body_is_401(client: httpx.AsyncClient) -> None:
    headers = {"Content-Type": "application/json", "Authorization": "Bearer not-a-configured-token"}
    answer = await client.post("/customers/search", content=b"{bad", headers=headers)
    assert answer.status_code == 401


async def test_search_without_the_scope_is_403_before_the_body_is_read(client: httpx.AsyncClient) -> None:
    headers = {"Content-Type": "application/json", **bearer(LEDGER)}
    answer = await client.post("/customers/search", content=b"{bad", headers=headers)
    assert answer.status_code == 403
    assert answer.json()["error"]["message"] == "the token lacks the customers:read scope"


async def test_a_valid_token_still_gets_422_for_a_broken_body(client: httpx.AsyncClient) -> None:
    headers = {"Content-Type": "application/json", **bearer(READER)}
    answer = await client.post("/customers/search", content=b"{bad", headers=headers)
    assert answer.status_code == 422
    assert answer.json()["error"]["message"].startswith("body")


async def test_history_without_a_token_and_with_bad_parameters_is_401(client: httpx.AsyncClient) -> None:
    answer = await client.get("/customers/C1/history", params={"limit": 0, "cursor": "%%%"})
    assert answer.status_code == 401
