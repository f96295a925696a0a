"""Who may see and change what, against a real 3-blade chassis: real nginx over HTTPS with the
chassis' own CA (verified, never skipped), real engines replicating users, sessions, tokens,
throttle counters and the audit log through the consensus log.

- Logging in and out with JSON and with the form; the cookie's flags; a logout ends the session on
  every blade, also after a hand-over; a user added on the active manager logs in on the next one
  after the first is killed.
- Roles: viewer, operator, customer, anonymous.
- A customer's view in every representation holds its slots (2 and 3) and nothing of another slot.
- Requests from elsewhere through nginx: foreign or missing Origin on cookie writes, foreign Host
  (DNS rebinding), plain HTTP, and the security headers on every kind of answer.
- Login throttling per user and per client address (each attempt from a loopback address of its
  own, so that one test's failures never throttle another's), lifted by an admin; every login
  in the audit log.
- Every write of the module in the audit log, with its CSV export.
- Tokens: created, used, revoked.
- Last: no password of the module in any log, database, demo file or process of the chassis.

Uses its own demo (HTTP 18980, HTTPS 18943, peer port 7980, its own directory under /tmp).
"""
import csv
import io
import json
import os
import re
import secrets
import socket
import sqlite3
import stat
import time
import urllib.parse

import pytest

from conftest import CHASSIS_ID, COOKIE, Session, Token, ctl, demo_chassis, wait_until

PORT = 18980
TLS_PORT = 18943
PEER_PORT = 7980
CUSTOMER_SLOTS = {2, 3}
SENSOR = "hwmon.coretemp-isa-0000.temp1"
SECURITY_HEADERS = ("content-security-policy", "x-content-type-options", "referrer-policy")
SAFE_REFERRER_POLICIES = {"no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"}

SECRETS = []  # every password of the module: the demo's, every one a test set, every wrong one tried
WRITES = []   # (action, target, actor) of every change the tests made through the API


def password(kind="pw"):
    value = f"{kind}-{secrets.token_urlsafe(18)}"
    SECRETS.append(value)
    return value


@pytest.fixture(scope="module")
def chassis():
    with demo_chassis(3, PORT, TLS_PORT, PEER_PORT, name="chassis-access") as chassis:
        SECRETS.extend([chassis.password("admin"), chassis.password("customer-a")])
        admin = chassis.admin
        # Every blade presents a certificate of the chassis CA and accepts the admin's session.
        wait_until(lambda: all(admin.get(i, "/api/v1/local").status == 200 for i in (1, 2, 3)), timeout=15,
                   what="every blade over verified HTTPS")
        yield chassis


@pytest.fixture(scope="module")
def admin(chassis):
    return chassis.admin


def add_user(chassis, admin, name, role, slots=None):
    """Adds a user through the API as the admin (on the active manager); returns its password."""
    secret = password()
    body = {"name": name, "role": role, "password": secret}
    if slots:
        body["slots"] = sorted(slots)
    active = chassis.active_index()
    reply = admin.get(active, "/api/v1/users", method="POST", json=body)
    assert reply.status == 201, reply.text
    WRITES.append(("user.add", f"user {name}", "admin"))
    return secret


def audit(admin, chassis, **filters):
    query = urllib.parse.urlencode(dict({"limit": 1000}, **filters))
    reply = admin.get(chassis.active_index(), f"/api/v1/audit?{query}")
    assert reply.status == 200, reply.text
    return reply.json()["records"]


def cookie_attributes(reply):
    value, attributes = reply.set_cookies[COOKIE]
    return value, {a.split("=")[0].lower(): a for a in attributes}


def form(fields):
    return urllib.parse.urlencode(fields)


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def hand_over(chassis):
    """Asks the active manager's engine to hand over, on its control socket. (`chassisctl demo
    handover` would do it, but it looks for the active manager over plain HTTP; see test_chassis.)"""
    active = chassis.active_index()
    blade = next(b for b in chassis.state()["blades"] if b["index"] == active)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(5)
        connection.connect(os.path.join(blade["runtimeDirectory"], "engine.sock"))
        connection.sendall(b'{"request":{"handOver":{}}}\n')
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = connection.recv(4096)
            if not chunk:
                break
            reply += chunk
    assert json.loads(reply)["ok"], reply
    return active, chassis.active_index(timeout=5, exclude=(active,))


# --- logging in and out --------------------------------------------------------------------------

