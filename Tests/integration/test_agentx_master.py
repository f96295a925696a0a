"""chassis-snmp against a hostile AgentX master: a unix socket this test serves itself, speaking
RFC 2741 byte by byte. An oversized header, a malformed PDU and a master that closes end the
session with a clear log line (and a Close with parseError where there is a session); the
subagent connects again and answers the next, well-formed request; it never crashes, and stops
with status 0 on SIGTERM.

It binds no port: a unix socket in the test's own directory.
"""
import os
import socket
import struct
import subprocess

from conftest import ROOT, stop_process, wait_until

BIN = os.path.join(ROOT, ".build", "debug", "chassis-snmp")
NETWORK_BYTE_ORDER = 0x10


def header(kind, session, packet, length, flags=NETWORK_BYTE_ORDER, transaction=0):
    return struct.pack(">BBBBIIII", 1, kind, flags, 0, session, transaction, packet, length)


def oid(components, include=0):
    return struct.pack(">BBBB", len(components), 0, include, 0) + b"".join(struct.pack(">I", c) for c in components)


def read_pdu(connection):
    head = b""
    while len(head) < 20:
        chunk = connection.recv(20 - len(head))
        if not chunk:
            return None
        head += chunk
    version, kind, flags, _, session, transaction, packet, length = struct.unpack(">BBBBIIII", head)
    assert version == 1 and flags & NETWORK_BYTE_ORDER, head
    payload = b""
    while len(payload) < length:
        chunk = connection.recv(length - len(payload))
        assert chunk, "the subagent closed in the middle of a PDU"
        payload += chunk
    return kind, session, packet, payload


def open_response(connection, session=42):
    """Reads the subagent's Open and answers it: the session is open."""
    kind, _, packet, payload = read_pdu(connection)
    assert kind == 1, kind  # Open
    connection.sendall(header(18, session, packet, 8) + struct.pack(">IHH", 1234, 0, 0))
    return packet


def test_a_hostile_master_drops_the_session_and_never_the_subagent(tmp_path):
    assert os.access(BIN, os.X_OK), "chassis-snmp is not built"
    path = str(tmp_path / "agentx.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(4)
    server.settimeout(15)
    config = tmp_path / "blade.toml"
    config.write_text(f"""
[paths]
state_dir = "{tmp_path}/state"
runtime_dir = "{tmp_path}/run"

[snmp]
enabled = true
agentx_socket = "{path}"
refresh_ms = 200
reconnect_ms = 100
""")
    log = open(tmp_path / "snmp.log", "w")
    process = subprocess.Popen([BIN, "--config", str(config)], stdout=log, stderr=subprocess.STDOUT)
    try:
        # 1. A header announcing a payload far beyond the limit.
        connection, _ = server.accept()
        kind, _, packet, _ = read_pdu(connection)
        assert kind == 1
        connection.sendall(header(18, 1, packet, 0x7FFFFFF0))
        connection.settimeout(5)
        assert connection.recv(100) == b"", "the subagent drops the session"
        connection.close()

        # 2. A session, then a Get whose OID claims 200 sub-identifiers: Close(parseError), dropped.
        connection, _ = server.accept()
        connection.settimeout(5)
        open_response(connection)
        connection.sendall(header(5, 42, 900, 8) + struct.pack(">BBBB", 200, 0, 0, 0) + b"\0" * 4)
        replies = []
        while True:
            pdu = read_pdu(connection)
            if pdu is None:
                break
            replies.append(pdu)
        assert any(kind == 2 and payload[0] == 2 for kind, _, _, payload in replies), replies  # Close, parseError
        connection.close()

        # 3. A master that closes at once, before answering the Open.
        connection, _ = server.accept()
        connection.close()

        # 4. A well-formed session: a GetNext is answered (no store yet: the default context is
        # not served, which the master hears as unsupportedContext).
        connection, _ = server.accept()
        connection.settimeout(5)
        open_response(connection, session=77)
        start = oid([1, 3, 6, 1, 2, 1, 47], include=0)
        connection.sendall(header(6, 77, 901, len(start) + 4, transaction=5) + start + struct.pack(">BBBB", 0, 0, 0, 0))
        answer = None
        while answer is None:
            kind, session, packet, payload = read_pdu(connection)
            if kind == 18 and packet == 901:
                answer = (session, payload)
        session, payload = answer
        uptime, error, index = struct.unpack(">IHH", payload[:8])
        assert session == 77 and error == 262, (error, payload)
        assert process.poll() is None, "the subagent is still running"
        connection.close()
    finally:
        stop_process(process)
        server.close()
        log.close()
    assert process.returncode == 0
    text = open(tmp_path / "snmp.log").read()
    assert "beyond the limit" in text and "200 sub-identifiers" in text and "malformed AgentX PDU" in text, text
    assert "Fatal error" not in text and "Backtrace" not in text
