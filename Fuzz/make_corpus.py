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


# Messages carry their own format version (Sources/Consensus/WireCodec.swift, messageFormatVersion):
# 2 since snapshots travel in chunks. Stored values (entries, hard states, snapshots) stay at 1.
MESSAGE_FORMAT = 2


def message(kind, sender, receiver, term, log_index=0, log_term=0, commit=0, send_tick=0, flags=0, entries=(),
            snap=None):
    out = bytes([MESSAGE_FORMAT, kind]) + varint(sender) + varint(receiver)
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
    "snapshot": message(9, 1, 2, 4, log_term=5, send_tick=122, snap=snapshot(9, 4, THREE, b"state")),
    "snapshot-chunk": message(9, 1, 2, 4, log_index=5, log_term=12, send_tick=123, snap=snapshot(9, 4, THREE, b"chunk")),
    "snapshot-response": message(11, 2, 1, 4, log_index=9, commit=5, send_tick=123, flags=1),
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

# --- http: Fuzz/HTTPInputs.swift (first byte: 0 target, 1 header field, 2 credential, 3 form, 4 JSON) ---

WEB_KEY = bytes(range(100, 132))  # the web key of Fuzz/HTTPInputs.swift


def b64url(data):
    import base64
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signed(body):
    return body + "." + b64url(hmac.new(WEB_KEY, body.encode(), hashlib.sha256).digest())


targets = {
    "history": "/api/v1/chassis/660007770088/slots/1/history?key=cpu.total.utilisation&key=load.1m&seconds=600",
    "alert-log": "/alerts?state=open&severity=critical&since=2026-12-04T10:00:00Z&until=1795637482&limit=50&text=fan%20failed",
    "event-log": "/api/v1/events?slot=2&slot=3&before=12&format=csv&since=2026-12-04+10%3A00",
    "audit": "/audit?actor=admin&action=setThreshold&since=2026-12-04&limit=1000",
    "encoded-segment": "/chassis/abc%2Fdef/slots/3/?tab=%C3%A9",
    "member": "/api/v1/cluster/members/blade%209",
}
for name, target in targets.items():
    write("http", "target-" + name, b"\x00" + target.encode())

SECRET = b64url(bytes(range(32)))
headers = {
    "cookie": "theme=dark; chassis_session=" + signed("s1.0123456789abcdef0123456789abcdef.YWRtaW4.3.1795637482.1795637500")
              + "; lang=en",
    "cookie-spaces": " ;chassis_session = x; chassis_session=y  ;",
    "bearer": "Bearer cm_0123456789abcdef_" + SECRET,
    "host": "Chassis.Example.NET.:8443",
    "host-v6": "[2001:db8::1]:443",
    "return": "/chassis/660007770088/slots/3?tab=history#top",
    "next-login": "/login?next=//evil.example",
    "member": "m1.1800000000." + hmac.new(bytes(range(32)), b"m1.1800000000", hashlib.sha256).hexdigest(),
}
for name, header in headers.items():
    write("http", "header-" + name, b"\x01" + header.encode())

credentials = {
    # As given, with the fuzz web key's MAC: a session and a ticket that decode.
    "session": signed("s1.0123456789abcdef0123456789abcdef.YWRtaW4.3.1795637482.1795637500"),
    "ticket": signed("t1.fedcba9876543210fedcba9876543210.0123456789abcdef0123456789abcdef.b3Bz.1.1795637482.1795637572"),
    # Bodies the entry signs itself.
    "session-body": "s1.00ff.w6lsw6hu.0.0.007",
    "ticket-body": "t1.ab.cd.YWRtaW4.1.2.3",
    "password-hash": "$scrypt$ln=15,r=8,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA",
    "base64": "SGVsbG8sIHdvcmxkIQ==",
}
for name, text in credentials.items():
    write("http", "credential-" + name, b"\x02" + text.encode())
write("http", "credential-fields", b"\x02" + bytes(range(40)) + "ada@example".encode())

forms = {
    "login": "user=admin&password=correct+horse+battery&next=%2Fchassis%2F660007770088%2Fslots%2F3",
    "acknowledge": "by=ops&comment=known+issue%2C+ticket+42&for=3600&return=%2Falerts%3Fstate%3Dopen",
    "notifications": "action=save&targets=%7B%22syslog%22%3A%5B%7B%22host%22%3A%22192.0.2.1%22%7D%5D%7D",
    "repeated": "a=1&a=2&=&b&c=%E2%82%AC",
}
for name, form in forms.items():
    write("http", "form-" + name, b"\x03" + form.encode())