def test_json_login_sets_a_secure_httponly_strict_session_cookie_every_blade_accepts(chassis):
    active = chassis.active_index()
    session = Session(chassis, "admin", chassis.password("admin"))
    reply = session.login(active)
    assert reply.status == 200, reply.text
    document = reply.json()
    assert document["user"] == "admin" and document["role"] == "admin"
    assert sorted(document["members"]) == [chassis.origin(i) for i in (1, 2, 3)]
    value, attributes = cookie_attributes(reply)
    assert value and value == session.cookie
    assert attributes["path"] == "Path=/"
    assert {"secure", "httponly"} <= set(attributes) and attributes["samesite"] == "SameSite=Strict", attributes
    assert not {"domain", "expires", "max-age"} & set(attributes), \
        "a session cookie of this blade only, ending with the browser"
    assert reply.headers["cache-control"] == "no-store"
    me = session.get(active, "/api/v1/session")
    assert me.status == 200 and me.json()["user"] == "admin"
    # Any blade verifies the session: a standby's own view answers it.
    for index in (1, 2, 3):
        assert session.get(index, "/api/v1/local").status == 200, index


def test_form_login_goes_back_where_the_page_was_and_logout_ends_the_session(chassis):
    active = chassis.active_index()
    target = f"/chassis/{CHASSIS_ID}/slots/2"
    anonymous = chassis.get(active, target + "?x=1")
    assert anonymous.status == 303
    assert anonymous.headers["location"] == "/login?next=" + urllib.parse.quote(target + "?x=1", safe="")
    page = chassis.get(active, "/login?next=" + urllib.parse.quote(target, safe=""))
    assert page.status == 200 and 'action="/login"' in page.text and 'name="password"' in page.text
    session = Session(chassis, "admin", chassis.password("admin"))
    body = form({"user": "admin", "password": session.password, "next": target})
    reply = chassis.get(active, "/login", method="POST", body=body, headers=dict(FORM, Origin=chassis.origin(active)))
    assert reply.status == 303 and reply.headers["location"] == target, (reply.status, reply.headers)
    value, attributes = cookie_attributes(reply)
    assert {"secure", "httponly"} <= set(attributes) and attributes["samesite"] == "SameSite=Strict", attributes
    session.cookie = value
    assert 'data-user="admin"' in session.get(active, target).text
    # `next` is a path of this chassis only: never another site.
    for hostile in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        other = chassis.get(active, "/login", method="POST", headers=dict(FORM, Origin=chassis.origin(active)),
                            body=form({"user": "admin", "password": session.password, "next": hostile}))
        assert other.status == 303 and other.headers["location"] == "/", (hostile, other.headers)
    # The logout button: back to the login page, the cookie cleared, the session over.
    out = session.get(active, "/logout", method="POST", body=b"", headers=FORM)
    assert out.status == 303 and out.headers["location"] == "/login"
    assert out.set_cookies[COOKIE][0] == "" and "Max-Age=0" in out.set_cookies[COOKIE][1]
    def replayed():
        reply = chassis.get(active, target, headers={"Cookie": f"{COOKIE}={value}"})
        return reply if reply.status != 200 else None

    replay = wait_until(replayed, timeout=2, interval=0.02, what="the ended session refused")
    assert replay.status == 303 and replay.headers["location"].startswith("/login")


def test_logout_ends_the_session_on_every_blade_also_after_a_hand_over(chassis):
    session = chassis.session("admin")
    ended = session.cookie
    active = chassis.active_index()
    assert all(session.get(i, "/api/v1/session").status in (200, 302) for i in (1, 2, 3))
    reply = session.get(active, "/api/v1/session", method="DELETE")
    assert reply.status == 200, reply.text
    assert reply.set_cookies[COOKIE][0] == ""
    replay = Session(chassis, "admin", None)
    replay.cookie = ended
    # Every blade refuses it (the end of the session is a replicated command): the API with 401,
    # a page with the login page.
    for index in (1, 2, 3):
        wait_until(lambda: replay.get(index, "/api/v1/local").status == 401, timeout=5,
                   what=f"blade {index} to refuse the ended session")
    # After a hand-over, the same cookie value at the new active manager's address.
    old, new = hand_over(chassis)
    replay.cookie = ended
    refused = replay.get(new, "/api/v1/session")
    assert refused.status == 401, refused.text
    assert "www-authenticate" in refused.headers
    replay.cookie = ended
    page = replay.get(new, "/")
    assert page.status == 303 and page.headers["location"].startswith("/login")
    assert page.set_cookies[COOKIE][0] == "", "the browser is told to forget the ended session"


