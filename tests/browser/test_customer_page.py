"""The customer 360 page in headless Chromium: a relationship manager looks a customer up by card.

One customer's profile and interactions across the four channels go through the real
worker into PostgreSQL, one of them known only by the customer's phone number; then the
page served by ``hub api`` must show that customer, newest first, with masked numbers.

With HUB_SCREENSHOT set to a path, the test also saves a PNG of the page there
(``make screenshot`` refreshes the README's picture that way).
"""

import base64
import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from hub.core.pii import mask
from schemas import topics
from tests.browser.api_harness import ApiUnderTest
from tests.factories import envelope, profile
from tests.integration.harness import HubUnderTest, fetch, wait_for_metric, wait_for_rows

WAIT_S = 20
ROWS_TIMEOUT_S = 45
SCREENSHOT_MAX_HEIGHT = 2400
CHANNELS = {"teller", "phone", "web", "branch"}


def by_testid(name: str) -> str:
    return f'[data-testid="{name}"]'


# The web box of the channel filter: the brief's container with a checkbox in it, or the
# checkbox itself carrying the test id (as the page has it).
WEB_FILTER = f'{by_testid("channel-filter")}[value="web"], {by_testid("channel-filter")} input[value="web"]'
TIMELINE_ITEMS = f"{by_testid('timeline')} {by_testid('timeline-item')}"


@dataclass(frozen=True)
class Scenario:
    customer_id: str
    card_no: str
    phone: str
    complaint_id: str
    phone_only_event: str
    profile: tuple[str, bytes, bytes]
    events: list[dict[str, Any]]

    @property
    def newest_first(self) -> list[str]:
        return [e["event_id"] for e in sorted(self.events, key=lambda e: e["occurred_at"], reverse=True)]

    def records(self) -> list[tuple[str, bytes, bytes]]:
        return [
            (
                topics.CHANNEL_TOPICS[e["channel"]],
                (e["customer"]["customer_id"] or e["event_id"]).encode(),
                json.dumps(e).encode(),
            )
            for e in self.events
        ]


def scenario(run: str) -> Scenario:
    """A wealth customer (820,000 CNY) with an RM, and five interactions an hour apart or less."""
    now = datetime.now(UTC).replace(microsecond=0)
    cid = f"{run}-C360"
    card = "6222" + "".join(str(secrets.randbelow(10)) for _ in range(12))
    phone = "+86139" + "".join(str(secrets.randbelow(10)) for _ in range(8))
    complaint = f"CMP-{run}"
    record = profile(
        customer_id=cid,
        segment="retail",
        assets_under_management={"amount": "820000.00", "currency": "CNY"},
        products=["savings", "debit_card"],
        rm_id="RM-007",
        consents={"marketing": True, "phone": True, "sms": True, "email": False},
        identifiers={
            "account_no": [f"6222{secrets.randbelow(10**12):012d}"],
            "card_no": [card],
            "phone": [phone],
            "web_user": [f"{run}-web"],
        },
        updated_at=(now - timedelta(days=1)).isoformat(),
    )

    def event(n: int, channel: str, type_: str, minutes_ago: int, **customer: str | None) -> dict[str, Any]:
        return envelope(
            channel,
            type_,
            event_id=f"{run}-{n}-{channel}-{type_}",
            occurred_at=(now - timedelta(minutes=minutes_ago)).isoformat(),
            customer={"customer_id": cid, **customer},
        )

    events = [
        event(1, "teller", "deposit", 50, card_no=card),
        # Only the phone number: the worker finds the customer through the profile.
        event(2, "phone", "call", 40, customer_id=None, phone=phone),
        event(3, "phone", "complaint", 30),
        event(4, "web", "login", 20, web_user=f"{run}-web"),
        event(5, "branch", "visit", 10),
    ]
    events[2]["payload"].update(complaint_id=complaint, category="lost_payment", severity="medium")
    return Scenario(
        customer_id=cid,
        card_no=card,
        phone=phone,
        complaint_id=complaint,
        phone_only_event=events[1]["event_id"],
        profile=(topics.CUSTOMERS_PROFILE, cid.encode(), json.dumps(record).encode()),
        events=events,
    )


