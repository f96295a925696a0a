"""Every page of the product on a phone (390x844) and a desktop (1280x900) in a real browser
(headless Chromium through Selenium and Debian's chromedriver, certificate checks on), logged in
as the demo's admin, and the login page logged out: nothing scrolls sideways, and the alert
banner stays small with several alerts raised on one slot.

- No page is wider than the screen: `document.documentElement.scrollWidth` is not above the
  viewport's width, and no element's right edge is past it unless it is inside a box that scrolls
  (or clips) within the screen, as a wide table does in its own box.
- Five warnings raised together on slot 2 (its CPU package and four cores pinned at 90 °C) and a
  critical on slot 1 (101 °C): the banner says the counts per severity, the newest alert and
  "Slot 2: 5 warnings" as one row that opens on demand (<details>), and stays within 35 % of the
  phone's 844 px, also opened; the page's script rebuilds the same groups from its poll, and an
  alert acknowledged from inside a group leaves the group with one warning fewer.
- The top bar: on the phone the links are behind a menu button, which opens and leads there;
  on the desktop they are on the bar.
- Without script (Chromium's script execution turned off) the menu and the groups still open, and
  an alert is acknowledged from inside its group with the form.

Pages: the overview (a front view of 16 slots, the most a chassis has), the module pages of both
blades and of two empty slots (the first and the last), the alert log, the event log, the audit
log, thresholds, settings, users, notifications, managers, the transfer page (its script held
back so that it stays), error pages (404, 400, a slot that does not exist), the login page logged
out, and the 503 page of a blade without an active manager (the other blade killed, last).

Screenshots of each page at each size (the first screen and the whole page) go to
`.build/test-artifacts/layout/` in the checkout (`390x844-overview-screen.png`, …), replaced on
every run; so does `measurements.json`, every page's width and the banner's height.

Uses its own 2-blade demo (HTTP 19680, HTTPS 19643, peer port 7680, loopback addresses only) and
its own directory. Skipped only when chromium, chromium-driver or libnss3-tools is not installed.
"""
import base64
import json
import os
import re
import shutil
import time

import pytest

from conftest import CHASSIS_ID, ROOT, browser_login, chromium, demo_chassis, require_browser, wait_until

PORT = 19680
TLS_PORT = 19643
PEER_PORT = 7680
ADDRESS = "127.0.1.1"
BASE = f"https://{ADDRESS}:{TLS_PORT}"
ARTIFACTS = os.path.join(ROOT, ".build", "test-artifacts", "layout")

PHONE = (390, 844)
DESKTOP = (1280, 900)
BANNER_SHARE_MAX = 0.35  # of the phone's height

CORES = [f"hwmon.coretemp-isa-0000.temp{n}" for n in range(1, 6)]  # the package and four cores
WARM = "90"  # above their 84 °C warning limit, below the 100 °C critical one
HOT = "101"

SLOT = f"/chassis/{CHASSIS_ID}/slots"
PAGES = [
    ("overview", "/"),
    ("slot-1", f"{SLOT}/1"),
    ("slot-2", f"{SLOT}/2"),
    ("slot-3-empty", f"{SLOT}/3"),
    ("slot-16-empty", f"{SLOT}/16"),
    ("alerts", "/alerts"),
    ("alerts-all", "/alerts?state=all"),
    ("events", "/events"),
    ("audit", "/audit"),
    ("thresholds", "/thresholds"),
    ("settings", "/settings"),
    ("users", "/users"),
    ("notifications", "/notifications"),
    ("managers", "/manager"),
    ("error-404", "/no-such-page"),
    ("error-404-slot", f"{SLOT}/17"),
    ("error-400", "/alerts?state=sideways"),
]

