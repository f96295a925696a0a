"""The edges a stranger can reach, against a real 3-blade chassis (issue 11):

- The peer port: 300 connections to the active manager's peer port, from a member's own address
  (so they pass the address check) and from an address that is no member's, sending junk, half
  frames, a header announcing a megabyte, or nothing. The chassis keeps its active manager
  throughout (no new term, /health/active 200 at every poll), the engine counts and closes them,
  and its memory stays bounded.
- The configuration at its bound: one more rule refused, compaction and failover unchanged.
- nginx and the FastCGI socket: a slowloris of 500 sockets and FastCGI clients trickling a
  request head or body a byte a second, while /api/v1/chassis keeps answering.

Uses its own demo (HTTP 19380, HTTPS 19343, peer port 7993).
"""
import os
import socket
import ssl
import struct
import threading
import time

import pytest

from conftest import demo_chassis, tls_context, wait_until

PORT = 19380
TLS_PORT = 19343
PEER_PORT = 7993


@pytest.fixture(scope="module")
def chassis():
    with demo_chassis(3, PORT, TLS_PORT, PEER_PORT, name="chassis-edges") as chassis:
        yield chassis


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def frame_header(payload_bytes):
    """The start of a peer frame: magic, version, kind (data), a sender, a nonce, a sequence and the length."""
    sender = b"blade2"
    return (b"CM" + bytes([1, 2, len(sender)]) + sender + bytes(16) + struct.pack(">Q", 1)
            + struct.pack(">I", payload_bytes))


def test_three_hundred_hostile_peer_connections_leave_the_active_manager_in_place(chassis):
    active = chassis.active_index()
    address = chassis.address(active)
    member = chassis.address(1 if active != 1 else 2)
    engine = chassis.state()["blades"][active - 1]["engine"]
    term = chassis.request(active, "/api/v1/cluster", auth=chassis.admin).json()["term"]
    rss_before = rss_kib(engine)

    lost = []
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            if chassis.health(active, timeout=1.0) != 200:
                lost.append(time.time())
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    sockets = []
    try:
        for index in range(300):
            source = member if index % 3 else "127.0.0.1"
            connection = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            connection.settimeout(2)
            try:
                connection.bind((source, 0))
                connection.connect((address, PEER_PORT))
                kind = index % 4
                if kind == 0:
                    connection.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 4)
                elif kind == 1:
                    connection.sendall(frame_header(40)[:20])  # half a header, then silence
                elif kind == 2:
                    connection.sendall(frame_header(1 << 20) + bytes(4096))  # a megabyte announced before any MAC
                # kind 3: nothing at all
            except OSError:
                pass  # refused or reset at once: what the limits are for
            sockets.append(connection)
        time.sleep(5)  # past the deadline to authenticate
    finally:
        for connection in sockets:
            connection.close()
        stop.set()
        watcher.join(timeout=5)

    assert not lost, f"the active manager stopped answering during the flood, at {lost[:3]}"
    cluster = chassis.request(active, "/api/v1/cluster", auth=chassis.admin).json()
    assert cluster["term"] == term, "a new election happened"
    assert chassis.active_index() == active
    metrics = chassis.request(active, "/metrics", auth=chassis.admin).text

    def counter(name, reason):
        for line in metrics.splitlines():
            if line.startswith(name + "{") and f'reason="{reason}"' in line:
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    def closed_count():
        refused = sum(counter("chassis_peer_connections_refused_total", reason) for reason in ("address", "cap", "unauthenticated"))
        dropped = counter("chassis_peer_frames_dropped_total", "oversized") + counter("chassis_peer_frames_dropped_total", "malformed")
        return refused + dropped

    def counted():
        # The engine records its counters every 5 s: wait for them to catch up with every connection.
        nonlocal metrics
        metrics = chassis.request(active, "/metrics", auth=chassis.admin).text
        return closed_count() >= 295
    try:
        wait_until(counted, timeout=20, interval=1, what="every hostile connection counted in /metrics")
    except AssertionError:
        raise AssertionError(f"{closed_count()} of 300 counted:\n" + "\n".join(
            line for line in metrics.splitlines() if line.startswith("chassis_peer_")))
    assert counter("chassis_peer_connections_refused_total", "address") >= 95, "a stranger's connection got past the address check"
    assert rss_kib(engine) - rss_before < 16 * 1024, f"the engine grew from {rss_before} KiB to {rss_kib(engine)} KiB"