async def test_rm_finds_a_customer_by_card_and_sees_every_channel(
    hub: HubUnderTest, api: ApiUnderTest, browser: WebDriver
) -> None:
    s = scenario(hub.prefix.strip("."))
    await hub.produce([s.profile])
    await wait_for_metric(hub, "hub_profiles_consumed_total", 1)
    await hub.produce(s.records())

    with_id = [e["event_id"] for e in s.events if e["event_id"] != s.phone_only_event]
    rows = await wait_for_rows(
        "SELECT event_id FROM interactions WHERE event_id = ANY($1)",
        with_id,
        expect=len(with_id),
        timeout_s=ROWS_TIMEOUT_S,
    )
    assert sorted(r["event_id"] for r in rows) == sorted(with_id), hub.log()
    # The complaint's care follow-up is decided in the same transaction as its event.
    decided = await wait_for_rows(
        "SELECT reason FROM decisions WHERE customer_id = $1 AND outcome = 'published'",
        s.customer_id,
        expect=1,
    )
    assert decided, f"the complaint fired no published decision:\n{hub.log()}"
    # Identity resolution: checked last, so that the page is examined even when it fails.
    phone_only = await wait_for_rows(
        "SELECT customer_id FROM interactions WHERE event_id = $1", s.phone_only_event, expect=1, timeout_s=15
    )
    landed = [r["customer_id"] for r in phone_only]

    look_up(browser, api, "card_no", s.card_no)
    # The page redraws lists on every change: an element read a moment ago may be gone.
    wait = WebDriverWait(browser, WAIT_S, ignored_exceptions=[StaleElementReferenceException])
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, by_testid("customer-id")).text == s.customer_id)
    assert text_of(browser, "tier").lower() == "wealth", "820,000 CNY is between 500,000 and 6,000,000"
    complaints = text_of(browser, "complaints")
    assert s.complaint_id in complaints, complaints

    expected = [e for e in s.newest_first if landed or e != s.phone_only_event]
    wait.until(lambda d: event_ids(d) == expected, f"timeline newest first: {expected}")
    shown_channels = {
        i.get_attribute("data-channel") for i in browser.find_elements(By.CSS_SELECTOR, TIMELINE_ITEMS)
    }
    assert shown_channels == CHANNELS

    trigger = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, by_testid("trigger"))))
    reason = trigger.find_element(By.CSS_SELECTOR, by_testid("trigger-reason")).text
    assert s.complaint_id in reason, f"the complaint follow-up, not {reason!r}"

    set_checkbox(web_filter(browser), checked=False)
    channel_of = {e["event_id"]: e["channel"] for e in s.events}
    without_web = [e for e in expected if channel_of[e] != "web"]
    wait.until(lambda d: event_ids(d) == without_web, "web items gone once web is unchecked")
    set_checkbox(web_filter(browser), checked=True)
    wait.until(lambda d: event_ids(d) == expected, "web items back")

    shown = browser.find_element(By.TAG_NAME, "body").text
    source = browser.page_source
    for raw, name in ((s.card_no, "card"), (s.phone, "phone")):
        assert raw not in shown, f"the raw {name} number is on the page"
        assert raw not in source, f"the raw {name} number is in the page source"
    assert mask(s.card_no) in shown, "the card number, masked"

    if os.environ.get("HUB_SCREENSHOT"):
        save_screenshot(browser, Path(os.environ["HUB_SCREENSHOT"]))

    look_up(browser, api, "card_no", s.card_no, token="not-" + api.token)
    error = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, by_testid("error"))))
    assert error.text.strip(), "a refused token explains itself"

    assert landed == [s.customer_id], (
        f"the phone-only event {s.phone_only_event} did not land in {s.customer_id}'s history "
        f"(found under {landed}): identity resolution\n{hub.log()}"
    )
    stored = await fetch("SELECT identifiers FROM interactions WHERE event_id = $1", s.phone_only_event)
    assert s.phone not in stored[0]["identifiers"], "phone numbers are stored hashed and masked"


def look_up(browser: WebDriver, api: ApiUnderTest, kind: str, value: str, token: str | None = None) -> None:
    if not browser.current_url.startswith(api.base_url):
        browser.get(api.base_url + "/")
    wait = WebDriverWait(browser, WAIT_S)
    field = wait.until(ec.element_to_be_clickable((By.ID, "token")))
    field.clear()
    field.send_keys(api.token if token is None else token)
    Select(browser.find_element(By.ID, "lookup-kind")).select_by_value(kind)
    lookup = browser.find_element(By.ID, "lookup-value")
    lookup.clear()
    lookup.send_keys(value)
    browser.find_element(By.ID, "lookup-go").click()


def text_of(browser: WebDriver, name: str) -> str:
    return str(browser.find_element(By.CSS_SELECTOR, by_testid(name)).text)


def event_ids(browser: WebDriver) -> list[str | None]:
    return [i.get_attribute("data-event-id") for i in browser.find_elements(By.CSS_SELECTOR, TIMELINE_ITEMS)]


def web_filter(browser: WebDriver) -> WebElement:
    return browser.find_element(By.CSS_SELECTOR, WEB_FILTER)


def set_checkbox(box: WebElement, *, checked: bool) -> None:
    if box.is_selected() != checked:
        box.click()


def save_screenshot(browser: WebDriver, path: Path) -> None:
    """The whole page from the top (up to SCREENSHOT_MAX_HEIGHT), not just the window."""
    # The number the RM typed stays in the lookup field; a picture for the README needs none.
    browser.find_element(By.ID, "lookup-value").clear()
    height = browser.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]["height"]
    # The whole width: captured beyond the viewport, the page is laid out without a scrollbar.
    width = browser.execute_script("return window.innerWidth")
    clip = {"x": 0, "y": 0, "width": width, "height": min(height, SCREENSHOT_MAX_HEIGHT)}
    shot = browser.execute_cdp_cmd(
        "Page.captureScreenshot",
        {"format": "png", "captureBeyondViewport": True, "clip": {**clip, "scale": 1}},
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(shot["data"]))