# Every element drawn whose right edge is past the viewport and that no box within the viewport
# scrolls or clips. `width` is the emulated one: with a phone's emulation, Chromium widens the
# layout viewport (and window.innerWidth) to a page that overflows, so it is no yardstick.
OVERFLOW_JS = """
const width = arguments[0];
const clipping = new Set(['auto', 'scroll', 'hidden', 'clip']);
const out = [];
for (const element of document.querySelectorAll('body *')) {
  // Not drawn (display: none, inside a closed <details>, visibility: hidden): not seen.
  if (!element.checkVisibility({visibilityProperty: true})) continue;
  const box = element.getBoundingClientRect();
  if ((box.width === 0 && box.height === 0) || box.right <= width + 0.5) continue;
  let inside = false;
  for (let parent = element.parentElement; parent && parent !== document.documentElement; parent = parent.parentElement) {
    if (clipping.has(getComputedStyle(parent).overflowX) && parent.getBoundingClientRect().right <= width + 0.5) {
      inside = true;
      break;
    }
  }
  if (!inside) {
    const name = element.tagName.toLowerCase() + (element.id ? '#' + element.id : '')
      + (typeof element.className === 'string' && element.className ? '.' + element.className.trim().split(/\\s+/).join('.') : '');
    out.push(name + ' right=' + Math.round(box.right));
  }
}
return {scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth, overflowing: out.slice(0, 10),
        count: out.length};
"""

BANNER_JS = """
const banner = document.getElementById('alert-banner');
if (!banner || banner.hidden) return null;
const text = (selector) => { const e = banner.querySelector(selector); return e ? e.textContent.trim().replace(/\\s+/g, ' ') : null; };
return {
  height: banner.getBoundingClientRect().height,
  heading: text('[data-banner-heading]'),
  counts: text('[data-banner-counts]'),
  newest: text('[data-banner-newest]'),
  log: banner.querySelector('a.banner-log') ? banner.querySelector('a.banner-log').getAttribute('href') : null,
  groups: Array.from(banner.querySelectorAll('[data-banner-group]')).map((g) => ({
    key: g.getAttribute('data-banner-group'),
    summary: g.querySelector('summary').textContent.trim().replace(/\\s+/g, ' '),
    open: g.querySelector('details').open,
    items: g.querySelectorAll('li[data-alert-id]').length,
    forms: g.querySelectorAll('form.ack-form').length,
  })),
  singles: Array.from(banner.querySelectorAll('[data-banner-list] > li.banner-item')).map((li) => li.getAttribute('data-alert-id')),
  live: banner.getAttribute('aria-live'),
};
"""

measurements = {}


@pytest.fixture(scope="module")
def layout_chassis():
    require_browser()  # before starting a demo for nothing
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    os.makedirs(ARTIFACTS)
    with demo_chassis(2, PORT, TLS_PORT, PEER_PORT, slots=16, name="chassis-layout") as chassis:
        def ready():
            reply = chassis.admin.get(1, "/api/v1/chassis")
            if reply.status != 200:
                return None
            slots = {s["slotID"]: s for s in reply.json()["slots"]}
            return all(slots.get(n, {}).get("module") and slots[n].get("metrics") for n in (1, 2))

        wait_until(ready, timeout=40, what="both blades' first samples in /api/v1/chassis")
        assert chassis.active_index() == 1, "blade 1 (the lowest address) should be the active manager"
        _fill_tables(chassis)
        yield chassis
        with open(os.path.join(ARTIFACTS, "measurements.json"), "w") as handle:
            json.dump(measurements, handle, indent=1, sort_keys=True)


def _fill_tables(chassis):
    """Rows for the tables that are empty in a new demo: a threshold rule that nothing crosses,
    a maintenance window, a notification target (syslog to a loopback port nobody reads)."""
    admin = chassis.admin
    reply = admin.get(1, "/api/v1/thresholds", method="PUT", json={
        "scope": {"slot": 1}, "metricKey": "load.1m", "limits": {"highWarning": 1000.0},
        "hysteresis": 0, "minimumDurationSeconds": 0})
    assert reply.status in (200, 201), reply.text
    reply = admin.get(1, "/api/v1/maintenance", method="POST",
                      json={"slot": 4, "durationSeconds": 3600, "reason": "a long reason for a maintenance window " * 3})
    assert reply.status == 201, reply.text
    reply = admin.get(1, "/api/v1/notifications", method="PUT",
                      json={"syslog": [{"host": "127.0.0.1", "port": 19699, "facility": 16}]})
    assert reply.status == 200, reply.text


def _emulate(browser, size):
    width, height = size
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})


def _load(browser, path):
    browser.get(BASE + path)
    wait_until(lambda: browser.execute_script("return document.readyState") == "complete", timeout=15,
               what=f"{path} to load")
    time.sleep(0.2)  # fonts and the first layout


