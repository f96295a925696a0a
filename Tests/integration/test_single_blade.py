"""One blade served for real: engine, SQLite, FastCGI app behind nginx over HTTPS, simulated
hardware read by the real libsensors. The tests log in as the demo's admin (a session cookie,
Origin on writes) and scrape /metrics with an API token, as Prometheus does."""
import gzip
import json
import os
import signal
import socket
import subprocess
import time

import pytest

from conftest import BIN, wait_until


def slot(snapshot, number):
    return next(s for s in snapshot["slots"] if s["slotID"] == number)


def metric(slot_view, key):
    return next((m for m in slot_view["metrics"] if m["descriptor"]["key"] == key), None)


@pytest.fixture(scope="module")
def admin(chassis):
    return chassis.admin


def test_local_view_says_active_and_fresh(chassis, admin):
    local = admin.get(1, "/api/v1/local").json()
    assert local["role"] == "active"
    assert local["leaseValid"] is True
    assert local["address"] == "127.0.1.1"
    assert local["engine"]["stale"] is False
    # The load balancers' check: anonymous, over plain HTTP and over HTTPS.
    assert chassis.http(1, "/health/active").status == 200
    assert chassis.get(1, "/health/active").status == 200


def test_chassis_api_holds_every_kind_of_metric(chassis, admin):
    def ready():
        snapshot = admin.get(1, "/api/v1/chassis").json()
        blade = slot(snapshot, 1)
        return snapshot if blade["module"] and metric(blade, "cpu.total.utilisation") else None

    snapshot = wait_until(ready, what="first samples")
    assert snapshot["chassis"]["chassisID"] == "660007770088"
    assert [s["slotID"] for s in snapshot["slots"]] == [1, 2, 3, 4]
    blade = slot(snapshot, 1)
    keys = {m["descriptor"]["key"] for m in blade["metrics"]}
    # Health from libsensors over the simulated hwmon tree, performance from /proc, identification.
    assert "hwmon.coretemp-isa-0000.temp1" in keys
    assert any(k.startswith("hwmon.") and k.endswith("fan1") for k in keys)
    assert any(k.startswith("memory.") for k in keys)
    assert any(k.startswith("filesystem.") for k in keys)
    assert "load.1m" in keys
    temperature = metric(blade, "hwmon.coretemp-isa-0000.temp1")
    assert temperature["descriptor"]["unit"] == "celsius"
    assert 10 < temperature["value"] < 110
    assert temperature["thresholds"].get("highCritical") is not None, "libsensors' crit limit is the default threshold"
    assert blade["module"]["serial"]


def test_unchanged_data_is_not_resent(chassis, admin):
    first = admin.get(1, "/api/v1/chassis")
    etag = first.headers.get("etag")
    assert etag
    again = admin.get(1, "/api/v1/chassis", headers={"If-None-Match": etag})
    # Values change every second, so either it is unchanged (304) or a new ETag comes with new data.
    assert again.status in (200, 304)
    if again.status == 304:
        assert again.body == b""
    else:
        assert again.headers["etag"] != etag


def test_browsers_get_compressed_documents_and_still_their_304(chassis, admin):
    plain = admin.get(1, "/api/v1/chassis")
    packed = admin.get(1, "/api/v1/chassis", headers={"Accept-Encoding": "gzip"})
    assert packed.status == 200
    assert packed.headers.get("content-encoding") == "gzip"
    assert "accept-encoding" in packed.headers.get("vary", "").lower()
    document = json.loads(gzip.decompress(packed.body))
    assert document["chassis"] == json.loads(plain.body)["chassis"]
    assert len(packed.body) * 4 < len(plain.body), (len(packed.body), len(plain.body))
    # nginx weakens the ETag of what it compresses; the app still matches it. Values change every
    # second, so the tag is fetched and checked a few times until one poll lands within a second.
    for _ in range(5):
        tagged = admin.get(1, "/api/v1/chassis", headers={"Accept-Encoding": "gzip"})
        etag = tagged.headers["etag"]
        assert etag.startswith('W/"')
        again = admin.get(1, "/api/v1/chassis", headers={"Accept-Encoding": "gzip", "If-None-Match": etag})
        if again.status == 304:
            break
    assert again.status == 304, "a weak ETag from a compressed answer never matched"


def test_a_sensor_crossing_its_threshold_raises_and_clears_an_alert(chassis, admin):
    key = "hwmon.coretemp-isa-0000.temp1"
    chassis.demo("set-sensor", "1", key, "101")

    def raised():
        snapshot = admin.get(1, "/api/v1/chassis").json()
        alerts = [a for a in snapshot["alerts"] if a["metricKey"] == key and a.get("clearedAt") is None]
        return alerts[0] if alerts else None

    alert = wait_until(raised, what="critical alert")
    assert alert["severity"] == "critical"
    assert slot(admin.get(1, "/api/v1/chassis").json(), 1)["status"] == "critical"
    # The alert banner is on every page.
    assert "101" in admin.get(1, "/").text or alert["message"][:20] in admin.get(1, "/").text
    chassis.demo("set-sensor", "1", key, "release")

    def cleared():
        snapshot = admin.get(1, "/api/v1/chassis").json()
        return all(a.get("clearedAt") is not None for a in snapshot["alerts"] if a["metricKey"] == key) or None

    wait_until(cleared, timeout=30, what="alert cleared")
    acknowledged = admin.get(1, f"/api/v1/alerts/{alert['id']}/acknowledge", method="POST",
                               body=b"{}", headers={"Content-Type": "application/json"})
    assert acknowledged.status in (200, 204), acknowledged.text


