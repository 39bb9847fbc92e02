"""The dashboard in a real browser: headless Chromium (Debian's package and driver) against a receiver on
PostgreSQL with a real Celery worker: sign in, fix a blocked invoice's GL mapping, replay, see it posted.

Nothing is downloaded at test time: the browser and its driver are the ones `.ci/run` installs with apt, named
by path, and Selenium Manager is told to stay offline. Screenshots of the main pages go to
$DASHBOARD_SCREENSHOTS (default /tmp/ml-connector-screens) for a person to look at; they are not kept.
"""

from __future__ import annotations

import dataclasses
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connector import admin_users
from connector.sandbox.basware import make_invoice
from connector.sandbox.server import ServerThread
from connector.store import admin_auth, audit, records
from connector.store.db import sign_in_failures
from connector.sync.services import Services
from tests.conftest import make_settings
from tests.integration.mapping_helpers import deliver, entries, row, settle, unique
from tests.support import Sandboxes, add_tenant
from webhook_receiver import create_app

pytestmark = pytest.mark.integration

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
SCREENS = Path(os.environ.get("DASHBOARD_SCREENSHOTS", "/tmp/ml-connector-screens"))
PASSWORD = "ledger lines at dusk"
FLAGS = (
    "--headless",
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1400,1000",
)

if not (CHROMIUM.exists() and CHROMEDRIVER.exists()) and not os.environ.get("CI"):
    pytest.skip("Debian's chromium and chromium-driver are missing (.ci/run installs them)", allow_module_level=True)

