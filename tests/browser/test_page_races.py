"""The customer 360 page when answers arrive late or out of order, in headless Chromium.

``hub api``'s app runs in this process over an in-memory stand-in for PostgreSQL (two
customers, A1 with 25 teller events and B1 with 3 phone events, each with a trigger of
its own); the page's ``fetch`` is wrapped so that a test holds chosen requests back and
releases them when it likes. What is on the page must always belong to the customer named
at its top, and the newest lookup must win.
"""

import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest
import uvicorn
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from hub.api.app import create_api
from hub.readiness import free_port
from hub.storage.customer_reads import (
    CustomerIds,
    DecisionRecord,
    InteractionRecord,
    OpenComplaint,
    Position,
    StoredProfile,
)
from tests.unit.api.fakes import AUDITOR, FakeAudit, decision, interaction, settings

WAIT_S = 15
CARD_OF_B1 = "6222021234567890"


def events_of(customer_id: str, count: int, channel: str) -> list[InteractionRecord]:
    return [
        replace(interaction(n, customer_id, channel), event_id=f"{customer_id}-e{n:03d}")
        for n in range(count)
    ]


def trigger_of(customer_id: str) -> DecisionRecord:
    return replace(
        decision(1), decision_id=f"{customer_id}-d1", customer_id=customer_id, reason=f"{customer_id} reason"
    )


class TwoCustomers:
    def __init__(self) -> None:
        self.events = {"A1": events_of("A1", 25, "teller"), "B1": events_of("B1", 3, "phone")}

    async def is_ready(self) -> bool:
        return True

    async def customer_ids(self, customer_id: str) -> CustomerIds | None:
        return CustomerIds(customer_id, customer_id, (customer_id,)) if customer_id in self.events else None

    async def customer_by_lookup_keys(self, lookup_keys: Sequence[str]) -> str | None:
        keys = settings().require_pii_keyring().lookup_keys("card_no", CARD_OF_B1)
        return "B1" if set(keys) & set(lookup_keys) else None

    async def profile(self, customer_id: str) -> StoredProfile | None:
        return None

    async def open_complaints(self, ids: Sequence[str]) -> list[OpenComplaint]:
        return []

    async def channel_counts(self, ids: Sequence[str]) -> dict[str, int]:
        return {}

    async def history(
        self,
        ids: Sequence[str],
        *,
        channels: Sequence[str] = (),
        since: datetime | None = None,
        until: datetime | None = None,
        after: Position | None = None,
        limit: int,
    ) -> list[InteractionRecord]:
        rows = [e for e in self.events[ids[0]] if not channels or e.channel in channels]
        return [e for e in rows if after is None or (e.occurred_at, e.event_id) < after][:limit]

    async def decisions(
        self, ids: Sequence[str], *, after: Position | None = None, limit: int
    ) -> list[DecisionRecord]:
        return [trigger_of(ids[0])]


@pytest.fixture(scope="module")
def page_url() -> Iterator[str]:
    port = free_port()
    app = create_api(settings(), TwoCustomers(), FakeAudit())
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the API did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/"
    server.should_exit = True
    thread.join(10)


# Requests whose "METHOD path body" matches one of window.__holds wait until released.
HOLD_FETCH = """
window.__holds = []; window.__held = []; window.__sent = []; window.__inflight = 0;
const realFetch = window.fetch.bind(window);
window.fetch = (path, options = {}) => {
  const tag = `${options.method || "GET"} ${path} ${options.body || ""}`;
  window.__sent.push(tag);
  window.__inflight += 1;
  const done = (answer) => { window.__inflight -= 1; return answer; };
  const failed = (error) => { window.__inflight -= 1; throw error; };
  if (window.__holds.some((pattern) => new RegExp(pattern).test(tag))) {
    return new Promise((resolve, reject) => window.__held.push({
      tag, go: () => realFetch(path, options).then(done, failed).then(resolve, reject),
    }));
  }
  return realFetch(path, options).then(done, failed);
};
window.__release = (pattern) => {
  const re = new RegExp(pattern);
  window.__holds = window.__holds.filter((p) => p !== pattern);
  const going = window.__held.filter((h) => re.test(h.tag));
  window.__held = window.__held.filter((h) => !re.test(h.tag));
  going.forEach((h) => h.go());
};
"""


@pytest.fixture
def page(browser: WebDriver, page_url: str) -> WebDriver:
    browser.get(page_url)
    loaded = WebDriverWait(browser, WAIT_S)
    loaded.until(lambda d: d.execute_script("return document.readyState") == "complete")
    browser.execute_script(HOLD_FETCH)
    browser.find_element(By.ID, "token").send_keys(AUDITOR)
    return browser