def test_the_configuration_at_its_bound_refuses_one_more_rule_and_still_compacts_and_fails_over(chassis):
    """ThresholdRule.countMax rules: one more is refused with a clear error and nothing changes;
    the log still compacts (snapshots hold it all) and a SIGKILL of the active manager leaves the
    same rules on its successor."""
    active = chassis.active_index()
    token = chassis.token()
    existing = len(chassis.request(active, "/api/v1/thresholds", auth=token).json()["thresholds"])
    bound = 1000
    for index in range(bound - existing):
        reply = chassis.request(active, "/api/v1/thresholds", method="PUT", auth=token,
                                json={"scope": {"slot": 1 + index % 3}, "metricKey": f"bound.test.{index}",
                                      "limits": {"highWarning": 1, "highCritical": 2}})
        assert reply.status in (200, 201), f"rule {index}: {reply.status} {reply.text}"
    refused = chassis.request(active, "/api/v1/thresholds", method="PUT", auth=token,
                              json={"scope": "global", "metricKey": "one.too.many", "limits": {"highWarning": 1}})
    assert refused.status == 409 and "at most 1000 threshold rules" in refused.text, refused.text
    replaced = chassis.request(active, "/api/v1/thresholds", method="PUT", auth=token,
                               json={"scope": {"slot": 1}, "metricKey": "bound.test.0", "limits": {"highWarning": 5}})
    assert replaced.status in (200, 201), "changing an existing rule at the bound is fine"
    rules = chassis.request(active, "/api/v1/thresholds", auth=token).json()["thresholds"]
    assert len(rules) == bound and not any(rule["metricKey"] == "one.too.many" for rule in rules)
    log = chassis.log(active)
    assert "cannot compact the log" not in log, "a snapshot could not hold the configuration"
    chassis.demo("kill", str(active))
    try:
        successor = chassis.active_index(timeout=15, exclude=(active,))
        assert len(chassis.request(successor, "/api/v1/thresholds", auth=token).json()["thresholds"]) == bound
    finally:
        chassis.demo("start", str(active))


