"""``GET /metrics`` of hub api: requests by route template and status, no customer ids."""

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.unit.api.fakes import AUDITOR

AUTH = {"Authorization": f"Bearer {AUDITOR}"}


def samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    return [(s.name, s.labels, s.value) for f in text_string_to_metric_families(text) for s in f.samples]


async def test_metrics_need_no_token_and_name_routes_by_template(client: httpx.AsyncClient) -> None:
    await client.get("/customers/C1/history", headers=AUTH)
    await client.get("/customers/C000123456", headers=AUTH)  # unknown: 404
    await client.get("/customers/C1")  # no token: 401
    await client.get("/no/such/path")
    answer = await client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    assert "C000123456" not in answer.text and 'C1"' not in answer.text
    counted = {
        (labels["route"], labels["method"], labels["status"])
        for name, labels, value in samples(answer.text)
        if name == "hub_api_requests_total" and value > 0
    }
    assert ("/customers/{customer_id}/history", "GET", "200") in counted
    assert ("/customers/{customer_id}", "GET", "404") in counted
    assert ("/customers/{customer_id}", "GET", "401") in counted
    assert ("unmatched", "GET", "404") in counted
    names = {name for name, _, _ in samples(answer.text)}
    assert "hub_api_request_duration_seconds_bucket" in names
    assert "hub_build_info" in names
    assert "hub_events_consumed_total" not in names  # the worker's, not the API's
