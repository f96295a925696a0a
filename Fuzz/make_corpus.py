#!/usr/bin/env python3
"""Writes the seed corpus of each fuzz target into Fuzz/corpus/<target>/: a few small, valid
inputs of each form (binary ones encoded here the way the Swift encoders write them; check a
seed with `SWIFT_BACKTRACE=enable=no FUZZ_VERBOSE=1 .build/fuzz/<target> <seed>`).

Run it again after a wire format changes: python3 Fuzz/make_corpus.py
"""
import hashlib
import hmac
import json
import os
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def write(target, name, data):
    os.makedirs(os.path.join(ROOT, target), exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(ROOT, target, name), "wb") as f:
        f.write(data)


def varint(value):
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def blob(data):
    return varint(len(data)) + data


# --- consensus: Sources/Consensus/WireCodec.swift -------------------------------------------

def membership(members):
    """members: (id, address, witness, priority or None)"""
    out = varint(len(members))
    for member_id, address, witness, priority in members:
        flags = (1 if witness else 0) | (2 if priority is not None else 0)
        out += varint(member_id) + blob(address.encode()) + bytes([flags])
        if priority is not None:
            out += varint(((priority << 1) ^ (priority >> 63)) & 0xFFFFFFFFFFFFFFFF)
    return out


def entry(index, term, kind, data):
    return varint(index) + varint(term) + bytes([kind]) + blob(data)


def snapshot(index, term, members, data):
    return varint(index) + varint(term) + membership(members) + blob(data)


def message(kind, sender, receiver, term, log_index=0, log_term=0, commit=0, send_tick=0, flags=0, entries=(),
            snap=None):
    out = bytes([1, kind]) + varint(sender) + varint(receiver)
    out += varint(term) + varint(log_index) + varint(log_term) + varint(commit) + varint(send_tick)
    out += bytes([flags]) + varint(len(entries)) + b"".join(entries)
    out += b"\x00" if snap is None else b"\x01" + snap
    return out


THREE = [(1, "127.0.1.1", False, None), (2, "127.0.1.2", False, 5), (3, "127.0.1.3", True, -2)]
consensus = {
    "prevote": message(1, 2, 1, 3, log_index=7, log_term=2),
    "vote-transfer": message(3, 2, 1, 4, log_index=7, log_term=2, flags=2),
    "vote-granted": message(4, 1, 2, 4, flags=1),
    "append": message(5, 1, 2, 4, log_index=7, log_term=2, commit=6, send_tick=120, flags=4,
                      entries=[entry(8, 4, 1, b""), entry(9, 4, 0, b'{"control":{"_0":{"ping":{}},"at":1}}'),
                               entry(10, 4, 2, bytes([1]) + membership(THREE))]),
    "append-response": message(6, 2, 1, 4, log_index=10, send_tick=120, flags=1),
    "heartbeat": message(7, 1, 3, 4, log_index=10, commit=9, send_tick=121, flags=4),
    "snapshot": message(9, 1, 2, 4, send_tick=122, snap=snapshot(9, 4, THREE, b"state")),
    "timeout-now": message(10, 1, 2, 4),
    "entry": bytes([1]) + entry(3, 1, 0, b"command"),
    "hardstate": bytes([1]) + varint(5) + b"\x01" + varint(2) + varint(4),
    "membership": bytes([1]) + membership(THREE),
    "stored-snapshot": bytes([1]) + snapshot(12, 3, THREE[:2], b"{}"),
}
for name, data in consensus.items():
    write("consensus", name, data)

# --- metrics: Sources/Model/MetricsBatch+Wire.swift -------------------------------------------


def string(text):
    return blob(text.encode())


def batch(blade, slot, sequence, run, sampled_at, full, values):
    out = bytes([0xB1]) + string(blade) + varint(slot) + varint(sequence) + varint(run)
    out += struct.pack("<d", sampled_at) + bytes([1 if full else 0]) + varint(len(values))
    for key, descriptor, number, text, fault, status in values:
        flags = (1 if descriptor is not None else 0) | (2 if number is not None else 0) \
            | (4 if text is not None else 0) | (8 if fault is not None else 0)
        out += string(key) + bytes([flags, status])
        if descriptor is not None:
            encoded = json.dumps(descriptor, separators=(",", ":")).encode()
            out += varint(len(encoded)) + encoded
        if number is not None:
            out += struct.pack("<d", number)
        if text is not None:
            out += string(text)
        if fault is not None:
            out += string(fault)
    return out