def test_a_change_of_access_holds_at_once_on_the_blade_that_answered_it(chassis, admin):
    """The first request after the answer to a logout, a token's creation or its revocation is
    judged by the new state on the blade that gave the answer (the other blades follow at the
    next heartbeat)."""
    active = chassis.active_index()
    problems = []
    session = chassis.session("admin", index=active)
    ended = session.cookie
    assert session.get(active, "/api/v1/session", method="DELETE").status == 200
    replay = Session(chassis, "admin", None)
    replay.cookie = ended
    status = replay.get(active, "/api/v1/session").status
    if status != 401:
        problems.append(f"the session just logged out answered {status}")
    created = admin.get(active, "/api/v1/tokens", method="POST", json={"user": "admin", "label": "at once"})
    assert created.status == 201, created.text
    token = Token(created.json()["token"])
    WRITES.append(("token.create", f"token {token.id}", "admin"))
    status = chassis.get(active, "/api/v1/chassis", auth=token).status
    if status != 200:
        problems.append(f"the token just created answered {status}")
    wait_until(lambda: chassis.get(active, "/api/v1/chassis", auth=token).status == 200, timeout=2, interval=0.02,
               what="the new token accepted")
    assert admin.get(active, f"/api/v1/tokens/{token.id}", method="DELETE").status == 200
    WRITES.append(("token.revoke", f"token {token.id}", "admin"))
    status = chassis.get(active, "/api/v1/chassis", auth=token).status
    if status != 401:
        problems.append(f"the token just revoked answered {status}")
    assert not problems, "; ".join(problems)


def test_a_user_added_on_the_active_manager_logs_in_on_the_next_after_a_failover(chassis, admin):
    secret = add_user(chassis, admin, "olivia", "operator")
    active = chassis.active_index()
    chassis.demo("kill", str(active))
    try:
        new = chassis.active_index(timeout=10, exclude=(active,))
        olivia = Session(chassis, "olivia", secret)
        reply = olivia.login(new)
        assert reply.status == 200, reply.text
        assert reply.json()["role"] == "operator"
        assert olivia.get(new, "/api/v1/session").json()["user"] == "olivia"
    finally:
        chassis.demo("start", str(active))
    wait_until(lambda: admin.get(active, "/api/v1/local").json()["role"] == "standby", timeout=20,
               what=f"blade {active} back as a standby")


# --- roles ---------------------------------------------------------------------------------------

def test_roles_decide_who_may_change_what(chassis, admin):
    viewer = Session(chassis, "vera", add_user(chassis, admin, "vera", "viewer"))
    operator = Session(chassis, "otto", add_user(chassis, admin, "otto", "operator"))
    customer = chassis.session("customer-a")
    active = chassis.active_index()
    for session in (viewer, operator):
        assert session.login(active).status == 200
    rule = {"scope": "global", "metricKey": "load.15m", "limits": {"highCritical": 900}}

    refused = viewer.get(active, "/api/v1/thresholds", method="PUT", json=rule)
    assert refused.status == 403, refused.text
    document = refused.json()
    assert document["role"] == "viewer" and set(document["required"]) == {"admin", "operator"}, document
    assert "operator" in document["error"], document
    assert viewer.get(active, "/api/v1/chassis").status == 200, "a viewer reads everything"
    assert viewer.get(active, "/api/v1/cluster").status == 200
    refused = viewer.get(active, "/api/v1/users", method="POST", json={"name": "x", "role": "admin", "password": password()})
    assert refused.status == 403, refused.text

    accepted = operator.get(active, "/api/v1/thresholds", method="PUT", json=rule)
    assert accepted.status in (200, 201), accepted.text
    WRITES.append(("threshold.set", "threshold global load.15m", "otto"))
    assert operator.get(active, "/api/v1/users").status == 403, "operators do not manage users"

    cluster = customer.get(active, "/api/v1/cluster")
    assert cluster.status == 403 and cluster.json()["role"] == "customer", cluster.text
    assert set(cluster.json()["required"]) == {"admin", "operator", "viewer"}
    for path in ("/api/v1/local", "/api/v1/audit", "/api/v1/audit?format=csv", "/api/v1/users"):
        assert customer.get(active, path).status == 403, path
    assert customer.get(active, "/api/v1/thresholds", method="PUT", json=rule).status == 403
    # Anonymous: the API answers 401 (with WWW-Authenticate), pages send to the login page.
    anonymous = chassis.get(active, "/api/v1/chassis")
    assert anonymous.status == 401 and anonymous.headers["www-authenticate"].startswith("Bearer")
    assert chassis.get(active, "/api/v1/cluster").status == 401
    assert chassis.get(active, "/metrics").status == 401
    assert chassis.get(active, "/").status == 303