json_bodies = [  # in the order of Fuzz/HTTPInputs.swift's jsonTypes
    ("threshold", {"scope": {"slot": 3}, "metricKey": "hwmon.coretemp-isa-0000.temp1",
                   "limits": {"highWarning": 80, "highCritical": 95.5}, "hysteresis": 2, "minimumDurationSeconds": 10}),
    ("slot", {"name": "db1", "moduleType": {"role": "server", "function": "database", "expectedModel": "X1"},
              "affinity": "slot+serial", "approve": "CMB72281946"}),
    ("acknowledge", {"by": "ops", "comment": "known", "forSeconds": 3600}),
    ("login", {"user": "admin", "password": "correct horse battery"}),
    ("maintenance", {"slot": 2, "startsAt": 1795637000, "durationSeconds": 3600, "reason": "firmware"}),
    ("handover", {"to": "blade2"}),
    ("member", {"name": "blade5", "address": "127.0.1.5", "slot": 5, "port": 7400, "priority": -1, "witness": False}),
    ("intervals", {"cpu": 500, "sensors": 2000}),
    ("chassis", {"name": "Chassis 1", "site": "Lab", "row": "3", "rack": "R4", "shelf": "2"}),
    ("replication", {"network": ["blade1", "blade2"], "disk": "all"}),
    ("user", {"name": "cust", "role": "customer", "password": "long enough", "slots": [1, 2], "chassis": "660007770088"}),
    ("user-change", {"role": "viewer", "password": "another one"}),
    ("token", {"user": "ops", "label": "ci", "expiresInDays": 30}),
    ("unlock", {"user": "ops", "address": "192.0.2.7"}),
    ("notifications", {"alertmanager": [{"url": "http://127.0.0.1:9093"}],
                       "syslog": [{"host": "192.0.2.1", "port": 514, "transport": "udp"}],
                       "email": [{"server": "mail.example", "port": 587, "from": "cm@example", "to": ["ops@example"]}],
                       "hooks": [{"command": "/usr/local/bin/page"}]}),
]
for index, (name, body) in enumerate(json_bodies):
    write("http", "json-" + name, bytes([4, index]) + json.dumps(body).encode())
write("http", "json-threshold-global", bytes([4, 0]) + b'{"scope":"global","metricKey":"hwmon.*","limits":{"lowCritical":-1e3}}')

# --- collectors: Fuzz/Collectors.swift (first byte: the format), from the Metrics tests' fixtures ---

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "Tests", "MetricsTests", "Fixtures")


def fixture(name):
    with open(os.path.join(FIXTURES, name), "rb") as f:
        return f.read()


write("collectors", "proc-stat", b"\x00" + fixture("proc_stat_1.txt") + b"\x00" + fixture("proc_stat_2.txt"))
write("collectors", "proc-stat-garbage", b"\x00" + fixture("proc_stat_garbage.txt"))
write("collectors", "proc-stat-truncated", b"\x00" + fixture("proc_stat_truncated.txt"))
write("collectors", "meminfo", b"\x01" + fixture("meminfo.txt"))
write("collectors", "meminfo-garbage", b"\x01" + fixture("meminfo_garbage.txt"))
write("collectors", "net-dev", b"\x02" + fixture("net_dev.txt") + b"\x00" + fixture("net_dev_packed.txt"))
write("collectors", "diskstats", b"\x03" + fixture("diskstats.txt") + b"\x00" + fixture("diskstats.txt").replace(b" 0 ", b" 9 "))
write("collectors", "loadavg", b"\x04" + fixture("loadavg.txt"))
write("collectors", "uptime", b"\x05" + fixture("uptime.txt"))
write("collectors", "mounts", b"\x06" + fixture("mounts.txt"))
write("collectors", "mounts-escaped", b"\x06" + fixture("mounts_escaped.txt"))
write("collectors", "dmi", b"\x07" + b"  To be filled by O.E.M.\n")
write("collectors", "dmi-serial", b"\x07" + b"CMB72281946 \x00\n")
write("collectors", "mac", b"\x07" + b"3C:EC:EF:12:34:56\n")


def sample(kind, flags, value, limits, chip, feature, label):
    out = bytes([kind, flags, 5]) + struct.pack(">d", value)
    for limit in limits:
        out += struct.pack(">d", limit)
    return out + chip.encode() + b"\x00" + feature.encode() + b"\x00" + label.encode()


write("collectors", "sensor-temperature", b"\x08" + sample(0, 0x0F, 47.25, [-10, 0, 80, 95], "coretemp-isa-0000", "temp1",
                                                            "Package id 0"))
write("collectors", "sensor-fan-fault", b"\x08" + sample(1, 0x23, float("nan"), [0, 600, 0, 0], "nct6775-isa-0290", "fan2", "CPU fan"))
write("collectors", "sensor-error", b"\x08" + sample(3, 0x50, 0, [0, 0, 0, 0], "power_meter-acpi-0", "power1", "power1"))
write("collectors", "chassis-devices", b"\x09" + b"chassis.psu1.state 1\nchassis.psu1.output_watts 640.5\n"
      b"chassis.fan1.rpm\t4200\nchassis.fan2.rpm nan\nchassis.midplane.temperature 31.25 C\nunknown 1\n")
