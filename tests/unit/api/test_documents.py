"""The checked-in OpenAPI document and the page's files."""

import json

import httpx

from hub.api import export


def test_the_checked_in_openapi_document_matches_the_api() -> None:
    assert export.OUTPUT.is_file() and export.OUTPUT.read_text() == export.rendered(), (
        "schemas/openapi.json is stale: run `make schemas` and commit it"
    )


def test_openapi_declares_the_bearer_scheme_and_the_error_shape() -> None:
    document = json.loads(export.rendered())
    assert document["info"]["title"] == "Customer interaction hub API"
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "A token from HUB_API__TOKENS; its scopes decide what it may read.",
    }
    history = document["paths"]["/customers/{customer_id}/history"]["get"]
    assert history["security"] == [{"bearer": []}]
    assert history["responses"]["401"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorBody"
    }


async def test_openapi_json_is_served(client: httpx.AsyncClient) -> None:
    answer = await client.get("/openapi.json")
    assert answer.status_code == 200
    assert answer.json()["info"]["title"] == "Customer interaction hub API"


async def test_the_page_and_its_assets_are_served_without_a_token(client: httpx.AsyncClient) -> None:
    page = await client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    for hook in (
        'id="token"',
        'id="lookup-kind"',
        'id="lookup-value"',
        'id="lookup-go"',
        'data-testid="timeline"',
    ):
        assert hook in page.text
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    for asset, kind in (("app.js", "javascript"), ("style.css", "text/css")):
        answer = await client.get(f"/static/{asset}")
        assert answer.status_code == 200
        assert kind in answer.headers["content-type"]


async def test_the_page_loads_nothing_from_elsewhere(client: httpx.AsyncClient) -> None:
    for path in ("/", "/static/app.js", "/static/style.css"):
        text = (await client.get(path)).text
        assert "http://" not in text and "https://" not in text, path
