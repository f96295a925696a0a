"""Notifications out, against the real counterparts on loopback, from a real 3-blade chassis:

- Debian's `prometheus-alertmanager`: a sensor crosses its limit and the alert reaches it with
  its labels; SIGKILL of the active manager while it fires leaves one alert there (the next
  active manager re-asserts it with the same labels); the sensor recovers and it is resolved.
- `aiosmtpd` (PyPI) with STARTTLS required and a login: the alert arrives as mail, the password
  given once never appears in a response, a log, a blade's database or the audit log.
- A syslog collector (a UDP socket) receives RFC 5424 messages with the stable event id.
- An alert hook finds the event in its environment.
- Every event arrives at least once across the failover, and each id names one event.
- The event log lists it all; a viewer may read the targets but not change them.

Uses its own demo (HTTP 19280, HTTPS 19243, peer port 7992), Alertmanager on 127.0.0.1:19393,
SMTP on 127.0.0.1:19325, syslog on 127.0.0.1:19514.
"""
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import CHASSIS_ID, browser_login, chromium, demo_chassis, request, stop_process, wait_until

PORT = 19280
TLS_PORT = 19243
PEER_PORT = 7992
ALERTMANAGER_PORT = 19393
SMTP_PORT = 19325
SYSLOG_PORT = 19514
SENSOR = "hwmon.coretemp-isa-0000.temp1"
SMTP_PASSWORD = "smtp-pass-7f3a9c1e"
ALERTMANAGER = "/usr/bin/prometheus-alertmanager"


@pytest.fixture(scope="module")
def workdir():
    directory = tempfile.mkdtemp(prefix="chassis-notify-")
    os.chmod(directory, 0o755)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def alertmanager(workdir):
    assert os.path.exists(ALERTMANAGER), "make test installs prometheus-alertmanager"
    config = os.path.join(workdir, "alertmanager.yml")
    with open(config, "w") as handle:
        handle.write("route:\n  receiver: sink\n  group_wait: 1s\nreceivers:\n  - name: sink\n")
    log = open(os.path.join(workdir, "alertmanager.log"), "w")
    process = subprocess.Popen([ALERTMANAGER, f"--config.file={config}", f"--storage.path={workdir}/am-data",
                                f"--web.listen-address=127.0.0.1:{ALERTMANAGER_PORT}", "--cluster.listen-address="],
                               stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: ready(f"http://127.0.0.1:{ALERTMANAGER_PORT}/-/ready"), timeout=20, what="Alertmanager")
        yield f"http://127.0.0.1:{ALERTMANAGER_PORT}"
    finally:
        stop_process(process)
        log.close()


def ready(url):
    try:
        return request("127.0.0.1", url.split(str(ALERTMANAGER_PORT), 1)[1], port=ALERTMANAGER_PORT).status == 200
    except OSError:
        return False


def alertmanager_alerts(base, metric):
    reply = request("127.0.0.1", "/api/v2/alerts", port=ALERTMANAGER_PORT)
    assert reply.status == 200, reply.text
    return [alert for alert in reply.json() if alert["labels"].get("metric") == metric]


@pytest.fixture(scope="module")
def smtp(workdir):
    """aiosmtpd on loopback: STARTTLS required, a login required, every message kept."""
    import ssl
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    certificate, key = os.path.join(workdir, "smtp.crt"), os.path.join(workdir, "smtp.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", certificate],
                   check=True, capture_output=True)
    os.chmod(certificate, 0o644)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate, key)

    class Inbox:
        def __init__(self):
            self.messages = []
            self.logins = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos),
                                  "data": envelope.original_content.decode("utf-8", "replace"),
                                  "tls": session.ssl is not None})
            return "250 OK"

    inbox = Inbox()

    def authenticate(server, session, envelope, mechanism, auth_data):
        inbox.logins.append(auth_data.login)
        return AuthResult(success=auth_data.login == b"noc" and auth_data.password == SMTP_PASSWORD.encode())

    controller = Controller(inbox, hostname="127.0.0.1", port=SMTP_PORT, tls_context=context, require_starttls=True,
                            auth_require_tls=True, authenticator=authenticate)
    controller.start()
    inbox.certificate = certificate
    try:
        yield inbox
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def syslog():
    """A syslog collector: every datagram on 127.0.0.1:19514."""
    collector = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    collector.bind(("127.0.0.1", SYSLOG_PORT))
    collector.settimeout(0.2)
    messages = []
    stop = threading.Event()

    def receive():
        while not stop.is_set():
            try:
                data, _ = collector.recvfrom(65536)
            except socket.timeout:
                continue
            messages.append(data)

    thread = threading.Thread(target=receive, daemon=True)
    thread.start()
    try:
        yield messages
    finally:
        stop.set()
        thread.join(timeout=2)
        collector.close()