# --- a customer's view ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def customer_view(chassis, admin):
    """The customer's session and token, with alerts raised in slot 1 (not theirs) and slot 2
    (theirs), and a name on slot 1 that only staff may read; what the customer must see
    (`serials` of slots 2 and 3) and must never see (`foreign`: slot 1's serials, its blade's
    address, its name)."""
    active = chassis.active_index()
    marker = f"Private-{secrets.token_hex(4)}"
    renamed = admin.get(active, f"/api/v1/chassis/{CHASSIS_ID}/slots/1", method="PATCH", json={"name": marker})
    assert renamed.status in (200, 204), renamed.text
    WRITES.append(("slot.set", "slot 1", "admin"))
    for blade in (1, 2):
        chassis.demo("set-sensor", str(blade), SENSOR, "101")
    try:
        def alerts_raised():
            alerts = admin.get(chassis.active_index(), "/api/v1/alerts").json()["alerts"]
            slots = {a["slotID"] for a in alerts if a["metricKey"] == SENSOR and a.get("clearedAt") is None}
            return {1, 2} <= slots

        wait_until(alerts_raised, timeout=30, what="critical alerts in slots 1 and 2")
        snapshot = admin.get(chassis.active_index(), "/api/v1/chassis").json()
        serials, foreign = {}, {marker}
        for slot in snapshot["slots"]:
            found = {m["serial"] for m in slot.get("history", [])}
            if slot.get("module"):
                found.add(slot["module"]["serial"])
            addresses = set((slot.get("module") or {}).get("ipAddresses") or [])
            if slot["slotID"] in CUSTOMER_SLOTS:
                assert found, f"slot {slot['slotID']} has no module"
                serials[slot["slotID"]] = found
            else:
                foreign |= found | addresses
        assert "127.0.1.1" in foreign and len(foreign) >= 3, foreign
        view = {"session": chassis.session("customer-a"), "token": chassis.token("customer-a", "customer scrape"),
                "serials": serials, "foreign": foreign}
        wait_until(lambda: chassis.get(chassis.active_index(), "/metrics", auth=view["token"]).status == 200, timeout=5,
                   what="the customer's token on the active manager")
        yield view
    finally:
        for blade in (1, 2):
            chassis.demo("set-sensor", str(blade), SENSOR, "release", check=False)


HISTORY = "history?key=cpu.total.utilisation&key=" + SENSOR

# (what, path, credential, the customer's slots whose serial numbers it must show)
REPRESENTATIONS = [
    ("overview page", "/", "session", {2, 3}),
    ("module page of slot 2", f"/chassis/{CHASSIS_ID}/slots/2", "session", {2}),
    ("module page of slot 3", f"/chassis/{CHASSIS_ID}/slots/3", "session", {3}),
    ("chassis document", "/api/v1/chassis", "session", {2, 3}),
    ("chassis document with a token", "/api/v1/chassis", "token", {2, 3}),
    ("slot 2 document", f"/api/v1/chassis/{CHASSIS_ID}/slots/2", "session", {2}),
    ("slot 3 document", f"/api/v1/chassis/{CHASSIS_ID}/slots/3", "session", {3}),
    ("slot 2 history", f"/api/v1/chassis/{CHASSIS_ID}/slots/2/{HISTORY}", "session", set()),
    ("slot 3 history", f"/api/v1/chassis/{CHASSIS_ID}/slots/3/{HISTORY}", "token", set()),
    ("alerts", "/api/v1/alerts", "session", set()),
    ("Prometheus exposition", "/metrics", "token", {2, 3}),
]


@pytest.mark.parametrize("what,path,credential,shows", REPRESENTATIONS, ids=[r[0] for r in REPRESENTATIONS])
def test_a_customer_sees_its_slots_and_nothing_of_another(chassis, customer_view, what, path, credential, shows):
    reply = chassis.get(chassis.active_index(), path, auth=customer_view[credential])
    assert reply.status == 200, f"{what}: {reply.status} {reply.text[:300]}"
    text = reply.text
    leaked = sorted(value for value in customer_view["foreign"] if value in text)
    assert not leaked, f"{what} shows another slot's {leaked}"
    missing = {slot: sorted(customer_view["serials"][slot]) for slot in shows
               if not any(serial in text for serial in customer_view["serials"][slot])}
    assert not missing, f"{what} does not show the serial number of the customer's slots {missing}"
    if path == "/api/v1/alerts":
        alerts = reply.json()["alerts"]
        assert {a["slotID"] for a in alerts} <= CUSTOMER_SLOTS, alerts
        assert any(a["slotID"] == 2 and a["metricKey"] == SENSOR for a in alerts), "the customer's own alert"
    if path == "/metrics":
        assert set(re.findall(r'slot="(\d+)"', text)) == {"2", "3"}


def test_a_customer_gets_404_for_every_other_slot(chassis, customer_view):
    session = customer_view["session"]
    active = chassis.active_index()
    for slot in (0, 1, 4, 5):
        for path in (f"/api/v1/chassis/{CHASSIS_ID}/slots/{slot}", f"/api/v1/chassis/{CHASSIS_ID}/slots/{slot}/{HISTORY}",
                     f"/chassis/{CHASSIS_ID}/slots/{slot}"):
            reply = session.get(active, path)
            assert reply.status == 404, f"{path}: {reply.status}"
            assert not [value for value in customer_view["foreign"] if value in reply.text], path
    for slot in CUSTOMER_SLOTS:
        assert session.get(active, f"/api/v1/chassis/{CHASSIS_ID}/slots/{slot}").status == 200
    # And changes nothing, not even in its own slots.
    patch = session.get(active, f"/api/v1/chassis/{CHASSIS_ID}/slots/2", method="PATCH", json={"name": "mine"})
    assert patch.status == 403, patch.text