DESCRIPTOR = {"key": "hwmon.coretemp.temp1", "label": "Package id 0", "metricClass": "health", "unit": "celsius",
              "source": "libsensors", "replication": "dynamic", "group": "sensors", "component": "coretemp",
              "prometheusName": "node_hwmon_temp_celsius", "prometheusLabels": {"chip": "coretemp"},
              "limits": {"highWarning": 80, "highCritical": 95}}
write("metrics", "full", batch("blade1", 1, 1, 7, 1795637482.25, True, [
    ("hwmon.coretemp.temp1", DESCRIPTOR, 47.25, None, None, 2),
    ("id.serial", None, None, "CMB72281946", None, 0),
    ("fan1", None, None, None, "read failed: EIO", 1),
]))
write("metrics", "changes", batch("blade2", 2, 40, 7, 1795637483.5, False, [
    ("cpu.total.utilisation", None, 12.5, None, None, 0),
    ("memory.available_bytes", None, 1.5e9, None, None, 3),
]))
write("metrics", "empty", batch("b", 0, 0, 0, 0.0, False, []))
write("metrics", "json", json.dumps({
    "blade": "blade3", "slotID": 3, "sequence": 2, "run": 1, "sampledAt": 1795637484.0, "full": False,
    "values": [{"key": "load.1", "value": 0.5, "status": "ok"},
               {"key": "id.model", "text": "X1", "status": "ok", "descriptor": DESCRIPTOR}]}))

# --- transport: Sources/Transport/PeerFrame.swift -------------------------------------------

KEY = bytes(range(32))  # the cluster key of Fuzz/TransportFrame.swift


def frame(kind, sender, nonce, sequence, payload):
    body = b"CM" + bytes([1, kind, len(sender)]) + sender.encode() + nonce
    body += struct.pack(">Q", sequence) + struct.pack(">I", len(payload)) + payload
    return body + hmac.new(KEY, body, hashlib.sha256).digest()


NONCE = bytes(range(100, 116))
write("transport", "hello", frame(1, "blade2", NONCE, 0, b""))
write("transport", "consensus", frame(2, "blade1", NONCE, 1, b"\x01" + consensus["heartbeat"]))
write("transport", "metrics", frame(2, "blade2", NONCE, 2, b"\x02" + batch("blade2", 2, 40, 7, 1.5, False, [
    ("load.1", None, 0.25, None, None, 0)])))
write("transport", "two-frames", frame(2, "b", NONCE, 1, b"\x01" + consensus["prevote"])
      + frame(2, "b", NONCE, 2, b"\x01" + consensus["vote-granted"]))

# --- control: Sources/Control (Swift's synthesized Codable: {"case":{"label":value, "_0":...}}) ---

ACTOR = {"user": "admin", "role": "admin", "address": "192.0.2.7", "via": "session"}
requests = {
    "ping": {"ping": {}},
    "threshold": {"setThreshold": {"_0": {"id": 0, "scope": {"slot": {"_0": 3}}, "metricKey": "hwmon.coretemp.temp1",
                                          "limits": {"highWarning": 70, "highCritical": 90}, "hysteresis": 2,
                                          "minimumDurationSeconds": 10}}},
    "chassis": {"setChassisInfo": {"name": "chassis 1", "site": "Lab", "rack": "R4"}},
    "slot": {"setSlot": {"slotID": 3, "name": "db1",
                         "moduleType": {"role": "server", "function": "database", "expectedModel": "X1"}}},
    "ack": {"acknowledgeAlert": {"id": 12, "by": "admin", "comment": "known", "until": 1795640000.5}},
    "interval": {"setInterval": {"group": "sensors", "intervalMs": 2000}},
    "handover": {"handOver": {"to": "blade2"}},
    "member": {"addMember": {"name": "blade5", "address": "127.0.1.5", "slot": 5, "port": 7400, "priority": 1,
                             "witness": False}},
    "user": {"addUser": {"name": "ops", "role": "customer", "scope": {"chassisID": "c1", "slots": [1, 2]},
                         "passwordHash": "$scrypt$ln=15,r=8,p=1$c2FsdA$aGFzaA"}},
    "token": {"createToken": {"id": "0123456789abcdef", "user": "ops", "label": "ci",
                              "secretHash": "ab" * 32, "expiresAt": 1800000000}},
    "notifications": {"setNotifications": {"_0": {"alertmanager": [{"url": "http://127.0.0.1:9093"}],
                                                   "syslog": [{"host": "192.0.2.1", "port": 514}]}}},
    "maintenance": {"addMaintenance": {"slotID": 2, "startsAt": 1795637000, "endsAt": 1795640600,
                                       "reason": "firmware", "by": "admin"}},
    "affinity": {"setSlotAffinity": {"slotID": 2, "affinity": "slot+serial"}},
    "replication": {"setReplication": {"group": "cpu", "members": ["blade1", "blade2"]}},
}
for name, request in requests.items():
    write("control", "request-" + name, json.dumps(request) + "\n")