def test_user_threshold_applies(chassis, admin):
    body = json.dumps({"scope": {"slot": 1}, "metricKey": "load.1m", "limits": {"highWarning": 0.0},
                       "hysteresis": 0, "minimumDurationSeconds": 0})
    reply = admin.get(1, "/api/v1/thresholds", method="PUT", body=body, headers={"Content-Type": "application/json"})
    assert reply.status in (200, 201), reply.text
    # A rule that makes no sense is refused and changes nothing.
    bad = json.dumps({"scope": "global", "metricKey": "load.1m", "limits": {"highWarning": 5, "highCritical": 1}})
    refused = admin.get(1, "/api/v1/thresholds", method="PUT", body=bad, headers={"Content-Type": "application/json"})
    assert refused.status == 400, refused.text
    assert "ordered" in refused.text

    def warned():
        blade = slot(admin.get(1, "/api/v1/chassis").json(), 1)
        load = metric(blade, "load.1m")
        return load and load["thresholds"].get("highWarning") == 0.0 and load["status"] == "warning"

    wait_until(warned, what="user threshold in force")


def test_prometheus_exposition(chassis, admin):
    assert chassis.get(1, "/metrics").status == 401, "an anonymous scrape"
    reply = chassis.get(1, "/metrics", auth=chassis.token("admin", "prometheus"))
    assert reply.status == 200, reply.text
    text = reply.text
    assert "# TYPE node_hwmon_temp_celsius gauge" in text
    line = next(l for l in text.splitlines() if l.startswith("node_hwmon_temp_celsius{"))
    assert 'chassis="660007770088"' in line and 'slot="1"' in line
    float(line.rsplit(" ", 1)[1])


def test_bad_input_gets_clear_errors(chassis, admin):
    assert admin.get(1, "/no/such/page").status == 404
    assert admin.get(1, "/api/v1/nothing").status == 404
    assert admin.get(1, "/api/v1/chassis/660007770088/slots/abc").status in (400, 404)
    assert admin.get(1, "/api/v1/chassis/660007770088/slots/1/history?key=%ZZ").status == 400
    big = b"x" * (200 * 1024)
    assert admin.get(1, "/api/v1/thresholds", method="PUT", body=big,
                       headers={"Content-Type": "application/json"}).status == 413
    assert admin.get(1, "/api/v1/thresholds", method="PUT", body=b"{not json",
                       headers={"Content-Type": "application/json"}).status == 400
    assert admin.get(1, "/api/v1/thresholds", method="PUT", body=b"\xff\xfe",
                       headers={"Content-Type": "application/json"}).status == 400
    # Nothing crashed: the blade still answers.
    assert admin.get(1, "/api/v1/local").status == 200


def test_idle_half_sent_and_garbage_fastcgi_connections_hold_no_worker(chassis, admin):
    """chassis-web multiplexes its FastCGI connections: idle ones, ones that sent half a request
    head and ones that sent no FastCGI at all never keep nginx's requests waiting. (With a thread
    per connection, 40 idle connections took every one of the 24 threads.)"""
    web_socket = os.path.join(chassis.state()["blades"][0]["runtimeDirectory"], "web.sock")

    def connect():
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.connect(web_socket)
        connection.settimeout(10)
        return connection

    idle = [connect() for _ in range(40)]
    stalled = [connect() for _ in range(6)]
    for connection in stalled:  # a BEGIN_REQUEST header and 2 of its 8 content bytes
        connection.sendall(bytes([1, 1, 0, 1, 0, 8, 0, 0, 0, 1]))
    garbage = connect()
    garbage.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    try:
        slowest = 0.0
        for _ in range(30):
            started = time.monotonic()
            assert admin.get(1, "/api/v1/local", timeout=10).status == 200
            slowest = max(slowest, time.monotonic() - started)
        assert slowest < 1.0, f"a request waited {slowest:.2f} s behind idle or stalled connections"
        garbage.settimeout(1)
        try:  # closed with its bytes unread: the peer sees a reset rather than an end of file
            ended = garbage.recv(64) == b""
        except ConnectionResetError:
            ended = True
        assert ended, "a connection sending no FastCGI is closed at once"
        # A stalled head is dropped at its deadline (5 s), not held for ever (with its bytes
        # unread, the peer may see a reset).
        try:
            dropped = stalled[0].recv(64) == b""
        except ConnectionResetError:
            dropped = True
        assert dropped
    finally:
        for connection in idle + stalled + [garbage]:
            connection.close()
    assert admin.get(1, "/api/v1/chassis").status == 200