# --- requests from elsewhere ---------------------------------------------------------------------

def threshold_values(chassis, index, key):
    path = os.path.join(chassis.directory, f"blade{index}", "state", "config.db")
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        return [row[0] for row in connection.execute("SELECT high_critical FROM thresholds WHERE metric_key = ?", (key,))]
    finally:
        connection.close()


def test_cookie_writes_need_this_chassis_origin(chassis, admin):
    active = chassis.active_index()
    other = next(i for i in (1, 2, 3) if i != active)
    key = "swap.used_percent"
    forged = {"scope": "global", "metricKey": key, "limits": {"highCritical": 4242}}
    for origin in ("https://evil.example", None, "null", f"http://127.0.1.{active}:{PORT}",
                   f"https://127.0.1.{active}:{TLS_PORT + 1}", f"https://evil.example:{TLS_PORT}"):
        reply = admin.get(active, "/api/v1/thresholds", method="PUT", json=forged, headers={"Origin": origin})
        assert reply.status == 403, f"Origin {origin}: {reply.status} {reply.text}"
        assert "error" in reply.json()
    assert 4242.0 not in threshold_values(chassis, active, key), "a refused write changed nothing"
    # Logging in from another site's page is refused too (login CSRF): no cookie is set.
    login = chassis.get(active, "/api/v1/session", method="POST", headers={"Origin": "https://evil.example"},
                        json={"user": "admin", "password": chassis.password("admin")})
    assert login.status == 403 and COOKIE not in login.set_cookies
    # A page of another member of this chassis is this chassis.
    allowed = dict(forged, limits={"highCritical": 4343})
    reply = admin.get(active, "/api/v1/thresholds", method="PUT", json=allowed, headers={"Origin": chassis.origin(other)})
    assert reply.status in (200, 201), reply.text
    WRITES.append(("threshold.set", f"threshold global {key}", "admin"))
    # A bearer token is never sent by a browser on its own: its writes need no Origin.
    token = chassis.token("admin", "csrf test")
    reply = chassis.get(active, "/api/v1/thresholds", method="PUT", auth=token,
                        json=dict(forged, limits={"highCritical": 4444}))
    assert reply.status in (200, 201), reply.text
    WRITES.append(("threshold.set", f"threshold global {key}", "admin"))


def test_a_foreign_host_gets_421_over_https_and_http(chassis, admin):
    for index in (1, 2, 3):
        for host in ("evil.example", f"evil.example:{TLS_PORT}", "127.0.0.1"):
            assert chassis.get(index, "/", headers={"Host": host}).status == 421, (index, host)
            # With the admin's cookie too: a rebinding page would send it.
            assert admin.get(index, "/api/v1/chassis", headers={"Host": host}).status == 421, (index, host)
        for host in ("evil.example", f"evil.example:{PORT}"):
            assert chassis.http(index, "/", headers={"Host": host}).status == 421, (index, host)
            assert chassis.http(index, "/health/active", headers={"Host": host}).status == 421, (index, host)


def test_plain_http_keeps_health_and_the_ca_and_sends_everything_else_to_https(chassis):
    active = chassis.active_index()
    for path in ("/", "/api/v1/chassis?x=1", "/login?next=%2F", "/metrics"):
        reply = chassis.http(active, path)
        assert reply.status == 308, (path, reply.status)
        assert reply.headers["location"] == chassis.origin(active) + path
        assert "strict-transport-security" not in reply.headers, "HSTS only over HTTPS"
    # A write keeps its method at the redirect (308, not 301) and is not acted on over plain HTTP.
    posted = chassis.http(active, "/api/v1/session", method="POST", body=b"{}", headers={"Content-Type": "application/json"})
    assert posted.status == 308 and COOKIE not in posted.set_cookies
    assert {chassis.health(i) for i in (1, 2, 3)} == {200, 503}
    authority = chassis.http(active, "/ca.crt")
    with open(chassis.ca, "rb") as handle:
        assert authority.status == 200 and authority.body == handle.read()
    assert authority.headers["content-type"] == "application/x-x509-ca-cert"