# What the collectors target's checks found wrong (ProcParserTests and IdentificationTests keep
# it fixed). Found by the fuzzer: a one-line file ending in its last field and a newline; an empty
# group in a MAC address. Found by the same checks on inputs written to probe them: a decimal of
# more than 308 digits (NaN, infinity); fullwidth hex digits in a MAC address.
write("collectors", "loadavg-three-fields", b"\x04" + b"0.04 0 3\n")
write("collectors", "uptime-newline", b"\x05" + b"5\n")
write("collectors", "mac-empty-group", b"\x07" + b"3c:ec:ef:12:34::56\n")
write("collectors", "loadavg-long-fraction", b"\x04" + b"0." + b"1" * 400 + b" 1 1 1/1 1\n")
write("collectors", "uptime-huge", b"\x05" + b"9" * 400 + b" 1\n")
write("collectors", "mac-fullwidth", b"\x07" + "\uff10\uff21:11:22:33:44:55\n".encode())


# --- agentx: PDUs as snmpd (the AgentX master, RFC 2741) sends them to chassis-snmp -----------

def agentx_header(kind, length, flags=0x10, session=42, packet=1, little=False):
    order = "<" if little else ">"
    return struct.pack("BBBB", 1, kind, flags, 0) + struct.pack(order + "IIII", session, 7, packet, length)


def agentx_oid(components, include=0, little=False):
    order = "<" if little else ">"
    prefix = 0
    if len(components) >= 5 and components[:4] == [1, 3, 6, 1] and 0 < components[4] < 256:
        prefix, components = components[4], components[5:]
    return struct.pack("BBBB", len(components), prefix, include, 0) + b"".join(struct.pack(order + "I", c) for c in components)


def agentx_octets(data):
    return struct.pack(">I", len(data)) + data + b"\0" * ((4 - len(data) % 4) % 4)


AGENTX_NULL = b"\0\0\0\0"
AGENTX = {}
payload = agentx_oid([1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1, 11, 1]) + AGENTX_NULL
AGENTX["get"] = agentx_header(5, len(payload)) + payload
payload = agentx_octets(b"customer-a") + agentx_oid([1, 3, 6, 1, 2, 1, 47], include=1) + agentx_oid([1, 3, 6, 1, 2, 1, 48])
AGENTX["getnext-context"] = agentx_header(6, len(payload), flags=0x18) + payload
payload = agentx_oid([1, 3, 6, 1, 2, 1, 99], little=True) + AGENTX_NULL
AGENTX["getnext-little-endian"] = agentx_header(6, len(payload), flags=0, little=True) + payload
payload = struct.pack(">HH", 1, 10) + agentx_oid([1, 3, 6, 1, 2, 1, 47]) + AGENTX_NULL + agentx_oid([1, 3, 6, 1, 4, 1, 99999]) + AGENTX_NULL
AGENTX["getbulk"] = agentx_header(7, len(payload)) + payload
payload = struct.pack(">IHH", 1234, 0, 0)
AGENTX["response-open"] = agentx_header(18, len(payload)) + payload
bindings = struct.pack(">HH", 4, 0) + agentx_oid([1, 3, 6, 1, 2, 1, 1, 5, 0]) + agentx_octets(b"blade1")
bindings += struct.pack(">HH", 70, 0) + agentx_oid([1, 3, 6, 1, 2, 1, 1, 6, 0]) + struct.pack(">Q", 2 ** 40)
bindings += struct.pack(">HH", 6, 0) + agentx_oid([1, 3, 6, 1, 2, 1, 1, 2, 0]) + agentx_oid([1, 3, 6, 1, 4, 1, 8072])
bindings += struct.pack(">HH", 64, 0) + agentx_oid([1, 3]) + agentx_octets(bytes([10, 0, 0, 1]))
payload = struct.pack(">IHH", 99, 0, 0) + bindings
AGENTX["response-varbinds"] = agentx_header(18, len(payload)) + payload
AGENTX["close"] = agentx_header(2, 4) + struct.pack("BBBB", 5, 0, 0, 0)
payload = agentx_oid([1, 3, 6, 1, 2, 1, 1, 5, 0]) + AGENTX_NULL
AGENTX["testset"] = agentx_header(8, len(payload)) + payload
AGENTX["ping"] = agentx_header(13, 0)
payload = struct.pack("BBBB", 5, 127, 0, 0) + agentx_oid([1, 3, 6, 1, 2, 1, 47]) + agentx_octets(b"x")
AGENTX["open"] = agentx_header(1, len(payload)) + payload
for name, data in AGENTX.items():
    write("agentx", name, data)