def test_the_fastcgi_socket_is_its_owners_and_a_trickled_head_has_one_deadline(chassis, admin):
    """Only the socket's owner and group may connect (0660), and a request head sent one byte at
    a time, each within the old per-read timeout, is dropped at its one deadline (5 s)."""
    import stat as stat_module
    web_socket = os.path.join(chassis.state()["blades"][0]["runtimeDirectory"], "web.sock")
    mode = stat_module.S_IMODE(os.stat(web_socket).st_mode)
    assert mode == 0o660, oct(mode)
    head = bytes([1, 1, 0, 1, 0, 8, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0]) + bytes([1, 4, 0, 1, 0, 40, 0, 0]) + bytes(40)
    trickles = []
    for _ in range(4):
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.connect(web_socket)
        trickles.append(connection)
    started = time.monotonic()
    closed_at = None
    try:
        for index, byte in enumerate(head):
            for connection in trickles:
                try:
                    connection.send(bytes([byte]))
                except OSError:
                    closed_at = closed_at or time.monotonic() - started
            if closed_at:
                break
            assert admin.get(1, "/api/v1/local", timeout=5).status == 200, "a trickling client held the app"
            time.sleep(1.0)  # each byte well within a per-read timeout of 5 s
    finally:
        for connection in trickles:
            connection.close()
    assert closed_at is not None and closed_at < 9, f"the trickled heads were held for {closed_at} s"


def test_hostile_names_render_as_text(chassis, admin):
    hostile = "<script>alert(1)</script>&\"'"
    reply = admin.get(1, "/api/v1/chassis/660007770088/slots/2", method="PATCH",
                        body=json.dumps({"name": hostile}), headers={"Content-Type": "application/json"})
    assert reply.status in (200, 204), reply.text
    page = wait_until(lambda: (lambda t: t if "&lt;script&gt;" in t else None)(admin.get(1, "/").text),
                      what="renamed slot")
    assert "<script>alert(1)</script>" not in page
    api = admin.get(1, "/api/v1/chassis").json()
    assert slot(api, 2)["name"] == hostile


def test_a_paused_engine_is_reported_stale_and_not_active(chassis, admin):
    engine = chassis.state()["blades"][0]["engine"]
    os.kill(engine, signal.SIGSTOP)
    try:
        wait_until(lambda: chassis.http(1, "/health/active").status == 503, timeout=5, what="lease expiry")
        stale = wait_until(lambda: admin.get(1, "/api/v1/local").json()["engine"]["stale"], timeout=15,
                           what="stale engine")
        assert stale
        page = admin.get(1, "/api/v1/chassis")
        # Without an active manager the page is not served as current.
        assert page.status in (200, 503)
    finally:
        os.kill(engine, signal.SIGCONT)
    wait_until(lambda: chassis.http(1, "/health/active").status == 200, timeout=10, what="recovery")


def test_replacing_a_module_keeps_the_slot(chassis, admin):
    before = slot(admin.get(1, "/api/v1/chassis").json(), 1)["module"]["serial"]
    chassis.demo("replace", "1", "--serial", "CMR-TEST-0001")

    def replaced():
        blade = slot(admin.get(1, "/api/v1/chassis").json(), 1)
        return blade if blade["module"] and blade["module"]["serial"] == "CMR-TEST-0001" else None

    blade = wait_until(replaced, what="new module")
    serials = [m["serial"] for m in blade["history"]]
    assert serials[:2] == ["CMR-TEST-0001", before]
    assert blade["history"][1]["removedAt"] is not None


def test_a_broken_configuration_file_stops_the_engine_with_the_line(tmp_path):
    config = tmp_path / "blade.toml"
    config.write_text('[blade]\nname = "b"\naddress = "127.0.1.300"\n')
    result = subprocess.run([os.path.join(BIN, "chassis-engine"), "--config", str(config)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert f"{config}:3:" in result.stderr
    assert "IPv4" in result.stderr


def test_the_control_socket_knows_its_caller_and_closes_idle_clients(chassis, admin):
    """A request without an actor is audited as the user and process the kernel says sent it
    (SO_PEERCRED), not as anyone it claims; a client that sends nothing is closed."""
    control = os.path.join(chassis.state()["blades"][0]["runtimeDirectory"], "engine.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(5)
        client.connect(control)
        client.sendall(json.dumps({"setInterval": {"group": "disk", "intervalMs": 6000}}).encode() + b"\n")
        reply = json.loads(client.recv(4096).decode())
    assert reply["ok"], reply
    records = admin.get(1, "/api/v1/audit?action=interval.set").json()["records"]
    mine = [record for record in records if record["address"] == f"local pid {os.getpid()}"]
    assert mine and mine[0]["actor"] == ("root" if os.getuid() == 0 else f"uid {os.getuid()}"), records[:2]
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as idle:
        idle.settimeout(15)
        idle.connect(control)
        started = time.monotonic()
        assert idle.recv(64) == b"", "an idle client is closed"
        assert time.monotonic() - started < 12
