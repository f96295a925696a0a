"""Power and identify of every slot, against a real 4-blade demo chassis over HTTPS.

The demo's `power_command` is the simulated midplane (`chassisctl demo midplane`): a power-off
kills the blade's engine, web app and nginx, a power-on starts them again. The midplane writes
`begin`/`end` lines to `midplane.log` in the demo directory, so a test can count how many times an
action ran, and sleeps for `midplane-delay` seconds first when that file exists, so that a test can
kill the active manager while a command runs.

- Each action through the API, seen in `/api/v1/chassis`, on the module page and on the front view;
  the time from the request to the slot shown off and on again is printed (README figures).
- A blade an operator powered off raises no "blade reporting" alert and does not make the chassis
  critical.
- A customer and a viewer are refused, and nothing is recorded.
- The active manager's own slot: refused without a hand-over; with one, the next active manager
  carries it out.
- A cycle started by an active manager that is SIGKILLed before it reports is never run twice;
  an "off" asked just before such a death still ends with the blade off.

Uses its own demo (HTTP 19590, HTTPS 19553, peer port 7590).
"""
import os
import re
import time

import pytest

from conftest import CHASSIS_ID, browser_login, chromium, ctl, demo_chassis, wait_until

PORT = 19590
TLS_PORT = 19553
PEER_PORT = 7590


@pytest.fixture(scope="module")
def chassis():
    with demo_chassis(4, PORT, TLS_PORT, PEER_PORT, name="chassis-power") as chassis:
        yield chassis


def slot_document(chassis, slot, auth=None, index=None):
    index = index or chassis.active_index()
    reply = chassis.request(index, f"/api/v1/chassis/{CHASSIS_ID}/slots/{slot}", auth=auth or chassis.admin)
    assert reply.status == 200, reply.text
    return reply.json()["slot"]


def power_of(chassis, slot):
    return slot_document(chassis, slot).get("power") or {}


def ask(chassis, slot, action, auth=None, hand_over=None, index=None):
    body = {"action": action}
    if hand_over is not None:
        body["handOver"] = hand_over
    index = index or chassis.active_index()
    return chassis.request(index, f"/api/v1/chassis/{CHASSIS_ID}/slots/{slot}/power", method="POST",
                           auth=auth or chassis.admin, json=body)


def finished(chassis, slot, action_id, timeout=60):
    """Waits until action `action_id` of `slot` is finished; returns its record."""
    def done():
        try:
            last = power_of(chassis, slot).get("last")
        except (OSError, AssertionError):
            return None
        return last if last and last["id"] >= action_id else None
    return wait_until(done, timeout=timeout, interval=0.2, what=f"power action {action_id} on slot {slot} to finish")


def processes_alive(chassis, index):
    blade = next(b for b in chassis.state()["blades"] if b["index"] == index)
    alive = []
    for name in ("engine", "web", "nginx"):
        pid = blade[name]
        try:
            with open(f"/proc/{pid}/stat") as handle:
                alive.append(handle.read().split(")")[-1].split()[0] != "Z")
        except OSError:
            alive.append(False)
    return alive


def journal(chassis):
    path = os.path.join(chassis.directory, "midplane.log")
    if not os.path.exists(path):
        return []
    with open(path) as handle:
        return [line.split()[1:] for line in handle if line.strip()]


def add_user(chassis, name, role, slots=None):
    password = f"{name}-password-{int(time.time() * 1000)}"
    body = {"name": name, "role": role, "password": password}
    if slots:
        body["slots"] = slots
    reply = chassis.request(chassis.active_index(), "/api/v1/users", method="POST", auth=chassis.admin, json=body)
    assert reply.status == 201, reply.text
    return password


def target_slot(chassis):
    """The highest slot whose blade is not the active manager."""
    active = chassis.active_index()
    return max(index for index in range(1, chassis.blades + 1) if index != active)