def test_every_kind_of_answer_carries_the_security_headers(chassis, admin):
    active = chassis.active_index()
    answers = {
        "200 page": admin.get(active, "/"),
        "200 JSON": admin.get(active, "/api/v1/chassis"),
        "200 static file": chassis.get(active, "/app.js"),
        "404 page": admin.get(active, "/no/such/page"),
        "404 JSON": admin.get(active, "/api/v1/nothing"),
        "303 to the login page": chassis.get(active, "/"),
        "401": chassis.get(active, "/api/v1/chassis"),
        "403": admin.get(active, "/api/v1/thresholds", method="PUT", json={}, headers={"Origin": None}),
        "421": chassis.get(active, "/", headers={"Host": "evil.example"}),
        "308 (plain HTTP)": chassis.http(active, "/"),
    }
    expected_status = {"200 page": 200, "200 JSON": 200, "200 static file": 200, "404 page": 404, "404 JSON": 404,
                       "303 to the login page": 303, "401": 401, "403": 403, "421": 421, "308 (plain HTTP)": 308}
    for what, reply in answers.items():
        assert reply.status == expected_status[what], (what, reply.status)
        for name in SECURITY_HEADERS:
            values = [value for header, value in reply.header_list if header == name]
            assert len(values) == 1, f"{what}: {name} {values}"
        assert "frame-ancestors 'none'" in reply.headers["content-security-policy"], what
        assert reply.headers["x-content-type-options"] == "nosniff", what
        assert reply.headers["referrer-policy"] in SAFE_REFERRER_POLICIES, (what, reply.headers["referrer-policy"])
        hsts = [value for header, value in reply.header_list if header == "strict-transport-security"]
        if what.endswith("(plain HTTP)"):
            assert not hsts, what
        else:
            assert len(hsts) == 1 and int(re.search(r"max-age=(\d+)", hsts[0]).group(1)) >= 86400, (what, hsts)


# --- throttling ----------------------------------------------------------------------------------

def login_from(chassis, user, secret, source, index=None):
    """One JSON login from the client address `source` (a loopback address of its own)."""
    return Session(chassis, user, secret).login(index or chassis.active_index(), source=source)


def test_failed_logins_are_throttled_per_user_and_per_address_and_an_admin_lifts_it(chassis, admin):
    secret = add_user(chassis, admin, "tess", "viewer")
    failed_from = []

    def fail(source, user="tess"):
        reply = login_from(chassis, user, password("wrong"), source)
        assert reply.status == 401, (source, reply.status, reply.text)
        failed_from.append((user, source))

    # Three wrong passwords for one user, each from another address: the fourth attempt, even
    # with the right password, must wait.
    for n in (101, 102, 103):
        fail(f"127.0.0.{n}")
    throttled = login_from(chassis, "tess", secret, "127.0.0.104")
    assert throttled.status == 429, throttled.text
    assert int(throttled.headers["retry-after"]) >= 1
    assert "Too many failed logins" in throttled.json()["error"]
    page = chassis.get(chassis.active_index(), "/login", method="POST", source="127.0.0.105",
                       headers=dict(FORM, Origin=chassis.origin(chassis.active_index())),
                       body=form({"user": "tess", "password": secret, "next": "/"}))
    assert page.status == 429 and int(page.headers["retry-after"]) >= 1 and COOKIE not in page.set_cookies
    # The delay grows with every further failure (1 s, 2 s, 4 s ...).
    time.sleep(int(throttled.headers["retry-after"]) + 0.2)
    fail("127.0.0.106")
    second = login_from(chassis, "tess", secret, "127.0.0.107")
    assert second.status == 429 and int(second.headers["retry-after"]) >= 2, (second.status, second.headers)
    time.sleep(int(second.headers["retry-after"]) + 0.2)
    fail("127.0.0.108")
    third = login_from(chassis, "tess", secret, "127.0.0.109")
    assert third.status == 429 and int(third.headers["retry-after"]) >= 3, (third.status, third.headers)
    counters = admin.get(chassis.active_index(), "/api/v1/login-locks").json()["counters"]
    assert {"kind": "user", "name": "tess", "failures": 5} in [
        {k: c[k] for k in ("kind", "name", "failures")} for c in counters], counters
    # An admin lifts it: the right password works at once.
    lifted = admin.get(chassis.active_index(), "/api/v1/login-locks/lift", method="POST", json={"user": "tess"})
    assert lifted.status == 200, lifted.text
    WRITES.append(("login.unlock", "tess", "admin"))
    # (A throttled attempt is no failure: trying again until the lift is seen costs nothing.)
    wait_until(lambda: login_from(chassis, "tess", secret, "127.0.0.109").status == 200, timeout=2, interval=0.05,
               what="the login allowed once the lock is lifted")

    # Per address: three failures from one address, for three names, throttle the fourth name.
    for name in ("nobody-1", "nobody-2", "nobody-3"):
        fail("127.0.0.120", user=name)
    assert login_from(chassis, "tess", secret, "127.0.0.120").status == 429
    lifted = admin.get(chassis.active_index(), "/api/v1/login-locks/lift", method="POST", json={"address": "127.0.0.120"})
    assert lifted.status == 200, lifted.text
    WRITES.append(("login.unlock", "127.0.0.120", "admin"))
    wait_until(lambda: login_from(chassis, "tess", secret, "127.0.0.120").status == 200, timeout=2, interval=0.05,
               what="the address allowed once its lock is lifted")

    # Every failed and every successful login is in the audit log, with the address it came from.
    records = audit(admin, chassis)
    failures = {(r["actor"], r["address"]) for r in records if r["action"] == "login.failed"}
    assert set(failed_from) <= failures, set(failed_from) - failures
    successes = {(r["actor"], r["address"]) for r in records if r["action"] == "login.succeeded"}
    assert {("tess", "127.0.0.109"), ("tess", "127.0.0.120"), ("admin", "127.0.0.1")} <= successes, successes