def _screenshots(browser, size, name):
    prefix = os.path.join(ARTIFACTS, f"{size[0]}x{size[1]}-{name}")
    browser.save_screenshot(prefix + "-screen.png")
    try:
        shot = browser.execute_cdp_cmd("Page.captureScreenshot", {"captureBeyondViewport": True, "format": "png"})
        with open(prefix + "-full.png", "wb") as handle:
            handle.write(base64.b64decode(shot["data"]))
    except Exception:  # the whole page is a convenience for a reviewer; the first screen is kept
        pass


def _check_fits(browser, size, name):
    """Asserts that the page is no wider than the screen; records the width and the banner."""
    width = size[0]
    fit = browser.execute_script(OVERFLOW_JS, width)
    banner = browser.execute_script(BANNER_JS)
    measurements.setdefault(f"{width}x{size[1]}", {})[name] = {
        "scrollWidth": fit["scrollWidth"], "bannerHeight": round(banner["height"]) if banner else 0}
    _screenshots(browser, size, name)
    assert fit["scrollWidth"] <= width, f"{name} at {width} px is {fit['scrollWidth']} px wide: {fit['overflowing']}"
    assert fit["count"] == 0, f"{name} at {width} px: elements past the right edge: {fit['overflowing']}"
    return banner


def _raise_alerts(chassis):
    for key in CORES:
        chassis.demo("set-sensor", "2", key, WARM)
    chassis.demo("set-sensor", "1", CORES[0], HOT)

    def raised():
        alerts = chassis.admin.get(1, "/api/v1/alerts?state=open").json()["alerts"]
        slot2 = [a for a in alerts if a["slotID"] == 2 and a["metricKey"] in CORES and a["severity"] == "warning"]
        slot1 = [a for a in alerts if a["slotID"] == 1 and a["metricKey"] == CORES[0] and a["severity"] == "critical"]
        return (slot1, slot2) if len(slot2) == 5 and slot1 else None

    return wait_until(raised, timeout=40, interval=0.5, what="five warnings on slot 2 and a critical on slot 1")


def _release_alerts(chassis):
    for key in CORES:
        chassis.demo("set-sensor", "2", key, "release", check=False)
    chassis.demo("set-sensor", "1", CORES[0], "release", check=False)


@pytest.fixture()
def driver(layout_chassis):
    with chromium(layout_chassis.ca) as browser:
        yield browser