def test_each_action_is_carried_out_and_shown(chassis):
    slot = target_slot(chassis)
    figures = {}

    started = time.monotonic()
    reply = ask(chassis, slot, "off")
    assert reply.status == 202, reply.text
    action_id = reply.json()["id"]
    wait_until(lambda: slot_document(chassis, slot)["status"] == "off", timeout=30, what=f"slot {slot} shown off")
    figures["off"] = time.monotonic() - started
    record = finished(chassis, slot, action_id)
    assert record["state"] == "succeeded" and record["action"] == "off", record
    assert not any(processes_alive(chassis, slot)), "a powered-off blade's processes still run"
    power = power_of(chassis, slot)
    assert power["powered"] is False and power["changedBy"] == "admin"
    page = chassis.request(chassis.active_index(), f"/chassis/{CHASSIS_ID}/slots/{slot}", auth=chassis.admin).text
    assert re.search(r"Off \(by admin at [^)]+\)", page), "the module page does not say who powered the slot off"
    overview = chassis.request(chassis.active_index(), "/", auth=chassis.admin).text
    assert re.search(rf'class="slot status-off[^"]*" href="/chassis/{CHASSIS_ID}/slots/{slot}"', overview)

    # The silence of a blade powered off is not a failure: no alert past the down timeout (3 s).
    time.sleep(6)
    alerts = chassis.request(chassis.active_index(), "/api/v1/alerts", auth=chassis.admin).json()["alerts"]
    assert not [a for a in alerts if a["metricKey"] == "blade.reporting" and a.get("slotID") == slot], alerts
    document = chassis.request(chassis.active_index(), "/api/v1/chassis", auth=chassis.admin).json()
    assert document["chassis"]["status"] != "critical", document["chassis"]

    started = time.monotonic()
    asked_at = time.time()
    reply = ask(chassis, slot, "on")
    assert reply.status == 202, reply.text
    wait_until(lambda: slot_document(chassis, slot)["status"] not in ("off", "down", "unknown")
               and all(processes_alive(chassis, slot)), timeout=60, what=f"slot {slot} shown on again")
    figures["on"] = time.monotonic() - started
    # Until the blade itself reports again (its engine started and sent its first batch).
    wait_until(lambda: (slot_document(chassis, slot).get("lastReportAt") or 0) > asked_at, timeout=60,
               interval=0.05, what=f"slot {slot} reporting again")
    figures["on, reporting"] = time.monotonic() - started
    record = finished(chassis, slot, reply.json()["id"])
    assert record["state"] == "succeeded", (record["state"], record["output"])
    assert power_of(chassis, slot)["powered"] is True

    for action in ("cycle", "reset", "shutdown", "on"):
        engine_before = next(b for b in chassis.state()["blades"] if b["index"] == slot)["engine"]
        started = time.monotonic()
        reply = ask(chassis, slot, action)
        assert reply.status == 202, (action, reply.text)
        record = finished(chassis, slot, reply.json()["id"])
        figures[action] = time.monotonic() - started
        assert record["state"] == "succeeded", (record["state"], record["output"])
        engine_after = next(b for b in chassis.state()["blades"] if b["index"] == slot)["engine"]
        if action in ("cycle", "reset"):
            assert engine_after != engine_before, f"a {action} did not restart the blade"
            assert all(processes_alive(chassis, slot))
        if action == "shutdown":
            assert not any(processes_alive(chassis, slot))
            assert slot_document(chassis, slot)["status"] == "off"
    wait_until(lambda: slot_document(chassis, slot)["status"] not in ("off", "down", "unknown"), timeout=30,
               what=f"slot {slot} reporting after the last power-on")

    reply = ask(chassis, slot, "identify-on")
    assert reply.status == 202, reply.text
    assert finished(chassis, slot, reply.json()["id"])["state"] == "succeeded"
    assert power_of(chassis, slot)["identify"] is True
    overview = chassis.request(chassis.active_index(), "/", auth=chassis.admin).text
    assert re.search(rf'class="slot status-\w+ is-identify" href="/chassis/{CHASSIS_ID}/slots/{slot}"', overview)
    assert os.path.exists(os.path.join(chassis.directory, f"identify-{slot}"))
    reply = ask(chassis, slot, "identify-off")
    assert finished(chassis, slot, reply.json()["id"])["state"] == "succeeded"
    assert power_of(chassis, slot)["identify"] is False

    events = chassis.request(chassis.active_index(), "/api/v1/events?kind=power.succeeded", auth=chassis.admin).json()
    assert len([e for e in events["events"] if e.get("slotID") == slot]) >= 8, events
    audit = chassis.request(chassis.active_index(), "/api/v1/audit?action=power.result", auth=chassis.admin).json()["records"]
    assert any(record["target"] == f"slot {slot} power" and record["actor"] == "admin" for record in audit), audit
    print("\npower figures (request to shown, seconds): "
          + ", ".join(f"{name} {seconds:.2f}" for name, seconds in figures.items()))