# --- tokens --------------------------------------------------------------------------------------

def test_a_token_is_shown_once_works_and_stops_working_when_revoked(chassis, admin):
    active = chassis.active_index()
    created = admin.get(active, "/api/v1/tokens", method="POST", json={"user": "admin", "label": "prometheus"})
    assert created.status == 201, created.text
    document = created.json()
    token = Token(document["token"])
    assert token.id == document["id"] and document["label"] == "prometheus"
    WRITES.append(("token.create", f"token {token.id}", "admin"))
    scrape = wait_until(lambda: (lambda r: r if r.status == 200 else None)(chassis.get(active, "/metrics", auth=token)),
                        timeout=2, interval=0.02, what="a scrape with the new token")
    assert "# TYPE" in scrape.text
    # Every blade answers /metrics for itself, with the token replicated to it.
    for index in (1, 2, 3):
        wait_until(lambda: chassis.get(index, "/metrics", auth=token).status == 200, timeout=5, what=f"blade {index} scrape")
    listed = admin.get(active, "/api/v1/tokens").text
    assert token.id in listed and token.secret not in listed, "the secret is never shown again"
    revoked = admin.get(active, f"/api/v1/tokens/{token.id}", method="DELETE")
    assert revoked.status == 200, revoked.text
    WRITES.append(("token.revoke", f"token {token.id}", "admin"))
    for index in (1, 2, 3):
        wait_until(lambda: chassis.get(index, "/metrics", auth=token).status == 401, timeout=5,
                   what=f"blade {index} to refuse the revoked token")
    refused = chassis.get(active, "/api/v1/chassis", auth=token)
    assert refused.status == 401 and "www-authenticate" in refused.headers
    # The same with chassisctl, and a token carries its user's role: a viewer's cannot write.
    add_user(chassis, admin, "tina", "viewer")
    viewer = chassis.token("tina", "read only")
    wait_until(lambda: chassis.get(chassis.active_index(), "/api/v1/chassis", auth=viewer).status == 200, timeout=5,
               what="the viewer's token")
    assert chassis.get(active, "/api/v1/thresholds", method="PUT", auth=viewer,
                       json={"scope": "global", "metricKey": "load.1m", "limits": {"highCritical": 99}}).status == 403
    ctl("token", "revoke", viewer.id, "--blade", str(chassis.active_index()), "--demo-dir", chassis.directory)
    wait_until(lambda: chassis.get(chassis.active_index(), "/api/v1/chassis", auth=viewer).status == 401, timeout=5,
               what="the revoked chassisctl token refused")


# --- the audit log -------------------------------------------------------------------------------