def test_every_page_fits_a_phone_and_a_desktop_and_the_banner_stays_small(layout_chassis, driver):
    chassis = layout_chassis

    # Logged out: the login page.
    for size in (PHONE, DESKTOP):
        _emulate(driver, size)
        _load(driver, "/login")
        assert driver.find_elements("css selector", "form.login-form")
        _check_fits(driver, size, "login")
    _emulate(driver, DESKTOP)
    browser_login(driver, BASE + "/", "admin", chassis.password("admin"))

    slot1, slot2 = _raise_alerts(chassis)
    try:
        # Every page at both sizes, each with the banner's counts, newest alert and groups.
        for size in (PHONE, DESKTOP):
            _emulate(driver, size)
            for name, path in PAGES:
                _load(driver, path)
                banner = _check_fits(driver, size, name)
                if name.startswith(("audit", "users", "error-404")) and banner is None:
                    continue  # pages without the chassis' state: no banner to show
                assert banner is not None, f"{name}: no alert banner with {len(slot1) + len(slot2)} open alerts"
                _check_banner(banner, name, size)

        # The overview on the phone: the page's script rebuilds the same banner from its poll.
        _emulate(driver, PHONE)
        _load(driver, "/")
        driver.execute_script("""
            const banner = document.getElementById('alert-banner');
            banner.removeAttribute('data-banner-state');
            banner.querySelector('[data-banner-list]').textContent = '';
            banner.querySelector('[data-banner-heading]').textContent = '';
            banner.querySelector('[data-banner-counts]').textContent = '';""")
        rebuilt = wait_until(lambda: (lambda b: b if b and b["heading"] and b["groups"] else None)(driver.execute_script(BANNER_JS)),
                             timeout=15, interval=0.3, what="the banner rebuilt by the page's poll")
        _check_banner(rebuilt, "overview (rebuilt by the script)", PHONE)

        # A group opens on demand; the banner stays bounded and the page no wider.
        summary = driver.find_element("css selector", "[data-banner-group='slot-2'] summary")
        items = driver.find_elements("css selector", "[data-banner-group='slot-2'] li[data-alert-id]")
        assert items and not any(item.is_displayed() for item in items), "slot 2's alerts show before the group is opened"
        summary.click()
        wait_until(lambda: all(item.is_displayed() for item in
                               driver.find_elements("css selector", "[data-banner-group='slot-2'] li[data-alert-id]")),
                   timeout=5, what="slot 2's alerts once its group is opened")
        opened = _check_fits(driver, PHONE, "overview-group-open")
        assert opened["height"] <= BANNER_SHARE_MAX * PHONE[1], f"the opened banner is {opened['height']:.0f} px high"

        # Acknowledged from inside the group (the page's script): one warning fewer, the group still open.
        first = driver.find_element("css selector", "[data-banner-group='slot-2'] li[data-alert-id]")
        acknowledged = first.get_attribute("data-alert-id")
        driver.execute_script("arguments[0].scrollIntoView({block: 'nearest'})", first)
        first.find_element("css selector", "form.ack-form button").click()

        def fewer():
            banner = driver.execute_script(BANNER_JS)
            group = next((g for g in banner["groups"] if g["key"] == "slot-2"), None) if banner else None
            return group if group and re.search(r"Slot 2\b[^:]*: 4 warnings", group["summary"]) else None

        group = wait_until(fewer, timeout=15, interval=0.3, what="slot 2's group with one warning fewer")
        assert group["open"], "the poll closed the group the reader opened"
        alert = next(a for a in chassis.admin.get(1, "/api/v1/alerts?state=all&slot=2").json()["alerts"]
                     if str(a["id"]) == acknowledged)
        assert alert["acknowledgedBy"] == "admin", alert

        # The top bar: on the phone the links are behind the menu button, and it opens.
        _load(driver, "/")
        assert not driver.find_element("css selector", ".topbar-nav").is_displayed(), "the phone's top bar shows every link"
        link = driver.find_element("css selector", ".topbar-menu a[href='/alerts']")
        assert not link.is_displayed(), "the menu's links show before it is opened"
        driver.find_element("css selector", ".topbar-menu > summary").click()
        wait_until(link.is_displayed, timeout=5, what="the menu's links")
        box = driver.execute_script("return arguments[0].getBoundingClientRect().toJSON()", link)
        assert box["left"] >= 0 and box["right"] <= PHONE[0], box
        _check_fits(driver, PHONE, "overview-menu-open")
        link.click()
        wait_until(lambda: driver.execute_script("return location.pathname") == "/alerts", timeout=10,
                   what="the alert log from the menu")

        # On the desktop the links are on the bar; no menu button.
        _emulate(driver, DESKTOP)
        _load(driver, "/")
        assert driver.find_element("css selector", ".topbar-nav a[href='/alerts']").is_displayed()
        assert not driver.find_element("css selector", ".topbar-menu").is_displayed()

        # The transfer page (where a page moving to a new active manager lands), held by keeping
        # its script from loading.
        for size in (PHONE, DESKTOP):
            _emulate(driver, size)
            _load(driver, "/alerts")
            driver.execute_cdp_cmd("Network.enable", {})
            driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["*/app.js"]})
            try:
                driver.execute_async_script("""
                    const done = arguments[arguments.length - 1];
                    fetch('/api/v1/session/ticket', {method: 'POST', credentials: 'same-origin'})
                      .then((r) => r.json()).then((doc) => {
                        const form = document.createElement('form');
                        form.method = 'post';
                        form.action = '/session/transfer';
                        for (const [name, value] of [['ticket', doc.ticket], ['next', '/alerts']]) {
                          const input = document.createElement('input');
                          input.type = 'hidden'; input.name = name; input.value = value;
                          form.appendChild(input);
                        }
                        document.body.appendChild(form);
                        done(true);
                        form.submit();
                      }, () => done(false));""")
                wait_until(lambda: driver.execute_script("return !!document.querySelector('[data-transfer-next]')"),
                           timeout=10, what="the transfer page")
                _check_fits(driver, size, "transfer")
            finally:
                driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})

        # Without script: the menu and the groups open (<details>), and an acknowledgement from
        # inside a group is a form that comes back to the page with one warning fewer.
        _emulate(driver, PHONE)
        driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
        try:
            _load(driver, "/")
            assert driver.execute_script("return document.getElementById('alert-banner').hasAttribute('data-banner-state')") is False
            driver.find_element("css selector", ".topbar-menu > summary").click()
            assert driver.find_element("css selector", ".topbar-menu a[href='/events']").is_displayed()
            driver.find_element("css selector", ".topbar-menu > summary").click()
            driver.find_element("css selector", "[data-banner-group='slot-2'] summary").click()
            items = driver.find_elements("css selector", "[data-banner-group='slot-2'] li[data-alert-id]")
            assert len(items) == 4 and all(item.is_displayed() for item in items), len(items)
            driver.execute_script("arguments[0].scrollIntoView({block: 'nearest'})", items[0])
            items[0].find_element("css selector", "form.ack-form button").click()
            wait_until(lambda: re.search(r": 3 warnings$", driver.find_element(
                "css selector", "[data-banner-group='slot-2'] summary").text.strip()), timeout=15,
                what="the page again after a form's acknowledgement, slot 2 with 3 warnings")
            assert driver.execute_script("return location.pathname") == "/"
        finally:
            driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})
    finally:
        _release_alerts(chassis)

    # The error pages' own statuses (404, 400) are logged as failed loads: those are expected.
    severe = [entry for entry in driver.get_log("browser") if entry.get("level") == "SEVERE"
              and "the server responded with a status of 40" not in entry.get("message", "")]
    assert not severe, "console errors:\n" + "\n".join(entry.get("message", "") for entry in severe)
    print(json.dumps(measurements, indent=1, sort_keys=True))


