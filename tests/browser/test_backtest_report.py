"""The backtest's HTML report, opened in headless Chromium as a marketing analyst would.

The page is a file: no server, no script. What is checked is what the browser drew:
a daily chart per rule with bars of a height, the suppression breakdown with a bar per
rule and each part in its colour, and the table of rules.
"""

from pathlib import Path

from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By

from hub.backtest.html import COLOURS, render_html
from tests.unit.test_backtest_report import TRAVEL, WALK_IN, sample_report


def test_the_report_draws_its_charts_and_table_in_chromium(browser: WebDriver, tmp_path: Path) -> None:
    report = sample_report()
    page = tmp_path / "backtest.html"
    page.write_text(render_html(report))

    browser.get(page.as_uri())

    assert browser.title == "Backtest of new.yaml"
    rows = browser.find_elements(By.CSS_SELECTOR, "#rules tbody tr")
    assert [r.get_attribute("data-rule") for r in rows] == [r.rule_id for r in report.shown()]
    travel_row = browser.find_element(By.CSS_SELECTOR, f'#rules tr[data-rule="{TRAVEL}"]')
    assert "2 (+2)" in travel_row.text

    daily = {c.get_attribute("data-rule"): c for c in browser.find_elements(By.CSS_SELECTOR, "svg.daily")}
    assert set(daily) == {TRAVEL, "complaint_follow_up"}, "a chart for each rule with proposals"
    assert WALK_IN not in daily, "the candidate disables it: no proposals, no chart"
    bars = daily[TRAVEL].find_elements(By.CSS_SELECTOR, "rect.published")
    drawn = [b for b in bars if b.rect["height"] > 0]
    assert len(drawn) == 1, "both travel cards went out on the same day"
    assert drawn[0].rect["width"] > 0
    assert drawn[0].find_element(By.TAG_NAME, "title").get_attribute("textContent").endswith(": 2 published")

    breakdown = browser.find_element(By.ID, "breakdown")
    assert breakdown.rect["width"] > 500 and breakdown.rect["height"] > 0
    walk_in = breakdown.find_element(By.CSS_SELECTOR, f'g.breakdown[data-rule="{TRAVEL}"]')
    parts = {p.get_attribute("data-part"): p for p in walk_in.find_elements(By.CSS_SELECTOR, "rect.part")}
    assert set(parts) == {"published"}, "the candidate lets every travel card out"
    assert parts["published"].value_of_css_property("fill") in (COLOURS["published"], "rgb(46, 125, 50)")
    assert parts["published"].rect["width"] > 0
    legend = browser.find_element(By.CSS_SELECTOR, ".legend").text
    assert "frequency cap" in legend and "control group" not in legend
