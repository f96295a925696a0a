"""The site: two demo chassis, each its own cluster (`chassisctl demo up --chassis 2`), each showing
both on its site page.

- Each chassis' active manager asks the other for its summary (plain HTTP, a Chassis-Site
  credential, the answer sealed for the question): both rows with health, blades, alerts and the
  active manager; the summary refuses anything but the site's credential.
- What happens on one chassis shows on the other's page within seconds: a critical alert, and a
  failover (the SIGKILL of its active manager), which the asking chassis follows to the new one.
- The page updates its rows in place as the polls come in.
- Following the link: the site page's ticket, posted by the browser to the other chassis, starts a
  session there for the same user without a password, once; a customer gets no ticket; a post from
  a page that is not of the site is refused. Chromium does it end to end, clicking Open.
- A chassis that stops answering is shown unreachable since the first round that failed.

Demo: HTTP 19920, HTTPS 19923, peer port 7920; chassis 1 on 127.0.1.x, chassis 2 on 127.0.2.x.
"""
import html
import re
import shutil
import time
import urllib.parse
import uuid

import pytest

from conftest import ROOT, Chassis, browser_login, chromium, ctl, request, wait_until

PORT, TLS_PORT, PEER_PORT = 19920, 19923, 7920
BLADES = 3
IDS = {1: "660007770088", 2: "660007770089"}
SENSOR = "hwmon.coretemp-isa-0000.temp1"


class SiteChassis(Chassis):
    """A demo chassis of the site: its blades are 127.0.N.x."""

    def __init__(self, number, directory):
        super().__init__(BLADES, directory, PORT, TLS_PORT, PEER_PORT)
        self.number = number

    def address(self, index):
        return f"127.0.{self.number}.{index}"


@pytest.fixture(scope="module")
def site():
    directory = f"/tmp/chassis-site-{uuid.uuid4().hex[:8]}"
    try:
        ctl("demo", "up", "--chassis", "2", "--blades", str(BLADES), "--slots", "4", "--dir", directory, "--port", str(PORT),
            "--tls-port", str(TLS_PORT), "--peer-port", str(PEER_PORT), "--root", ROOT, timeout=240)
        first, second = SiteChassis(1, directory), SiteChassis(2, f"{directory}/chassis-2")
        with open(f"{directory}/admin-password") as handle:
            password = handle.read().strip()
        first.admin_password = second.admin_password = password
        yield first, second
    finally:
        ctl("demo", "down", "--dir", directory, check=False)
        shutil.rmtree(directory, ignore_errors=True)


def admin(chassis):
    return chassis.session("admin", password=chassis.admin_password)


def rows(chassis, session):
    reply = session.get(chassis.active_index(), "/api/v1/site")
    assert reply.status == 200, reply.text
    return {row["name"]: row for row in reply.json()["chassis"]}


def other_row(chassis, session):
    return next(row for row in rows(chassis, session).values() if not row["own"])


def test_each_chassis_shows_both(site):
    first, second = site
    for chassis, other_number in ((first, 2), (second, 1)):
        session = admin(chassis)
        row = wait_until(lambda: (r := other_row(chassis, session))["reachable"] and r, timeout=15,
                         what=f"chassis {chassis.number} to hear from chassis {other_number}")
        summary = row["summary"]
        assert row["name"] == f"chassis-{other_number}"
        assert summary["chassisID"] == IDS[other_number] and summary["name"] == f"Demo chassis {other_number}"
        assert summary["bladesUp"] == BLADES and summary["slots"] == 4 and summary["status"] in ("ok", "warning")
        assert summary["answeredByActive"] and summary["activeAddress"].startswith(f"127.0.{other_number}.")
        assert summary["activeURL"] == f"https://{summary['activeAddress']}:{TLS_PORT}"
        own = next(r for r in rows(chassis, session).values() if r["own"])
        assert own["summary"]["chassisID"] == IDS[chassis.number]
        page = session.get(chassis.active_index(), "/site")
        assert page.status == 200
        assert f'data-site-chassis="chassis-{other_number}"' in page.text and "Demo chassis" in page.text
        assert 'href="/site"' in page.text


def test_the_summary_answers_only_the_sites_credential(site):
    first, _ = site
    forged = "Chassis-Site c1.660007770089.%d.%s.%s" % (int(time.time()), "ab" * 16, "cd" * 32)
    for index in range(1, BLADES + 1):
        assert first.http(index, "/api/v1/site/summary").status == 401
        assert first.http(index, "/api/v1/site/summary", headers={"Authorization": forged}).status == 401
    # A person is told no, even the admin over HTTPS.
    session = admin(first)
    assert session.get(first.active_index(), "/api/v1/site/summary").status == 403
    # A customer sees no site.
    customer = first.session("customer-a")
    assert customer.get(first.active_index(), "/api/v1/site").status == 403
    assert customer.get(first.active_index(), "/site").status == 403


def test_an_alert_on_one_chassis_shows_on_the_others_page(site):
    first, second = site
    session = admin(first)
    second.demo("set-sensor", "1", SENSOR, "101")
    try:
        row = wait_until(lambda: (r := other_row(first, session))["reachable"] and r["summary"]["alertsCritical"] >= 1 and r,
                         timeout=20, what="chassis 1 to see chassis 2's critical alert")
        assert row["summary"]["status"] == "critical" and row["summary"]["alertsNew"] >= 1
    finally:
        second.demo("set-sensor", "1", SENSOR, "release", check=False)
    wait_until(lambda: other_row(first, session)["summary"]["alertsCritical"] == 0, timeout=20,
               what="chassis 1 to see the alert cleared")