def cpu_seconds(pid):
    """User and system time of a process so far, in seconds."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def fastcgi_record(kind, content=b""):
    return bytes([1, kind, 0, 1, len(content) >> 8, len(content) & 0xFF, 0, 0]) + content


def fastcgi_params(pairs):
    encoded = b""
    for name, value in pairs:
        encoded += bytes([len(name), len(value)]) + name + value
    return encoded


def test_a_slowloris_of_500_sockets_and_trickling_fastcgi_clients_leave_the_api_answering(chassis):
    """500 sockets hold nginx with request heads that never end (a header line every 2 s), while
    four FastCGI clients send a request head a byte a second and four more send a whole head and
    then its body a byte a second (each byte within the old per-read timeout of 5 s: before the
    whole request had one deadline, those four pinned every worker). /api/v1/chassis keeps
    answering throughout; nginx drops the slowloris at its header deadline; the app drops the
    trickling requests at theirs (5 s); and its slow lane sleeps while it waits (it does not
    spin on bytes that are there but not yet a request)."""
    active = chassis.active_index()
    address = chassis.address(active)
    blade = chassis.state()["blades"][active - 1]
    web_socket = os.path.join(blade["runtimeDirectory"], "web.sock")
    token = chassis.token(label="slowloris test")
    context = tls_context(chassis.ca)

    slow = []
    for index in range(500):
        raw = socket.create_connection((address, TLS_PORT if index % 2 else PORT), timeout=5,
                                       source_address=("127.0.0.77", 0))
        connection = context.wrap_socket(raw, server_hostname=address) if index % 2 else raw
        connection.sendall(b"GET /api/v1/chassis HTTP/1.1\r\nHost: " + address.encode() + b"\r\n")
        slow.append(connection)

    def unix_connection():
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.connect(web_socket)
        return connection

    body = b'{"thresholds": []}' + b" " * 30
    head = (fastcgi_record(1, bytes([0, 1, 1, 0, 0, 0, 0, 0]))
            + fastcgi_record(4, fastcgi_params([(b"REQUEST_METHOD", b"PUT"), (b"REQUEST_URI", b"/api/v1/thresholds"),
                                                (b"CONTENT_TYPE", b"application/json"),
                                                (b"CONTENT_LENGTH", str(len(body)).encode())]))
            + fastcgi_record(4))
    head_tricklers = [unix_connection() for _ in range(4)]
    body_tricklers = [unix_connection() for _ in range(4)]
    for connection in body_tricklers:
        connection.sendall(head + fastcgi_record(5, body)[:8])  # the STDIN header, then the body slowly

    web_pid = blade["web"]
    cpu_before = cpu_seconds(web_pid)
    started = time.monotonic()
    slowest = 0.0
    answers = 0
    trickle_closed = {}
    slow_open = []
    try:
        second = 0
        while time.monotonic() - started < 14:
            for group, stream in (("head", head_tricklers), ("body", body_tricklers)):
                for number, connection in enumerate(stream):
                    key = (group, number)
                    if key in trickle_closed:
                        continue
                    data = head if group == "head" else body
                    try:
                        connection.send(data[second:second + 1] or b" ")
                    except OSError:
                        trickle_closed[key] = time.monotonic() - started
            if second % 2 == 0:
                for connection in slow:
                    try:
                        connection.sendall(b"X-Slow: %d\r\n" % second)
                    except OSError:
                        pass
            for _ in range(4):
                asked = time.monotonic()
                reply = chassis.request(active, "/api/v1/chassis", auth=token, timeout=5)
                assert reply.status == 200, f"/api/v1/chassis answered {reply.status} under the slowloris"
                slowest = max(slowest, time.monotonic() - asked)
                answers += 1
                time.sleep(0.25 - min(0.25, time.monotonic() - asked))
            second += 1
        elapsed = time.monotonic() - started
        cpu = cpu_seconds(web_pid) - cpu_before
        for connection in slow:
            connection.settimeout(0.05)
            try:
                if connection.recv(64) == b"":
                    continue
            except (socket.timeout, ssl.SSLWantReadError):
                slow_open.append(connection)
            except OSError:
                continue
    finally:
        for connection in slow + head_tricklers + body_tricklers:
            connection.close()

    print(f"slowloris: {answers} answers, slowest {slowest:.3f} s; tricklers closed at {sorted(trickle_closed.values())}; "
          f"{500 - len(slow_open)} of 500 slow sockets closed; chassis-web CPU {cpu:.2f} s in {elapsed:.1f} s")
    assert answers >= 40 and slowest < 2.0, f"{answers} answers, the slowest after {slowest:.2f} s"
    assert len(trickle_closed) == 8, f"trickling FastCGI clients still open after 14 s: {trickle_closed}"
    assert max(trickle_closed.values()) < 9, f"trickling requests were held past their deadline: {trickle_closed}"
    assert len(slow_open) <= 5, f"{len(slow_open)} of 500 slowloris sockets still open after {elapsed:.0f} s"
    # The app's whole CPU time while it answered ~50 requests and watched 8 slow clients: a slow
    # lane polling bytes that are there but not a request yet would have spun one core.
    assert cpu < 0.25 * elapsed, f"chassis-web used {cpu:.1f} s of CPU in {elapsed:.1f} s"