write("control", "envelope", json.dumps({"request": requests["slot"], "actor": ACTOR}) + "\n")
write("control", "command-audited", json.dumps({"audited": {"_0": requests["interval"], "actor": ACTOR, "at": 1795637482.5}}))
write("control", "command-alert", json.dumps({"raiseAlert": {"slotID": 3, "metricKey": "hwmon.coretemp.temp1",
                                                              "metricLabel": "Package", "severity": "critical",
                                                              "message": "95 °C", "value": 95.5, "at": 1795637482}}))
write("control", "command-member", json.dumps({"member": {"name": "blade4", "memberID": 4, "address": "127.0.1.4",
                                                           "port": 7400, "witness": False}}))
write("control", "response", json.dumps({"ok": False, "error": "not the active manager", "code": 503,
                                          "activeAddress": "127.0.1.1"}))

# --- config: Sources/Config (TOML subset, BladeConfig) --------------------------------------

write("config", "minimal.toml", '[blade]\nname = "blade1"\naddress = "127.0.1.1"\nslot = 1\n')
write("config", "chassis.toml", """# two blades
[blade]
name = "blade1"
address = "127.0.1.1"
slot = 1

[chassis]
id = "c1"
name = "Chassis \\"one\\" \\u00e9"
slots = 4

[web]
port = 8080
stale_after_seconds = 2.5

[sampling]
sensors_ms = 2_000

[cluster]
key_file = '/etc/chassis/cluster.key'
down_after_ms = 3000

[access]
names = ["chassis.example.net", "127.0.1.1"]
metrics_anonymous_networks = ["10.0.0.0/8", "127.0.0.1"]

[hooks]
timeout_seconds = 1e1

[[member]]
name = "blade1"
address = "127.0.1.1"
slot = 1

[[member]]
name = "blade2"
address = "127.0.1.2"
priority = -3
witness = false
""")
write("config", "values.toml", 'a = [1, -2, [3.5, "x"], [[true]], \'lit\']\nb.c = "tab\\tnl\\n"  # comment\n[t.u]\nd = 1\n')

# --- web: FastCGI records, request targets -------------------------------------------------


def record(kind, request_id, content, padding=0):
    return bytes([1, kind, request_id >> 8, request_id & 0xFF, len(content) >> 8, len(content) & 0xFF, padding, 0]) \
        + content + bytes(padding)


def params(pairs):
    out = b""
    for name, value in pairs:
        out += bytes([len(name), len(value)]) + name + value
    return out


BEGIN = record(1, 1, bytes([0, 1, 1, 0, 0, 0, 0, 0]))  # role responder, keep the connection
PARAMS = params([(b"REQUEST_METHOD", b"GET"), (b"REQUEST_URI", b"/api/v1/status?x=1&y=%20z"),
                 (b"HTTP_IF_NONE_MATCH", b'W/"0123456789abcdef"')])
write("web", "head-complete", BEGIN + record(4, 1, PARAMS, padding=(8 - len(PARAMS) % 8) % 8) + record(4, 1, b""))
write("web", "head-incomplete", BEGIN + record(4, 1, PARAMS)[:20])
write("web", "head-then-stdin", BEGIN + record(4, 1, b"") + record(5, 1, b"a=1") + record(5, 1, b""))
write("web", "query", "a=1&b=x%20y+z&c=%C3%A9&=&d")
write("web", "cgi", "REQUEST_METHOD=post\nREQUEST_URI=/login?next=%2Fslots\nHTTP_IF_NONE_MATCH=*\n"
      "CONTENT_TYPE=application/x-www-form-urlencoded\nCONTENT_LENGTH=7\n\nuser=ad")
