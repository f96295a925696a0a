"""The edges a stranger can reach, against a real 3-blade chassis (issue 11):

- The peer port: 300 connections to the active manager's peer port, from a member's own address
  (so they pass the address check) and from an address that is no member's, sending junk, half
  frames, a header announcing a megabyte, or nothing. The chassis keeps its active manager
  throughout (no new term, /health/active 200 at every poll), the engine counts and closes them,
  and its memory stays bounded.

Uses its own demo (HTTP 19380, HTTPS 19343, peer port 7993).
"""
import os
import socket
import struct
import threading
import time

import pytest

from conftest import demo_chassis, wait_until

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
