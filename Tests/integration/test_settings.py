"""Operating the chassis from the browser and the API, against a real 3-blade chassis over HTTPS:

- A blade that stops reporting is one critical alert, decided by the active manager through the
  log: still one after a failover, cleared when the blade reports again.
- A module of another model than its slot's type expects is a warning until they agree.

- A sampling interval changed through the API takes effect on every blade: the spacing of each
  blade's CPU samples (as the active manager records them, replicated) follows it.
- The chassis' name, set by an operator, is what every page and document says; a viewer is
  refused (403 with the role it needs) and nothing changes.
- The Thresholds page in Chromium: an operator sets a rule with the form and sees it listed; a
  viewer sees the rules and no form.

Uses its own demo (HTTP 19180, HTTPS 19143, peer port 7991).
"""
import json
import time

import pytest

from conftest import CHASSIS_ID, browser_login, chromium, ctl, demo_chassis, wait_until

PORT = 19180
TLS_PORT = 19143
PEER_PORT = 7991


@pytest.fixture(scope="module")
def chassis():
    with demo_chassis(3, PORT, TLS_PORT, PEER_PORT, name="chassis-settings") as chassis:
        yield chassis


def add_user(chassis, name, role):
    password = f"{name}-password-{int(time.time() * 1000)}"
    reply = chassis.request(chassis.active_index(), "/api/v1/users", method="POST", auth=chassis.admin,
                            json={"name": name, "role": role, "password": password})
    assert reply.status == 201, reply.text
    return password


def cpu_key(chassis, active, slot):
    document = chassis.request(active, f"/api/v1/chassis/{CHASSIS_ID}/slots/{slot}", auth=chassis.admin).json()
    keys = [m["descriptor"]["key"] for m in document["slot"]["metrics"]
            if m["descriptor"].get("group") == "cpu" and m["descriptor"].get("unit") == "percent"]
    assert keys, f"slot {slot} has no CPU percentage"
    return sorted(keys)[0]