def _check_banner(banner, name, size):
    where = f"{name} at {size[0]} px"
    assert banner["live"] == "polite", where
    assert re.fullmatch(r"\d+ new alerts", banner["heading"] or ""), f"{where}: {banner['heading']!r}"
    assert re.search(r"\b1 critical\b", banner["counts"]) and re.search(r"\b\d+ warnings\b", banner["counts"]), \
        f"{where}: no counts per severity: {banner['counts']!r}"
    assert banner["newest"] and banner["newest"].startswith("Newest:"), f"{where}: no newest alert: {banner['newest']!r}"
    assert banner["log"] and banner["log"].startswith("/alerts"), f"{where}: no link to the alert log"
    groups = {group["key"]: group for group in banner["groups"]}
    assert "slot-2" in groups, f"{where}: slot 2's alerts are not grouped: {banner}"
    assert re.fullmatch(r"Warning Slot 2( · .+)?: 5 warnings", groups["slot-2"]["summary"]), \
        f"{where}: {groups['slot-2']['summary']!r}"
    assert groups["slot-2"]["items"] == 5 and groups["slot-2"]["forms"] == 5, f"{where}: {groups['slot-2']}"
    # Slot 1: the critical, alone or with the warnings of its cores that follow the package.
    assert "slot-1" in groups or banner["singles"], f"{where}: slot 1's critical is missing: {banner}"
    if "slot-1" in groups:
        assert re.fullmatch(r"Critical Slot 1( · .+)?: 1 critical( · \d+ warnings?)?", groups["slot-1"]["summary"]), \
            f"{where}: {groups['slot-1']['summary']!r}"
    if size == PHONE:
        assert banner["height"] <= BANNER_SHARE_MAX * size[1], \
            f"{where}: the banner is {banner['height']:.0f} px high, more than {BANNER_SHARE_MAX:.0%} of {size[1]} px"


def test_the_page_of_a_blade_without_an_active_manager_fits(layout_chassis, driver):
    """Last: with blade 2 killed, blade 1 has no majority and answers every page with 503."""
    chassis = layout_chassis
    chassis.demo("kill", "2")
    try:
        wait_until(lambda: chassis.http(1, "/health/active").status == 503, timeout=15,
                   what="blade 1 to step down without blade 2")
        wait_until(lambda: chassis.get(1, "/").status == 503, timeout=10, what="the 503 page")
        for size in (PHONE, DESKTOP):
            _emulate(driver, size)
            _load(driver, "/")
            assert "No active manager" in driver.page_source
            _check_fits(driver, size, "unavailable-503")
    finally:
        chassis.demo("start", "2", check=False)