def test_every_write_is_in_the_audit_log_with_actor_address_and_old_and_new(chassis, admin):
    # This test's own writes, one of each kind; then every write of the module.
    add_user(chassis, admin, "ursula", "viewer")
    active = chassis.active_index()
    for limit in (700, 800):  # created, then changed: the change has both old and new values
        reply = admin.get(active, "/api/v1/thresholds", method="PUT",
                          json={"scope": {"slot": 3}, "metricKey": "load.5m", "limits": {"highCritical": limit}})
        assert reply.status in (200, 201), reply.text
        WRITES.append(("threshold.set", "load.5m", "admin"))
    chassis.demo("set-sensor", "3", SENSOR, "101")
    try:
        def alert():
            alerts = admin.get(chassis.active_index(), "/api/v1/alerts").json()["alerts"]
            return next((a for a in alerts if a["slotID"] == 3 and a["metricKey"] == SENSOR
                         and a.get("acknowledgedAt") is None), None)
        raised = wait_until(alert, timeout=30, what="an alert in slot 3")
    finally:
        chassis.demo("set-sensor", "3", SENSOR, "release", check=False)
    active = chassis.active_index()
    acknowledged = admin.get(active, f"/api/v1/alerts/{raised['id']}/acknowledge", method="POST", json={})
    assert acknowledged.status in (200, 204), acknowledged.text
    WRITES.append(("alert.acknowledge", str(raised["id"]), "admin"))
    created = admin.get(active, "/api/v1/tokens", method="POST", json={"user": "ursula", "label": "audit"})
    assert created.status == 201, created.text
    token_id = created.json()["id"]
    WRITES.append(("token.create", f"token {token_id}", "admin"))
    assert admin.get(active, f"/api/v1/tokens/{token_id}", method="DELETE").status == 200
    WRITES.append(("token.revoke", f"token {token_id}", "admin"))

    records = audit(admin, chassis)
    by_action = {}
    for record in records:
        by_action.setdefault(record["action"], []).append(record)
    missing = []
    for action, target, actor in WRITES:
        matches = [r for r in by_action.get(action, []) if target in r["target"] and r["actor"] == actor]
        if not matches:
            missing.append((action, target, actor))
            continue
        for record in matches:
            assert record["address"] == "127.0.0.1" and re.fullmatch(r"session|token [0-9a-f]{16}", record["via"]), record
            assert record["role"] in ("admin", "operator"), record
            assert record.get("old") or record.get("new"), f"no old or new value: {record}"
    assert not missing, f"writes without an audit record: {missing}\nactions recorded: {sorted(by_action)}"
    # What each kind of record says.
    user = next(r for r in by_action["user.add"] if r["target"] == "user ursula")
    assert json.loads(user["new"])["role"] == "viewer" and "password" not in user["new"].lower()
    change = next(r for r in by_action["threshold.set"] if "load.5m" in r["target"] and r.get("old"))
    assert json.loads(change["old"])["highCritical"] == "700.0" and json.loads(change["new"])["highCritical"] == "800.0"
    ack = next(r for r in by_action["alert.acknowledge"] if str(raised["id"]) in r["target"])
    assert ack.get("new"), ack
    revoke = next(r for r in by_action["token.revoke"] if token_id in r["target"])
    assert json.loads(revoke["old"])["label"] == "audit"

    # The CSV export holds the same records, and Python's csv module reads it back.
    reply = admin.get(chassis.active_index(), "/api/v1/audit?limit=1000&format=csv")
    assert reply.status == 200 and reply.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(reply.text, newline="")))
    assert list(rows[0]) == ["id", "time", "actor", "role", "address", "via", "action", "target", "old", "new"]
    by_id = {int(row["id"]): row for row in rows}
    latest = audit(admin, chassis)
    assert set(by_id) >= {r["id"] for r in latest if r["id"] <= max(by_id)}
    for record in latest:
        row = by_id.get(record["id"])
        if row is None:
            continue  # written after the export
        for field in ("actor", "role", "address", "via", "action", "target", "old", "new"):
            value = record.get(field) or ""
            if value[:1] in ("=", "+", "-", "@", "\t", "\r"):
                value = "'" + value  # a spreadsheet would run it as a formula
            assert row[field] == value, (field, row, record)
    # The audit log is the admins' only.
    customer = chassis.session("customer-a")
    for path in ("/api/v1/audit", "/api/v1/audit?format=csv", "/audit"):
        assert customer.get(chassis.active_index(), path).status == 403, path


# --- last: no password anywhere ------------------------------------------------------------------

def process_tree(pids):
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
                parents[int(entry)] = int(fields[1])
            except OSError:
                pass
    tree, frontier = set(), [p for p in pids if p and p > 0]
    while frontier:
        pid = frontier.pop()
        if pid not in tree:
            tree.add(pid)
            frontier.extend(child for child, parent in parents.items() if parent == pid)
    return tree


def test_no_password_in_any_log_database_file_or_process(chassis):
    """After every other test of the module: the demo directory (engine.log, web.log, nginx's
    logs, hooks.log, demo.json, the SQLite databases and their WAL files), the runtime directory
    on the tmpfs (metrics.db) and the blades' processes' arguments and environments hold none of
    the module's passwords. The demo's password files are the one exception."""
    assert len(SECRETS) >= 2
    needles = [secret.encode() for secret in SECRETS]
    exceptions = {os.path.join(chassis.directory, name) for name in ("admin-password", "customer-a-password")}
    searched, found = [], []
    for root in (chassis.directory, chassis.runtime_root()):
        for directory, _, names in os.walk(root):
            for name in names:
                path = os.path.join(directory, name)
                if path in exceptions or not stat.S_ISREG(os.lstat(path).st_mode):
                    continue
                with open(path, "rb") as handle:
                    content = handle.read()
                searched.append(path)
                found += [(path, needle.decode()[:6] + "…") for needle in needles if needle in content]
    logs = [p for p in searched if p.endswith(".log")]
    assert any(p.endswith("engine.log") for p in logs) and any(p.endswith("web.log") for p in logs)
    assert any(p.endswith("error.log") for p in logs) and any(p.endswith("config.db") for p in searched)
    assert any(p.endswith("metrics.db") for p in searched) and any(p.endswith("hooks.log") for p in searched)
    pids = []
    for blade in chassis.state()["blades"]:
        pids += [blade.get("engine"), blade.get("web"), blade.get("nginx")]
    for pid in process_tree(pids):
        for part in ("cmdline", "environ"):
            try:
                with open(f"/proc/{pid}/{part}", "rb") as handle:
                    content = handle.read()
            except OSError:
                continue
            found += [(f"/proc/{pid}/{part}", needle.decode()[:6] + "…") for needle in needles if needle in content]
    assert not found, f"passwords found in: {found}"