def spacing(chassis, active, slot, key, seconds=30):
    """The median spacing of the slot's last samples of `key`, as the active manager holds them."""
    document = chassis.request(active, f"/api/v1/chassis/{CHASSIS_ID}/slots/{slot}/history?key={key}&seconds={seconds}",
                               auth=chassis.admin).json()
    times = [point["time"] for point in document["series"][0]["points"]]
    gaps = sorted(b - a for a, b in zip(times, times[1:]))
    return gaps[len(gaps) // 2] if gaps else None


def test_an_interval_set_through_the_api_takes_effect_on_every_blade(chassis):
    active = chassis.active_index()
    keys = {slot: cpu_key(chassis, active, slot) for slot in (1, 2, 3)}
    for slot, key in keys.items():
        before = wait_until(lambda: spacing(chassis, active, slot, key, seconds=10), timeout=15, what=f"slot {slot}'s samples")
        assert before < 2.0, f"slot {slot}: CPU sampled every {before:.2f} s before the change"
    reply = chassis.request(active, "/api/v1/intervals", method="PATCH", auth=chassis.admin, json={"cpu": 3000})
    assert reply.status == 200, reply.text
    rows = {row["group"]: row for row in reply.json()["intervals"]}
    assert rows["cpu"]["intervalMs"] == 3000 and rows["cpu"]["source"] == "chassis"
    for slot, key in keys.items():
        # The last 12 s hold four samples at the new spacing once the change is that old.
        def settled(slot=slot, key=key):
            gap = spacing(chassis, active, slot, key, seconds=12)
            return gap if gap is not None and 2.5 <= gap <= 3.5 else None
        wait_until(settled, timeout=30, interval=1, what=f"slot {slot}'s CPU samples 3 s apart")
    # Every blade holds the replicated setting.
    for index in (1, 2, 3):
        database = f"{chassis.directory}/blade{index}/state/config.db"
        import sqlite3
        connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        try:
            value = connection.execute("SELECT value FROM settings WHERE key = 'interval_ms.cpu'").fetchone()
        finally:
            connection.close()
        assert value == ("3000",), f"blade {index}: {value}"
    audit = chassis.request(active, "/api/v1/audit?action=interval.set", auth=chassis.admin).json()["records"]
    assert audit and audit[0]["actor"] == "admin" and json.loads(audit[0]["new"]) == {"intervalMs": "3000"}


def test_an_operator_renames_the_chassis_and_a_viewer_cannot(chassis):
    active = chassis.active_index()
    viewer = chassis.session("settings-viewer", add_user(chassis, "settings-viewer", "viewer"), index=active)
    operator = chassis.session("settings-operator", add_user(chassis, "settings-operator", "operator"), index=active)
    refused = chassis.request(active, "/api/v1/chassis", method="PATCH", auth=viewer, json={"name": "Viewer's chassis"})
    assert refused.status == 403 and refused.json()["required"] == ["admin", "operator"], refused.text
    reply = chassis.request(active, "/api/v1/chassis", method="PATCH", auth=operator,
                            json={"name": "Row C <east> chassis", "rack": "14"})
    assert reply.status == 200, reply.text
    document = chassis.request(active, "/api/v1/chassis", auth=viewer).json()
    assert document["chassis"]["name"] == "Row C <east> chassis" and document["chassis"]["rack"] == "14"
    page = chassis.request(active, "/", auth=viewer)
    assert "Row C &lt;east&gt; chassis" in page.text and "Row C <east>" not in page.text
    too_long = chassis.request(active, "/api/v1/chassis", method="PATCH", auth=operator, json={"row": "r" * 65})
    assert too_long.status == 400 and "row is longer than 64 bytes" in too_long.text
    # The engine is still there: a refused change stops nothing.
    assert chassis.health(active) == 200


def test_the_thresholds_page_in_a_browser(chassis):
    active = chassis.active_index()
    operator_password = add_user(chassis, "rules-operator", "operator")
    viewer_password = add_user(chassis, "rules-viewer", "viewer")
    with chromium(chassis.ca) as browser:
        browser_login(browser, chassis.origin(active) + "/thresholds", "rules-operator", operator_password)
        assert browser.execute_script("return location.pathname") == "/thresholds"
        browser.find_element("name", "metricKey").send_keys("hwmon.coretemp-isa-0000.temp1")
        from selenium.webdriver.support.ui import Select
        Select(browser.find_element("name", "scopeKind")).select_by_value("slot")
        browser.find_element("name", "scopeValue").send_keys("2")
        browser.find_element("name", "highWarning").send_keys("81")
        browser.find_element("name", "highCritical").send_keys("96")
        browser.find_element("css selector", "form.stack-form button[type=submit]").click()
        wait_until(lambda: "saved" in browser.find_element("css selector", "main").text, timeout=10,
                   what="the notice that the rule was saved")
        rows = browser.find_elements("css selector", "[data-threshold-id]")
        assert any("hwmon.coretemp-isa-0000.temp1" in row.text and "slot 2" in row.text and "96" in row.text for row in rows)
        severe = [entry for entry in browser.get_log("browser") if entry.get("level") == "SEVERE"]
        assert not severe, severe
    rules = chassis.request(active, "/api/v1/thresholds", auth=chassis.admin).json()["thresholds"]
    assert any(rule["metricKey"] == "hwmon.coretemp-isa-0000.temp1" and rule["scope"] == {"slot": 2}
               and rule["limits"] == {"highWarning": 81, "highCritical": 96} for rule in rules), rules
    with chromium(chassis.ca) as browser:
        browser_login(browser, chassis.origin(active) + "/thresholds", "rules-viewer", viewer_password)
        assert "hwmon.coretemp-isa-0000.temp1" in browser.find_element("css selector", "main").text
        assert not browser.find_elements("css selector", "form.stack-form"), "a viewer is offered the form"


def open_blade_alerts(chassis, active, slot):
    reply = chassis.request(active, f"/api/v1/alerts?state=open&slot={slot}", auth=chassis.admin)
    assert reply.status == 200, reply.text
    return [alert for alert in reply.json()["alerts"] if alert["metricKey"] == "blade.reporting"]


def all_blade_alerts(chassis, active, slot):
    reply = chassis.request(active, f"/api/v1/alerts?state=all&slot={slot}", auth=chassis.admin)
    return [alert for alert in reply.json()["alerts"] if alert["metricKey"] == "blade.reporting"]


def test_a_dead_blade_is_one_critical_alert_across_a_failover_until_it_reports_again(chassis):
    active = chassis.active_index()
    others = [index for index in (1, 2, 3) if index != active]
    dead = others[-1]
    chassis.demo("kill", str(dead))
    alerts = wait_until(lambda: open_blade_alerts(chassis, active, dead), timeout=15, what=f"blade {dead}'s down alert")
    assert len(alerts) == 1 and alerts[0]["severity"] == "critical", alerts
    assert f"slot {dead}" in alerts[0]["message"] and "stopped reporting" in alerts[0]["message"]
    # The dead blade comes back: its alert clears. Then the active manager dies: its successor
    # raises one alert for it, and still holds the first, cleared, once.
    chassis.demo("start", str(dead))
    wait_until(lambda: not open_blade_alerts(chassis, active, dead), timeout=20, what=f"blade {dead}'s alert to clear")
    chassis.demo("kill", str(active))
    successor = chassis.active_index(timeout=15, exclude=(active,))
    former = wait_until(lambda: open_blade_alerts(chassis, successor, active), timeout=20,
                        what=f"the former active manager's (blade {active}) down alert")
    assert len(former) == 1, former
    history = all_blade_alerts(chassis, successor, dead)
    assert len(history) == 1 and history[0]["clearedAt"] is not None, f"one alert for blade {dead}, cleared: {history}"
    chassis.demo("start", str(active))
    wait_until(lambda: not open_blade_alerts(chassis, chassis.active_index(), active), timeout=20,
               what=f"blade {active}'s alert to clear")
    assert len(all_blade_alerts(chassis, chassis.active_index(), active)) == 1


def test_a_module_of_another_model_than_its_slot_expects_is_an_alert(chassis):
    active = chassis.active_index()
    slot = chassis.request(active, f"/api/v1/chassis/{CHASSIS_ID}/slots/2", auth=chassis.admin).json()["slot"]
    model = slot["module"]["model"]
    role = slot["moduleType"]["role"]

    def model_alerts():
        reply = chassis.request(chassis.active_index(), "/api/v1/alerts?state=open&slot=2", auth=chassis.admin)
        return [alert for alert in reply.json()["alerts"] if alert["metricKey"] == "module.model"]

    reply = chassis.request(active, f"/api/v1/chassis/{CHASSIS_ID}/slots/2", method="PATCH", auth=chassis.admin,
                            json={"moduleType": {"role": role, "expectedModel": "CM-Blade 9000"}})
    assert reply.status == 200, reply.text
    alerts = wait_until(model_alerts, timeout=10, what="the model mismatch alert")
    assert len(alerts) == 1 and alerts[0]["severity"] == "warning"
    assert model in alerts[0]["message"] and "CM-Blade 9000" in alerts[0]["message"]
    reply = chassis.request(active, f"/api/v1/chassis/{CHASSIS_ID}/slots/2", method="PATCH", auth=chassis.admin,
                            json={"moduleType": {"role": role, "expectedModel": model}})
    assert reply.status == 200, reply.text
    wait_until(lambda: not model_alerts(), timeout=10, what="the mismatch alert to clear")


def test_the_console_commands_a_blade_operator_has(chassis):
    """What the README promises of chassisctl on a blade: users, tokens, locks, the audit log and
    the certificate, each seen to take effect through the web."""
    from conftest import Session, Token
    active = chassis.active_index()

    def console(*arguments, input=None, check=True):
        return ctl(*arguments, "--blade", str(active), "--demo-dir", chassis.directory, input=input, check=check)

    first = "console-first-password"
    console("user", "add", "con-op", "--role", "operator", "--password-stdin", input=first + "\n")
    assert "con-op\toperator" in console("user", "list").stdout
    session = Session(chassis, "con-op", first)
    assert session.login(active).status == 200

    console("user", "role", "con-op", "viewer")
    assert chassis.request(active, "/api/v1/session", auth=session).status == 401, "a role change ends the sessions"
    assert session.login(active).status == 200
    assert chassis.request(active, "/api/v1/session", auth=session).json()["role"] == "viewer"

    second = "console-second-password"
    console("user", "passwd", "con-op", "--password-stdin", input=second + "\n")
    assert Session(chassis, "con-op", first).login(active).status == 401
    assert Session(chassis, "con-op", second).login(active).status == 200

    source = "127.0.0.77"  # an address of its own: its failures throttle no other test
    for _ in range(3):
        assert Session(chassis, "con-op", "wrong-password").login(active, source=source).status == 401
    assert Session(chassis, "con-op", second).login(active, source=source).status == 429
    console("user", "unlock", "--user", "con-op", "--address", source)
    assert Session(chassis, "con-op", second).login(active, source=source).status == 200

    text = console("token", "create", "con-op", "--label", "console test").stdout.strip().splitlines()[-1]
    token = Token(text)
    token_id = text.split("_")[1]
    assert chassis.request(active, "/api/v1/chassis", auth=token).status == 200
    listing = console("token", "list").stdout
    assert token_id in listing and "console test" in listing and text.split("_", 2)[2] not in listing
    console("token", "revoke", token_id)
    assert chassis.request(active, "/api/v1/chassis", auth=token).status == 401

    audit = json.loads(console("audit", "--action", "user", "--json").stdout)
    actions = {(record["action"], record["target"]) for record in audit}
    assert {("user.add", "user con-op"), ("user.update", "user con-op")} <= actions, actions
    assert all(record["via"] == "chassisctl" for record in audit if record["target"] == "user con-op")
    assert second not in console("audit", "--json").stdout and first not in console("audit", "--json").stdout

    before = console("certificate", "status").stdout
    assert "CN=Chassis Manager CA" in before and chassis.address(active) in before
    assert "issued until" in console("certificate", "issue", "--force").stdout
    after = console("certificate", "status").stdout
    fingerprint = lambda text: [line for line in text.splitlines() if line.startswith("sha256")][0]
    assert fingerprint(before) != fingerprint(after), "a forced issue makes a new certificate"

    console("user", "remove", "con-op")
    assert "con-op" not in console("user", "list").stdout
    assert Session(chassis, "con-op", second).login(active).status == 401


def test_a_replaced_module_under_slot_plus_serial_waits_for_approval(chassis):
    """slot+serial: the slot keeps only the module an operator approved; a replacement raises a
    warning (one, across the chassis) until it is approved from the API, and the approval is an
    event and in the audit log."""
    active = chassis.active_index()
    slot = [index for index in (1, 2, 3) if index != active][0]
    path = f"/api/v1/chassis/{CHASSIS_ID}/slots/{slot}"
    before = chassis.request(active, path, auth=chassis.admin).json()["slot"]["module"]["serial"]
    reply = chassis.request(active, path, method="PATCH", auth=chassis.admin, json={"affinity": "slot+serial"})
    assert reply.status == 200, reply.text
    document = chassis.request(active, path, auth=chassis.admin).json()["slot"]
    assert document["affinity"] == "slot+serial" and document["approvedSerial"] == before
    assert chassis.request(active, path, method="PATCH", auth=chassis.admin, json={"affinity": "serial"}).status == 400

    def serial_alerts():
        alerts = chassis.request(chassis.active_index(), f"/api/v1/alerts?state=open&slot={slot}", auth=chassis.admin).json()
        return [alert for alert in alerts["alerts"] if alert["metricKey"] == "module.serial"]

    chassis.demo("replace", str(slot), "--serial", "CMR-AFFINITY-1")
    alerts = wait_until(serial_alerts, timeout=20, what="the approval alert")
    assert len(alerts) == 1 and alerts[0]["severity"] == "warning", alerts
    assert "CMR-AFFINITY-1" in alerts[0]["message"] and before in alerts[0]["message"]
    page = chassis.request(active, f"/chassis/{CHASSIS_ID}/slots/{slot}", auth=chassis.admin)
    assert "waits for approval" in page.text and "Approve module CMR-AFFINITY-1" in page.text
    wrong = chassis.request(active, path, method="PATCH", auth=chassis.admin, json={"approve": before})
    assert wrong.status == 409 and "does not hold module" in wrong.text, wrong.text
    reply = chassis.request(active, path, method="PATCH", auth=chassis.admin, json={"approve": "CMR-AFFINITY-1"})
    assert reply.status == 200, reply.text
    wait_until(lambda: not serial_alerts(), timeout=10, what="the approval alert to clear")
    events = chassis.request(active, f"/api/v1/events?kind=module&slot={slot}", auth=chassis.admin).json()["events"]
    kinds = [event["kind"] for event in events]
    assert kinds[:2] == ["module.approved", "module.replaced"], kinds
    audit = chassis.request(active, "/api/v1/audit?action=module.approve", auth=chassis.admin).json()["records"]
    assert audit and json.loads(audit[0]["new"])["approvedSerial"] == "CMR-AFFINITY-1"
    chassis.request(active, path, method="PATCH", auth=chassis.admin, json={"affinity": "slot"})


def test_a_sensor_that_stops_reading_is_one_warning_until_it_reads_again(chassis):
    active = chassis.active_index()
    slot = [index for index in (1, 2, 3) if index != active][-1]
    sensor = "hwmon.coretemp-isa-0000.temp1"

    def fault_alerts():
        alerts = chassis.request(chassis.active_index(), f"/api/v1/alerts?state=open&slot={slot}", auth=chassis.admin).json()
        return [alert for alert in alerts["alerts"] if alert["metricKey"] == "reading:" + sensor]

    chassis.demo("set-sensor", str(slot), sensor, "fault")
    try:
        alerts = wait_until(fault_alerts, timeout=25, what="the sensor's reading alert")
        assert len(alerts) == 1 and alerts[0]["severity"] == "warning", alerts
        assert "stopped reading" in alerts[0]["message"]
    finally:
        chassis.demo("set-sensor", str(slot), sensor, "release", check=False)
    wait_until(lambda: not fault_alerts(), timeout=20, what="the reading alert to clear")


def test_the_replication_policy_keeps_a_group_from_the_members_left_out(chassis):
    """Table I: every group's class, mode, interval and members. The system group (uptime: a new
    value every second) kept to the active manager alone stops reaching the standbys (their stores
    stop moving for it while the CPU's go on) and flows again once the group goes to all. (Values
    that do not change are not sent again until the 30 s refresh, so the test watches one that does.)"""
    import sqlite3
    active = chassis.active_index()
    standby, other = [index for index in (1, 2, 3) if index != active]
    document = chassis.request(active, "/api/v1/replication", auth=chassis.admin).json()["groups"]
    rows = {row["group"]: row for row in document}
    assert rows["sensors"]["metricClass"] == "health" and rows["identification"]["mode"] == "static"
    assert all(row["replicatedTo"] == "all" for row in document), document
    refused = chassis.request(active, "/api/v1/replication", method="PATCH", auth=chassis.admin, json={"network": ["nobody"]})
    assert refused.status == 400 and "not a member of the chassis: nobody" in refused.text, refused.text

    def latest(index, slot, prefix):
        """When blade `index` last recorded a value of `slot`'s metrics starting with `prefix`."""
        state = chassis.state()
        runtime = state["blades"][index - 1]["runtimeDirectory"]
        connection = sqlite3.connect(f"file:{runtime}/metrics.db?mode=ro", uri=True)
        try:
            row = connection.execute(
                "SELECT max(v.sampled_at) FROM metrics m JOIN current_values v ON v.metric_id = m.id WHERE m.slot_id = ? AND m.key LIKE ?",
                (slot, prefix + "%")).fetchone()
        finally:
            connection.close()
        return row[0] or 0

    reply = chassis.request(active, "/api/v1/replication", method="PATCH", auth=chassis.admin,
                            json={"system": [f"blade{active}"]})
    assert reply.status == 200, reply.text
    assert {row["group"]: row for row in reply.json()["groups"]}["system"]["replicatedTo"] == [f"blade{active}"]
    time.sleep(2)
    system_before, cpu_before = latest(standby, other, "system."), latest(standby, other, "cpu.")
    time.sleep(6)
    assert latest(standby, other, "cpu.") > cpu_before, "the other groups still flow"
    assert latest(standby, other, "system.") == system_before, "system values reached a member left out"
    assert latest(active, other, "system.") > system_before, "the member kept in still gets them"
    reply = chassis.request(active, "/api/v1/replication", method="PATCH", auth=chassis.admin, json={"system": "all"})
    assert reply.status == 200, reply.text
    wait_until(lambda: latest(standby, other, "system.") > system_before, timeout=15, what="system values again")
    audit = chassis.request(active, "/api/v1/audit?action=replication.set", auth=chassis.admin).json()["records"]
    assert len(audit) >= 2 and audit[0]["actor"] == "admin"


def test_an_operator_at_a_blades_console_changes_what_the_browser_changes(chassis):
    active = chassis.active_index()

    def console(*arguments, check=True):
        return ctl(*arguments, "--blade", str(active), "--demo-dir", chassis.directory, check=check)

    console("chassis", "--name", "Console chassis", "--rack", "R7")
    document = chassis.request(active, "/api/v1/chassis", auth=chassis.admin).json()["chassis"]
    assert document["name"] == "Console chassis" and document["rack"] == "R7"
    console("slot", "3", "--name", "db-primary", "--function", "database")
    slot = chassis.request(active, f"/api/v1/chassis/{CHASSIS_ID}/slots/3", auth=chassis.admin).json()["slot"]
    assert slot["name"] == "db-primary" and slot["moduleType"]["function"] == "database"
    console("interval", "memory", "2500")
    intervals = {row["group"]: row for row in chassis.request(active, "/api/v1/intervals", auth=chassis.admin).json()["intervals"]}
    assert intervals["memory"]["intervalMs"] == 2500
    assert "memory\tperformance\tdynamic\tall" in console("replication").stdout
    refused = console("interval", "memory", "5", check=False)
    assert refused.returncode != 0 and "interval" in refused.stderr, refused.stderr
    console("threshold", "console.test.key", "--scope", "slot:3", "--high-warning", "7")
    assert "slot:3\tconsole.test.key\t-\t-\t7.0\t-" in console("thresholds").stdout
    alerts = json.loads(console("alerts", "--state", "all", "--json").stdout)
    blade_alert = next(alert for alert in alerts if alert["metricKey"] == "blade.reporting")  # the dead-blade test's
    console("ack", str(blade_alert["id"]), "--comment", "console note", "--for", "30")
    acked = [a for a in chassis.request(active, "/api/v1/alerts?state=all", auth=chassis.admin).json()["alerts"]
             if a["id"] == blade_alert["id"]]
    assert acked and acked[0].get("acknowledgedComment") == "console note" and acked[0].get("acknowledgedUntil"), acked
    events = json.loads(console("events", "--kind", "alert", "--json").stdout)
    assert any(event["kind"] == "alert.raised" and event.get("alertID") == blade_alert["id"] for event in events)
    console("maintenance", "add", "--slot", "2", "--minutes", "30", "--reason", "console window")
    listed = json.loads(console("maintenance", "list", "--json").stdout)
    window = next(w for w in listed if w["reason"] == "console window")
    assert window["slotID"] == 2 and 1790 <= window["endsAt"] - window["startsAt"] <= 1800
    console("maintenance", "remove", str(window["id"]))
    assert not any(w["reason"] == "console window" for w in json.loads(console("maintenance", "list", "--json").stdout))
    assert console("notify", "show").stdout.strip() == "{}", "no targets are set on this chassis"
    audit = chassis.request(active, "/api/v1/audit?action=chassis.set", auth=chassis.admin).json()["records"]
    assert audit and audit[0]["via"] == "chassisctl"
    target = [f"blade{index}" for index in (1, 2, 3) if index != active][0]
    console("handover", target)
    assert f"blade{chassis.active_index(timeout=10)}" == target


def test_a_lost_quorum_is_an_event_once_the_chassis_has_an_active_manager_again(chassis):
    active = chassis.active_index()
    if active != 1:  # the most preferred blade (lowest address) is the one likely to win again
        reply = chassis.request(active, "/api/v1/cluster/handover", method="POST", auth=chassis.admin, json={"to": "blade1"})
        assert reply.status == 200, reply.text
        wait_until(lambda: chassis.active_index() == 1, timeout=10, what="blade1 active")
    chassis.demo("pause", "2")
    chassis.demo("pause", "3")
    try:
        wait_until(lambda: chassis.health(1) != 200, timeout=10, what="blade1 to lose its majority")
        time.sleep(3)
    finally:
        chassis.demo("resume", "2", check=False)
        chassis.demo("resume", "3", check=False)

    def lost():
        index = chassis.active_index(timeout=15)
        events = chassis.request(index, "/api/v1/events?kind=cluster", auth=chassis.admin).json()["events"]
        return [event for event in events if event["kind"] == "cluster.quorum-lost"]
    events = wait_until(lost, timeout=30, what="the quorum-lost event")
    assert events[0]["severity"] == "warning" and "no majority" in events[0]["message"], events


def test_the_settings_and_slot_editors_in_a_browser(chassis):
    """Chromium as an operator: the chassis' name, an interval and the replication policy on the
    Settings page, and a slot's name and affinity on its module page; a viewer sees no form."""
    from selenium.webdriver.support.ui import Select
    active = chassis.active_index()
    operator_password = add_user(chassis, "editors-operator", "operator")
    viewer_password = add_user(chassis, "editors-viewer", "viewer")
    with chromium(chassis.ca) as browser:
        browser_login(browser, chassis.origin(active) + "/settings", "editors-operator", operator_password)
        name = browser.find_element("css selector", "form.stack-form input[name=name]")
        name.clear()
        name.send_keys("Browser chassis")
        name.find_element("xpath", "./ancestor::form").find_element("css selector", "button[type=submit]").click()
        wait_until(lambda: "Chassis name and location saved." in browser.find_element("css selector", "main").text, timeout=10,
                   what="the chassis saved")
        disk = browser.find_element("css selector", "input[name=disk]")
        disk.clear()
        disk.send_keys("7000")
        disk.find_element("xpath", "./ancestor::form").find_element("css selector", "button[type=submit]").click()
        wait_until(lambda: "Intervals saved: disk." in browser.find_element("css selector", "main").text, timeout=10,
                   what="the interval saved")
        keep = f"blade{active}"
        for box in browser.find_elements("css selector", "#replication tr[data-group=system] input[type=checkbox]"):
            if (box.get_attribute("name") == f"to.system.{keep}") != box.is_selected():
                box.click()
        browser.find_element("css selector", "#replication button[type=submit]").click()
        wait_until(lambda: "Replication saved: system." in browser.find_element("css selector", "main").text, timeout=10,
                   what="the replication saved")
        browser.get(chassis.origin(active) + f"/chassis/{CHASSIS_ID}/slots/2")
        browser.find_element("css selector", "details.slot-edit summary").click()
        form = browser.find_element("css selector", "form[data-slot-form]")
        form.find_element("name", "name").clear()
        form.find_element("name", "name").send_keys("web-02")
        Select(form.find_element("name", "affinity")).select_by_value("slot+serial")
        form.find_element("css selector", "button[type=submit]").click()
        wait_until(lambda: "Slot 2 saved." in browser.find_element("css selector", "main").text, timeout=10, what="the slot saved")
        severe = [entry for entry in browser.get_log("browser") if entry.get("level") == "SEVERE"]
        assert not severe, severe
    assert chassis.request(active, "/api/v1/chassis", auth=chassis.admin).json()["chassis"]["name"] == "Browser chassis"
    rows = {row["group"]: row for row in chassis.request(active, "/api/v1/replication", auth=chassis.admin).json()["groups"]}
    assert rows["disk"]["intervalMs"] == 7000 and rows["system"]["replicatedTo"] == [f"blade{active}"], rows
    slot = chassis.request(active, f"/api/v1/chassis/{CHASSIS_ID}/slots/2", auth=chassis.admin).json()["slot"]
    assert slot["name"] == "web-02" and slot["affinity"] == "slot+serial"
    with chromium(chassis.ca) as browser:
        browser_login(browser, chassis.origin(active) + "/settings", "editors-viewer", viewer_password)
        assert not browser.find_elements("css selector", "#replication button") and not browser.find_elements("name", "reason")
        assert all(not box.is_enabled() for box in browser.find_elements("css selector", "#replication input[type=checkbox]"))
        browser.get(chassis.origin(active) + f"/chassis/{CHASSIS_ID}/slots/2")
        assert not browser.find_elements("css selector", "form[data-slot-form]")
    # Back to the defaults for the tests after this one.
    chassis.request(active, "/api/v1/replication", method="PATCH", auth=chassis.admin, json={"system": "all"})
    chassis.request(active, f"/api/v1/chassis/{CHASSIS_ID}/slots/2", method="PATCH", auth=chassis.admin, json={"affinity": "slot"})