os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never fetch a browser or a driver
webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import WebDriverException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@pytest.fixture(scope="module")
def svc(pg_url: str, secret_key: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    """The receiver's services: cookies without Secure, allowed because the browser reaches it on loopback."""
    settings = make_settings(tmp_path_factory.mktemp("browser"), pg_url, secret_key)
    services = Services(dataclasses.replace(settings, cookie_secure=False))
    services.db.upgrade()
    yield services
    services.close()


@pytest.fixture(scope="module")
def dashboard(svc: Services, celery_app: Any, worker: Path) -> Iterator[str]:
    """The receiver (webhooks and dashboard) enqueueing real Celery chains for the session's worker."""
    from workers.tasks import start_chain

    with ServerThread(create_app(svc, enqueue=start_chain)) as server:
        yield server.url


@pytest.fixture
def user(svc: Services) -> Iterator[str]:
    name = f"bookkeeper-{uuid.uuid4().hex[:6]}"
    admin_users.add_user(svc.db, name, PASSWORD)
    yield name
    admin_auth.remove_user(svc.db, name)
    with svc.db.begin() as conn:
        conn.execute(sign_in_failures.delete())


@pytest.fixture
def chrome() -> Iterator[Any]:
    """Headless Chromium driven by Debian's chromedriver."""
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    driver.set_page_load_timeout(30)
    SCREENS.mkdir(parents=True, exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()


def _shot(driver: Any, name: str) -> None:
    driver.save_screenshot(str(SCREENS / f"{name}.png"))


def _sign_in(driver: Any, name: str, password: str) -> None:
    driver.find_element(By.NAME, "name").clear()
    driver.find_element(By.NAME, "name").send_keys(name)
    driver.find_element(By.NAME, "password").send_keys(password)
    button = driver.find_element(By.CSS_SELECTOR, "form.sign-in button[type=submit]")
    button.click()
    _wait_for_next_page(driver, button)


def _wait_for_next_page(driver: Any, element: Any) -> None:
    """A click that submits a form returns before the next page is there: wait until the old one is gone."""
    WebDriverWait(driver, 30, poll_frequency=0.2).until(_gone(element))


def _gone(element: Any) -> Any:
    """True once the element no longer belongs to the page. Chromedriver says so either as a stale element or,
    mid-navigation, as "Node with given id does not belong to the document": both mean the old page is gone."""

    def check(_driver: Any) -> bool:
        try:
            element.is_enabled()
        except WebDriverException:
            return True
        return False

    return check


def _click(driver: Any, element: Any) -> None:
    element.click()
    _wait_for_next_page(driver, element)


def _text(driver: Any) -> str:
    return str(driver.find_element(By.TAG_NAME, "body").text)


def test_a_bookkeeper_fixes_a_blocked_invoice_in_the_browser(
    chrome: Any, dashboard: str, user: str, svc: Services, pg_services: Services, sandboxes: Sandboxes
) -> None:
    tenant = add_tenant(pg_services, sandboxes)
    number = unique("INV-")
    invoice = make_invoice(number, "1001", "Acme Supplies BV", [row(), row(account="4999")])
    record_id = deliver(pg_services, sandboxes, dashboard, tenant.name, invoice)
    assert settle(pg_services, record_id).status == "blocked"

    chrome.get(f"{dashboard}/admin")
    assert "/admin/sign-in" in chrome.current_url
    _shot(chrome, "01-sign-in")
    _sign_in(chrome, user, PASSWORD)
    assert user in _text(chrome) and "Companies" in _text(chrome)
    _shot(chrome, "02-overview")
    _click(chrome, chrome.find_element(By.LINK_TEXT, "All records"))
    assert "Records 1–" in _text(chrome)
    _shot(chrome, "02b-all-records")

    _click(chrome, chrome.find_element(By.LINK_TEXT, "Needs a fix"))
    assert number in _text(chrome)
    _shot(chrome, "03-needs-a-fix")
    _click(chrome, chrome.find_element(By.LINK_TEXT, number))
    assert "GL account 4999 does not exist" in _text(chrome)
    _shot(chrome, "04-blocked-invoice")

    _click(chrome, chrome.find_element(By.LINK_TEXT, "fix the mapping"))
    assert chrome.find_element(By.NAME, "source").get_attribute("value") == "4999"
    chrome.find_element(By.NAME, "target").send_keys("4000")
    _shot(chrome, "05-mapping-form")
    _click(chrome, chrome.find_element(By.CSS_SELECTOR, "form.mapping-form button[type=submit]"))
    assert "GL account 4999 now maps to 4000" in _text(chrome)

    _click(chrome, chrome.find_element(By.XPATH, "//button[text()='Replay']"))
    assert "was sent again" in _text(chrome)
    written = WebDriverWait(chrome, 60, poll_frequency=0.5).until(lambda d: _posted(d, record_id))
    _shot(chrome, "06-posted")

    [entry] = entries(sandboxes.exact, number)
    assert str(entry["EntryNumber"]) in written and records.get(pg_services.db, record_id).status == "written"
    assert any(user in row["message"] for row in audit.entries(svc.db, record_id=record_id))

    _click(chrome, chrome.find_element(By.XPATH, "//button[text()='Sign out']"))
    assert "You are signed out" in _text(chrome)
    chrome.get(f"{dashboard}/admin/records/{record_id}")
    assert "/admin/sign-in" in chrome.current_url


def _posted(driver: Any, record_id: int) -> str | bool:
    """The record page says posted (reloading it as a person would); its text then, else False."""
    driver.refresh()
    text = _text(driver)
    return text if "posted to Exact" in text and f"Record\n{record_id}" in text else False


def test_wrong_passwords_in_the_browser_are_throttled(chrome: Any, dashboard: str, user: str) -> None:
    chrome.get(f"{dashboard}/admin/sign-in")
    for attempt in range(admin_users.Throttle().per_user):
        _sign_in(chrome, user, f"wrong guess {attempt}")
        assert "do not match" in _text(chrome)

    _sign_in(chrome, user, PASSWORD)

    assert "Too many failed sign-ins" in _text(chrome)
    _shot(chrome, "07-throttled")
    assert "Sign out" not in _text(chrome)