def open_ticket(chassis, session, name):
    """What the site page's Open button gets: the other chassis' form action and the ticket."""
    index = chassis.active_index()
    reply = chassis.request(index, "/site/open", method="POST", body=urllib.parse.urlencode({"chassis": name}),
                            headers={"Content-Type": "application/x-www-form-urlencoded"}, auth=session)
    assert reply.status == 200, reply.text
    action = html.unescape(re.search(r'<form method="post" action="([^"]+)" data-site-open', reply.text).group(1))
    ticket = html.unescape(re.search(r'name="ticket" value="([^"]+)"', reply.text).group(1))
    assert "form-action 'self' " + action.rsplit("/session/site", 1)[0] in reply.headers["content-security-policy"]
    return action, ticket, chassis.origin(index)


def post_ticket(target, action, ticket, origin):
    address = urllib.parse.urlsplit(action).hostname
    return request(address, "/session/site", method="POST", body=urllib.parse.urlencode({"ticket": ticket}),
                   headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": origin}, port=TLS_PORT,
                   ca=target.ca)


def test_a_ticket_carries_the_login_to_the_other_chassis_once(site):
    first, second = site
    session = admin(first)
    action, ticket, origin = open_ticket(first, session, "chassis-2")
    assert action == f"https://127.0.2.{second.active_index()}:{TLS_PORT}/session/site"
    # From a page elsewhere: refused, and the ticket is not spent.
    assert post_ticket(second, action, ticket, "https://127.0.9.9:8443").status == 403
    reply = post_ticket(second, action, ticket, origin)
    assert reply.status == 200, reply.text
    cookie = reply.set_cookies["chassis_session"][0]
    address = urllib.parse.urlsplit(action).hostname
    who = request(address, "/api/v1/session", headers={"Cookie": f"chassis_session={cookie}"}, port=TLS_PORT, ca=second.ca)
    assert who.status == 200 and who.json()["user"] == "admin" and who.json()["role"] == "admin"
    # Spent.
    again = post_ticket(second, action, ticket, origin)
    assert again.status == 303 and again.headers["location"].startswith("/login")
    # The other chassis' audit log has the login, saying where it came from.
    audit = request(address, "/api/v1/audit?action=login", headers={"Cookie": f"chassis_session={cookie}"}, port=TLS_PORT,
                    ca=second.ca)
    assert audit.status == 200 and f"site:{IDS[1]}" in audit.text, audit.text[:500]


def test_chromium_opens_the_other_chassis_from_the_site_page(site):
    first, second = site
    with chromium(first.ca, more_ca_files=[second.ca]) as browser:
        index = first.active_index()
        browser_login(browser, f"{first.origin(index)}/site", "admin", first.admin_password)
        wait_until(lambda: browser.execute_script("return location.pathname") == "/site", timeout=10, what="the site page")
        wait_until(lambda: browser.execute_script(
            "var b = document.querySelector('[data-site-chassis=\"chassis-2\"] [data-field=status]'); return b && b.textContent"),
            timeout=10, what="chassis-2's row")
        # The page updates itself: the row's "answered at" moves with the polls, without a reload.
        state = "return document.querySelector('[data-site-chassis=\"chassis-2\"] [data-field=state]').textContent"
        browser.execute_script("window.siteMarker = 1")
        first_state = browser.execute_script(state)
        wait_until(lambda: browser.execute_script(state) != first_state, timeout=10, what="the site row to update in place")
        assert browser.execute_script("return window.siteMarker") == 1, "the page was reloaded"
        assert browser.execute_script(state).startswith("answered ")
        browser.find_element("css selector", '[data-site-chassis="chassis-2"] form button').click()
        wait_until(lambda: browser.execute_script("return location.host").startswith("127.0.2.")
                   and browser.execute_script("return location.pathname") == "/"
                   and browser.execute_script("return !!document.querySelector('[data-user]')"),
                   timeout=15, interval=0.1, what="chassis 2's overview, logged in")
        assert browser.execute_script("return document.querySelector('[data-user]').getAttribute('data-user')") == "admin"
        errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
        assert not errors, errors


def test_a_failover_on_one_chassis_is_followed_by_the_other(site):
    first, second = site
    session = admin(first)
    before = wait_until(lambda: (r := other_row(first, session))["reachable"] and r["summary"]["answeredByActive"] and r,
                        timeout=15, what="chassis 2 answered by its active manager")
    dead = int(before["summary"]["activeAddress"].rsplit(".", 1)[1])
    second.demo("kill", str(dead))
    try:
        row = wait_until(lambda: (r := other_row(first, session))["reachable"] and r["summary"]["answeredByActive"]
                         and r["summary"]["activeAddress"] != before["summary"]["activeAddress"] and r,
                         timeout=20, what="chassis 1 to follow chassis 2's failover")
        assert row["summary"]["term"] > before["summary"]["term"]
    finally:
        second.demo("start", str(dead), check=False)


def test_a_chassis_that_stops_answering_is_unreachable_since_then(site):
    first, second = site
    session = admin(first)
    stopped = time.time()
    ctl("demo", "down", "--dir", second.directory)
    row = wait_until(lambda: not (r := other_row(first, session))["reachable"] and r, timeout=15,
                     what="chassis 2 shown unreachable")
    assert stopped - 1 <= row["unreachableSince"] <= time.time()
    assert "cannot reach" in row["problem"] and row["summary"]["chassisID"] == IDS[2]
    page = session.get(first.active_index(), "/site")
    assert "unreachable since" in page.text and "badge-unreachable" in page.text
    # No ticket for a chassis without an active manager to go to.
    reply = first.request(first.active_index(), "/site/open", method="POST", body="chassis=chassis-2",
                          headers={"Content-Type": "application/x-www-form-urlencoded"}, auth=session)
    assert reply.status == 503 and "no active manager to go to" in reply.text