@pytest.fixture(scope="module")
def chassis():
    with demo_chassis(3, PORT, TLS_PORT, PEER_PORT, name="chassis-notify") as chassis:
        yield chassis


@pytest.fixture(scope="module")
def targets(chassis, alertmanager, smtp, syslog, workdir):
    hook_log = os.path.join(workdir, "hook.log")
    document = {
        "alertmanager": [{"url": alertmanager}],
        "syslog": [{"host": "127.0.0.1", "port": SYSLOG_PORT, "facility": 16}],
        "email": [{"server": "127.0.0.1", "port": SMTP_PORT, "security": "starttls", "username": "noc",
                   "password": SMTP_PASSWORD, "from": "chassis@example.com", "to": ["noc@example.com"],
                   "caFile": smtp.certificate}],
        "hooks": [{"command": f"printf '%s %s %s %s\\n' \"$CHASSIS_EVENT_ID\" \"$CHASSIS_EVENT\" \"$CHASSIS_SLOT\" "
                              f"\"$CHASSIS_SEVERITY\" >> {hook_log}", "timeoutSeconds": 5}],
    }
    active = chassis.active_index()
    reply = chassis.request(active, "/api/v1/notifications", method="PUT", auth=chassis.admin, json=document)
    assert reply.status == 200, reply.text
    return {"document": document, "hook_log": hook_log}


def hook_lines(targets):
    try:
        with open(targets["hook_log"]) as handle:
            return [line.split() for line in handle.read().splitlines()]
    except FileNotFoundError:
        return []


def test_targets_are_shown_without_their_password_and_only_admins_change_them(chassis, targets):
    active = chassis.active_index()
    document = chassis.request(active, "/api/v1/notifications", auth=chassis.admin).json()
    email = document["email"][0]
    assert email["passwordSet"] is True and "password" not in email and "sealedPassword" not in email
    assert len(document["ids"]) == 4
    viewer_password = "notify-viewer-password-1"
    assert chassis.request(active, "/api/v1/users", method="POST", auth=chassis.admin,
                           json={"name": "notify-viewer", "role": "viewer", "password": viewer_password}).status == 201
    viewer = chassis.session("notify-viewer", viewer_password, index=active)
    assert chassis.request(active, "/api/v1/notifications", auth=viewer).status == 200
    refused = chassis.request(active, "/api/v1/notifications", method="PUT", auth=viewer, json={"hooks": []})
    assert refused.status == 403, refused.text
    assert chassis.request(active, "/api/v1/notifications/test", method="POST", auth=viewer).status == 403
    bad = chassis.request(active, "/api/v1/notifications", method="PUT", auth=chassis.admin,
                          json={"syslog": [{"host": "127.0.0.1", "port": 70000}]})
    assert bad.status == 400 and "syslog[0].port must be from 1 to 65535" in bad.text, bad.text
    # Nothing changed: the four targets are still there.
    assert len(chassis.request(active, "/api/v1/notifications", auth=chassis.admin).json()["ids"]) == 4
    audit = chassis.request(active, "/api/v1/audit?action=notifications", auth=chassis.admin).json()["records"]
    assert audit and audit[0]["actor"] == "admin" and "127.0.0.1" in audit[0]["new"]


def test_a_test_message_reaches_every_target(chassis, targets, smtp, syslog):
    active = chassis.active_index()
    before = len(smtp.messages)
    reply = chassis.request(active, "/api/v1/notifications/test", method="POST", auth=chassis.admin, timeout=40)
    assert reply.status == 200, reply.text
    report = reply.json()["report"]
    assert len(report) == 4 and all(line.endswith(": ok") for line in report), report
    assert len(smtp.messages) > before and smtp.messages[-1]["tls"], "the mail went over STARTTLS"
    assert smtp.logins[-1] == b"noc"
    assert any(b"notification.test" in message for message in syslog)


