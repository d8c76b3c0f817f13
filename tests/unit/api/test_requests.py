"""What the HTTP layer does with parameters: paging, filters, merges, masking, error shapes."""

from datetime import datetime

import httpx
import pytest

from hub.api.paging import decode_cursor, encode_cursor
from hub.core.pii import display_identifiers
from hub.errors import StoreUnavailable
from tests.unit.api.fakes import AUDITOR, FakeReads

AUTH = {"Authorization": f"Bearer {AUDITOR}"}


async def test_history_pages_through_with_the_cursor(client: httpx.AsyncClient) -> None:
    seen: list[str] = []
    cursor = None
    sizes = []
    while True:
        params = {"limit": 20} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/customers/C1/history", params=params, headers=AUTH)).json()
        sizes.append(len(page["items"]))
        seen += [item["event_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sizes == [20, 20, 5]
    assert seen == [f"e{n:03d}" for n in range(45)]


async def test_history_passes_channels_and_times_on(client: httpx.AsyncClient, reads: FakeReads) -> None:
    params = [
        ("channel", "phone"),
        ("channel", "web"),
        ("since", "2026-11-01T00:00:00+08:00"),
        ("until", "2026-11-02T00:00:00Z"),
    ]
    assert (await client.get("/customers/C9/history", params=params, headers=AUTH)).status_code == 200
    call = reads.history_calls[-1]
    assert call["channels"] == ["phone", "web"]
    assert call["since"] == datetime.fromisoformat("2026-11-01T00:00:00+08:00")
    assert call["until"] == datetime.fromisoformat("2026-11-02T00:00:00+00:00")


async def test_history_items_show_display_forms_never_a_hash(client: httpx.AsyncClient) -> None:
    page = (await client.get("/customers/C1/history", params={"limit": 1}, headers=AUTH)).json()
    assert page["items"][0]["identifiers"] == {
        "card_no": "************7890",
        "account_no": "************2222",
        "web_user": "li.wei",
    }
    assert "deadbeef" not in str(page)


def test_display_identifiers_drops_a_protected_value_without_a_masked_form() -> None:
    assert display_identifiers({"phone": {"hash": "k1:ab"}, "account_no": "12"}) == {"account_no": "**"}


async def test_a_merged_id_answers_for_the_survivor_with_a_mass_tier_without_profile(
    client: httpx.AsyncClient,
) -> None:
    view = (await client.get("/customers/C9", headers=AUTH)).json()
    assert (view["customer_id"], view["requested_id"], view["merged_ids"]) == ("C1", "C9", ["C9"])
    assert view["tier"] == "mass"
    assert view["segment"] is None and view["consents"] is None
    assert view["interaction_counts"] == {"teller": 45, "phone": 0, "web": 0, "branch": 0}


async def test_an_unknown_customer_is_404_everywhere(client: httpx.AsyncClient) -> None:
    for path in ("/customers/NOPE", "/customers/NOPE/history", "/customers/NOPE/decisions"):
        answer = await client.get(path, headers=AUTH)
        assert answer.status_code == 404
        assert answer.json()["error"] == {
            "status": 404,
            "code": "not_found",
            "message": "no customer with that id",
        }


async def test_search_by_id_and_by_an_unknown_identifier(client: httpx.AsyncClient) -> None:
    found = await client.post("/customers/search", json={"customer_id": "C9"}, headers=AUTH)
    assert found.json() == {"customer_id": "C1"}
    missing = await client.post("/customers/search", json={"kind": "card_no", "value": "6222"}, headers=AUTH)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("params", "names"),
    [
        ({"limit": 0}, "query.limit"),
        ({"limit": 201}, "query.limit"),
        ({"limit": "many"}, "query.limit"),
        ({"since": "yesterday"}, "query.since"),
        ({"since": "2026-11-01T00:00:00"}, "query.since"),  # no offset
        ({"until": "2026-13-01T00:00:00Z"}, "query.until"),
        ({"until": "0"}, "query.until"),  # a number, which pydantic would take for seconds
        ({"since": "1764547200.5"}, "query.since"),
        ({"cursor": ""}, "query.cursor"),  # the document says: at least one character
        ({"channel": "fax"}, "query.channel"),
        ({"cursor": "not-a-cursor"}, "query.cursor"),
        ({"cursor": "WzEsMl0"}, "query.cursor"),  # [1,2]
        ({"cursor": encode_cursor(datetime(2026, 1, 1), "e1")}, "query.cursor"),  # naive time
    ],
)
async def test_bad_parameters_are_422_in_the_error_shape(
    client: httpx.AsyncClient, params: dict[str, object], names: str
) -> None:
    answer = await client.get("/customers/C1/history", params=params, headers=AUTH)
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert (error["status"], error["code"]) == (422, "invalid_request")
    assert error["message"].startswith(names)


@pytest.mark.parametrize("method", ["GET", "OPTIONS", "DELETE"])
async def test_search_is_post_only_never_a_customer_called_search(
    client: httpx.AsyncClient, method: str
) -> None:
    answer = await client.request(method, "/customers/search", headers=AUTH)
    assert (answer.status_code, answer.headers["Allow"]) == (405, "POST")
    assert answer.json()["error"]["code"] == "method_not_allowed"


async def test_a_bad_decisions_cursor_is_422(client: httpx.AsyncClient) -> None:
    answer = await client.get("/customers/C1/decisions", params={"cursor": "%%%"}, headers=AUTH)
    assert answer.status_code == 422


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "passport", "value": "E1234567"},
        {"kind": "card_no", "value": ""},
        {"customer_id": "C1", "kind": "card_no"},
        {},
    ],
)
async def test_a_bad_search_is_422_and_never_echoes_the_value(
    client: httpx.AsyncClient, body: dict[str, str]
) -> None:
    answer = await client.post("/customers/search", json=body, headers=AUTH)
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "invalid_request"
    assert "E1234567" not in answer.text