def hold(browser: WebDriver, pattern: str) -> None:
    browser.execute_script("window.__holds.push(arguments[0])", pattern)


def release(browser: WebDriver, pattern: str) -> None:
    browser.execute_script("window.__release(arguments[0])", pattern)


def look_up(browser: WebDriver, kind: str, value: str) -> None:
    Select(browser.find_element(By.ID, "lookup-kind")).select_by_value(kind)
    field = browser.find_element(By.ID, "lookup-value")
    field.clear()
    field.send_keys(value)
    browser.find_element(By.ID, "lookup-go").click()


def wait(browser: WebDriver) -> WebDriverWait[WebDriver]:
    return WebDriverWait(browser, WAIT_S, ignored_exceptions=[StaleElementReferenceException])


def shown(browser: WebDriver) -> dict[str, Any]:
    """The customer at the top, the timeline's event ids, the triggers' reasons, "Show older"."""
    script = """
    const q = (s) => Array.from(document.querySelectorAll(s));
    return {
      customer: document.querySelector('[data-testid="customer-id"]').textContent,
      events: q('[data-testid="timeline-item"]').map((i) => i.dataset.eventId),
      triggers: q('[data-testid="trigger-reason"]').map((i) => i.textContent),
      more: !document.querySelector('[data-testid="more"]').hidden,
      held: window.__held.length,
      inflight: window.__inflight,
      status: document.querySelector('#status').textContent,
    };
    """
    return dict(browser.execute_script(script))


def settled(browser: WebDriver) -> bool:
    now = shown(browser)
    return bool(now["held"] == 0 and now["inflight"] == 0 and now["status"] == "")


def test_nothing_of_the_previous_customer_stays_while_the_next_loads(page: WebDriver) -> None:
    look_up(page, "customer_id", "A1")
    wait(page).until(lambda d: shown(d)["triggers"] == ["A1 reason"] and len(shown(d)["events"]) == 20)
    assert shown(page)["more"], "A1 has 25 events: a second page"

    hold(page, r"/customers/B1/(history|decisions)")
    look_up(page, "card_no", CARD_OF_B1)
    wait(page).until(lambda d: shown(d)["customer"] == "B1")
    now = shown(page)
    assert now["events"] == [] and now["triggers"] == [], f"A1's lists under B1's name: {now}"
    assert not now["more"], "A1's 'Show older' under B1's name"

    # A filter change while B1's triggers load starts a newer history load...
    page.find_element(By.CSS_SELECTOR, '[data-testid="channel-filter"][value="web"]').click()
    release(page, r"/customers/B1/(history|decisions)")
    # ...which must not keep B1's triggers from drawing.
    wait(page).until(settled)
    now = shown(page)
    assert now["triggers"] == ["B1 reason"], now
    assert now["events"] == [f"B1-e{n:03d}" for n in range(3)], now
    assert not now["more"]


def test_a_slow_search_does_not_override_a_newer_lookup(page: WebDriver) -> None:
    hold(page, "card_no")
    look_up(page, "card_no", CARD_OF_B1)
    wait(page).until(lambda d: d.execute_script("return window.__held.length") == 1)
    look_up(page, "customer_id", "A1")
    wait(page).until(lambda d: shown(d)["triggers"] == ["A1 reason"])
    release(page, "card_no")
    wait(page).until(settled)
    now = shown(page)
    assert now["customer"] == "A1" and now["triggers"] == ["A1 reason"], now
    assert page.current_url.endswith("/?customer=A1")


def test_a_number_looked_up_as_a_customer_id_never_reaches_a_url(page: WebDriver) -> None:
    look_up(page, "customer_id", CARD_OF_B1)
    error = wait(page).until(lambda d: d.find_element(By.CSS_SELECTOR, '[data-testid="error"]').text)
    assert error == "No customer found for that customer id."
    sent = page.execute_script("return window.__sent")
    assert sent == [f'POST /customers/search {{"customer_id":"{CARD_OF_B1}"}}'], sent

    look_up(page, "customer_id", "B1")
    wait(page).until(lambda d: shown(d)["triggers"] == ["B1 reason"])
    sent = page.execute_script("return window.__sent")
    assert sent[1:3] == ['POST /customers/search {"customer_id":"B1"}', "GET /customers/B1 "], sent
    assert not any(CARD_OF_B1 in tag.split(" ")[1] for tag in sent), sent