def test_an_alert_reaches_every_target_once_across_a_failover_and_resolves(chassis, targets, alertmanager, smtp, syslog):
    active = chassis.active_index()
    slot = [index for index in (1, 2, 3) if index != active][0]
    chassis.demo("set-sensor", str(slot), SENSOR, "101")
    try:
        firing = wait_until(lambda: alertmanager_alerts(alertmanager, SENSOR), timeout=30, what="the alert in Alertmanager")
        assert len(firing) == 1, firing
        labels = firing[0]["labels"]
        assert labels["slot"] == str(slot) and labels["severity"] == "critical" and labels["chassis_id"] == CHASSIS_ID
        assert labels["alertname"] == "ChassisHwmonCoretempIsa0000Temp1" and labels.get("module"), labels
        assert firing[0]["status"]["state"] == "active"

        alert = [a for a in chassis.request(active, f"/api/v1/alerts?state=open&slot={slot}", auth=chassis.admin).json()["alerts"]
                 if a["metricKey"] == SENSOR][0]
        events = chassis.request(active, f"/api/v1/events?kind=alert.raised&slot={slot}", auth=chassis.admin).json()["events"]
        raised = [e for e in events if e["alertID"] == alert["id"]]
        assert len(raised) == 1
        event_id = f"{CHASSIS_ID}-{raised[0]['id']}"
        wait_until(lambda: any(line[0] == event_id for line in hook_lines(targets)), timeout=15, what="the hook's run")
        assert [line for line in hook_lines(targets) if line[0] == event_id][0][1:] == ["alert.raised", str(slot), "critical"]
        wait_until(lambda: any(f'id="{event_id}"'.encode() in message for message in syslog), timeout=15, what="the syslog message")
        message = [m for m in syslog if f'id="{event_id}"'.encode() in m][0].decode()
        assert message.startswith("<130>1 "), message  # local0 (16) * 8 + critical (2)
        wait_until(lambda: any(event_id in m["data"] for m in smtp.messages), timeout=20, what="the mail")
        mail = [m for m in smtp.messages if event_id in m["data"]][0]
        assert mail["tls"] and mail["to"] == ["noc@example.com"] and "CRITICAL raised" in mail["data"]

        # SIGKILL of the active manager while the alert fires: the next one re-asserts it, once.
        chassis.demo("kill", str(active))
        successor = chassis.active_index(timeout=15, exclude=(active,))
        wait_until(lambda: any(a["labels"].get("metric") == "manager.active"
                               for a in request("127.0.0.1", "/api/v2/alerts", port=ALERTMANAGER_PORT).json()),
                   timeout=20, what="the new active manager's own alert in Alertmanager")
        assert len(alertmanager_alerts(alertmanager, SENSOR)) == 1, "still one alert for the sensor"
    finally:
        chassis.demo("set-sensor", str(slot), SENSOR, "release", check=False)

    def resolved():
        alerts = alertmanager_alerts(alertmanager, SENSOR)
        return not alerts or all(a["status"]["state"] != "active" or a["endsAt"] < a["updatedAt"] for a in alerts)
    wait_until(resolved, timeout=40, what="the alert resolved in Alertmanager")

    cleared = f"/api/v1/events?kind=alert.cleared&slot={slot}"
    events = wait_until(lambda: [e for e in chassis.request(successor, cleared, auth=chassis.admin).json()["events"]
                                 if e["alertID"] == alert["id"]], timeout=20, what="the cleared event")
    cleared_id = f"{CHASSIS_ID}-{events[0]['id']}"
    wait_until(lambda: any(line[0] == cleared_id for line in hook_lines(targets)), timeout=20, what="the hook on clearing")
    # At least once, and each id stands for one event: a repeat carries the same event.
    seen = {}
    for line in hook_lines(targets):
        assert seen.setdefault(line[0], line[1:]) == line[1:], line
    chassis.demo("start", str(active))

    # The delivery is counted on the new active manager, and no password was written anywhere.
    document = wait_until(lambda: chassis.request(successor, "/api/v1/notifications", auth=chassis.admin).json().get("delivery"),
                          timeout=5, what="the delivery counts")
    assert all(status["failed"] == 0 for status in document), document
    assert sum(status["sent"] for status in document) >= 4, document
    for index in (1, 2, 3):
        for name in ("state/config.db", "engine.log", "web.log"):
            path = os.path.join(chassis.directory, f"blade{index}", name)
            if os.path.exists(path):
                with open(path, "rb") as handle:
                    assert SMTP_PASSWORD.encode() not in handle.read(), f"the password is in {path}"
        database = os.path.join(chassis.directory, f"blade{index}", "state", "config.db")
        connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        try:
            (stored,) = connection.execute("SELECT value FROM settings WHERE key = 'notifications'").fetchone()
        finally:
            connection.close()
        assert json.loads(stored)["email"][0]["sealedPassword"].startswith("v1:"), f"blade {index}"