async def test_an_unknown_path_is_404_in_the_error_shape(client: httpx.AsyncClient) -> None:
    answer = await client.get("/nowhere")
    assert answer.json() == {"error": {"status": 404, "code": "not_found", "message": "Not Found"}}


async def test_answers_are_not_cached(client: httpx.AsyncClient) -> None:
    answer = await client.get("/customers/C1", headers=AUTH)
    assert answer.headers["Cache-Control"] == "no-store"


def test_a_cursor_round_trips() -> None:
    at = datetime.fromisoformat("2026-11-25T09:00:00.123456+08:00")
    assert decode_cursor(encode_cursor(at, "evt/1=é")) == (at, "evt/1=é")


@pytest.mark.parametrize(
    "body",
    [
        {"6222021234567890": "x"},
        {"customer_id": "C1", "6222021234567890": "x"},
        {"kind": "card_no", "value": "6222", "6222021234567890": {"6222021234567891": 1}},
    ],
)
async def test_a_search_never_echoes_an_unknown_key(
    client: httpx.AsyncClient, body: dict[str, object]
) -> None:
    answer = await client.post("/customers/search", json=body, headers=AUTH)
    assert answer.status_code == 422
    message = answer.json()["error"]["message"]
    assert "622202123456789" not in message
    assert "SearchBy" not in message  # no union alternatives named
    assert "Extra inputs are not permitted" in message


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"customer_id": "C1", "kind": "card_no"},
        {"kind": "card_no"},
        {"value": "6222"},
        {"customer_id": None},
    ],
)
async def test_a_search_of_neither_kind_gets_one_clear_message(
    client: httpx.AsyncClient, body: dict[str, object]
) -> None:
    answer = await client.post("/customers/search", json=body, headers=AUTH)
    assert answer.status_code == 422
    assert (
        answer.json()["error"]["message"] == "body: Value error, give either customer_id, or kind and value"
    )


async def test_a_bad_identifier_kind_names_the_field_once(client: httpx.AsyncClient) -> None:
    answer = await client.post("/customers/search", json={"kind": "passport", "value": "E1"}, headers=AUTH)
    message = answer.json()["error"]["message"]
    assert message.startswith("body.kind: Input should be")
    assert ";" not in message


async def test_an_unexpected_failure_is_500_in_the_error_shape_with_the_headers(
    client: httpx.AsyncClient, reads: FakeReads, caplog: pytest.LogCaptureFixture
) -> None:
    reads.failure = RuntimeError("card 6222021234567890 broke it")
    answer = await client.get("/customers/C1-SECRET", headers=AUTH)
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["error"]["code"] == "internal_error"
    assert answer.headers["Cache-Control"] == "no-store"
    assert "default-src 'self'" in answer.headers["Content-Security-Policy"]
    logged = caplog.text
    assert "RuntimeError" in logged and "GET /customers/{customer_id}" in logged
    assert "6222021234567890" not in logged and "C1-SECRET" not in logged


async def test_a_store_outage_is_503_with_the_headers(client: httpx.AsyncClient, reads: FakeReads) -> None:
    reads.failure = StoreUnavailable("PostgreSQL unavailable while resolving a customer: connection lost")
    for answer in (
        await client.get("/customers/C1", headers=AUTH),
        await client.post("/customers/search", json={"customer_id": "C1"}, headers=AUTH),
    ):
        assert answer.status_code == 503
        assert answer.json()["error"]["code"] == "unavailable"
        assert answer.headers["Cache-Control"] == "no-store"