def test_bad_requests_are_refused_and_nothing_is_recorded(chassis):
    slot = target_slot(chassis)
    before = power_of(chassis, slot).get("last", {}).get("id", 0)
    assert ask(chassis, slot, "explode").status == 400
    assert ask(chassis, 99, "off").status == 404
    reply = chassis.request(chassis.active_index(), f"/api/v1/chassis/{CHASSIS_ID}/slots/{slot}/power", method="POST",
                            auth=chassis.admin, body="action=off", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert reply.status == 415
    assert ask(chassis, slot, "identify-on", hand_over=True).status == 400
    assert chassis.request(chassis.active_index(), f"/api/v1/chassis/{CHASSIS_ID}/slots/{slot}/power",
                           auth=chassis.admin).status == 405
    assert power_of(chassis, slot).get("last", {}).get("id", 0) == before
    assert not power_of(chassis, slot).get("pending")


def test_a_customer_and_a_viewer_are_refused(chassis):
    viewer = chassis.session("power-viewer", add_user(chassis, "power-viewer", "viewer"))
    customer = chassis.session("customer-a")
    for who in (viewer, customer):
        reply = ask(chassis, 2, "off", auth=who)
        assert reply.status == 403, (who.user, reply.status, reply.text)
        page = chassis.request(chassis.active_index(), f"/chassis/{CHASSIS_ID}/slots/2", method="POST", auth=who,
                               body="action=power&power=off&confirm=yes",
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert page.status == 403, (who.user, page.status)
    assert all(processes_alive(chassis, 2))
    events = chassis.request(chassis.active_index(), "/api/v1/events?kind=power.requested", auth=chassis.admin).json()
    assert not [e for e in events["events"] if e.get("slotID") == 2], events
    # The customer sees its slot's power, not which blade carried an action out nor the output.
    document = slot_document(chassis, 3, auth=customer)
    for record in (document.get("power") or {}).get("pending", []) + [(document.get("power") or {}).get("last") or {}]:
        assert not record.get("startedBy") and not record.get("output")
    # The module page offers operators the buttons and asks before it acts; a viewer gets none.
    assert "data-power-form" not in chassis.request(chassis.active_index(), f"/chassis/{CHASSIS_ID}/slots/2", auth=viewer).text
    page = chassis.request(chassis.active_index(), f"/chassis/{CHASSIS_ID}/slots/2", method="POST", auth=chassis.admin,
                           body="action=power&power=off", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert page.status == 200 and "data-power-confirm" in page.text
    assert re.search(r"Power off slot 2[^?]*module \w+", page.text), "the confirmation does not name the slot and its module"
    assert all(processes_alive(chassis, 2)), "asking for the confirmation powered the slot off"


def test_the_active_managers_own_slot_hands_over_first(chassis):
    active = chassis.active_index()
    reply = ask(chassis, active, "cycle", index=active)
    assert reply.status == 409 and "hand over" in reply.json()["error"], reply.text
    engine_before = next(b for b in chassis.state()["blades"] if b["index"] == active)["engine"]
    reply = ask(chassis, active, "cycle", hand_over=True, index=active)
    assert reply.status == 202, reply.text
    action_id = reply.json()["id"]
    new_active = chassis.active_index(exclude=(active,), timeout=15)
    assert new_active != active
    record = finished(chassis, active, action_id)
    assert record["state"] == "succeeded", (record["state"], record["output"])
    assert record["startedBy"] != f"blade{active}", "the blade cycled itself"
    wait_until(lambda: all(processes_alive(chassis, active)), timeout=30, what=f"blade{active} started again")
    assert next(b for b in chassis.state()["blades"] if b["index"] == active)["engine"] != engine_before


def kill_active_while_the_midplane_waits(chassis, slot, action):
    """Asks `action` on `slot` with the midplane slowed down, SIGKILLs the active manager once the
    command began, and starts that blade again; returns the action's id and the killed blade."""
    delay = os.path.join(chassis.directory, "midplane-delay")
    with open(delay, "w") as handle:
        handle.write("3\n")
    try:
        active = chassis.active_index()
        assert slot != active
        begun = len([line for line in journal(chassis) if line == ["begin", str(slot), action]])
        reply = ask(chassis, slot, action)
        assert reply.status == 202, reply.text
        wait_until(lambda: len([line for line in journal(chassis) if line == ["begin", str(slot), action]]) > begun,
                   timeout=10, what=f"the midplane to begin the {action}")
        chassis.demo("kill", str(active))
    finally:
        os.remove(delay)
    chassis.active_index(exclude=(active,), timeout=15)
    chassis.demo("start", str(active))
    return reply.json()["id"], active


def test_a_cycle_interrupted_by_the_active_managers_death_is_never_run_twice(chassis):
    slot = target_slot(chassis)
    ends = len([line for line in journal(chassis) if line == ["end", str(slot), "cycle"]])
    action_id, _ = kill_active_while_the_midplane_waits(chassis, slot, "cycle")
    record = finished(chassis, slot, action_id)
    assert record["state"] == "interrupted", record
    assert "never run twice" in record["output"], record
    time.sleep(2)
    lines = journal(chassis)
    assert len([line for line in lines if line == ["end", str(slot), "cycle"]]) == ends, \
        "the interrupted cycle was carried out after all"
    assert [line for line in lines if line[1:] == [str(slot), "cycle"]][-1] == ["begin", str(slot), "cycle"], \
        "a second cycle began"
    events = chassis.request(chassis.active_index(), "/api/v1/events?kind=power.interrupted", auth=chassis.admin).json()
    assert any(e.get("slotID") == slot for e in events["events"]), events


def test_an_off_asked_before_the_active_managers_death_still_ends_off(chassis):
    slot = target_slot(chassis)
    action_id, _ = kill_active_while_the_midplane_waits(chassis, slot, "off")
    record = finished(chassis, slot, action_id)
    assert record["state"] == "succeeded", (record["state"], record["output"])
    assert record["attempts"] >= 2, "the off was not run again by the next active manager"
    assert not any(processes_alive(chassis, slot))
    assert slot_document(chassis, slot)["status"] == "off"
    reply = ask(chassis, slot, "on")
    assert finished(chassis, slot, reply.json()["id"])["state"] == "succeeded"


def test_chassisctl_power_and_identify(chassis):
    slot = target_slot(chassis)
    active = chassis.active_index()
    result = ctl("identify", str(slot), "on", "--blade", str(active), "--demo-dir", chassis.directory)
    assert "identify on succeeded" in result.stdout, result.stdout
    result = ctl("power", str(slot), "reset", "--json", "--blade", str(active), "--demo-dir", chassis.directory)
    assert '"state":"succeeded"' in result.stdout, result.stdout
    result = ctl("power", str(slot), "sideways", "--blade", str(active), "--demo-dir", chassis.directory, check=False)
    assert result.returncode != 0 and "on, shutdown, off, cycle or reset" in result.stderr
    result = ctl("power", str(active), "off", "--blade", str(active), "--demo-dir", chassis.directory, check=False)
    assert result.returncode != 0 and "hand over" in result.stderr
    result = ctl("identify", str(slot), "off", "--no-wait", "--blade", str(active), "--demo-dir", chassis.directory)
    action_id = int(re.search(r"asked \(action (\d+)\)", result.stdout).group(1))
    assert finished(chassis, slot, action_id)["state"] == "succeeded"


def test_a_lost_power_supply_redundancy_is_shown_and_alerted(chassis):
    def redundancy():
        document = chassis.request(chassis.active_index(), "/api/v1/chassis", auth=chassis.admin).json()
        return next((m for m in document["chassisMetrics"] if m["descriptor"]["key"] == "chassis.power.redundancy"), None)

    assert wait_until(lambda: (redundancy() or {}).get("value") == 1, timeout=15, what="N+1 held")
    chassis.demo("set-sensor", "0", "chassis.psu2.state", "0")
    try:
        held = wait_until(lambda: (lambda m: m if m and m.get("value") == 0 else None)(redundancy()), timeout=15,
                          what="N+1 shown lost")
        assert held["status"] == "warning", held

        def alert():
            alerts = chassis.request(chassis.active_index(), "/api/v1/alerts", auth=chassis.admin).json()["alerts"]
            return next((a for a in alerts if a["metricKey"] == "chassis.power.redundancy" and a.get("clearedAt") is None), None)
        raised = wait_until(alert, timeout=15, what="the redundancy alert")
        assert raised["severity"] == "warning" and raised.get("slotID") is None, raised
        page = chassis.request(chassis.active_index(), "/", auth=chassis.admin).text
        assert "Power redundancy (N+1)" in page
    finally:
        chassis.demo("set-sensor", "0", "chassis.psu2.state", "release")
    wait_until(lambda: (redundancy() or {}).get("value") == 1, timeout=15, what="N+1 held again")


def test_the_module_page_asks_then_powers_the_slot_off_and_on_in_chromium(chassis):
    """Chromium, as an operator would: the button asks for a confirmation naming the slot and its
    module, the confirmed action is carried out, and the open page shows the slot off (by whom)
    without a reload, then on again. Screenshot: .build/test-artifacts/power/module-off.png."""
    slot = target_slot(chassis)
    active = chassis.active_index()
    url = f"https://{chassis.address(active)}:{chassis.tls_port}/"
    page = f"{url}chassis/{CHASSIS_ID}/slots/{slot}"
    artifacts = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                             ".build", "test-artifacts", "power")
    os.makedirs(artifacts, exist_ok=True)
    serial = slot_document(chassis, slot)["module"]["serial"]
    with chromium(chassis.ca) as browser:
        browser_login(browser, url, "admin", chassis.password("admin"))
        for action, label, shown in (("off", "Power off", "Off (by admin at "), ("on", "Power on", "On")):
            browser.get(page)
            wait_until(lambda: browser.execute_script("return document.readyState") == "complete", timeout=15)
            browser.find_element("xpath", f"//form[@data-power-form]//button[normalize-space()='{label}']").click()
            question = wait_until(lambda: browser.find_elements("css selector", "[data-power-confirm] strong"), timeout=15,
                                  what="the confirmation")[0].text
            assert f"slot {slot}" in question and serial in question, question
            confirm = browser.find_element("css selector", "[data-power-confirm] button[type=submit]")
            confirm.click()
            # The form's answer is a new page: wait for it (the old one may still say "complete").
            wait_until(lambda: browser.execute_script(
                "return document.readyState === 'complete' && !document.querySelector('[data-power-confirm]')"
                " && !!document.querySelector('[data-power-panel] .notice')"), timeout=15, what="the page after the confirmation")
            marker = browser.execute_script("window.__power_marker = Math.random(); return window.__power_marker")
            wait_until(lambda: (browser.execute_script("return document.querySelector('[data-power-state]').textContent")
                                or "").startswith(shown), timeout=60, interval=0.3, what=f"the page to show the slot {action}")
            assert browser.execute_script("return window.__power_marker") == marker, "the page was reloaded, not updated"
            if action == "off":
                browser.save_screenshot(os.path.join(artifacts, "module-off.png"))
    wait_until(lambda: all(processes_alive(chassis, slot)), timeout=30, what=f"blade{slot} running again")


def test_an_action_that_would_take_the_majority_away_waits_for_it(chassis):
    """Accepted while every member was up, an off waits behind another action of its slot; a
    standby dies meanwhile. Run then, the off would leave 2 of 4 members up: it waits, and runs
    once the dead blade is back."""
    active = chassis.active_index()
    others = [index for index in range(1, chassis.blades + 1) if index != active]
    slot, victim = others[-1], others[0]
    if not power_of(chassis, slot).get("powered", True):  # left off by a test before: on first
        reply = ask(chassis, slot, "on")
        assert finished(chassis, slot, reply.json()["id"])["state"] == "succeeded"
    wait_until(lambda: all(processes_alive(chassis, index) for index in range(1, chassis.blades + 1)), timeout=30,
               what="every blade running")
    delay = os.path.join(chassis.directory, "midplane-delay")
    with open(delay, "w") as handle:
        handle.write("3\n")
    try:
        first = ask(chassis, slot, "identify-on")
        assert first.status == 202, first.text
        off = ask(chassis, slot, "off")
        assert off.status == 202, off.text
        chassis.demo("kill", str(victim))
    finally:
        os.remove(delay)
    assert finished(chassis, slot, first.json()["id"])["state"] == "succeeded"
    # Blade `victim` is down: the off is held back, not run.
    time.sleep(4)
    pending = power_of(chassis, slot).get("pending", [])
    assert [record["id"] for record in pending] == [off.json()["id"]], pending
    assert pending[0]["state"] == "requested"
    assert all(processes_alive(chassis, slot)), "the off ran without a majority to spare"
    chassis.demo("start", str(victim))
    record = finished(chassis, slot, off.json()["id"])
    assert record["state"] == "succeeded", record
    assert not any(processes_alive(chassis, slot))
    reply = ask(chassis, slot, "on")
    assert finished(chassis, slot, reply.json()["id"])["state"] == "succeeded"
    ask(chassis, slot, "identify-off")