def test_the_events_page_and_export(chassis, targets):
    active = chassis.active_index()
    page = chassis.request(active, "/events?kind=alert", auth=chassis.admin)
    assert page.status == 200 and "alert.raised" in page.text and "data-event-id" in page.text
    csv = chassis.request(active, "/api/v1/events?format=csv", auth=chassis.admin)
    assert csv.status == 200 and csv.text.startswith("id,at,kind,severity,slot,alert,metric,message")
    assert chassis.request(active, "/api/v1/events?kind=nonsense", auth=chassis.admin).status == 400
    customer = chassis.session("customer-a", index=active)
    events = chassis.request(active, "/api/v1/events", auth=customer).json()["events"]
    assert all(event["slotID"] in (2, 3) for event in events), events
    page = chassis.request(active, "/notifications", auth=chassis.admin)
    assert page.status == 200 and SMTP_PASSWORD not in page.text and "data-target-id" in page.text


def test_a_maintenance_window_holds_notifications_until_it_ends(chassis, targets):
    active = chassis.active_index()
    slot = [index for index in (1, 2, 3) if index != active][0]
    reply = chassis.request(active, "/api/v1/maintenance", method="POST", auth=chassis.admin,
                            json={"slot": slot, "durationSeconds": 15, "reason": "fan swap"})
    assert reply.status == 201, reply.text
    elsewhere = 1 if slot != 1 else 2
    hidden = chassis.request(active, "/api/v1/maintenance", method="POST", auth=chassis.admin,
                             json={"slot": 1, "durationSeconds": 600, "reason": "private work on slot 1"})
    assert hidden.status == 201, hidden.text
    bad = chassis.request(active, "/api/v1/maintenance", method="POST", auth=chassis.admin,
                          json={"slot": slot, "durationSeconds": 8 * 86400, "reason": "too long"})
    assert bad.status == 400 and "a window is at most a week" in bad.text, bad.text
    customer = chassis.session("customer-a", index=active)
    seen = chassis.request(active, "/api/v1/maintenance", auth=customer).json()["maintenance"]
    assert all(window["slotID"] in (2, 3, None) for window in seen), seen
    assert chassis.request(active, "/api/v1/maintenance", method="POST", auth=customer,
                           json={"durationSeconds": 60, "reason": "x"}).status == 403
    chassis.demo("set-sensor", str(slot), SENSOR, "101")
    try:
        def open_alert():
            alerts = chassis.request(active, f"/api/v1/alerts?state=open&slot={slot}", auth=chassis.admin).json()["alerts"]
            return [a for a in alerts if a["metricKey"] == SENSOR]
        alert = wait_until(open_alert, timeout=20, what="the alert in maintenance")[0]
        page = chassis.request(active, f"/alerts?state=open&slot={slot}", auth=chassis.admin)
        assert "in maintenance" in page.text
        events = chassis.request(active, f"/api/v1/events?kind=alert.raised&slot={slot}", auth=chassis.admin).json()["events"]
        raised = f"{CHASSIS_ID}-{[e for e in events if e['alertID'] == alert['id']][0]['id']}"
        time.sleep(3)
        assert not any(line[0] == raised for line in hook_lines(targets)), "an alert in maintenance was notified"

        def ended():
            found = chassis.request(chassis.active_index(), f"/api/v1/events?kind=maintenance.ended&slot={slot}",
                                    auth=chassis.admin).json()["events"]
            return found
        end = wait_until(ended, timeout=40, what="the end of the window")[0]
        # The sensor's neighbours warm up with it: one or more alerts, the worst critical.
        assert end["severity"] == "critical" and "still open: fan swap" in end["message"], end
        end_id = f"{CHASSIS_ID}-{end['id']}"
        wait_until(lambda: any(line[0] == end_id for line in hook_lines(targets)), timeout=15, what="the end notified")
        assert not any(line[0] == raised for line in hook_lines(targets)), "the held alert itself stays held"
    finally:
        chassis.demo("set-sensor", str(slot), SENSOR, "release", check=False)
    window_id = hidden.json()["maintenance"][-1]["id"]
    assert chassis.request(active, f"/api/v1/maintenance/{window_id}", method="DELETE", auth=chassis.admin).status == 200


