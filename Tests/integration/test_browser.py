"""The web pages in a real browser (headless Chromium through Selenium and Debian's
chromedriver): the overview updates in place without a reload, a critical sensor raises the alert
banner on the page already open, the module page's CPU utilisation changes by itself, and no page
logs a console error. A screenshot of the overview with the banner goes to /tmp/chassis-overview.png.

The browser trusts the chassis CA in its own NSS database (certificate checks stay on) and logs
in as the demo's admin with the login form first.

Uses its own 1-blade demo (HTTP 18280, HTTPS 18243) and its own directory, so it never touches a
developer's demo or the other integration tests. Skipped only when chromium, chromium-driver or
libnss3-tools is not installed.
"""
import base64
import time

import pytest

from conftest import browser_login, chromium, ctl, demo_chassis, require_browser, wait_until

PORT = 18280
TLS_PORT = 18243
PEER_PORT = 7280  # the engine's peer transport: not a developer's demo's 7400, nor the other tests'
ADDRESS = "127.0.1.1"
URL = f"https://{ADDRESS}:{TLS_PORT}/"
SCREENSHOT = "/tmp/chassis-overview.png"
FULL_SCREENSHOT = "/tmp/chassis-overview-full.png"
SENSOR = "hwmon.coretemp-isa-0000.temp1"

CHASSIS_ID = "660007770088"
MODULE_URL = f"https://{ADDRESS}:{TLS_PORT}/chassis/{CHASSIS_ID}/slots/1"
CPU_KEY = "cpu.total.utilisation"

# What the page's script (Public/app.js) refreshes from its poll, read in one call so the view is
# consistent: the footer's data version and generation time, and every metric row (value and
# sampling time) keyed by metric. The overview of a chassis without chassis-level devices shows no
# metric rows; the module page shows the blade's (CPU utilisation among them).
LIVE_VALUES_JS = """
const text = (selector) => { const e = document.querySelector(selector); return e ? e.textContent.trim() : null; };
const rows = {};
document.querySelectorAll('main tr[data-key]').forEach((row) => {
  const value = row.querySelector('[data-field="value"]');
  const sampled = row.querySelector('[data-field="sampledAt"]');
  rows[row.getAttribute('data-key')] = {
    value: value ? value.textContent.trim() : null,
    sampled: sampled ? sampled.textContent.trim() : null,
  };
});
return {version: text('[data-version]'), generated: text('[data-generated]'), rows: rows};
"""


@pytest.fixture(scope="module")
def browser_chassis():
    require_browser()  # before starting a demo for nothing
    with demo_chassis(1, PORT, TLS_PORT, PEER_PORT, name="chassis-browser") as chassis:
        def ready():
            reply = chassis.admin.get(1, "/api/v1/chassis")
            if reply.status != 200:
                return None
            blade = next((s for s in reply.json()["slots"] if s["slotID"] == 1), None)
            return blade is not None and blade.get("module") and len(blade.get("metrics", [])) > 0

        wait_until(ready, timeout=30, what="the first samples in /api/v1/chassis")
        try:  # the demo's simulated chassis devices, sampled by the active manager once elected
            wait_until(lambda: chassis.admin.get(1, "/api/v1/chassis").json().get("chassisMetrics"),
                       timeout=10, what="chassis devices")
        except AssertionError:
            pass  # a chassis without devices of its own: the overview then has no metric rows
        yield chassis


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


def _load(browser, url):
    browser.get(url)
    wait_until(lambda: browser.execute_script("return document.readyState") == "complete", timeout=15,
               what=f"{url} to load")
    # A marker that a reload would wipe out: every later check asserts it is still there.
    browser.execute_script("window.__chassisTestMarker = arguments[0];", url)
    assert _navigations(browser) == 1


def _still_same_page(browser, url):
    assert _marker(browser) == url, "the page was reloaded instead of updated in place"
    assert _navigations(browser) == 1
    assert browser.current_url == url


def _wait_for_change(browser, before, what, timeout=15):
    def changed():
        now = browser.execute_script(LIVE_VALUES_JS)
        return now if what(before, now) else None
    return wait_until(changed, timeout=timeout, interval=0.5, what="a live value to change without a reload")


@pytest.fixture()
def driver(browser_chassis):
    with chromium(browser_chassis.ca) as browser:
        yield browser


