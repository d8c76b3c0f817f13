"""The group view on the customer 360 page, in headless Chromium: a key-account RM opens
a member company and sees its whole group at once.

A treasurer's counter deposit and complaint for one member company, and another
member's own branch visit, go through the real worker into PostgreSQL; the page served
by ``hub api`` must show the group's companies, the treasurer acting for the first, the
open complaint and the trigger it caused across the group, the RM team, and the combined
timeline, filterable by member. The treasurer's own page shows no group.
"""

import json
from datetime import UTC, datetime, timedelta

from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from schemas import topics
from tests.browser.api_harness import ApiUnderTest
from tests.browser.test_customer_page import WAIT_S, by_testid, event_ids, look_up, text_of
from tests.factories import company, envelope, profile
from tests.integration.harness import HubUnderTest, wait_for_metric, wait_for_rows

GROUP_ITEMS = f"{by_testid('group-timeline')} {by_testid('group-timeline-item')}"


def _ids(browser: WebDriver, selector: str, attribute: str = "data-customer-id") -> list[str | None]:
    return [e.get_attribute(attribute) for e in browser.find_elements(By.CSS_SELECTOR, selector)]


async def test_a_key_account_rm_sees_the_whole_group_on_a_members_page(
    hub: HubUnderTest, api: ApiUnderTest, browser: WebDriver
) -> None:
    run = hub.prefix.strip(".")
    group, member, other, treasurer = (f"{run}-G", f"{run}-K1", f"{run}-K2", f"{run}-T")
    profiles = [
        company(customer_id=group, corporate={"rm_team": {"lead_rm_id": "RM-GROUP", "members": ["RM-9"]}}),
        company(customer_id=member, corporate={"group_id": group, "organisation_code": "91310000MA1FL8XQ3K"}),
        company(customer_id=other, corporate={"group_id": group, "organisation_code": None, "loans": None}),
        profile(customer_id=treasurer),
    ]
    await hub.produce(
        [(topics.CUSTOMERS_PROFILE, p["customer_id"].encode(), json.dumps(p).encode()) for p in profiles]
    )
    await wait_for_metric(hub, "hub_profiles_consumed_total", len(profiles))

    now = datetime.now(UTC).replace(microsecond=0)

    def at(minutes: int) -> str:
        return (now - timedelta(minutes=minutes)).isoformat()

    acting = {"schema_version": 2, "on_behalf_of": member, "customer": {"customer_id": treasurer}}
    deposit = envelope("teller", "deposit", event_id=f"{run}-deposit", occurred_at=at(40), **acting)
    complaint = envelope("phone", "complaint", event_id=f"{run}-complaint", occurred_at=at(20), **acting)
    complaint["payload"].update(complaint_id=f"CMP-{run}", severity="high")
    visit = envelope(
        "branch", "visit", event_id=f"{run}-visit", occurred_at=at(30), customer={"customer_id": other}
    )
    await hub.produce(
        [
            (
                topics.CHANNEL_TOPICS[e["channel"]],
                e["customer"]["customer_id"].encode(),
                json.dumps(e).encode(),
            )
            for e in (deposit, complaint, visit)
        ]
    )
    await wait_for_rows(
        "SELECT 1 FROM interaction_parties WHERE event_id LIKE $1 AND role = 'represented'",
        f"{run}-%",
        expect=2,
    )
    await wait_for_rows(
        "SELECT 1 FROM decisions WHERE customer_id = $1 AND rule_id = 'key_account_complaint'",
        member,
        expect=1,
    )
    await wait_for_rows("SELECT 1 FROM interactions WHERE event_id = $1", f"{run}-visit", expect=1)

    look_up(browser, api, "customer_id", member)
    wait = WebDriverWait(browser, WAIT_S, ignored_exceptions=[StaleElementReferenceException])
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, by_testid("customer-id")).text == member)
    card = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, by_testid("group"))))
    assert text_of(browser, "group-id") == group
    assert text_of(browser, "tier") == "key_account"
    assert text_of(browser, "customer-type") == f"company, member of {group}"
    assert "RM-GROUP" in text_of(browser, "group-rm-team") and "RM-9" in text_of(browser, "group-rm-team")
    assert _ids(browser, by_testid("group-member")) == sorted([member, other])
    assert _ids(browser, by_testid("representative")) == [treasurer]
    assert _ids(browser, by_testid("representative"), "data-on-behalf-of") == [member]
    assert f"CMP-{run}" in text_of(browser, "group-complaints")
    wait.until(lambda d: "key_account_complaint" in _ids(d, by_testid("group-trigger"), "data-rule-id"))

    combined = [f"{run}-complaint", f"{run}-visit", f"{run}-deposit"]
    wait.until(lambda d: _ids(d, GROUP_ITEMS, "data-event-id") == combined, f"combined timeline {combined}")
    who = [
        i.find_element(By.CSS_SELECTOR, by_testid("who")).text
        for i in card.find_elements(By.CSS_SELECTOR, GROUP_ITEMS)
    ]
    assert who == [f"{treasurer} for {member}", other, f"{treasurer} for {member}"]

    Select(browser.find_element(By.CSS_SELECTOR, by_testid("group-member-filter"))).select_by_value(other)
    wait.until(lambda d: _ids(d, GROUP_ITEMS, "data-event-id") == [f"{run}-visit"], "only the other member")
    Select(browser.find_element(By.CSS_SELECTOR, by_testid("group-member-filter"))).select_by_value("")
    wait.until(lambda d: _ids(d, GROUP_ITEMS, "data-event-id") == combined, "the whole group again")

    # The member's own timeline holds what the treasurer did for it, saying so.
    wait.until(lambda d: event_ids(d) == [f"{run}-complaint", f"{run}-deposit"])
    assert "91310000MA1FL8XQ3K" not in browser.page_source, "the organisation code is never shown"

    # The treasurer is a person: their page shows their acting, and no group.
    look_up(browser, api, "customer_id", treasurer)
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, by_testid("customer-id")).text == treasurer)
    wait.until(lambda d: event_ids(d) == [f"{run}-complaint", f"{run}-deposit"])
    assert _ids(browser, f"{by_testid('timeline')} {by_testid('timeline-item')}", "data-on-behalf-of") == [
        member,
        member,
    ]
    assert not browser.find_element(By.CSS_SELECTOR, by_testid("group")).is_displayed()