def test_operators_work_the_editors_in_a_browser_and_a_viewer_gets_no_form(chassis, targets):
    """Chromium as an operator: acknowledge an alert with a comment and a duration on the alert log,
    schedule and cancel a maintenance window on the Settings page; as a viewer, neither form."""
    active = chassis.active_index()
    for name, role in (("browser-operator", "operator"), ("browser-viewer", "viewer")):
        reply = chassis.request(active, "/api/v1/users", method="POST", auth=chassis.admin,
                                json={"name": name, "role": role, "password": f"{name}-password-1"})
        assert reply.status in (201, 409), reply.text
    slot = [index for index in (1, 2, 3) if index != active][0]
    chassis.demo("set-sensor", str(slot), SENSOR, "101")
    try:
        def open_alert():
            alerts = chassis.request(chassis.active_index(), f"/api/v1/alerts?state=open&slot={slot}", auth=chassis.admin).json()
            return [a for a in alerts["alerts"] if a["metricKey"] == SENSOR and a.get("acknowledgedAt") is None]
        wait_until(open_alert, timeout=20, what="an alert to acknowledge")
        with chromium(chassis.ca) as browser:
            browser_login(browser, chassis.origin(active) + f"/alerts?state=all&slot={slot}", "browser-operator",
                          "browser-operator-password-1")
            # The first open alert the page offers to acknowledge (an earlier test's may be clearing).
            row = wait_until(lambda: browser.find_elements("css selector", "table.alert-log tr[data-alert-id]:has(form.ack-form)"),
                             timeout=10, what="an alert with the acknowledge form")[0]
            alert = {"id": int(row.get_attribute("data-alert-id"))}
            row.find_element("name", "comment").send_keys("replacing the heat sink")
            from selenium.webdriver.support.ui import Select
            Select(row.find_element("name", "for")).select_by_value("3600")
            row.find_element("css selector", "button[type=submit]").click()
            wait_until(lambda: "replacing the heat sink" in browser.find_element("css selector", "main").text, timeout=10,
                       what="the acknowledgement on the page")
            acknowledged = chassis.request(active, f"/api/v1/alerts?state=all&slot={slot}", auth=chassis.admin).json()["alerts"]
            mine = [a for a in acknowledged if a["id"] == alert["id"]][0]
            assert mine["acknowledgedBy"] == "browser-operator" and mine["acknowledgedComment"] == "replacing the heat sink"
            assert 3500 < mine["acknowledgedUntil"] - time.time() <= 3600, mine

            browser.get(chassis.origin(active) + "/settings")
            form = browser.find_element("css selector", "#maintenance form.stack-form")
            form.find_element("name", "slot").send_keys(str(slot))
            form.find_element("name", "hours").clear()
            form.find_element("name", "hours").send_keys("1")
            form.find_element("name", "reason").send_keys("browser maintenance")
            form.find_element("css selector", "button[type=submit]").click()
            wait_until(lambda: "browser maintenance" in browser.find_element("css selector", "#maintenance").text, timeout=10,
                       what="the window listed")
            windows = chassis.request(active, "/api/v1/maintenance", auth=chassis.admin).json()["maintenance"]
            window = [w for w in windows if w["reason"] == "browser maintenance"][0]
            assert window["slotID"] == slot and window["createdBy"] == "browser-operator"
            browser.find_element("css selector", f"[data-maintenance-id='{window['id']}'] button").click()
            wait_until(lambda: "browser maintenance" not in browser.find_element("css selector", "#maintenance").text,
                       timeout=10, what="the window cancelled")
            severe = [entry for entry in browser.get_log("browser") if entry.get("level") == "SEVERE"]
            assert not severe, severe
        with chromium(chassis.ca) as browser:
            browser_login(browser, chassis.origin(active) + "/settings", "browser-viewer", "browser-viewer-password-1")
            assert "Maintenance windows" in browser.find_element("css selector", "main").text
            assert not browser.find_elements("css selector", "#maintenance form"), "a viewer is offered the form"
            browser.get(chassis.origin(active) + "/alerts?state=open")
            assert not browser.find_elements("css selector", "form.ack-form"), "a viewer is offered to acknowledge"
            browser.get(chassis.origin(active) + "/manager")
            assert browser.find_elements("css selector", "[data-member]") and not browser.find_elements("name", "to")
    finally:
        chassis.demo("set-sensor", str(slot), SENSOR, "release", check=False)


def test_an_admin_hands_over_from_the_managers_page(chassis):
    active = chassis.active_index()
    page = chassis.request(active, "/manager", auth=chassis.admin)
    assert page.status == 200 and page.text.count("data-member=") == 3, page.text[:500]
    target = [f"blade{index}" for index in (1, 2, 3) if index != active][0]
    form = f"action=handover&to={target}"
    reply = chassis.request(active, "/manager", method="POST", auth=chassis.admin, body=form.encode(),
                            headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert reply.status == 200 and f"Handed over to {target}" in reply.text, reply.text[:400]
    successor = chassis.active_index(timeout=10)
    assert f"blade{successor}" == target
    audit = chassis.request(successor, "/api/v1/audit?action=manager.handover", auth=chassis.admin).json()["records"]
    assert audit and audit[0]["actor"] == "admin"