def test_overview_updates_live_and_shows_the_alert_banner(browser_chassis, driver):
    chassis = browser_chassis
    directory = chassis.directory

    # Anonymous, the overview sends the browser to the login page; logged in, it comes back.
    assert browser_login(driver, URL, "admin", chassis.password("admin")) == URL + "login"
    assert driver.current_url == URL

    # The overview: rendered by the server, then refreshed in place from the poll every 2 s.
    _load(driver, URL)
    assert "Chassis Manager" in driver.title or driver.find_elements("css selector", ".brand"), driver.title
    driver.save_screenshot(SCREENSHOT)  # replaced below once the banner shows; kept if the test fails
    first = driver.execute_script(LIVE_VALUES_JS)
    assert first["version"] and first["generated"], f"the footer shows no data version or time: {first}"
    # Chassis-level devices (fans, power supplies, midplane), when the chassis has any, are the
    # overview's own live metrics (#chassis-devices tr[data-key]).
    devices = [m["descriptor"]["key"] for m in chassis.admin.get(1, "/api/v1/chassis").json().get("chassisMetrics", [])]
    if devices:
        assert set(devices) <= set(first["rows"]), f"chassis devices missing on the overview: {set(devices) - set(first['rows'])}"
    time.sleep(5)

    def overview_moved(a, b):
        footer = b["version"] != a["version"] and b["generated"] != a["generated"]
        return footer and (not devices or any(b["rows"].get(key) != a["rows"].get(key) for key in devices))

    now = _wait_for_change(driver, first, overview_moved)
    _still_same_page(driver, URL)
    print(f"overview: data version {first['version']} -> {now['version']}, generated {first['generated']} -> {now['generated']}")
    for key in [k for k in devices if now["rows"].get(k) != first["rows"].get(k)][:2]:
        print(f"overview: {key} {first['rows'][key]} -> {now['rows'][key]}")

    # A critical temperature on blade 1: the alert banner appears on the page already open.
    banner = driver.find_element("id", "alert-banner")
    assert not banner.is_displayed(), f"an alert banner before any fault: {banner.text!r}"
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
        _still_same_page(driver, URL)
        time.sleep(0.5)  # let the layout settle for the screenshot
        driver.save_screenshot(SCREENSHOT)
        _save_full_page(driver, FULL_SCREENSHOT)
        print(f"banner: {texts}")
    finally:
        ctl("demo", "set-sensor", "1", SENSOR, "release", "--dir", directory, check=False)

    # The module page: the blade's CPU utilisation (sampled every second) changes in place.
    _load(driver, MODULE_URL)
    first = driver.execute_script(LIVE_VALUES_JS)
    assert CPU_KEY in first["rows"], f"no {CPU_KEY} row on the module page; rows: {sorted(first['rows'])[:20]}"
    assert first["rows"][CPU_KEY]["value"] not in (None, "", "\u2014"), first["rows"][CPU_KEY]
    time.sleep(5)
    now = _wait_for_change(driver, first, lambda a, b: b["rows"].get(CPU_KEY, {}).get("sampled") != a["rows"][CPU_KEY]["sampled"])
    _still_same_page(driver, MODULE_URL)
    print(f"module page: {CPU_KEY} {first['rows'][CPU_KEY]} -> {now['rows'][CPU_KEY]}")

    # The history's range: 24 h from the minute aggregates, the limits drawn as dashed lines.
    charts_js = """
    return Array.from(document.querySelectorAll('figure.chart')).map((figure) => {
      const chart = window.Chart.getChart(figure.querySelector('canvas'));
      return {loaded: figure.getAttribute('data-range-loaded'), limits: figure.querySelectorAll('li[data-limit]').length,
              lines: chart ? chart.data.datasets.filter((d) => d.limit).length : -1,
              min: chart ? chart.options.scales.x.min : null};
    });"""
    wait_until(lambda: all(c["loaded"] == "3600" for c in driver.execute_script(charts_js)), timeout=10,
               what="the charts of the last hour")
    driver.find_element("css selector", "[data-range='86400']").click()
    charts = wait_until(lambda: (lambda cs: cs if cs and all(c["loaded"] == "86400" for c in cs) else None)(
        driver.execute_script(charts_js)), timeout=10, what="the charts of the last 24 h")
    assert all(c["lines"] == c["limits"] for c in charts), charts
    assert any(c["limits"] > 0 for c in charts), f"no chart drew limits: {charts}"
    assert all(abs(c["min"] - (time.time() - 86400)) < 120 for c in charts), charts
    assert "mean per minute" in driver.find_element("css selector", "[data-range-note]").text
    _still_same_page(driver, MODULE_URL)

    logs = driver.get_log("browser")
    severe = [entry for entry in logs if entry.get("level") == "SEVERE"]
    assert not severe, "console errors:\n" + "\n".join(entry.get("message", "") for entry in severe)
