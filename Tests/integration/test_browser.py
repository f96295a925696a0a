"""The overview page in a real browser (headless Chromium through Selenium and Debian's
chromedriver): live values update without a reload, a critical sensor raises the alert banner,
and the page logs no console errors.

Uses its own 1-blade demo on port 18280 and its own directory, so it never touches a developer's
demo or the other integration tests. Skipped only when chromium or chromedriver is not installed.
"""
import base64
import os
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

from conftest import ROOT, ctl, request, wait_until

PORT = 18280
ADDRESS = "127.0.1.1"
URL = f"http://{ADDRESS}:{PORT}/"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SCREENSHOT = "/tmp/chassis-overview.png"
FULL_SCREENSHOT = "/tmp/chassis-overview-full.png"
SENSOR = "hwmon.coretemp-isa-0000.temp1"

# Everything the overview shows that the page's script refreshes from its poll (Public/app.js):
# the footer's data version and generation time, and every row of the chassis devices table
# (value and sampling time), keyed by metric. Read in one script call so the view is consistent.
LIVE_VALUES_JS = """
const text = (selector) => { const e = document.querySelector(selector); return e ? e.textContent.trim() : null; };
const rows = {};
document.querySelectorAll('#chassis-devices tr[data-key]').forEach((row) => {
  const value = row.querySelector('[data-field="value"]');
  const sampled = row.querySelector('[data-field="sampledAt"]');
  rows[row.getAttribute('data-key')] = {
    value: value ? value.textContent.trim() : null,
    sampled: sampled ? sampled.textContent.trim() : null,
  };
});
return {version: text('[data-version]'), generated: text('[data-generated]'), rows: rows};
"""


def _selenium():
    """Imports selenium, installing it with pip when it is missing (as `make deps` does)."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "selenium"], check=True)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    return webdriver, Service


@pytest.fixture(scope="module")
def browser_chassis():
    directory = tempfile.mkdtemp(prefix="chassis-browser-", dir="/tmp")
    try:
        ctl("demo", "up", "--blades", "1", "--slots", "4", "--dir", directory, "--port", str(PORT), "--root", ROOT)

        def ready():
            reply = request(ADDRESS, "/api/v1/chassis", port=PORT)
            if reply.status != 200:
                return None
            blade = next((s for s in reply.json()["slots"] if s["slotID"] == 1), None)
            return blade is not None and blade.get("module") and len(blade.get("metrics", [])) > 0

        wait_until(ready, timeout=30, what="the first samples in /api/v1/chassis")
        yield directory
    finally:
        ctl("demo", "down", "--dir", directory, check=False)
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture()
def driver():
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.path.exists(path):
            pytest.skip(f"{path} is not installed (Debian packages chromium and chromium-driver; make deps)")
    os.environ["SE_AVOID_STATS"] = "true"
    webdriver, Service = _selenium()
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,900"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield browser
    finally:
        browser.quit()


def _save_full_page(browser, path):
    """A screenshot of the whole page, below the fold too (Chrome DevTools protocol)."""
    try:
        shot = browser.execute_cdp_cmd("Page.captureScreenshot", {"captureBeyondViewport": True, "format": "png"})
        with open(path, "wb") as handle:
            handle.write(base64.b64decode(shot["data"]))
    except Exception:  # only a convenience for a human reviewer
        pass


def _navigations(browser):
    return browser.execute_script("return performance.getEntriesByType('navigation').length")


def _marker(browser):
    return browser.execute_script("return window.__chassisTestMarker || null")


def test_overview_updates_live_and_shows_the_alert_banner(browser_chassis, driver):
    directory = browser_chassis
    driver.get(URL)
    wait_until(lambda: driver.execute_script("return document.readyState") == "complete", timeout=15,
               what="the overview to load")
    assert "Chassis Manager" in driver.title or driver.find_elements("css selector", ".brand"), driver.title
    driver.save_screenshot(SCREENSHOT)  # replaced below once the banner shows; kept if the test fails

    # The server renders values into the page; the script then refreshes them from its poll.
    first = driver.execute_script(LIVE_VALUES_JS)
    assert first["version"], "the footer shows no data version ([data-version])"
    assert first["rows"], ("the overview shows no live metric rows (#chassis-devices tr[data-key]); "
                           f"page: {driver.find_element('css selector', 'main').text[:500]!r}")
    assert any(row["value"] not in (None, "", "\u2014") for row in first["rows"].values()), first["rows"]

    # A marker that a reload would wipe out, then wait for the values to change by themselves.
    driver.execute_script("window.__chassisTestMarker = 'set before waiting';")
    navigations = _navigations(driver)
    time.sleep(5)

    def changed():
        now = driver.execute_script(LIVE_VALUES_JS)
        moved = [key for key, row in now["rows"].items() if first["rows"].get(key) != row]
        return (now, moved) if moved and now["version"] != first["version"] else None

    now, moved = wait_until(changed, timeout=15, interval=0.5, what="a live value on the overview to change")
    assert _marker(driver) == "set before waiting", "the page was reloaded instead of updated in place"
    assert _navigations(driver) == navigations == 1
    assert driver.current_url == URL
    print(f"live update: data version {first['version']} -> {now['version']}; "
          f"{moved[0]}: {first['rows'][moved[0]]} -> {now['rows'][moved[0]]}")

    # A critical temperature on blade 1: the banner appears on the page already open.
    banner = driver.find_element("id", "alert-banner")
    ctl("demo", "set-sensor", "1", SENSOR, "101", "--dir", directory)
    try:
        def banner_shown():
            if not banner.is_displayed():
                return None
            items = banner.find_elements("css selector", ".banner-item")
            return items if any("critical" in (item.get_attribute("class") or "") for item in items) else None

        items = wait_until(banner_shown, timeout=30, interval=0.5, what="the alert banner with a critical alert")
        texts = [item.text for item in items]
        assert any("101" in text for text in texts), f"the banner does not show the value 101: {texts}"
        assert _marker(driver) == "set before waiting", "the banner came with a reload, not a live update"
        assert _navigations(driver) == 1
        time.sleep(0.5)  # let the banner's layout settle for the screenshot
        driver.save_screenshot(SCREENSHOT)
        _save_full_page(driver, FULL_SCREENSHOT)
        print(f"banner: {texts}")
    finally:
        ctl("demo", "set-sensor", "1", SENSOR, "release", "--dir", directory, check=False)

    logs = driver.get_log("browser")
    severe = [entry for entry in logs if entry.get("level") == "SEVERE"]
    assert not severe, "console errors on the overview:\n" + "\n".join(entry.get("message", "") for entry in severe)
