"""Headless Chromium for the browser tests, and the hub they look at.

The tests in this folder are integration tests: they run the real worker and ``hub api``
against the real Kafka and PostgreSQL that ``make test`` starts, and they drive Debian's
Chromium through its ChromeDriver (``make browser`` installs both). Selenium is given
both paths, so Selenium Manager never looks for, or downloads, a browser or a driver.
"""

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver

from tests.browser.api_harness import ApiUnderTest
from tests.integration.conftest import migrated, services
from tests.integration.harness import HubUnderTest

__all__ = ["migrated", "services"]  # the integration suite's session fixtures, here too

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM_ARGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    # Without these Chromium keeps trying the network for updates, sync and QUIC, and on a
    # machine without outside access it stalls on the refused connections.
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # /tmp instead of /dev/shm, which containers often limit to 64 MB.
    "--disable-dev-shm-usage",
    "--window-size=1366,900",
)
PAGE_LOAD_TIMEOUT_S = 30


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser" in str(item.path):
            item.add_marker(pytest.mark.integration)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Remember each phase's report on the test, for the browser fixture to see a failure."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def browser(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[WebDriver]:
    """A headless Chromium with a fresh profile; on failure a screenshot and the page source."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        # A failure, never a skip: a skipped browser test reports green on nothing.
        pytest.fail(
            f"{' and '.join(missing)} missing: run `make browser` (Debian's chromium, chromium-driver)"
        )
    options = Options()
    options.binary_location = str(CHROMIUM)
    for argument in CHROMIUM_ARGS:
        options.add_argument(argument)
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        options.add_argument(f"--user-data-dir={profile}")
        service = Service(str(CHROMEDRIVER), log_output=str(tmp_path / "chromedriver.log"))
        driver = webdriver.Chrome(service=service, options=options)
        try:
            driver.set_page_load_timeout(PAGE_LOAD_TIMEOUT_S)
            yield driver
            report = getattr(request.node, "report_call", None)
            if report is not None and report.failed:
                _keep_evidence(driver, tmp_path)
        finally:
            driver.quit()


def _keep_evidence(driver: WebDriver, folder: Path) -> None:
    screenshot, source = folder / "failure.png", folder / "failure.html"
    driver.save_screenshot(str(screenshot))
    source.write_text(driver.page_source)
    print(f"browser at failure: {driver.current_url}\n  {screenshot}\n  {source}")


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[HubUnderTest]:
    under_test = HubUnderTest(tmp_path)
    under_test.start()
    yield under_test
    under_test.stop()


@pytest.fixture
def api(hub: HubUnderTest) -> Iterator[ApiUnderTest]:
    under_test = ApiUnderTest(hub)
    under_test.start()
    yield under_test
    under_test.stop()
